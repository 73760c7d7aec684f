"""Isotope (mass-variance) scattering: the isotope table and its mass variances, exact structure of the sum
(zero, linearity in g2, symmetry, the nu^2 DOS law of a cubic monatomic crystal, the DOS identity of the
tetrahedron weights), and agreement with phono3py's ``Phono3pyIsotope`` on the same fc2 (effective constants
fitted to real Stillinger-Weber Si and EAM Cu runs)."""
from __future__ import annotations

import contextlib
import io

import numpy as np
import pytest

import trajmodes
from trajmodes.forceconstants.model import ForceConstants
from trajmodes.lattice.elements import mass_of
from trajmodes.lattice.grid import Grid
from trajmodes.lattice.isotopes import ISOTOPES, mass_variance, mass_variances
from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
from trajmodes.phonons.harmonic.degeneracy import degenerate_average, degenerate_averager
from trajmodes.phonons.harmonic.dos import gaussian, tetrahedron_dos
from trajmodes.phonons.anharmonic.isotope import isotope_gamma
from trajmodes.phonons.harmonic.tetrahedron import tetrahedra

CUT = 1e-4


def _mesh_phonons(fc, mesh):
    grid = Grid([mesh] * 3, fc.primitive.symmetry(1e-5).rotations)
    f, e = trajmodes.Phonons(fc).frequencies_and_eigenvectors(grid.qpoints)
    return grid, f, e


# -- the isotope table --------------------------------------------------------------------------------
def test_isotope_table_is_complete_and_normalised():
    assert len(ISOTOPES) == 84                       # Z = 1-83 without Tc and Pm, and Th, Pa, U
    assert "Tc" not in ISOTOPES and "Pm" not in ISOTOPES and {"Bi", "Th", "Pa", "U"} <= set(ISOTOPES)
    for sym, isos in ISOTOPES.items():
        m, x = np.array(isos).T
        assert abs(x.sum() - 1) < 1e-9 and (x > 0).all(), sym
        assert (np.diff(m) > 0).all(), sym
        # the mean is the standard atomic weight (MDAnalysis' table) to a few 0.01 amu
        mean = float(m @ x)
        std = mass_of(sym)
        assert std is None or abs(mean - std) < 0.05 * max(1.0, std / 100), (sym, mean, std)


def test_mass_variances_match_phono3py():
    """g2 = sum f (1 - m/mbar)^2 of natural Si, Ge, Cu, C (Tamura 1983's numbers) and phono3py's own table
    (IUPAC 2000 compositions; ours are IUPAC 2009's, different for a handful of elements by up to 1.3 %)."""
    from phono3py.other.isotope import get_mass_variances
    from phonopy.structure.atomic_data import get_atomic_data
    g = mass_variances(["Si", "Ge", "Cu", "C"])
    np.testing.assert_allclose(g, [2.007e-4, 5.870e-4, 2.109e-4, 7.387e-5], rtol=1e-3)
    ref = get_mass_variances(symbols=["Si", "Ge", "Cu", "C"])
    np.testing.assert_allclose(g, ref, rtol=5e-4)
    theirs = get_atomic_data().isotope_data
    common = [s for s in ISOTOPES if theirs.get(s)]
    assert len(common) == 84
    np.testing.assert_allclose(mass_variances(common), get_mass_variances(symbols=common), rtol=0.015, atol=1e-9)


def test_mass_variance_by_hand_and_overrides():
    # two isotopes of equal fraction: g2 = ((m1 - m2) / (m1 + m2))^2
    assert mass_variance([(10.0, 0.5), (12.0, 0.5)]) == pytest.approx((2 / 22) ** 2, rel=1e-14)
    assert mass_variance([(10.0, 1.0), (12.0, 1.0)]) == pytest.approx((2 / 22) ** 2, rel=1e-14)   # renormalised
    assert mass_variances(["Al", "na", " F"]).tolist() == [0.0, 0.0, 0.0]       # monoisotopic
    enriched = {"Si": ((27.97692653465, 0.9999), (28.9764946649, 0.0001))}
    assert mass_variances(["Si"], enriched)[0] < 1e-6 < mass_variances(["Si"])[0]
    with pytest.raises(ValueError, match="no natural isotopic composition for 'Tc'"):
        mass_variances(["Si", "Tc"])


