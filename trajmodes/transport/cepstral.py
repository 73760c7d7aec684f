"""Green-Kubo thermal conductivity from the heat current of an equilibrium MD run, by cepstral analysis.

The conductivity is the zero-frequency value of the heat current's power spectrum,

    kappa_ab = 1 / (V k_B T^2) int_0^inf <J_a(0) J_b(t)> dt = S_ab(0) / (2 V k_B T^2),

with J the volume-integrated current (what LAMMPS' ``compute heat/flux`` writes: eV Å / ps in ``metal`` units) and
S(f) = int <J(0) J(t)> e^{2 pi i f t} dt the two-sided spectrum, which the one-sided periodogram ``dt / N |FFT|^2``
estimates at every frequency with a chi-square error. Cepstral analysis (L. Ercole, A. Marcolongo and S. Baroni,
Sci. Rep. 7, 15835 (2017)) takes the logarithm of the periodogram, whose error is additive with a known mean and
variance (polygamma functions of the degrees of freedom), writes it as a cosine series (the cepstral coefficients
c_k, the type-I discrete cosine transform), keeps the first P* coefficients, P* chosen by the Akaike information
criterion, and reads log S(0) = c_0 + 2 sum_{k=1}^{P*-1} c_k off the filtered series, with the standard error of that
sum. Several currents of one system (the energy current with the mass currents of a multi-component fluid, or any
current that carries no heat) enter through the Schur complement of the cross-spectrum matrix: the conductivity
of the energy current that is uncorrelated with the others (R. Bertossa, F. Grasselli, L. Ercole and S. Baroni,
Phys. Rev. Lett. 122, 255901 (2019)), with l - M + 1 degrees of freedom per frequency for M currents of l
equivalent (Cartesian) components.

Before the analysis, the series is low-pass filtered (a running mean of ``tskip`` steps) and sampled every ``tskip``
steps, so that the periodogram keeps only the frequencies below f* = f_Nyquist / tskip, where the spectrum is smooth
(the low-frequency part the conductivity needs).

The choices and normalisations are those of SporTran (L. Ercole, R. Bertossa, S. Bisacchi and S. Baroni, Comput.
Phys. Commun. 280, 108470 (2022)), so the same series with the same f* gives its kappa and error bar (to 1e-6, the
difference of its 2006 CODATA constants from the 2018 ones used here), with one exception: with a single cepstral
coefficient (P* = 1) the estimate here is c_0 (SporTran's is 2 c_0).
"""
from __future__ import annotations

import numpy as np

from trajmodes.units import KAPPA_UNIT, KB_EV

__all__ = ["green_kubo_scale", "resample_current", "current_periodogram", "cepstral_statistics",
           "cepstral_coefficients", "akaike", "cepstral_conductivity", "fstar_tskip", "integral_lags", "default_fstar",
           "POWER_SHARE", "MIN_FREQUENCIES",
           "combine_runs",
           "cepstral_tensor", "green_kubo_integral", "kappa_past_cutoff", "integral_still_rising"]


#: the largest magnitude a current may have (eV A/ps): beyond it no MD run wrote it, and its squares in the spectra
#: would overflow
LARGEST_CURRENT = 1e100


def green_kubo_scale(volume: float, temperature: float) -> float:
    """W/(m K) per (eV Å/ps)² ps of S(0) / 2: 1 / (V k_B T^2) in SI, for the volume-integrated heat current in eV Å/ps
    (LAMMPS ``metal``), ``volume`` in Å³ and ``temperature`` in K.

    Parameters
    ----------
    volume : float
        Å³.
    temperature : float
        The run's temperature, K.
    """
    volume, temperature = float(volume), float(temperature)
    if not (np.isfinite(volume) and volume > 0):
        raise ValueError(f"the volume must be positive, in A^3, not {volume}")
    if not (np.isfinite(temperature) and temperature > 0):
        raise ValueError(f"the temperature must be positive, in K, not {temperature}")
    return KAPPA_UNIT / (volume * KB_EV * temperature ** 2)


