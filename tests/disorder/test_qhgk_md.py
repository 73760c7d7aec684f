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
    assert np.all(np.abs(bands - 1) < 0.08), bands                      # measured within 3.2 %


def test_md_widths_and_lifetimes(run):
    widths = md_linewidths(run["peaks"], run["modes"])
    nu, ok = widths.frequency.values, widths.measured.values
    assert ok.sum() > 150, ok.sum()                                      # 247 of 645 measured
    fw = widths.fwhm.values[ok]
    # a weakly anharmonic glass at 50 K: every line far narrower than its frequency, errors from the fits
    assert np.all(fw < 0.25 * nu[ok]) and np.median(fw) < 0.2, np.median(fw)
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