# -- exact structure ----------------------------------------------------------------------------------
@pytest.mark.parametrize("sigma", [0.1, None])
def test_zero_variance_scatters_nothing_and_widths_are_linear_in_g2(si_fc3, sigma):
    grid, f, e = _mesh_phonons(si_fc3, 5)
    rc = si_fc3.primitive.reciprocal_cell
    assert np.all(isotope_gamma(f, e, [0.0, 0.0], grid, None, sigma, rc) == 0)
    ga = isotope_gamma(f, e, [1.0, 0.0], grid, None, sigma, rc)
    gb = isotope_gamma(f, e, [0.0, 1.0], grid, None, sigma, rc)
    g = isotope_gamma(f, e, [3e-4, 1e-4], grid, None, sigma, rc)
    np.testing.assert_allclose(g, 3e-4 * ga + 1e-4 * gb, rtol=1e-12, atol=1e-20)
    assert g.min() >= 0 and g.max() > 1e-3
    # the acoustic modes at Gamma take no part
    assert np.all(g[grid.irreducible == 0, :3] == 0)


def test_gaussian_widths_are_equal_on_a_star(si_fc3):
    """With Gaussians the sum over the mesh is invariant under the point group: every q of a star has the same
    widths (with other eigenvectors)."""
    grid, f, e = _mesh_phonons(si_fc3, 6)
    every = isotope_gamma(f, e, mass_variances(["Si", "Si"]), grid, np.arange(grid.n_points), 0.1)
    rep = every[grid.star_of]
    np.testing.assert_allclose(every, rep, rtol=1e-10, atol=1e-14 * every.max())
    assert len(np.unique(grid.star_of)) < grid.n_points / 10


@pytest.mark.parametrize("mesh", [6, 8])
def test_cubic_monatomic_crystal_follows_nu2_times_dos(cu_fc3, mesh):
    """One atom per cell, cubic point group: summed over the star of q', sum_s' e e^dagger is isotropic, so with
    Gaussians Gamma_iso(nu) = (pi / 12) g2 nu^2 g(nu), g the DOS per cell (integrating to 3)."""
    grid, f, e = _mesh_phonons(cu_fc3, mesh)
    g2, sigma = mass_variances(["Cu"])[0], 0.12
    gps = np.arange(grid.n_points)
    gam = isotope_gamma(f, e, g2, grid, gps, sigma)
    nu = f[gps]
    ok = f > CUT
    dos = gaussian(nu[:, :, None] - f[ok][None, None, :], sigma).sum(axis=-1) / grid.n_points
    law = degenerate_average(np.where(nu > CUT, np.pi / 12 * g2 * nu ** 2 * dos, 0.0), nu)
    np.testing.assert_allclose(gam, law, rtol=1e-10, atol=1e-14 * law.max())


@pytest.mark.parametrize("system,sigma", [("si", None), ("cu", None), ("si", 0.1)])
def test_with_unit_eigenvectors_the_widths_are_the_band_dos(request, system, sigma):
    """Eigenvectors e(q) = 1 everywhere make |e*(q s).e(q' s')|^2 = delta_ss': then Gamma_iso(q s) =
    (pi / 4) g2 nu_s^2 g_s(nu_s), g_s the DOS of branch s (for tetrahedra averaged over the degenerate sets of
    every q', a projected DOS): checks the weights, their averaging and the bookkeeping against
    :func:`tetrahedron_dos`, at every point of the mesh."""
    fc = request.getfixturevalue(f"{system}_fc3")
    grid, f, _ = _mesh_phonons(fc, 5)
    N, nb = f.shape
    unit = np.broadcast_to(np.eye(nb, dtype=complex), (N, nb, nb))
    g2 = 2.5e-4
    gps = np.arange(N)
    gam = isotope_gamma(f, unit, g2, grid, gps, sigma, fc.primitive.reciprocal_cell)
    take = (f > CUT).astype(float)
    fs = f[grid.star_of]                                  # the tetrahedron weights take star-identical values
    if sigma is None:
        vert, central = tetrahedra(grid.mesh, fc.primitive.reciprocal_cell)
        proj = degenerate_averager(f) * take[:, :, None]                          # (q', s', s)
        band = np.stack([tetrahedron_dos(fs, vert, central, fs[:, s], proj)[1][s] for s in range(nb)], axis=1)
        band = degenerate_average(band, f)           # the weights at q averaged over its sets, then Gamma
    else:
        band = np.stack([gaussian(f[:, None, s] - f[None, :, s], sigma) @ take[:, s] / N for s in range(nb)], axis=1)
    law = degenerate_average(np.where(f > CUT, np.pi / 4 * g2 * f ** 2 * band, 0.0), f)
    np.testing.assert_allclose(gam, law, rtol=1e-10, atol=1e-13 * law.max())


