"""The sparse analytic force constants of a large cell (trajmodes.potentials.lattice_sums.sparse_hessian) and the
O(N) neighbour search beneath them (trajmodes.lattice.geometry.pairs_within's k-d tree route)."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.lattice import geometry
from trajmodes.lattice.crystal import Crystal
from trajmodes.potentials import lattice_sums as ls


@pytest.mark.parametrize("cell, n, cutoff", [
    (np.diag([7.0, 8.0, 9.0]), 50, 4.1),                                  # cutoff above half the cell
    (np.array([[6.0, 0, 0], [2.0, 6.0, 0], [1.0, 1.5, 5.5]]), 40, 6.3),   # triclinic, several images
    (np.array([[2.0, 0, 0], [1.0, 2.0, 0], [0.5, 0.5, 2.0]]), 3, 3.7),    # tiny cell, dozens of images
])
def test_tree_pairs_equal_dense_pairs(cell, n, cutoff, monkeypatch):
    rng = np.random.default_rng(n)
    x = rng.uniform(-3.0, 12.0, (n, 3))                                      # atoms outside the cell too
    dense = geometry.pairs_within(cell, x, cutoff, return_cells=True)
    monkeypatch.setattr(geometry, "DENSE_PAIRS_ATOMS", 0)
    tree = geometry.pairs_within(cell, x, cutoff, return_cells=True)
    key = lambda r: sorted(zip(r[0].tolist(), r[1].tolist(), *r[3].T.tolist()))   # noqa: E731
    assert key(tree) == key(dense)
    np.testing.assert_allclose(tree[2], x[tree[1]] + tree[3] @ cell - x[tree[0]], atol=1e-12)


def test_sparse_hessian_equals_dense_rows(sw, asi64):
    H = sw.sparse_force_constants(asi64)
    dense = ls.hessian_rows(sw.terms(asi64, 2), asi64.n_atoms)
    n = asi64.n_atoms
    np.testing.assert_allclose(H.toarray(), dense.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n), atol=1e-12)
    assert abs(H - H.T).max() < 1e-12
    m = np.repeat(asi64.masses, 3)
    Dm = sw.sparse_force_constants(asi64, masses=True)
    np.testing.assert_allclose(Dm.toarray(), H.toarray() / np.sqrt(np.outer(m, m)), atol=1e-13)


def test_sparse_hessian_equals_finite_differences_of_forces(sw, asi64):
    H = sw.sparse_force_constants(asi64).toarray()
    h = 1e-5
    for atom, axis in [(0, 0), (17, 2), (40, 1)]:
        f = []
        for s in (h, -h):
            x = asi64.positions.copy()
            x[atom, axis] += s
            f.append(sw.energy_forces(Crystal(asi64.cell, x, asi64.species)).forces.reshape(-1))
        column = -(f[0] - f[1]) / (2 * h)
        np.testing.assert_allclose(H[:, 3 * atom + axis], column, atol=2e-6 * np.abs(H).max())


def test_tree_route_gives_the_same_constants(sw, asi64, monkeypatch):
    a = sw.sparse_force_constants(asi64)
    monkeypatch.setattr(geometry, "DENSE_PAIRS_ATOMS", 0)
    b = type(sw)(sw.parameters).sparse_force_constants(asi64)                # a fresh potential: no cached terms
    assert abs(a - b).max() < 1e-12
