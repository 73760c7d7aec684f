"""MD lifetimes of a glass's modes and the QHGK conductivity with them: 100 ps of NVE LAMMPS of the 216-atom
amorphous Si cell of tests/data/kaldo at 50 K (tests/support/lammps_glass.py), projected onto the cell's harmonic
modes (GlassPhonons), each mode's line fitted (fit_peaks). Checked: the projection puts k_B T / 2 of kinetic energy
in the modes of every band of frequencies; the fitted widths are those of a weakly anharmonic glass; QHGK with those
widths gives Allen-Feldman's diffusivities in the diffusive range (insensitive to widths of that size), and not with
widths ten times larger."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import trajmodes
from tests.support.lammps_glass import generate
from tests.support.lammps_md import find_potential, lammps_module
from trajmodes.disorder import GlassHarmonic, GlassPhonons, allen_feldman, gamma_modes, md_linewidths, qhgk_conductivity
from trajmodes.modes.energies import mode_energies

pytestmark = pytest.mark.slow            # about 65 s of LAMMPS and 15 s of projection and fits on one core

BANDS = [(2, 4), (4, 6), (6, 8), (8, 10), (10, 12), (12, 14), (14, 16), (16, 20)]
DIFFUSIVE = [(4, 6), (6, 8), (8, 10), (10, 12), (12, 14), (14, 16)]


@pytest.fixture(scope="module")
def run(tmp_path_factory, sw):
    if lammps_module() is None or find_potential("Si.sw") is None:
        pytest.skip("needs the lammps module and its Si.sw")
    r = generate(tmp_path_factory.mktemp("glass"), temperature=50.0, ps=100.0)
    model = GlassHarmonic.from_potential(sw, r["crystal"])
    modes = gamma_modes(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.read(str(r["dump"]), species={1: "Si"}, reference=r["crystal"].positions)
        projected = trajmodes.project(traj, GlassPhonons(modes, r["crystal"]))
        energies = mode_energies(projected, temperature=r["temperature"])
        peaks = trajmodes.fit_peaks(trajmodes.mode_spectra(projected, resolution=0.02), progress=False)
    return dict(r, model=model, modes=modes, energies=energies, peaks=peaks)


def _band_means(nu, values, bands):
    return np.array([np.nanmean(values[(nu > lo) & (nu < hi)]) for lo, hi in bands])


def test_projection_equipartitions_the_kinetic_energy(run):
    nu = run["modes"].frequencies
    T = run["energies"].mode_temperature.values[0] / run["temperature"]
    live = nu > 0.5
    assert abs(T[live].mean() - 1) < 0.03, T[live].mean()             # measured 0.998
    bands = _band_means(nu, T, BANDS)
    assert np.all(np.abs(bands - 1) < 0.1), bands                       # measured within 5 %


def test_md_widths_and_lifetimes(run):
    widths = md_linewidths(run["peaks"], run["modes"])
    nu, ok = widths.frequency.values, widths.measured.values
    assert ok.sum() > 150, ok.sum()                                      # 282 of 645 measured
    fw = widths.fwhm.values[ok]
    # at 50 K the lines above 4 THz are far narrower than their frequency (measured: FWHM/nu at most 0.055, median
    # FWHM 0.10 THz); the soft quasi-localised modes below 2 THz are not (FWHM/nu up to 0.34), so they are left out
    above = nu[ok] > 4.0
    assert np.all(fw[above] < 0.1 * nu[ok][above]) and np.median(fw[above]) < 0.2, np.median(fw[above])
    assert np.all(widths.fwhm_err.values[ok] > 0) and np.all(widths.lifetime_err.values[ok] > 0)
    np.testing.assert_allclose(widths.lifetime.values[ok], 1 / (2 * np.pi * fw), rtol=1e-12)
    assert np.all(np.isfinite(widths.linewidth.values[3:])) and np.all(np.isnan(widths.linewidth.values[:3]))


def test_qhgk_with_md_widths_is_allen_feldman_in_the_diffusive_range(run):
    model, modes = run["model"], run["modes"]
    nu = modes.frequencies
    g = md_linewidths(run["peaks"], modes).linewidth.values
    q = qhgk_conductivity(model, modes, g, [run["temperature"]], "classical")
    af = allen_feldman(model, modes, float(np.nanmedian(g)))
    ratio = _band_means(nu, q.diffusivity.values, DIFFUSIVE) / _band_means(nu, af.diffusivity.values, DIFFUSIVE)
    assert np.all(np.abs(ratio - 1) < 0.05), ratio                       # measured within 1-2 %
    # widths ten times larger are no longer in Allen-Feldman's plateau: the test can tell
    wide = qhgk_conductivity(model, modes, 10 * g, [run["temperature"]], "classical")
    wratio = _band_means(nu, wide.diffusivity.values, DIFFUSIVE) / _band_means(nu, af.diffusivity.values, DIFFUSIVE)
    assert np.max(np.abs(wratio - 1)) > 0.1, wratio


@pytest.fixture(scope="module")
def run64(tmp_path_factory, sw, asi64):
    """The 64-atom glass of tests/data/glass at 50 K: small enough for its three-phonon widths."""
    if lammps_module() is None or find_potential("Si.sw") is None:
        pytest.skip("needs the lammps module and its Si.sw")
    r = generate(tmp_path_factory.mktemp("glass64"), temperature=50.0, ps=100.0, crystal=asi64)
    model = GlassHarmonic.from_potential(sw, asi64)
    modes = gamma_modes(model)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.read(str(r["dump"]), species={1: "Si"}, reference=asi64.positions)
        projected = trajmodes.project(traj, GlassPhonons(modes, asi64))
        peaks = trajmodes.fit_peaks(trajmodes.mode_spectra(projected, resolution=0.02), progress=False)
    return dict(r, model=model, modes=modes, peaks=peaks)


def test_md_widths_are_three_phonon_widths(run64, sw, asi64):
    """Classical three-phonon widths at Gamma of the cell (Gaussians of 0.1 THz, the level spacing) against the run's:
    measured MD / perturbative 1.3 in the median (10-90 %: 0.8-2.1), the MD ones within 0.6 of their error of them;
    a factor 2 (FWHM against half width) or 2 pi (angular against ordinary frequency) would show."""
    from trajmodes.disorder import perturbative_linewidths
    model, modes = run64["model"], run64["modes"]
    nu = modes.frequencies
    md = md_linewidths(run64["peaks"], modes)
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    an = Anharmonic(sw.force_constants3(asi64, primitive=asi64), 1, temperatures=[50.0], occupation="classical",
                    smearing=0.1, allow_unstable=True)
    pert = perturbative_linewidths(an, modes)[0]
    ok = md.measured.values & (nu > 2.0)
    assert ok.sum() > 40, ok.sum()                                       # 70 of 189 measured
    ratio = np.median(md.fwhm.values[ok] / pert[ok])
    assert 0.9 < ratio < 1.8, ratio
    # QHGK with either: 0.727 (MD) and 0.671 (perturbative) W/(m K) at 50 K, classical
    g = md.linewidth.values
    k_md = qhgk_conductivity(model, modes, g, [50.0], "classical").conductivity.values[0]
    k_pt = qhgk_conductivity(model, modes, np.where(nu > 1e-3, pert, np.nan), [50.0], "classical")
    assert abs(k_pt.conductivity.values[0] / k_md - 1) < 0.15, (k_md, k_pt.conductivity.values[0])