def test_anharmonic_can_pass_its_own_mesh_and_deltas(si_fc3):
    an = Anharmonic(si_fc3, 4, [300.0], smearing=None)
    g2 = mass_variances(si_fc3.primitive.species)
    a = isotope_gamma(an.frequencies, an.interaction.eigenvectors, g2, an.grid, deltas=an.deltas)
    grid, f, e = _mesh_phonons(si_fc3, 4)
    b = isotope_gamma(f, e, g2, grid, None, None, si_fc3.primitive.reciprocal_cell)
    np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-16)
    assert a.shape == (len(an.grid.irreducible), 6)


@pytest.mark.parametrize("overlap", ["tamura", "tdep"])
def test_both_overlaps_against_the_sum_written_out(si_fc3, overlap):
    """Gamma_iso(q s) = pi / (4 N) nu_s^2 sum_q's' sum_k g2_k O_k g(nu_s - nu_s'), O_k Tamura's |sum_a e*_ka e'_ka|^2
    or TDEP's [sum_a |e*_ka e'_ka|]^2, written out as loops over q' and s' (Si, 4^3, Gaussian 0.1 THz, g2 of
    two different atoms), to 1e-12 after the degenerate average; TDEP's is never below Tamura's."""
    grid, f, e = _mesh_phonons(si_fc3, 4)
    g2 = np.array([2e-4, 7e-4])
    gps = grid.irreducible
    out = isotope_gamma(f, e, g2, grid, gps, smearing=0.1, overlap=overlap)
    ref = np.zeros((len(gps), 6))
    for i, q in enumerate(gps):
        for s in range(6):
            if f[q, s] <= CUT:
                continue
            for q2 in range(grid.n_points):
                for s2 in range(6):
                    if f[q2, s2] <= CUT:
                        continue
                    prod = e[q, :, s].conj().reshape(2, 3) * e[q2, :, s2].reshape(2, 3)
                    o = np.abs(prod.sum(axis=1)) ** 2 if overlap == "tamura" else np.abs(prod).sum(axis=1) ** 2
                    ref[i, s] += g2 @ o * gaussian(f[q2, s2] - f[q, s], 0.1)
            ref[i, s] *= np.pi / (4 * grid.n_points) * f[q, s] ** 2
    np.testing.assert_allclose(out, degenerate_average(ref, f[gps], 1e-4), rtol=1e-12, atol=1e-16)
    if overlap == "tdep":
        tamura = isotope_gamma(f, e, g2, grid, gps, smearing=0.1)
        assert (out >= tamura - 1e-15).all() and (out > 1.05 * tamura).any()
    with pytest.raises(ValueError, match="overlap must be one of"):
        isotope_gamma(f, e, g2, grid, gps, smearing=0.1, overlap="abs")


def test_bad_input_is_a_clear_error(si_fc3):
    grid, f, e = _mesh_phonons(si_fc3, 4)
    with pytest.raises(ValueError, match="needs the reciprocal cell"):
        isotope_gamma(f, e, 1e-4, grid)
    with pytest.raises(ValueError, match="one value per atom"):
        isotope_gamma(f, e, [1e-4, 1e-4, 1e-4], grid, smearing=0.1)
    with pytest.raises(ValueError, match="non-negative"):
        isotope_gamma(f, e, -1e-4, grid, smearing=0.1)
    with pytest.raises(ValueError, match="eigenvectors must be"):
        isotope_gamma(f, e[:, :3], 1e-4, grid, smearing=0.1)
    with pytest.raises(ValueError, match="grid indices"):
        isotope_gamma(f, e, 1e-4, grid, [grid.n_points], smearing=0.1)
    with pytest.raises(ValueError, match="positive frequency"):
        isotope_gamma(f, e, 1e-4, grid, smearing=0.0)


