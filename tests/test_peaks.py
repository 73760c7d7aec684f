"""Peak fits: the Langevin damped-oscillator known answer, undamped and flat spectra flagged."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.linalg import expm

import trajmodes
from trajmodes.peaks import dho, lorentzian

from test_spectra import modes_dataset

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
