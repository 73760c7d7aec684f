"""Green-Kubo conductivity by cepstral analysis against SporTran's own example series and regression values
(tests/data/sportran/README.md), and against an exact synthetic spectrum."""
import gzip

import numpy as np
import pytest

from tests.support.paths import DATA
from trajmodes.transport.cepstral import (akaike, cepstral_conductivity, cepstral_statistics, current_periodogram,
                                          green_kubo_scale, resample_current)

SPORTRAN = DATA / "sportran"


def _sportran_scale(temperature, volume):
    """SporTran's KAPPA_SCALE for LAMMPS metal units (per fs of its periodogram), from its CODATA 2006 constants."""
    return (1.6021765 / temperature) ** 2 / 1.3806504 / volume * 1e4


def _reference(name):
    import csv
    with open(SPORTRAN / f"test_example_{name}.csv") as f:
        rows = list(csv.DictReader(f))
    col = {k: np.array([float(r[k]) for r in rows if r[k] != ""]) for k in rows[0] if k}
    kmin = int(open(SPORTRAN / f"test_example_{name}.yml").read().split(":")[1])
    return col, kmin


def _series(name):
    with gzip.open(SPORTRAN / ("NaCl.dat.gz" if name == "NaCl" else "Silica.dat.gz"), "rt") as f:
        if name == "NaCl":
            d = np.loadtxt(f, skiprows=1)
            return np.stack([d[:, 1:4], d[:, 4:7]]), 0.005, float(d[:, 0].mean()), 40.21 ** 3, 14.0
        d = np.loadtxt(f, comments="#", skiprows=6)
        return d, 0.001, 1065.705630, 3130.431110818, 28.0


@pytest.mark.parametrize("name", ["NaCl", "SiO2"])
def test_sportrans_examples_give_its_kappa_and_error(name):
    """Molten NaCl (the heat current and the Na mass current, two currents: Bertossa et al. 2019) at f* = 14 THz and
    amorphous silica at f* = 28 THz, SporTran's settings: the same Akaike choice and, with its constants, the same
    kappa and error bar to 1e-12; the periodogram, cepstral coefficients and log S(0) with its error at every
    cutoff to 1e-12. With trajmodes' CODATA 2018 constants kappa differs by the constants' 1.18e-6."""
    ref, kmin = _reference(name)
    currents, dt, T, V, fstar = _series(name)
    ds = cepstral_conductivity(currents, dt, T, V, fstar=fstar)
    assert ds.attrs["aic_minimum"] == ds.attrs["cutoff"] == kmin
    ratio = _sportran_scale(T, V) / (green_kubo_scale(V, T) / 1000.0)        # theirs per fs, ours per ps
    assert abs(ratio - 1) == pytest.approx(1.18e-6, abs=0.01e-6)
    np.testing.assert_allclose(float(ds.kappa) * ratio, ref["kappa_Kmin"][0], rtol=1e-12)
    np.testing.assert_allclose(float(ds.kappa_err) * ratio, ref["kappa_Kmin_std"][0], rtol=1e-12)
    assert abs(float(ds.kappa) / ref["kappa_Kmin"][0] - 1) < 1.2e-6
    np.testing.assert_allclose(ds.psd.values * 1000.0, ref["psd"], rtol=1e-12)            # fs vs ps
    np.testing.assert_allclose(ds.cepstral.values[1:], ref["logpsdK"][1:], rtol=0, atol=1e-12)
    # log S(0) from 2 or more coefficients (SporTran's value for one coefficient is 2 c_0, here c_0); SporTran's
    # table holds it with the log-periodogram's bias at zero frequency added back
    bias = cepstral_statistics(ds.sizes["frequency"], ds.attrs["ndf"])[0][0]
    np.testing.assert_allclose(ds.log_s0.values[1:] + np.log(1000.0) + bias, ref["logtau"][1:], rtol=1e-13)
    np.testing.assert_allclose(ds.log_s0_err.values, ref["logtau_THEORY_std"], rtol=1e-13)
    np.testing.assert_allclose(ds.aic.values.min(), ref["aic_min"][0], rtol=1e-13)
    assert ds.attrs["fstar_THz"] == pytest.approx(ref["Nyquist_f_THz"][0], rel=1e-14)


