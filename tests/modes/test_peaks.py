"""Peak fits: the Langevin damped-oscillator known answer, undamped and flat spectra flagged."""
from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from scipy.linalg import expm

import trajmodes
from trajmodes.modes.lineshapes import WindowedDHO, WindowedLorentzian, dho, dho_jacobian, lorentzian, lorentzian_jacobian

from tests.support.spectra import count_pools, modes_dataset

NU0, FWHM, DT, T_PS = 10.0, 0.30, 0.005, 200.0


def langevin_velocities(n_osc, nu0=NU0, fwhm=FWHM, dt=DT, t_ps=T_PS, seed=0):
    """Velocities of independent unit-mass Langevin oscillators x'' = -w0^2 x - G x' + noise (kT = 1),
    integrated exactly: (x, v) is an Ornstein-Uhlenbeck process, propagated with exp(A dt) and the exact
    step covariance C - M C M^T from the stationary covariance C = diag(1/w0^2, 1)."""
    w0, gam = 2 * np.pi * nu0, 2 * np.pi * fwhm
    a = np.array([[0.0, 1.0], [-w0 * w0, -gam]])
    m = expm(a * dt)
    c = np.diag([1.0 / w0 ** 2, 1.0])
    chol = np.linalg.cholesky(c - m @ c @ m.T)
    n = int(round(t_ps / dt))
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(n, 2, n_osc))
    state = np.linalg.cholesky(c) @ rng.normal(size=(2, n_osc))
    v = np.empty((n, n_osc))
    for i in range(n):
        state = m @ state + chol @ z[i]
        v[i] = state[1]
    return v


def test_dho_fwhm_is_gamma_over_2pi_exactly():
    nu = np.linspace(5, 15, 200001)
    for g in (0.3, 3.0, 8.0):
        s = dho(nu, 1.0, NU0, g, 0.0)
        above = nu[s >= 0.5]
        assert abs(above[-1] - above[0] - g) < 1e-4
        assert abs(nu[np.argmax(s)] - NU0) < 1e-4
    s = lorentzian(nu, 1.0, NU0, 0.3, 0.0)
    above = nu[s >= 0.5]
    assert abs(above[-1] - above[0] - 0.3) < 1e-4


@pytest.fixture(scope="module")
def langevin():
    v = langevin_velocities(16, seed=11)
    return v[:, 0::2] + 1j * v[:, 1::2]      # 8 complex mode amplitudes, each from two independent real ones


def _check(p, f_tol, w_rel_tol, model):
    assert str(p.status.values) == "ok"
    f, fe = float(p.frequency), float(p.frequency_err)
    w, we = float(p.fwhm), float(p.fwhm_err)
    print(model, f"nu={f:.5f}+-{fe:.5f} fwhm={w:.4f}+-{we:.4f} tau={float(p.lifetime):.4f}"
          f"+-{float(p.lifetime_err):.4f} chi2={float(p.chi2_red):.2f}")
    assert abs(f - NU0) < f_tol
    assert abs(w - FWHM) < w_rel_tol * FWHM
    assert abs(w - FWHM) < 2.5 * we            # the error bar covers the truth (2.5 sigma)
    assert abs(f - NU0) < 2.5 * fe
    np.testing.assert_allclose(float(p.lifetime), 1 / (2 * np.pi * w))
    np.testing.assert_allclose(float(p["shift"]), f - NU0)
    assert p.fwhm.attrs["units"] == "THz" and p.lifetime.attrs["units"] == "ps"
    assert "1/(2 pi FWHM)" in p.lifetime.attrs["convention"]


@pytest.mark.parametrize("model", ["lorentzian", "dho"])
def test_langevin_single_mode_200ps(langevin, model):
    """One mode, 200 ps: the statistical error is ~2.5% of FWHM... 7%; the error bar must cover the truth."""
    ds = modes_dataset(langevin[:, :1, None], DT, chunk=8000, harmonic=[[NU0]])
    p = trajmodes.fit_peaks(trajmodes.mode_spectra(ds, resolution=0.02), model=model).isel(q=0, branch=0)
    _check(p, 0.02, 0.15, model)