def _as_currents(currents) -> np.ndarray:
    """``currents`` as (M currents, N steps, l components): a (N,) or (N, l) array is one current."""
    j = np.asarray(currents, dtype=float)
    if j.ndim == 1:
        j = j[None, :, None]
    elif j.ndim == 2:
        j = j[None]
    if j.ndim != 3:
        raise ValueError(f"currents must have shape (steps,), (steps, components) or (currents, steps, components), "
                         f"not {np.shape(currents)}")
    with np.errstate(invalid="ignore"):
        bad = np.argwhere(~(np.abs(j) <= LARGEST_CURRENT))
    if len(bad):
        m, k, c = (int(x) for x in bad[0])
        v = j[m, k, c]
        if not np.isfinite(v):
            raise ValueError(f"the current is not finite at step {k} ({v}; current {m}, component {c})")
        raise ValueError(f"the current is {v:g} at step {k} (0-based row of the series; current {m}, component {c}), "
                         f"beyond {LARGEST_CURRENT:g} in magnitude: no MD run's heat current (a run that blew up, or "
                         "values that are not the current)")
    return j


def fstar_tskip(fstar: float, dt: float) -> int:
    """The sampling interval (steps) that brings the Nyquist frequency 1 / (2 dt) down to about ``fstar`` (THz; ``dt``
    in ps): round(f_Nyquist / f*), at least 1 (as SporTran).

    Parameters
    ----------
    fstar : float
        The cut-off frequency f*, THz.
    dt : float
        ps between steps.
    """
    nyquist = 0.5 / float(dt)
    if not (np.isfinite(fstar) and fstar > 0):
        raise ValueError(f"the cut-off frequency f* must be positive, in THz, not {fstar}")
    if fstar > nyquist * (1 + 1e-9):
        raise ValueError(f"f* = {fstar:g} THz is above the Nyquist frequency of rows every {float(dt):g} ps, "
                         f"{nyquist:.6g} THz: the series holds no frequency above it (give at most {nyquist:.6g})")
    return max(1, int(round(nyquist / float(fstar))))


def integral_lags(n: int, dt: float, max_time: float | None = None) -> tuple[int, str]:
    """The lags of a running integral of ``n`` steps ``dt`` ps apart up to ``max_time`` ps (default a tenth of the
    run), and what was decided, in words: a ``max_time`` past the run's longest lag is cut to it, one shorter than two
    steps raised to two, and one that is not a positive number refused.

    Parameters
    ----------
    n : int
        Steps of the current.
    dt : float
        ps between steps.
    max_time : float, optional
        ps, the end of the running integral; default a tenth of the run.
    """
    dt = float(dt)
    if max_time is None:
        lags, said = n // 10, f"a tenth of the run (default), {n // 10 * dt:g} ps"
    else:
        mt = float(max_time) if isinstance(max_time, (int, float, np.floating, np.integer)) else float("nan")
        if not (np.isfinite(mt) and mt > 0):
            raise ValueError(f"max_time must be a positive number of ps, not {max_time!r}")
        lags, said = int(round(mt / dt)), f"max_time {mt:g} ps given"
    if n < 3:
        raise ValueError(f"{n} steps are too few for a running integral")
    if lags > n - 1:
        said += f"; longer than the run's longest lag, {(n - 1) * dt:g} ps ({n} steps every {dt:g} ps): cut to it"
        lags = n - 1
    elif lags < 2:
        said += f"; shorter than two steps: raised to {2 * dt:g} ps"
        lags = 2
    return lags, said


#: the default cut-off frequency f* keeps the band that carries this share of the heat current's power
POWER_SHARE = 0.9
#: fewest frequencies of the resampled periodogram: a cepstral fit needs some to choose among (fewer: refused)
MIN_FREQUENCIES = 16


def default_fstar(currents, dt: float, share: float = POWER_SHARE) -> float:
    """The cut-off frequency f* (THz) below which the first current carries ``share`` of its power (its one-sided
    periodogram summed from zero frequency). The conductivity needs the spectrum near zero frequency only; what lies
    above the band of most of the power (the sharp optical features of a crystal's or a molten salt's current) needs
    many cepstral coefficients and biases a choice of few. On SporTran's examples this gives 9.7 THz for molten NaCl
    and 31.9 THz for amorphous silica, where their conductivities agree within their errors with those at the f*
    its authors chose (14 and 28 THz): the result is flat in f* over a wide range there.

    Parameters
    ----------
    currents : array_like
        The currents, one row a step; the first is the one whose power is measured.
    dt : float
        ps between steps.
    share : float
        The share of the first current's power below f*.
    """
    j = _as_currents(currents)
    j = j[:, :j.shape[1] - j.shape[1] % 2]
    f, p, _ = current_periodogram(j[:1], dt)
    c = np.cumsum(p)
    at = int(np.searchsorted(c / c[-1], float(share)))
    return float(f[min(max(at, MIN_FREQUENCIES - 1), len(f) - 1)])