def test_white_noise_gives_its_exact_spectrum():
    """White noise of variance s^2 per component sampled every dt has the flat spectrum S(f) = s^2 dt: the cepstral
    estimate of S(0) keeps few coefficients (the AIC sees no structure: a median of at most 3) and falls within two of its standard errors
    of the exact value, and the error bar is the theory's (its z-score over 40 series has a spread near 1)."""
    rng = np.random.default_rng(7)
    s, dt, n = 3.0, 0.002, 20000
    z, cut = [], []
    for _ in range(40):
        ds = cepstral_conductivity(rng.normal(0, s, (n, 3)), dt, 300.0, 1000.0)
        exact = 0.5 * green_kubo_scale(1000.0, 300.0) * s ** 2 * dt
        z.append((np.log(float(ds.kappa)) - np.log(exact)) / float(ds.log_s0_err[ds.attrs["cutoff"]]))
        cut.append(ds.attrs["cutoff"])
    z = np.array(z)
    assert np.median(cut) <= 2, cut
    assert abs(z.mean()) < 0.5 and 0.6 < z.std() < 1.5, (z.mean(), z.std())


def test_an_exponential_correlation_gives_its_integral():
    """An Ornstein-Uhlenbeck current (correlation s^2 exp(-t / tau)) has S(0) = 2 s^2 tau: kappa within three standard
    errors, the cut-off frequency set with fstar."""
    rng = np.random.default_rng(11)
    dt, tau, s, n = 0.001, 0.05, 2.0, 200_000
    a = np.exp(-dt / tau)
    x = np.empty((n, 3))
    x[0] = rng.normal(0, s, 3)
    noise = rng.normal(0, s * np.sqrt(1 - a * a), (n, 3))
    for i in range(1, n):
        x[i] = a * x[i - 1] + noise[i]
    ds = cepstral_conductivity(x, dt, 500.0, 2000.0, fstar=20.0)
    exact = 0.5 * green_kubo_scale(2000.0, 500.0) * 2 * s ** 2 * tau
    assert abs(float(ds.kappa) - exact) < 3 * float(ds.kappa_err)
    assert float(ds.kappa_err) < 0.1 * exact


def test_pieces_and_bad_input():
    """The periodogram normalisation (Parseval: its sum is the variance of the series times dt), the AIC's
    definition, the resampling's running mean, and one-line errors for bad input."""
    rng = np.random.default_rng(1)
    x = rng.normal(0, 1, (1000, 3))
    f, psd, ndf = current_periodogram(x, 0.01)
    assert ndf == 3 and f[-1] == pytest.approx(50.0)
    two_sided = 2 * psd.sum() - psd[0] - psd[-1]
    assert two_sided / 1000 / 0.01 == pytest.approx((x ** 2).sum(axis=0).mean() / 1000, rel=1e-12)
    c = rng.normal(size=8)
    v = rng.random(8) + 0.5
    aic = akaike(c, v)
    assert aic[3] == pytest.approx(np.sum(c[4:] ** 2 / v[4:]) + 8)
    assert aic[-1] == 16
    r = resample_current(np.arange(20.0), 4)
    np.testing.assert_allclose(r[0, :, 0], [1.5, 5.5, 9.5, 13.5])              # means of 0..3, 4..7, ..., 12..15
    mean, var = cepstral_statistics(5, 1)
    assert mean[1] == pytest.approx(-np.euler_gamma) and mean[0] == pytest.approx(-np.euler_gamma - np.log(2))
    assert var[1] == pytest.approx(np.pi ** 2 / 6 / 8) and var[0] == pytest.approx(np.pi ** 2 / 3 / 8)
    with pytest.raises(ValueError, match="not finite at step 5"):
        bad = x.copy()
        bad[5, 1] = np.nan
        cepstral_conductivity(bad, 0.01, 300, 100)
    with pytest.raises(ValueError, match="temperature must be positive"):
        cepstral_conductivity(x, 0.01, -1, 100)
    with pytest.raises(ValueError, match="fstar .* or tskip"):
        cepstral_conductivity(x, 0.01, 300, 100, fstar=5, tskip=2)
    with pytest.raises(ValueError, match="at least as many equivalent components as currents"):
        cepstral_conductivity(np.stack([x[:, :1], x[:, 1:2]]), 0.01, 300, 100)
    with pytest.raises(ValueError, match="cutoff .* frequencies"):
        cepstral_conductivity(x, 0.01, 300, 100, cutoff=10_000)