# -- against phono3py ---------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def phono3py_fc2(tmp_path_factory):
    """phono3py objects on the fc2 of each fitted system, loaded once (the load finds the symmetry: seconds)."""
    from tests.support.phono3py_cases import loaded_phono3py

    def load(fc, name):
        return loaded_phono3py(ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s),
                               tmp_path_factory.mktemp(f"ph3-{name}"))
    return load


def _phono3py_isotope(ph3, grid, sigma, g2, star_frequencies):
    """Gamma_iso from phono3py's ``Phono3pyIsotope`` (its own phonons, its Rust kernels) at the irreducible points
    of ``grid``, tetrahedron weights averaged over degenerate sets as trajmodes does. ``star_frequencies``: before
    the sum, every point of a star takes the frequencies phono3py found at its representative, as trajmodes does
    for tetrahedra (without, phono3py's tetrahedron widths of about a third of the modes jump by 10-200 % with the
    last bits of the frequencies: its nu_s(q) then falls, by rounding, between two vertex values that should be
    equal, where the tetrahedron formulas give zero instead of their limit)."""
    from phono3py.api_isotope import Phono3pyIsotope
    from phonopy.phonon.degeneracy import get_degenerate_ids
    iso = Phono3pyIsotope(grid.mesh, ph3.phonon_primitive, mass_variances=g2, sigmas=[sigma],
                          cutoff_frequency=CUT, average_degenerate_weights=True)
    iso.init_dynamical_matrix(ph3.fc2, ph3.phonon_supercell, ph3.phonon_primitive)
    bz = iso.grid
    gps = bz.grg2bzg[grid.irreducible]                 # phono3py numbers the mesh as trajmodes (first index fastest)
    with contextlib.redirect_stdout(io.StringIO()):
        iso.run(gps[:1])                               # solves the phonons on the whole BZ grid
        if star_frequencies:
            ph = iso._iso.phonons                      # noqa: SLF001 (phono3py 4.10: shared arrays, used in place)
            ph.frequencies[:] = ph.frequencies[bz.grg2bzg[grid.star_of[bz.bzg2grg]]]
            ph.degenerate_ids[:] = get_degenerate_ids(ph.frequencies)
        iso.run(gps)
    return np.asarray(iso.gamma)[0], np.asarray(iso.frequencies)


@pytest.mark.slow
@pytest.mark.parametrize("system,mesh,sigma", [("si", 5, 0.1), ("si", 7, 0.1), ("cu", 6, 0.1), ("cu", 9, 0.1),
                                               ("si", 5, None), ("si", 6, None), ("cu", 6, None), ("cu", 8, None)])
def test_isotope_widths_match_phono3py(request, phono3py_fc2, system, mesh, sigma):
    """Gaussian smearing (0.1 THz) to 1e-6 relative, tetrahedra to 1e-4 (measured: 7e-14 and 6e-8), natural
    isotopes, two meshes each."""
    fc = request.getfixturevalue(f"{system}_fc3")
    grid, f, e = _mesh_phonons(fc, mesh)
    g2 = mass_variances(fc.primitive.species)
    g3, f3 = _phono3py_isotope(phono3py_fc2(fc, system), grid, sigma, g2, star_frequencies=sigma is None)
    np.testing.assert_allclose(f[grid.irreducible], f3, atol=1e-6)
    g = isotope_gamma(f, e, g2, grid, None, sigma, fc.primitive.reciprocal_cell)
    big = g3 > 1e-8 * g3.max()
    assert big.sum() > 20 and g3.max() > 1e-3
    assert (np.abs(g - g3)[big] / g3[big]).max() < (1e-6 if sigma else 1e-4)
    assert np.abs(g - g3)[~big].max(initial=0.0) < 1e-12