def resample_current(currents, tskip: int, window: int | None = None) -> np.ndarray:
    """Low-pass filter (running mean of ``window`` steps, default ``tskip``) and sample every ``tskip`` steps: the
    series whose Nyquist frequency is f* = f_Nyquist / ``tskip``. An odd number of samples loses its last one (the
    periodogram then has a Nyquist frequency).

    Parameters
    ----------
    currents : array_like (steps,), (steps, l) or (M, steps, l)
        The currents (any unit), one row a step.
    tskip : int
        Keep one step in ``tskip``.
    window : int, optional
        Steps of the running mean; default ``tskip``.

    Returns
    -------
    ndarray (M, steps // tskip about, l)
    """
    from scipy.signal import lfilter
    j = _as_currents(currents)
    tskip = int(tskip)
    window = tskip if window is None else int(window)
    if tskip < 1 or window < 1:
        raise ValueError(f"tskip and window must be at least 1, not {tskip} and {window}")
    if window > 1:
        j = lfilter(np.full(window, 1.0 / window), 1.0, j, axis=1)[:, window - 1::tskip]
    else:
        j = j[:, ::tskip]
    return j[:, :j.shape[1] - j.shape[1] % 2]


def current_periodogram(currents, dt: float) -> tuple[np.ndarray, np.ndarray, int]:
    """The one-sided periodogram of the first current, less what the other currents explain, averaged over the
    equivalent components.

    For one current of l components: ``S_k = dt / N (1 / l) sum_c |X_c(k)|^2``, X = FFT of the N steps. For M currents:
    the cross-spectrum matrix C_ab(k) = dt / N sum_c X_ac(k) X_bc(k)*, and S_k = 1 / (C^-1)_00 / (l - M + 1).

    Parameters
    ----------
    currents : array_like (steps,), (steps, l) or (M, steps, l)
        An even number of steps.
    dt : float
        ps between steps.

    Returns
    -------
    frequencies : ndarray (N / 2 + 1,)
        The periodogram's frequencies, 0 to the Nyquist frequency, THz.
    psd : ndarray (N / 2 + 1,)
        In the current's unit squared times ps.
    ndf : int
        Degrees of freedom per frequency over two, l - M + 1.
    """
    j = _as_currents(currents)
    n_cur, n, n_comp = j.shape
    if n % 2:
        raise ValueError(f"the periodogram needs an even number of steps, not {n}: drop the last one")
    if n < 4:
        raise ValueError(f"{n} steps are too few for a spectrum")
    ndf = n_comp - n_cur + 1
    if ndf < 1:
        raise ValueError(f"{n_cur} currents of {n_comp} components each: the analysis needs at least as many "
                         "equivalent components as currents")
    X = np.fft.rfft(j, axis=1)                                       # (M, NF, l)
    nf = X.shape[1]
    freqs = np.linspace(0.0, 0.5, nf) / float(dt)
    if n_cur == 1:
        psd = float(dt) / n * np.mean(np.abs(X[0]) ** 2, axis=1)
    else:
        C = float(dt) / n * np.einsum("akc,bkc->kab", X, X.conj())
        psd = (1.0 / np.linalg.inv(C)[:, 0, 0]).real / ndf
    return freqs, psd, ndf