def _ou(rng, n, dt, taus, s=1.0):
    """Independent Ornstein-Uhlenbeck components with correlation times ``taus`` (ps): S_aa(0) = 2 s^2 tau_a."""
    a = np.exp(-dt / np.asarray(taus))
    x = np.empty((n, len(taus)))
    x[0] = rng.normal(0, s, len(taus))
    noise = rng.normal(0, 1, (n, len(taus))) * s * np.sqrt(1 - a * a)
    for i in range(1, n):
        x[i] = a * x[i - 1] + noise[i]
    return x


def test_tensor_of_an_anisotropic_current_and_the_running_integral():
    """Three components with correlation times 0.01, 0.02, 0.04 ps, then mixed by a rotation R (so the tensor is
    R diag R^T, with off-diagonal parts): the cepstral tensor (f* = 10 THz, where these spectra are smooth) and the
    running integral at long times recover it within their errors; independent runs combined reduce the error of
    log S(0) by about sqrt(2)."""
    from trajmodes.transport.cepstral import cepstral_tensor, combine_runs, green_kubo_integral
    rng = np.random.default_rng(5)
    dt, n, taus = 0.002, 200_000, [0.01, 0.02, 0.04]
    c, s = np.cos(0.5), np.sin(0.5)
    R = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])
    x = _ou(rng, n, dt, taus) @ R.T
    scale = 0.5 * green_kubo_scale(1000.0, 300.0)
    exact = scale * R @ np.diag(2 * np.array(taus)) @ R.T
    ds = cepstral_tensor(x, dt, 300.0, 1000.0, fstar=10.0)
    k, e = ds.kappa.values, ds.kappa_err.values
    assert np.all(np.abs(k - exact) < 4 * e), ((k - exact) / e)
    assert abs(k[0, 1]) > 3 * e[0, 1]                                       # the off-diagonal part is resolved
    gk = green_kubo_integral(x, dt, 300.0, 1000.0, max_time=1.0)
    np.testing.assert_allclose(gk.kappa.values[-1], exact, atol=0.15 * exact.max())
    assert gk.kappa.values[0].max() == 0 and gk.time.values[-1] == pytest.approx(1.0)
    one = cepstral_conductivity(x, dt, 300.0, 1000.0, fstar=10.0)
    two = cepstral_conductivity(combine_runs([x, _ou(rng, n + 10, dt, taus) @ R.T]), dt, 300.0, 1000.0, fstar=10.0)
    assert two.attrs["n_components"] == 6 and two.attrs["n_steps"] == n
    assert float(two.log_s0_err[two.attrs["cutoff"]]) < 0.8 * float(one.log_s0_err[two.attrs["cutoff"]])
    with pytest.raises(ValueError, match="the heat current alone"):
        cepstral_tensor(np.stack([x, x]), dt, 300.0, 1000.0, fstar=10.0)


@pytest.mark.parametrize("name", ["NaCl", "SiO2"])
def test_the_default_cutoff_frequency_agrees_with_sportrans_choice(name):
    """Without f*: the band of 90 % of the heat current's power (9.7 THz for NaCl, 31.9 THz for silica, against the
    14 and 28 THz SporTran's examples chose), and a kappa within the two errors of the one at SporTran's f*."""
    currents, dt, T, V, fstar = _series(name)
    ours = cepstral_conductivity(currents, dt, T, V)
    theirs = cepstral_conductivity(currents, dt, T, V, fstar=fstar)
    assert ours.attrs["fstar_chosen"] == 1 and theirs.attrs["fstar_chosen"] == 0
    assert ours.attrs["fstar_asked_THz"] == pytest.approx({"NaCl": 9.73, "SiO2": 31.85}[name], abs=0.01)
    assert abs(float(ours.kappa) - float(theirs.kappa)) < np.hypot(float(ours.kappa_err), float(theirs.kappa_err))


@pytest.mark.parametrize("name", ["NaCl", "SiO2"])
def test_kappa_does_not_rise_past_the_akaike_choice_on_sportrans_examples(name):
    """A liquid's and a glass's spectra are smooth at zero frequency: kappa with twice P* stays within two standard
    errors of kappa(P*) (the check flags a crystal's sharp zero-frequency peak, as LAMMPS argon's in the command's
    tests), with SporTran's f* and with the default one."""
    from trajmodes.transport.cepstral import kappa_past_cutoff
    currents, dt, T, V, fstar = _series(name)
    for f in (fstar, None):
        ds = cepstral_conductivity(currents, dt, T, V, fstar=f)
        k2, e2, rising = kappa_past_cutoff(ds)
        assert not rising and abs(k2 - float(ds.kappa)) < 2 * float(ds.kappa_err), (f, k2, float(ds.kappa))
