"""The nearest-neighbour distance of a large periodic cell: the k-d tree search gives what comparing every pair gives,
without the N x N pairs (a 10,976-atom supercell took 218 s and 8.8 GB in the fit's melting check that way)."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.lattice import geometry


def _pairwise(cell, x):
    r = np.linalg.norm(geometry.shortest_vectors(x[None, :, :] - x[:, None, :], cell), axis=-1)
    r[np.diag_indices(len(x))] = np.inf
    return min(geometry.shortest_lattice_vector(cell), float(r.min()))


def _supercell(rng, reps):
    a = np.diag(rng.uniform(2.5, 4.0, 3)) + rng.normal(0.0, 0.4, (3, 3))        # triclinic primitive cell
    basis = rng.uniform(0.0, 1.0, (int(rng.integers(2, 4)), 3)) @ a
    grid = np.stack(np.meshgrid(*(np.arange(n) for n in reps), indexing="ij"), -1).reshape(-1, 3)
    x = (grid @ a)[:, None, :] + basis[None]
    cell = a * np.asarray(reps)[:, None]
    x = x.reshape(-1, 3) + rng.normal(0.0, 0.05, (len(grid) * len(basis), 3))
    x += rng.integers(-2, 3, len(x))[:, None] * cell[int(rng.integers(0, 3))]  # some atoms outside the cell
    return cell, x


@pytest.mark.parametrize("seed", range(5))
def test_the_tree_search_equals_every_pair(seed, monkeypatch):
    rng = np.random.default_rng(seed)
    cell, x = _supercell(rng, rng.integers(7, 9, 3))
    assert len(x) > geometry.PAIRWISE_ATOMS
    want = _pairwise(cell, x)
    calls = []
    real = geometry.shortest_vectors
    monkeypatch.setattr(geometry, "shortest_vectors", lambda *a: calls.append(1) or real(*a))
    got = geometry.nearest_neighbour_distance(cell, x)
    assert got == pytest.approx(want, abs=1e-12)
    assert not calls, "a large cell compared every pair of atoms"


def test_a_cell_thinner_than_two_neighbour_distances_falls_back_to_the_pairs():
    rng = np.random.default_rng(5)
    cell, x = _supercell(rng, (40, 20, 1))                   # one cell thick along c
    assert len(x) > geometry.PAIRWISE_ATOMS
    assert geometry.nearest_neighbour_distance(cell, x) == pytest.approx(_pairwise(cell, x), abs=1e-12)