def cepstral_statistics(n_freqs: int, ndf: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean of the log-periodogram's error and the variance of the cepstral coefficients for a periodogram of
    ``n_freqs`` frequencies with 2 ``ndf`` degrees of freedom (chi-square): the mean psi(ndf) - log(ndf) (at zero
    and the Nyquist frequency psi(ndf / 2) - log(ndf / 2)), the variance psi'(ndf) / (2 (n_freqs - 1)) (twice that
    for the first and last coefficients), with psi the digamma function (Ercole et al., Sci. Rep. 7, 15835 (2017);
    as SporTran).

    Parameters
    ----------
    n_freqs : int
        Frequencies of the periodogram.
    ndf : int
        Half the periodogram's degrees of freedom (chi-square with 2 ``ndf``).

    Returns
    -------
    mean, variance : ndarray (n_freqs,)
    """
    from scipy.special import polygamma
    nf = int(n_freqs)
    trigamma = float(polygamma(1, ndf))
    var = np.full(nf, trigamma) / (2 * (nf - 1))
    var[[0, -1]] *= 2.0
    mean = np.full(nf, float(polygamma(0, ndf)) - np.log(ndf))
    mean[[0, -1]] = float(polygamma(0, 0.5 * ndf)) - np.log(0.5 * ndf)
    return mean, var


def cepstral_coefficients(log_psd: np.ndarray) -> np.ndarray:
    """c_k of log_psd_n = c_0 + (-1)^n c_{NF-1} + 2 sum_{k=1}^{NF-2} c_k cos(pi k n / (NF - 1)): the type-I discrete
    cosine transform over 2 (NF - 1).

    Parameters
    ----------
    log_psd : ndarray (NF,)
        The log-periodogram at the NF frequencies 0 ... Nyquist (dimensionless: the log of a spectrum over its unit).
    """
    from scipy.fft import dct
    y = np.asarray(log_psd, dtype=float)
    return dct(y, type=1) / (y.size - 1) * 0.5


def akaike(coefficients: np.ndarray, variance: np.ndarray) -> np.ndarray:
    """The Akaike information criterion of keeping the first K + 1 cepstral coefficients, K = 0 ... NF - 1:
    sum_{k > K} c_k^2 / var_k + 2 (K + 1).

    Parameters
    ----------
    coefficients : ndarray (NF,)
        The cepstral coefficients c_k.
    variance : ndarray (NF,)
        Their variances (:func:`cepstral_statistics`).
    """
    t = np.asarray(coefficients) ** 2 / np.asarray(variance)
    tail = np.cumsum(t[::-1])[::-1]                                   # sum_{k >= K}, summed from the last
    return np.append(tail[1:], 0.0) + 2.0 * (np.arange(t.size) + 1)


def cepstral_conductivity(currents, dt: float, temperature: float, volume: float, *, fstar: float | None = None,
                          tskip: int | None = None, window: int | None = None, cutoff: int | None = None,
                          aic_factor: float = 1.0):
    """Green-Kubo conductivity of a heat-current series by cepstral analysis (module docstring).

    Parameters
    ----------
    currents : array_like (steps, 3) or (M, steps, 3)
        The volume-integrated heat current (eV Å / ps, as LAMMPS' ``compute heat/flux`` in ``metal`` units), each
        Cartesian component an equivalent sample of an isotropic system; with M > 1 currents, the first is the
        energy current and the others currents that carry no heat (mass currents of a multi-component fluid).
    dt : float
        ps between steps.
    temperature : float
        K, the run's mean temperature.
    volume : float
        Volume of the simulation cell, Å³.
    fstar : float, optional
        THz: the series is filtered and sampled to keep the frequencies below about f* (``tskip`` =
        round(f_Nyquist / f*)); default :func:`default_fstar`, the band of 90 % of the current's power.
    tskip, window : int, optional
        Instead of ``fstar``: keep every ``tskip``-th step after a running mean of ``window`` steps (default
        ``tskip``).
    cutoff : int, optional
        P* - 1, the last cepstral coefficient kept (an index, no unit); default round(``aic_factor`` x the Akaike
        minimum).
    aic_factor : float
        Multiplies the number of coefficients the Akaike criterion chose.

    Returns
    -------
    xarray.Dataset
        ``kappa`` and ``kappa_err`` W/(m K); ``frequency`` (THz) with ``psd`` (the resampled periodogram) and
        ``psd_filtered`` (its cepstral fit, the mean bias restored), (eV Å/ps)² ps; ``coefficient`` with
        ``cepstral`` (c_k), ``aic``, ``log_s0`` and ``log_s0_err`` (log S(0) and its standard error with k + 1
        coefficients) and ``kappa_cutoff`` (W/(m K), the same); attributes ``cutoff`` (P* - 1), ``aic_minimum``,
        ``tskip``, ``fstar_THz`` (the Nyquist frequency after sampling), ``dt_ps``, ``ndf``, ``temperature_K``,
        ``volume_A3``, ``n_steps``.
    """
    import xarray as xr
    j = _as_currents(currents)
    if fstar is not None and tskip is not None:
        raise ValueError("give fstar (THz) or tskip (steps), not both")
    scale = green_kubo_scale(volume, temperature)
    dt = float(dt)
    if not (np.isfinite(dt) and dt > 0):
        raise ValueError(f"the time step must be positive, in ps, not {dt}")
    chosen = fstar is None and tskip is None
    if chosen:
        fstar = default_fstar(j, dt)
    tskip = fstar_tskip(fstar, dt) if fstar is not None else int(tskip)
    n_steps = j.shape[1]
    sampled = resample_current(j, tskip, window)
    dts = dt * tskip
    if sampled.shape[1] // 2 + 1 < MIN_FREQUENCIES:
        raise ValueError(f"{n_steps} steps sampled every {tskip} leave {sampled.shape[1] // 2 + 1} frequencies, fewer "
                         f"than the {MIN_FREQUENCIES} a cepstral fit needs: a longer run"
                         + (", or a larger f*" if tskip > 1 else ""))
    freqs, psd, ndf = current_periodogram(sampled, dts)
    if np.any(psd <= 0):
        raise ValueError("the periodogram of the current is zero at some frequency: a constant or empty series "
                         "carries no conductivity")
    nf = psd.size
    mean, var = cepstral_statistics(nf, ndf)
    x = np.log(psd) - mean
    ck = cepstral_coefficients(x)
    aic = akaike(ck, var)
    kmin = int(np.argmin(aic))
    if cutoff is None:
        cut = int(round(kmin * float(aic_factor)))
    else:
        cut = int(cutoff)
        if cut < 0:
            raise ValueError(f"cutoff (P* - 1) must be >= 0, not {cut}")
    if cut >= nf:
        raise ValueError(f"cutoff (P* - 1) = {cut} but the resampled periodogram has {nf} frequencies: keep fewer "
                         f"cepstral coefficients (--coefficients at most {nf}) or a larger f* (--fstar)")
    # log S(0) with K + 1 coefficients: c_0 + 2 sum_{k=1}^{K} c_k (+ c_{NF-1} once at K = NF - 1), and its variance
    inc = 2.0 * ck
    inc[0] = ck[0]
    inc[-1] = ck[-1]
    log_s0 = np.cumsum(inc)
    vinc = 4.0 * var
    vinc[0] = var[0]
    vinc[-1] = var[-1]
    log_s0_var = np.cumsum(vinc)
    from scipy.fft import dct
    kept = dct(x, type=1)
    kept[cut + 1:] = 0.0
    filtered = dct(kept, type=1) / (nf - 1) * 0.5 + mean
    kappa_k = 0.5 * scale * np.exp(log_s0)
    kappa_err_k = kappa_k * np.sqrt(log_s0_var)
    wmk = {"units": "W/(m K)"}
    spec = {"units": "(eV A/ps)^2 ps"}
    return xr.Dataset(
        {"kappa": ((), kappa_k[cut], dict(wmk, long_name="Green-Kubo thermal conductivity (cepstral analysis)")),
         "kappa_err": ((), kappa_err_k[cut], dict(wmk, long_name="its standard error")),
         "psd": ("frequency", psd, dict(spec, long_name="periodogram of the resampled heat current")),
         "psd_filtered": ("frequency", np.exp(filtered), dict(spec, long_name="cepstral fit of the periodogram")),
         "cepstral": ("coefficient", ck, {"long_name": "cepstral coefficients of the log-periodogram less its bias"}),
         "aic": ("coefficient", aic, {"long_name": "Akaike information criterion, coefficients 0..k kept"}),
         "log_s0": ("coefficient", log_s0, {"long_name": "log S(0) from coefficients 0..k"}),
         "log_s0_err": ("coefficient", np.sqrt(log_s0_var), {"long_name": "its standard error"}),
         "kappa_cutoff": ("coefficient", kappa_k, dict(wmk, long_name="kappa from coefficients 0..k"))},
        coords={"frequency": ("frequency", freqs, {"units": "THz"}),
                "coefficient": ("coefficient", np.arange(nf))},
        attrs={"cutoff": cut, "aic_minimum": kmin, "fstar_chosen": int(chosen),
               "fstar_asked_THz": float(fstar) if fstar is not None else float("nan"), "aic_factor": float(aic_factor),
               "cutoff_given": int(cutoff is not None),
               "tskip": tskip, "window": tskip if window is None else int(window), "fstar_THz": float(freqs[-1]),
               "dt_ps": dt, "ndf": ndf, "n_currents": j.shape[0], "n_components": j.shape[2],
               "temperature_K": float(temperature), "volume_A3": float(volume), "n_steps": n_steps,
               "method": "cepstral analysis (Ercole, Marcolongo and Baroni, Sci. Rep. 7, 15835 (2017)); "
                         "several currents: Bertossa, Grasselli, Ercole and Baroni, Phys. Rev. Lett. 122, 255901 "
                         "(2019)"})


def combine_runs(runs) -> np.ndarray:
    """Independent runs of one system as one series of more equivalent components, for :func:`cepstral_conductivity`
    (their periodograms are averaged, frequency by frequency): each run (steps, l) or (M, steps, l), cut to the
    shortest run's steps.

    Parameters
    ----------
    runs : sequence of ndarray
        The runs' currents, each (steps, l) or (M, steps, l), eV Å/ps, at one time step and with the same M.

    Returns
    -------
    ndarray (M, shortest steps, sum of l)
    """
    parts = [_as_currents(r) for r in runs]
    if not parts:
        raise ValueError("no runs to combine")
    if len({p.shape[0] for p in parts}) != 1:
        raise ValueError(f"the runs carry different numbers of currents: {[p.shape[0] for p in parts]}")
    n = min(p.shape[1] for p in parts)
    return np.concatenate([p[:, :n] for p in parts], axis=2)


def cepstral_tensor(current, dt: float, temperature: float, volume: float, **settings):
    """The conductivity tensor of an anisotropic crystal by cepstral analysis: kappa_aa from each Cartesian component
    of the heat current alone (one degree of freedom per frequency and run), kappa_ab from the currents
    (J_a + J_b) / sqrt(2) and (J_a - J_b) / sqrt(2), whose conductivities differ by 2 kappa_ab (the spectrum is a
    quadratic form in the current; their errors are taken as independent).

    Parameters
    ----------
    current : array_like (steps, 3)
        The heat current alone.
    dt, temperature, volume, **settings
        As :func:`cepstral_conductivity` (``fstar``, ``tskip``, ``window``, ``aic_factor``).

    Returns
    -------
    xarray.Dataset
        ``kappa`` and ``kappa_err`` (a, b) W/(m K); ``cutoff`` (a, b), the cepstral coefficients kept less one.
    """
    import xarray as xr
    j = _as_currents(current)
    if j.shape[2] != 3:
        raise ValueError(f"the tensor needs the three Cartesian components of the current, not {j.shape[2]}")
    if j.shape[0] != 1:
        raise ValueError(f"the tensor takes the heat current alone, not {j.shape[0]} currents: a single Cartesian "
                         "component has one degree of freedom per frequency, too few to take other currents out "
                         "(for a fluid, use cepstral_conductivity on all three components)")
    kappa, err, cut = np.zeros((3, 3)), np.zeros((3, 3)), np.zeros((3, 3), dtype=int)

    def one(series):
        return cepstral_conductivity(series, dt, temperature, volume, **settings)

    for a in range(3):
        ds = one(j[0, :, a])
        kappa[a, a], err[a, a], cut[a, a] = float(ds.kappa), float(ds.kappa_err), ds.attrs["cutoff"]
    for a in range(3):
        for b in range(a + 1, 3):
            p = one((j[0, :, a] + j[0, :, b]) / np.sqrt(2.0))
            m = one((j[0, :, a] - j[0, :, b]) / np.sqrt(2.0))
            kappa[a, b] = kappa[b, a] = 0.5 * (float(p.kappa) - float(m.kappa))
            err[a, b] = err[b, a] = 0.5 * np.hypot(float(p.kappa_err), float(m.kappa_err))
            cut[a, b] = cut[b, a] = max(p.attrs["cutoff"], m.attrs["cutoff"])
    wmk = {"units": "W/(m K)"}
    return xr.Dataset({"kappa": (("a", "b"), kappa, dict(wmk, long_name="Green-Kubo conductivity tensor")),
                       "kappa_err": (("a", "b"), err, dict(wmk, long_name="its standard error")),
                       "cutoff": (("a", "b"), cut, {"long_name": "cepstral coefficients kept less one"})},
                      coords={"a": ["x", "y", "z"], "b": ["x", "y", "z"]},
                      attrs={"temperature_K": float(temperature), "volume_A3": float(volume), "dt_ps": float(dt)})


def green_kubo_integral(current, dt: float, temperature: float, volume: float, max_time: float | None = None):
    """The running Green-Kubo integral kappa_ab(t) = 1 / (V k_B T^2) int_0^t <J_a(0) J_b(t')> dt' (trapezoids) of the
    heat current's correlation, estimated over every time origin (FFT, no bias: each lag divided by its number of
    origins); the full tensor, symmetrised.

    Parameters
    ----------
    current : array_like (steps, 3) or (M, steps, 3)
        The volume-integrated heat current, eV Å/ps, one row per step; of M currents only the first is used.
    dt, temperature, volume
        ps, K, Å³.
    max_time : float, optional
        ps; default a tenth of the run.

    Returns
    -------
    xarray.Dataset
        ``kappa`` (time, a, b) and ``kappa_mean`` (time, the mean of the diagonal) W/(m K); ``correlation``
        (time, a, b) (eV Å/ps)².
    """
    import xarray as xr
    j = _as_currents(current)[0]
    n, l = j.shape
    lags, said = integral_lags(n, dt, max_time)
    X = np.fft.rfft(j, 2 * n, axis=0)
    # one pair of components at a time: the symmetrised correlation (C_ab + C_ba) / 2 is the transform of
    # Re(X_a* X_b), and only the lags kept are held (not the 2N x l x l of every pair at once)
    corr = np.empty((lags + 1, l, l))
    for a in range(l):
        for b in range(a, l):
            corr[:, a, b] = corr[:, b, a] = np.fft.irfft((X[:, a].conj() * X[:, b]).real, 2 * n)[:lags + 1]
    corr /= (n - np.arange(lags + 1))[:, None, None]
    scale = green_kubo_scale(volume, temperature)
    integral = np.concatenate([np.zeros((1, l, l)), np.cumsum(0.5 * (corr[1:] + corr[:-1]), axis=0) * float(dt)])
    kappa = scale * integral
    t = np.arange(lags + 1) * float(dt)
    axes = ["x", "y", "z"][:l] if l <= 3 else list(range(l))
    wmk = {"units": "W/(m K)"}
    return xr.Dataset({"kappa": (("time", "a", "b"), kappa, dict(wmk, long_name="running Green-Kubo integral")),
                       "kappa_mean": ("time", np.einsum("taa->t", kappa) / l,
                                      dict(wmk, long_name="running integral, mean of the diagonal")),
                       "correlation": (("time", "a", "b"), corr, {"units": "(eV A/ps)^2",
                                                                  "long_name": "heat-current correlation"})},
                      coords={"time": ("time", t, {"units": "ps"}), "a": axes, "b": axes},
                      attrs={"temperature_K": float(temperature), "volume_A3": float(volume), "dt_ps": float(dt),
                             "max_time_ps": lags * float(dt), "max_time_note": said})


def kappa_past_cutoff(cepstral) -> tuple[float, float, bool]:
    """kappa with twice the cepstral coefficients kept, 2 P*, and whether it exceeds kappa(P*) by more than two of
    kappa(P*)'s standard errors: where it does, the zero-frequency peak of the current's spectrum is sharper than
    P* coefficients resolve (a crystal's long-lived phonons; the Akaike criterion weighs every frequency alike) and
    kappa(P*) reads low. LAMMPS argon at 30 K over 400 ps: 0.81 +- 0.12 W/(m K) at P* = 15, 1.19 at 30, the Boltzmann
    equation of its potential 0.97.

    Parameters
    ----------
    cepstral : xarray.Dataset
        Of :func:`cepstral_conductivity`.

    Returns
    -------
    (kappa at 2 P* W/(m K), its standard error, rising)
    """
    p = int(cepstral.attrs["cutoff"])
    kc = np.asarray(cepstral["kappa_cutoff"].values)
    err = kc * np.asarray(cepstral["log_s0_err"].values)
    k2 = min(2 * p + 1, len(kc) - 1)
    return float(kc[k2]), float(err[k2]), bool(kc[k2] - kc[p] > 2.0 * err[p])


def integral_still_rising(integral, share: float = 0.1) -> bool:
    """Whether the running Green-Kubo integral (of :func:`green_kubo_integral`; the mean of the diagonal) rose by more
    than ``share`` of its final value over the second half of its window: the correlation has not decayed within it.

    Parameters
    ----------
    integral : xarray.Dataset
        :func:`green_kubo_integral`'s, with ``kappa_mean`` (time) in W/(m K).
    share : float
        The rise, as a fraction of the final value (dimensionless), above which the integral is still rising.
    """
    k = np.asarray(integral["kappa_mean"].values)
    end, mid = float(k[-1]), float(k[(len(k) - 1) // 2])
    return bool(end - mid > share * abs(end))
