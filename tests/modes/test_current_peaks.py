"""Damped-oscillator fits of the current spectra C_L, C_T (trajmodes.modes.current_peaks) beside the mode projection.

Oracles: the mode projection's own peaks on the same real LAMMPS run of Cu (the LA line at Gamma-X seen in C_L and in
the spectrum of Qdot is one line), the exact harmonic crystal (lines of zero width), a run sampled too coarsely
(aliased lines), and Parseval (the folded spectrum integrates to C(t = 0)).
"""
from __future__ import annotations

import numpy as np
import pytest

import trajmodes
from tests.modes.test_one_phonon import FrozenPhonons, _harmonic, cartesian_to_reduced, cu_run
from tests.support.paths import EXAMPLES
from trajmodes.modes.current_peaks import current_spectra, fit_current_peaks, merge_peaks
from trajmodes.modes.structure_factor import dynamic_structure_factor

#: Gamma-X in Cartesian units of 2 pi / a, each along x, y and z (q and -q give identical spectra: counted once)
DELTA = [[f, 0, 0] for f in (1 / 3, 2 / 3, 1)]
STARS = [np.roll(q, k).tolist() for q in DELTA for k in range(3)]


@pytest.fixture(scope="module")
def cu_eam():
    fc = trajmodes.ForceConstants.read(EXAMPLES / "fc" / "cu_eam", "phonopy")
    return fc, FrozenPhonons(trajmodes.Phonons(fc))


@pytest.mark.slow
def test_longitudinal_current_peak_is_the_la_mode_peak(tmp_path_factory, cu_eam):
    """Cu at 300 K (NVE, 1501 frames 0.02 ps apart): C_L at (1/3, 2/3, 1) x (1, 0, 0) 2 pi / a, averaged over the
    three axes, windows of 750 frames, against fit_peaks (DHO) of the full-resolution mode spectra (star averaged).
    Measured: C_L 3.771 +- 0.009, 6.576 +- 0.027, 7.777 +- 0.010 THz; LA 3.772 +- 0.007, 6.503 +- 0.029,
    7.758 +- 0.022 THz (|difference| 0.1, 1.9 and 0.8 combined sigma; the C_L window at 2/3 holds bins below zero,
    fitted with Gaussian bins: with the Whittle likelihood there, since dropped, 6.537 +- 0.032). The transverse
    lines agree as well (C_T against the TA pair: 0.2, 0.0 and 0.6 sigma). Most of these 30 ps lines are flagged
    "width below resolution" on both sides (FWHM 0.01-0.17 THz against bins of 0.033 THz): their positions are
    measured, their widths are not."""
    fc, ph = cu_eam
    traj = cu_run(tmp_path_factory, 300)
    modes = trajmodes.project(traj, ph).compute()
    mode_peaks = trajmodes.fit_peaks(trajmodes.mode_spectra(modes, full=True), model="dho", progress=False)
    sqw = dynamic_structure_factor(traj, cartesian_to_reduced(STARS, fc.primitive), window=750, primitive=fc.primitive,
                                   incoherent=False)
    cur = fit_current_peaks(sqw, groups=np.repeat(np.arange(3), 3), phonons=ph)
    assert cur.sizes["q"] == 3 and cur.frequency.dims == ("q", "current")
    assert list(cur.current.values) == ["L", "T"] and list(cur.n_qpoints.values) == [3, 3, 3]
    both = merge_peaks(cur, mode_peaks, phonons=ph)
    assert list(both.mode_branch.sel(current="L").values) == [2, 2, 2]      # LA: the longitudinal branch
    assert list(both.mode_branch.sel(current="T").values) == [0, 0, 0]
    for c in ("L", "T"):
        m = both.sel(current=c)
        assert np.all(m.n_sigma < 2.5), (c, m.difference.values, m.n_sigma.values)
        assert np.all(m.current_frequency_err < 0.05) and np.all(m.mode_frequency_err < 0.05)
    np.testing.assert_allclose(both.current_frequency.sel(current="L"), [3.77, 6.54, 7.76], atol=0.05)
    # nearest-frequency matching finds the same branches
    np.testing.assert_array_equal(merge_peaks(cur, mode_peaks).mode_branch.values, both.mode_branch.values)


def test_spectra_integrate_to_the_equal_time_current_and_groups_cut_the_error():
    fc, ph, traj, u = _harmonic("cu_eam", 30.0, 120)
    q = cartesian_to_reduced(STARS[:6], fc.primitive)
    sqw = dynamic_structure_factor(traj, q, window=40, primitive=fc.primitive, incoherent=False)
    sp = current_spectra(sqw)
    df = sp.attrs["resolution_thz"]
    np.testing.assert_allclose(sp.psd.sel(branch=0).sum("frequency") * df, sqw.Clqt.isel(time=0), rtol=1e-10)
    np.testing.assert_allclose(sp.psd.sel(branch=1).sum("frequency") * df, sqw.Ctqt.isel(time=0), rtol=1e-10)
    rel = float((sp.psd_err / abs(sp.psd)).max())
    assert rel == pytest.approx(np.sqrt(79 / 120))
    grouped = current_spectra(sqw, groups=[0, 0, 0, 1, 1, 1])
    assert grouped.sizes["q"] == 2 and list(grouped.n_qpoints.values) == [3, 3]
    np.testing.assert_allclose(grouped.psd.values[0], sp.psd.values[:3].mean(axis=0))
    assert float((grouped.psd_err / abs(grouped.psd)).max()) == pytest.approx(rel / np.sqrt(3))


