"""Gamma-point modes of a glass (trajmodes.disorder.glass): dense and shift-invert routes, participation ratios,
the memory check and the errors on bad input."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.disorder import GlassHarmonic, gamma_modes, participation_ratios
from trajmodes.units import THZ


def test_dense_modes_are_the_eigenvalues_of_the_mass_weighted_matrix(sw, asi64):
    model = GlassHarmonic.from_potential(sw, asi64)
    modes = gamma_modes(model)
    H = sw.sparse_force_constants(asi64).toarray()
    m = np.repeat(asi64.masses, 3)
    lam = np.linalg.eigvalsh(H / np.sqrt(np.outer(m, m)))
    np.testing.assert_allclose(modes.frequencies, np.sign(lam) * np.sqrt(np.abs(lam)) * THZ, atol=1e-6)
    assert np.all(np.abs(modes.frequencies[:3]) < 1e-3)                 # the translations of the cell
    assert modes.frequencies[3] > 0.5                                     # a relaxed glass: no imaginary mode
    E = modes.eigenvectors
    np.testing.assert_allclose(E.T @ E, np.eye(len(E)), atol=1e-10)


def test_from_force_constants_equals_from_potential(sw, asi64):
    a = GlassHarmonic.from_potential(sw, asi64)
    phi = sw.sparse_force_constants(asi64).toarray()
    n = asi64.n_atoms
    b = GlassHarmonic.from_force_constants(phi.reshape(n, 3, n, 3).transpose(0, 2, 1, 3), asi64)
    assert abs(a.dynamical - b.dynamical).max() < 1e-13
    with pytest.raises(ValueError, match="do not fit the 64-atom cell"):
        GlassHarmonic.from_force_constants(np.zeros((10, 10, 3, 3)), asi64)


def test_position_weighted_matrices_are_minimum_image_moments(sw, asi64):
    model = GlassHarmonic.from_potential(sw, asi64)
    S = model.position_weighted()
    D = model.dynamical.toarray()
    i, j = np.nonzero(D)
    from trajmodes.lattice.geometry import shortest_vectors
    d = shortest_vectors(asi64.positions[j // 3] - asi64.positions[i // 3], asi64.cell)
    for a in range(3):
        Sa = S[a].toarray()
        np.testing.assert_allclose(Sa[i, j], d[:, a] * D[i, j], atol=1e-13)
        assert abs(Sa + Sa.T).max() < 1e-12                                # antisymmetric


def test_shift_invert_window_gives_the_dense_modes(asi216):
    crystal, phi = asi216
    model = GlassHarmonic.from_force_constants(phi, crystal)
    dense = gamma_modes(model)
    window = gamma_modes(model, window=(8.0, 9.0))
    inside = dense.frequencies[(dense.frequencies >= 8.0) & (dense.frequencies <= 9.0)]
    assert window.method == "shift-invert" and len(window.frequencies) == len(inside) > 10
    np.testing.assert_allclose(window.frequencies, inside, atol=1e-8)
    match = np.abs(dense.frequencies[:, None] - window.frequencies[None, :]).argmin(axis=0)
    np.testing.assert_allclose(window.participation_ratios(), dense.participation_ratios()[match], atol=1e-8)


def test_participation_ratio_limits_and_masses():
    n = 10
    rng = np.random.default_rng(0)
    plane = np.zeros((3 * n, 2))
    plane[0::3, 0] = 1 / np.sqrt(n)                                      # every atom along x, equal masses
    plane[4, 1] = 1.0                                                    # one atom only
    m = np.full(n, 28.0)
    np.testing.assert_allclose(participation_ratios(plane, m), [1.0, 1.0 / n])
    # masses: a mode with equal displacements u on all atoms has e_i = sqrt(m_i) u: ratio 1 whatever the masses
    m = rng.uniform(1, 100, n)
    e = np.zeros((3 * n, 1))
    e[1::3, 0] = np.sqrt(m)
    e /= np.linalg.norm(e)
    np.testing.assert_allclose(participation_ratios(e, m), [1.0])


def test_dense_route_refused_beyond_memory_and_bad_windows(sw, asi64):
    model = GlassHarmonic.from_potential(sw, asi64)
    with pytest.raises(MemoryError, match="window"):
        gamma_modes(model, memory_fraction=1e-12)
    with pytest.raises(ValueError, match="window must be"):
        gamma_modes(model, window=(5.0, 2.0))
    with pytest.raises(ValueError, match="without eigenvectors"):
        gamma_modes(model, eigenvectors=False).participation_ratios()


def test_modes_dataset_has_units(sw, asi64):
    ds = gamma_modes(GlassHarmonic.from_potential(sw, asi64)).to_dataset()
    assert ds.frequency.attrs["units"] == "THz" and ds.participation_ratio.attrs["units"] == "1"
    assert ds.sizes["mode"] == 3 * asi64.n_atoms