@pytest.mark.parametrize("model", ["lorentzian", "dho"])
def test_langevin_known_answer(langevin, model):
    """8 degenerate branches x 200 ps, averaged: frequency to 0.005 THz, FWHM within 5%."""
    ds = modes_dataset(langevin[:, None, :], DT, chunk=8000, harmonic=[[NU0] * 8])
    p = trajmodes.fit_peaks(trajmodes.mode_spectra(ds, resolution=0.02), model=model).isel(q=0, branch=0)
    assert int(p.n_averaged) == 8
    _check(p, 0.005, 0.05, model)


def test_degenerate_branches_fitted_together():
    v = langevin_velocities(3, seed=5)
    x = v[:, None, :] + 0j
    ds = modes_dataset(x, DT, chunk=10000, harmonic=[[NU0, NU0 + 1e-4, NU0 - 2e-4]])
    s = trajmodes.mode_spectra(ds, resolution=0.05)
    avg = trajmodes.fit_peaks(s, model="dho").isel(q=0)
    sep = trajmodes.fit_peaks(s, model="dho", average_degenerate=False).isel(q=0)
    assert (avg.n_averaged.values == 3).all() and (sep.n_averaged.values == 1).all()
    assert np.ptp(avg.fwhm.values) == 0
    assert float(avg.fwhm_err[0]) < float(sep.fwhm_err.mean())
    assert abs(float(avg.fwhm[0]) - FWHM) < 2.5 * float(avg.fwhm_err[0])


def test_undamped_sinusoid_flagged():
    t = np.arange(40000) * DT
    x = np.exp(2j * np.pi * 10.013 * t)
    ds = modes_dataset(x[:, None, None], DT, chunk=8000, harmonic=[[10.0]])
    s = trajmodes.mode_spectra(ds, resolution=0.05)
    for model in ("lorentzian", "dho"):
        p = trajmodes.fit_peaks(s, model=model).isel(q=0, branch=0)
        assert str(p.status.values) == "width below resolution"
        assert float(p.fwhm) < 2 * s.attrs["enbw_thz"]
        assert abs(float(p.frequency) - 10.013) < 0.02


def test_flat_noise_no_peak():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(40000, 1, 2)) + 1j * rng.normal(size=(40000, 1, 2))
    ds = modes_dataset(x, DT, chunk=8000, harmonic=[[5.0, 12.0]])
    p = trajmodes.fit_peaks(trajmodes.mode_spectra(ds, resolution=0.05))
    assert (p.status.values == "no peak").all()
    assert np.isnan(p.fwhm.values).all()


def test_zero_frequency_mode_flagged():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(4000, 1, 1)) + 0j
    ds = modes_dataset(x, DT, harmonic=[[0.0]])
    p = trajmodes.fit_peaks(trajmodes.mode_spectra(ds, resolution=0.5))
    assert str(p.status.values[0, 0]) == "zero-frequency mode"


def test_bad_model():
    ds = modes_dataset(np.ones((100, 1, 1), complex), DT)
    with pytest.raises(ValueError):
        trajmodes.fit_peaks(trajmodes.mode_spectra(ds, resolution=2.0), model="gauss")


def _numerical_jac(func, x, p, h=1e-6):
    return np.stack([(func(x, *(p + e * h)) - func(x, *(p - e * h))) / (2 * h) for e in np.eye(4)], axis=1)


def test_analytic_jacobians():
    x = np.linspace(8.0, 12.0, 41)                      # on the bins of a 10 ps segment, dt = 5 fs
    p = np.array([1.3, 10.02, 0.2, 0.1])
    for func, jac in ((lorentzian, lorentzian_jacobian), (dho, dho_jacobian),
                      (WindowedLorentzian(2000, DT), WindowedLorentzian(2000, DT).jac)):
        np.testing.assert_allclose(jac(x, *p), _numerical_jac(func, x, p), atol=1e-7)