def test_lines_narrower_than_the_resolution_or_above_nyquist_are_flagged(tmp_path_factory, cu_eam):
    """The exact harmonic crystal: zero-width lines, "width below resolution", at the harmonic frequency within a
    bin (0.17 THz; measured 0.04 and 0.02 THz off). Such a line is the boxcar lag window's Dirichlet kernel, with
    negative side lobes, not a DHO: with windows of 200 frames one of these fits does not converge (its status says
    so), with 100 frames one lands two bins off. Frames 0.08 ps apart (Nyquist 6.25 THz): the LA line at X (7.3 THz)
    is aliased, flagged with no values; the one at (1/3, 0, 0) 2 pi / a (3.8 THz) is not."""
    fc, ph, traj, u = _harmonic("cu_eam", 30.0, 400)
    q = cartesian_to_reduced(DELTA[:2], fc.primitive)
    sqw = dynamic_structure_factor(traj, q, window=300, primitive=fc.primitive, incoherent=False)
    cur = fit_current_peaks(sqw, currents=("L",), phonons=ph)
    L = cur.sel(current="L")
    assert list(L.status.values) == ["width below resolution"] * 2
    harmonic = ph.frequencies(q)[:, 2]
    np.testing.assert_allclose(L.frequency.values, harmonic, atol=sqw.frequency.values[1])
    np.testing.assert_allclose(L.frequency_harmonic.values, harmonic)
    coarse = cu_run(tmp_path_factory, 300)[::4]
    sq = dynamic_structure_factor(coarse, cartesian_to_reduced([DELTA[0], DELTA[2]], fc.primitive), window=60,
                                  primitive=fc.primitive, incoherent=False)
    flagged = fit_current_peaks(sq, phonons=ph)
    assert flagged.attrs["nyquist_thz"] == pytest.approx(1 / 0.16)
    assert flagged.status.sel(current="L").values[1] == "above Nyquist: aliased"
    assert np.isnan(flagged.frequency.sel(current="L").values[1])
    assert flagged.status.sel(current="L").values[0] != "above Nyquist: aliased"
    with pytest.raises(ValueError, match="boxcar lag window"):
        fit_current_peaks(sq, model="dho_windowed")


def _lag_window_currents(nu0, fwhm, n_q, n_frames=2501, window=250, dt=0.02, seed=0):
    """C_L(q, omega) as dynamic_structure_factor computes it (the correlation over every origin, its lags 0 .. W - 1
    mirrored and transformed without a window) of ``n_q`` independent longitudinal modes whose velocities are
    those of damped oscillators (exact Langevin, a DHO line of FWHM ``fwhm`` at ``nu0``), frames ``dt`` apart."""
    import xarray as xr
    from tests.modes.test_peaks import langevin_velocities
    from trajmodes.modes.density_correlations import even_spectrum
    v = langevin_velocities(2 * n_q, nu0=nu0, fwhm=fwhm, dt=dt, t_ps=n_frames * dt, seed=seed)
    z = v[:, 0::2] + 1j * v[:, 1::2]
    spec = np.fft.fft(z, 2 * len(z), axis=0)
    acf = np.fft.ifft(np.abs(spec) ** 2, axis=0).real[:window] / (len(z) - np.arange(window))[:, None]
    omega, C = even_spectrum(acf.T, dt)
    return xr.Dataset({"Clqw": (("q", "omega"), C, {"units": "Angstrom^2/ps"})},
                      coords={"omega": omega, "frequency": ("omega", omega / (2 * np.pi))},
                      attrs=dict(n_frames=len(z), window=window, step=1, frame_interval=dt))


def test_broad_current_lines_have_finite_errors():
    """bcc Zr at 1300 K, `trajmodes sqw --window 250` of a 50 ps run: C_L lines ~1 THz wide; the lag-window estimate
    rings below zero in their tails, where the Whittle likelihood has no minimum, and the default DHO fits collapsed
    onto spikes ("5.616 +- 68130701" THz). Here 16 synthetic C_L spectra of DHO lines (FWHM 1.0 THz at 4 THz,
    0.5 at 3 THz) computed as dynamic_structure_factor does: before, 6 and 4 of 16 with errors of 10^7 THz (up to
    4.6e7, measured); now every
    line fitted, frequency errors below 0.1 THz, frequency and FWHM within 2.5 error bars of the truth in 15 of 16,
    widths within 20% in the median."""
    for nu0, g, seed in ((4.0, 1.0, 50), (3.0, 0.5, 80)):
        cur = fit_current_peaks(_lag_window_currents(nu0, g, 16, seed=seed), currents=("L",)).sel(current="L")
        f, fe, w, we = (cur[n].values for n in ("frequency", "frequency_err", "fwhm", "fwhm_err"))
        assert np.isfinite(f).all() and np.all(fe < 0.1), (cur.status.values, fe)
        assert np.sum(np.abs(f - nu0) < 2.5 * fe) >= 15 and np.sum(np.abs(w - g) < 2.5 * we) >= 15
        assert abs(np.median(w) / g - 1) < 0.2, np.median(w)
