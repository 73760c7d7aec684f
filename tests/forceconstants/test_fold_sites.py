"""Folding a static crystal's constants onto a fit's supercell whose sites are the run's mean sites, a few mA from the
ideal ones (quartz's O sublattice sat 0.0088 A off at 300 K): the tolerance is what the match needs, a quarter of the
nearest-neighbour distance (it was 1e-3 A, and d nu / dT from the static crystal was refused), and it is said."""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes import Crystal
from trajmodes.lattice.cubic import cubic_lattice
from trajmodes.potentials.pair import Morse

MORSE = Morse(0.3429, 1.3588, 2.866, cutoff=5.0)


def _static():
    sc, prim = cubic_lattice("fcc", 3.615, 2, ["Cu"], masses=[63.546])
    return MORSE.force_constants(sc, prim)


def _moved(sc, shift, which):
    x = np.array(sc.positions, float)
    x[which] += shift
    return Crystal(sc.cell, x, sc.species, sc.masses)


def test_sites_a_sublattice_offset_apart_fold_exactly():
    """Half the atoms 0.0088 A off their ideal sites: each still matched to its own, the folded constants are the
    static ones, and the offset and the tolerance (a quarter of the nearest-neighbour distance) are returned."""
    fc = _static()
    sc = fc.supercell
    half = np.arange(sc.n_atoms) % 2 == 0
    moved = _moved(sc, np.array([0.0088, 0.0, 0.0]), half)
    to_small, offset, tol = fc.fold_sites(moved)
    np.testing.assert_array_equal(to_small, np.arange(sc.n_atoms))
    from trajmodes.lattice.geometry import nearest_neighbour_distance
    nn = nearest_neighbour_distance(moved.cell, moved.positions)                  # the fitted sites', about 2.55 A
    assert offset == pytest.approx(0.0088, abs=1e-9) and tol == pytest.approx(0.25 * nn) and 2.5 < nn < 2.56
    np.testing.assert_allclose(fc.folded_fc2(moved, fc.p2s), fc.compact(), atol=1e-14)


def test_sites_beyond_a_quarter_of_the_neighbour_distance_are_refused_with_the_numbers():
    fc = _static()
    moved = _moved(fc.supercell, np.array([0.8, 0.0, 0.0]), np.arange(fc.supercell.n_atoms) == 3)
    with pytest.raises(ValueError, match=r"atom 3 .* is 0\.8 A from the nearest atom .* beyond the 0\.5\d+ A allowed "
                                         r"\(0\.25 of the nearest-neighbour distance, 2\.\d+ A\)"):
        fc.folded_fc2(moved, fc.p2s)


def test_static_slope_applies_to_a_fit_on_shifted_sites():
    """A fit whose supercell sits 0.0088 A from the static crystal's (its mean sites): static_slope gives d nu / dT
    (it said "the static crystal does not fit the run's supercell")."""
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from trajmodes.series.errorbars import static_slope
    fc = _static()
    sc = fc.supercell
    moved = _moved(sc, np.array([0.0088, 0.0, 0.0]), np.ones(sc.n_atoms, bool))
    phi = fc.full().transpose(0, 2, 1, 3).reshape(3 * sc.n_atoms, -1) / 0.95          # 5 % stiffer than static
    u = np.random.default_rng(0).normal(scale=0.05, size=(40, sc.n_atoms, 3))
    f = -(u.reshape(40, -1) @ phi.T).reshape(u.shape)
    fit = EffectiveForceConstants(cutoff2=3.0).fit_arrays(moved, u, f, temperatures=np.full(40, 300.0))
    q = np.array([[0.5, 0.5, 0.5], [0.5, 0.0, 0.5]])
    d, why = static_slope(fit, fc, q)
    assert why == "" and d is not None and np.all(np.isfinite(d))