def test_windowed_models_limits():
    """Long segments: the windowed models become the plain ones; the folded line keeps its area pi A G / 2."""
    n = 20000                                           # 100 ps, 0.01 THz bins
    f = np.arange(n // 2 + 1) / (n * DT)
    for cls, plain in ((WindowedLorentzian, lorentzian), (WindowedDHO, dho)):
        m = cls(n, DT, "hann")
        mirror = lorentzian(f, 1.0, -NU0, 1.0, 0.0) if plain is lorentzian else 0.0
        np.testing.assert_allclose(m(f, 1.0, NU0, 1.0, 0.0)[1:], (plain(f, 1.0, NU0, 1.0, 0.0) + mirror)[1:],
                                   atol=2e-3)
    narrow = WindowedLorentzian(2000, DT)(np.arange(1001) / (2000 * DT), 1.0, NU0, 0.05, 0.0)
    assert abs(narrow.sum() / (2000 * DT) - np.pi * 0.05 / 2) < 1e-6
    assert narrow.max() < 0.5                           # the window spreads a 0.05 THz line over ~0.15 THz
    off = WindowedLorentzian(2000, DT)(np.array([9.95, 10.0, 10.05]) + 1e-7, 1.0, NU0, 0.05, 0.0)
    np.testing.assert_allclose(off[1], narrow[100], rtol=1e-5)   # off-grid (direct sum) = on-grid (FFT)


def test_windowed_model_recovers_width_near_resolution():
    """FWHM 0.1 THz seen through 10 ps Hann segments (bins 0.1 THz, ENBW 0.15 THz): the plain Lorentzian takes
    the window's broadening for width (~0.127, +27%, flagged 'width below resolution'); the windowed models fit
    the expected periodogram and get 0.1 within 5% (6 seeds: dho_windowed 0.097-0.104, lorentzian_windowed
    0.097-0.104), dho_windowed with chi2_red ~ 1 and the frequency within its error."""
    g = 0.1
    v = langevin_velocities(16, fwhm=g, t_ps=400.0, seed=2)
    ds = modes_dataset(v[:, None, 0::2] + 1j * v[:, None, 1::2], DT, chunk=8000, harmonic=[[NU0] * 8])
    s = trajmodes.mode_spectra(ds, resolution=0.1)
    assert s.attrs["segment_frames"] == 2000 and s.attrs["window"] == "hann"
    plain = trajmodes.fit_peaks(s, model="lorentzian").isel(q=0, branch=0)
    assert float(plain.fwhm) > 1.1 * g                  # the window broadens the plain fit (measured 0.117)
    for model in ("lorentzian_windowed", "dho_windowed"):
        p = trajmodes.fit_peaks(s, model=model).isel(q=0, branch=0)
        print(model, float(p.fwhm), float(p.fwhm_err), float(p.frequency), float(p.chi2_red))
        assert str(p.status.values) == "ok"
        assert abs(float(p.fwhm) - g) < 0.05 * g
        assert abs(float(p.fwhm) - g) < 3 * float(p.fwhm_err)
    assert abs(float(p.frequency) - NU0) < 3 * float(p.frequency_err) and float(p.chi2_red) < 2
    with pytest.raises(ValueError, match="segment_frames"):
        trajmodes.fit_peaks(_no_attrs(s), model="lorentzian_windowed")


def _no_attrs(ds):
    out = ds.copy()
    out.attrs = {}
    return out


def test_identical_spectra_fitted_once(monkeypatch):
    """Star members carry the same averaged spectrum: one fit each star, the same numbers for all."""
    import trajmodes.modes.peaks as pk
    v = langevin_velocities(8, seed=3, t_ps=100.0)
    x = np.stack([v[:, 0::2], v[:, 0::2], v[:, 1::2]], axis=1) + 0j       # q0 and q1 the same data
    ds = modes_dataset(x, DT, chunk=8000, harmonic=[[NU0, 11.0, 12.0, 13.0]] * 3)
    s = trajmodes.mode_spectra(ds, resolution=0.05)
    calls = []
    orig = pk.fit_spectrum
    monkeypatch.setattr(pk, "fit_spectrum", lambda *a, **k: calls.append(1) or orig(*a, **k))
    p = trajmodes.fit_peaks(s, star=False, workers=1)      # the dedupe itself, counted in this process
    assert len(calls) == 8                                # 12 spectra, q1 a copy of q0
    for n in ("frequency", "fwhm", "fwhm_err", "status"):
        np.testing.assert_array_equal(p[n].values[0], p[n].values[1])
    assert not np.array_equal(p.frequency.values[0], p.frequency.values[2])


def _full_periodograms(k, n, nu0=7.0, fwhm=0.1, t_ps=400.0, fmax=12.5, background=0.02, seed=0):
    """``n`` synthetic full-resolution spectra (one periodogram over t_ps: bins 1/t_ps, here 40 across the
    line): each the mean of ``k`` independent periodograms of a Lorentzian line (exponentially distributed
    bins: 100% noise per bin), with psd_err = sqrt(sum p_i^2) / k as star_average gives it."""
    f = np.arange(int(round(fmax * t_ps)) + 1) / t_ps
    line = lorentzian(f, 1.0, nu0, fwhm, background)
    pi = line * np.random.default_rng(seed).exponential(size=(k, n, 1, f.size))
    dims = ("q", "branch", "frequency")
    return xr.Dataset({"psd": (dims, pi.mean(0)), "psd_err": (dims, np.sqrt((pi ** 2).sum(0)) / k)},
                      coords={"frequency": f, "frequency_harmonic": (("q", "branch"), np.full((n, 1), nu0))},
                      attrs=dict(n_segments=1, enbw_thz=1.5 / t_ps, resolution_thz=1 / t_ps, full=1))


def test_automatic_window_on_full_resolution_periodograms():
    """A line 0.1 THz wide in 0.0025 THz bins (a 400 ps full periodogram), each bin 100% noisy: the automatic
    window must be set by the line, not by a noise spike.

    The old window (half-maximum of the 3-bin smoothed spectrum, +-max(1.5 rough, 10 bins) = +-0.025 THz here)
    collapsed onto spikes: k = 3 (the mean of 3 periodograms, an X star): 1 of 16 'ok' (12 "no peak", median
    fitted FWHM 0.007 THz, up to 0.034 THz off, 4 outside 3 sigma); k = 1: 0 of 32 'ok' (9 not converged, 19
    "no peak", up to 0.048 THz off, 15 outside 3 sigma).  Now (smoothing over ~25 rel^2 bins, half-width
    >= 0.1 THz, one refit over +-1.5 FWHM when the line is wider than the window): k = 3: 16 of 16 'ok', all
    within 3 sigma, max 0.0074 THz off, median FWHM 0.095; k = 1: 25 of 32 'ok' (6 "no peak", 1 not
    converged: least squares on one 100%-noise periodogram can still settle on a narrow spike, its centre
    near the line), max 0.013 THz off."""
    nu0, g = 7.0, 0.1
    p3 = trajmodes.fit_peaks(_full_periodograms(3, 16, nu0, g, seed=1), model="lorentzian").isel(branch=0)
    f, fe = p3.frequency.values, p3.frequency_err.values
    assert (p3.status.values == "ok").all(), p3.status.values
    assert np.all(np.abs(f - nu0) < 3 * fe), (f - nu0) / fe
    assert np.all(np.abs(f - nu0) < 0.015), f
    assert abs(np.median(p3.fwhm.values) / g - 1) < 0.15, p3.fwhm.values
    assert np.all(p3.window_hi.values - p3.window_lo.values >= 0.2 - 1e-9)     # +-0.1 THz at least
    p1 = trajmodes.fit_peaks(_full_periodograms(1, 32, nu0, g, seed=1), model="lorentzian").isel(branch=0)
    assert np.mean(p1.status.values == "ok") >= 0.6, p1.status.values
    assert np.nanmax(np.abs(p1.frequency.values - nu0)) < 0.02, p1.frequency.values


def _langevin_full_spectra(nu0, fwhm, n_q, k=1, seed=3, t_ps=50.0, dt=0.02):
    """``n_q`` independent q-points of ``k`` degenerate complex modes, each the exact velocity of a damped oscillator
    (a DHO line), frames ``dt`` apart over ``t_ps``: their full-resolution (one Hann periodogram) spectra."""
    v = langevin_velocities(2 * n_q * k, nu0=nu0, fwhm=fwhm, dt=dt, t_ps=t_ps, seed=seed)
    x = (v[:, 0::2] + 1j * v[:, 1::2]).reshape(len(v), n_q, k)
    return trajmodes.mode_spectra(modes_dataset(x, dt, harmonic=np.full((n_q, k), nu0)), full=True)


@pytest.mark.parametrize("nu0,fwhm", [(3.0, 1.0), (1.0, 0.8)])
def test_broad_lines_of_one_periodogram_do_not_collapse(nu0, fwhm):
    """Lines as broad as those of bcc Zr at 1300 K (0.5-2 THz) in a 50 ps run, frames 0.02 ps apart, `--full`: one
    Hann periodogram, 100% noise per bin, 0.02 THz bins. The former start (the half maximum of a 3-bin running mean,
    at most 0.05 THz: a noise spike's) and window (+-0.2 THz) made the fits collapse onto noise spikes: FWHM
    0.0001-0.2 THz with frequency errors of ~0.02 THz, here 16 of 16 Lorentzian (15 DHO) fits at 3 THz, 15 (12) of 16
    at 1 THz (measured).
    Now (the widest running mean that leaves the line's width, several starts, the broad line's window where the
    likelihood prefers it): no fit narrower than a quarter of the line; "auto" picks the damped oscillator (the
    exact shape of these lines) and gets the width within 10% in the median and within 2.5 of its error bars in at
    least 14 of 16, the centre within 2.5 error bars in 14 of 16."""
    s = _langevin_full_spectra(nu0, fwhm, 16)
    for model in ("lorentzian", "auto"):
        p = trajmodes.fit_peaks(s, model=model, star=False, progress=False).isel(branch=0)
        w, we = p.fwhm.values, p.fwhm_err.values
        assert np.isfinite(w).all(), p.status.values
        assert np.all(w > 0.25 * fwhm), (model, np.sort(w)[:4])
        assert np.mean(p.status.values == "ok") >= 0.85, (model, p.status.values)
        est = p.estimate_fwhm.values
        assert np.mean((est > 0.5 * fwhm) & (est < 2 * fwhm)) >= 0.9, (model, est)
    assert abs(np.median(w) / fwhm - 1) < 0.1, np.median(w)
    assert np.sum(np.abs(w - fwhm) < 2.5 * we) >= 14, (w - fwhm) / we
    assert np.sum(np.abs(p.frequency.values - nu0) < 2.5 * p.frequency_err.values) >= 14
    assert np.mean(p.line_model.values == "dho") > 0.75, p.line_model.values
    assert p.attrs["model"] == "auto"


def test_a_fit_that_still_collapses_is_not_measured(monkeypatch, tmp_path):
    """A resolved broad line (FWHM 1 THz at 3 THz, one 50 ps periodogram) and a fitter that lands on a noise spike
    from every start (simulated: each likelihood fit returns a line of a hundredth of a bin at the highest bin of its
    window): no values and status "collapsed", the smoothed estimate kept (within 50% of the line's width, centre
    within 0.3 THz); the fits figure draws no fitted line for it."""
    import matplotlib
    matplotlib.use("Agg")
    import trajmodes.modes.peaks as pk
    from trajmodes.plots import plot_mode_fits
    from trajmodes.workflows import modes_dataset as project_dataset

    def spike(func, jac, x, y, p0, bounds, **kw):
        k = int(np.argmax(y))
        return np.array([y[k], x[k], 1e-2 * (x[1] - x[0]), float(np.median(y))])

    monkeypatch.setattr(pk, "whittle_fit", spike)
    s = _langevin_full_spectra(3.0, 1.0, 3, k=2)
    p = trajmodes.fit_peaks(s, star=False, progress=False)
    assert (p.status.values == "collapsed").all(), p.status.values
    assert np.isnan(p.frequency.values).all() and np.isnan(p.fwhm.values).all()
    assert np.all(np.abs(p.estimate_fwhm.values - 1.0) < 0.5) and np.all(np.abs(p.estimate_frequency - 3.0) < 0.3)
    v = langevin_velocities(4, nu0=3.0, fwhm=1.0, dt=0.02, t_ps=50.0, seed=1)
    ds = project_dataset(modes_dataset((v[:, 0::2] + 1j * v[:, 1::2])[:, None, :], 0.02, harmonic=[[3.0, 3.0]]),
                         full=True)
    assert (ds.peak_status.values == "collapsed").all()
    fig = plot_mode_fits(ds, [(0, 0)], str(tmp_path / "fits.png"))
    labels = [ln.get_label() for ln in fig.axes[0].get_lines()]
    assert not any(lab.startswith("fit ") for lab in labels) and any(lab.startswith("no fit") for lab in labels)


@pytest.mark.parametrize("case", ["flat", "two bins", "window off the axis"])
def test_a_spectrum_without_a_line_is_no_peak_not_a_traceback(case):
    """Nothing above the rest of the spectrum (a constant one; the two bins of a 2-3 frame run's full spectrum; a
    given window outside the frequency axis): the fit says "no peak" with NaN values, not an IndexError."""
    from trajmodes.modes.peaks import fit_spectrum
    f = np.linspace(0.0, 10.0, 2 if case == "two bins" else 201)
    p = np.ones_like(f) if case != "two bins" else np.array([1.0, 2.0])
    window = (20.0, 30.0) if case == "window off the axis" else "auto"
    r = fit_spectrum(f, p, 0.1 * p, None, lorentzian, window, f[1] - f[0], f[1] - f[0], 10)
    assert r["status"] == "no peak" and np.isnan(r["frequency"]) and np.isnan(r["estimate_frequency"])


def test_parallel_fits_equal_serial(monkeypatch):
    """The fits of many distinct spectra run in worker processes and give exactly the numbers of the fits in this
    process."""
    from trajmodes.modes import peaks
    started = count_pools(monkeypatch)
    monkeypatch.setattr(peaks, "parallel_pays", lambda n_fits, seconds, workers, start: workers > 1)
    monkeypatch.setattr(peaks, "PROBE_SECONDS", 0.0)                # one fit here, the other 59 on the workers
    f = np.arange(121) * 0.1
    rng = np.random.default_rng(4)
    nu0 = rng.uniform(3.0, 9.0, size=(60, 1))
    line = lorentzian(f[None, None, :], 1.0, nu0[..., None], 0.4, 0.02)
    pi = line * rng.exponential(size=(8, 60, 1, f.size))
    dims = ("q", "branch", "frequency")
    s = xr.Dataset({"psd": (dims, pi.mean(0)), "psd_err": (dims, pi.std(0) / np.sqrt(8))},
                   coords={"frequency": f, "frequency_harmonic": (("q", "branch"), nu0)},
                   attrs=dict(n_segments=8, enbw_thz=0.15, resolution_thz=0.1))
    serial = trajmodes.fit_peaks(s, model="auto", star=False, workers=1, progress=False)
    assert started == []
    parallel = trajmodes.fit_peaks(s, model="auto", star=False, workers=2, progress=False)
    assert started == [2]
    assert (serial.status.values == "ok").sum() > 40
    for name, v in serial.data_vars.items():
        np.testing.assert_array_equal(parallel[name].values, v.values, err_msg=name)


def test_parallel_fits_chosen_by_their_expected_time():
    """Worker processes for the fits when the fits are expected to take long enough to pay for starting them: 50 fits
    of 0.1 s (a long spectrum, two models) run on the workers, 50 of 1 ms stay in this process, whatever the count."""
    from trajmodes.modes.peaks import START_SECONDS, fit_batch_size, parallel_pays
    for workers in (2, 16):
        assert parallel_pays(50, 0.1, workers, START_SECONDS["fork"])
        assert not parallel_pays(50, 1e-3, workers, START_SECONDS["fork"])
    assert not parallel_pays(50, 0.1, 1, START_SECONDS["fork"])           # one core: nothing to share
    assert not parallel_pays(50, 0.02, 16, START_SECONDS["spawn"])        # 1 s of fits, 16 s of imports
    assert parallel_pays(5000, 1e-3, 16, START_SECONDS["fork"])
    assert fit_batch_size(50, 16) == 1 and fit_batch_size(50, 2) == 6 and fit_batch_size(5000, 16) == 16
