"""Peak fits of per-mode spectra: renormalised frequency, FWHM linewidth and lifetime, with uncertainties.

Conventions: frequencies are ordinary frequencies in THz; the linewidth is the FWHM of the mode's
peak in the kinetic-energy spectral density of Qdot (:func:`trajmodes.mode_spectra`), in THz; the lifetime is
tau = 1 / (2 pi FWHM) in ps.

The line shapes are in :mod:`trajmodes.modes.lineshapes`, the likelihood in :mod:`trajmodes.modes.whittle`.

Cost: each distinct spectrum is fitted once (the members of a star after :func:`star_average` share theirs);
many distinct fits run as Dask tasks in batches, so a progress bar sees them.
"""
from __future__ import annotations

import warnings

import numpy as np
import xarray as xr
from scipy.optimize import OptimizeWarning

from trajmodes.modes.averaging import degenerate_sum, star_average
from trajmodes.phonons.degeneracy import degenerate_groups
from trajmodes.modes.lineshapes import JACOBIANS, WindowedLorentzian, is_dho, peak_model
from trajmodes.modes.windows import window_autocorrelation, window_values
from trajmodes.modes.whittle import least_squares_start, whittle_covariance, whittle_fit

__all__ = ["fit_peaks", "star_average", "degenerate_sum", "peak_model", "ALIASED"]

CONVENTION = ("FWHM of the peak in the kinetic-energy spectral density of Qdot (trajmodes.mode_spectra); "
              "lifetime = 1/(2 pi FWHM)")


# automatic window (fit_peaks(window=None)): see fit_spectrum
SMOOTH_TARGET = 25.0      # smooth over ~ SMOOTH_TARGET x (relative error of one bin)^2 bins (at least 3) ...
SMOOTH_MAX_THZ = 0.05     # ... but over at most this span (THz; 3 bins where bins are wider)
MIN_HALF_WIDTH_THZ = 0.1  # the automatic window's half-width is at least this (and 10 bins)


def _smooth(p, n: int = 3):
    """Running mean over ``n`` (odd) bins, edges padded with the edge value."""
    n = max(int(n) // 2 * 2 + 1, 1)
    if n == 1:
        return np.array(p, dtype=float)
    return np.convolve(np.pad(p, n // 2, mode="edge"), np.ones(n) / n, mode="valid")


def _smooth_bins(rel: float, df: float) -> int:
    """Odd number of bins to smooth a spectrum whose bins have relative error ``rel`` before locating its peak
    and half-maximum width: ~ SMOOTH_TARGET rel^2 (a smoothed relative error of ~ 0.2-0.3; 1 for one
    periodogram: ~25 bins), at least 3, at most SMOOTH_MAX_THZ wide (3 where bins are wider than a third of it)."""
    n = SMOOTH_TARGET * rel * rel
    nmax = max(3, int(SMOOTH_MAX_THZ / df))
    n = int(min(max(n, 3), nmax))
    return max(n - 1 if n % 2 == 0 else n, 3)


#: the status of a mode whose harmonic frequency is near or above the Nyquist frequency of the frames
ALIASED = "above Nyquist: aliased"


def _nan_result(status, lo=np.nan, hi=np.nan):
    return dict(frequency=np.nan, frequency_err=np.nan, fwhm=np.nan, fwhm_err=np.nan, amplitude=np.nan,
                amplitude_err=np.nan, background=np.nan, chi2_red=np.nan, window_lo=lo, window_hi=hi,
                status=status)


def _rel_error(p, e, n_segments, sel=slice(None)):
    """Median relative error of one bin over ``sel``: from ``e`` (the standard error of ``p``), else
    1/sqrt(n_segments). (A single periodogram has e = p: 1; a sum over K degenerate / star modes ~1/sqrt(K).)"""
    if e is None:
        return 1.0 / np.sqrt(n_segments)
    es, ys = e[sel], p[sel]
    good = (es > 0) & (ys > 0)
    return float(np.median(es[good] / ys[good])) if np.any(good) else 1.0 / np.sqrt(n_segments)


def fit_spectrum(f, p, e, nu_h, func, window, df, enbw, n_segments):
    """Fit one spectrum; returns a dict of results (NaN values and a reason in ``status`` on failure).

    Automatic window (``window`` None): the spectrum is smoothed over ~25 rel^2 bins (rel: the relative error
    of one bin; at least 3 bins, at most 0.05 THz) before its maximum and the half-maximum width ("rough") are
    read, so that on a single full-resolution periodogram (rel = 1: every bin exponentially distributed) they
    are those of the line, not of a noise spike; the half-width is max(1.5 rough, 10 bins, 0.1 THz) for the
    Lorentzians (max(5 rough, 20 bins, 0.1 THz) for the DHOs), and a fit whose FWHM comes out wider than half
    the window is repeated once over +-1.5 x that FWHM (5 x for the DHOs) about the fitted centre; the refit
    replaces the first if its chi2_red is <= 2 or at most 10% above the first's."""
    if nu_h is not None and np.isfinite(nu_h) and abs(nu_h) < 3 * df:
        return _nan_result("zero-frequency mode")
    if not np.all(np.isfinite(p)) or np.max(p[1:]) <= 0:
        return _nan_result("no peak")
    nsm = 3 if window is not None else _smooth_bins(_rel_error(p, e, n_segments, slice(1, None)), df)
    ps = _smooth(p, nsm)
    ps[0] = -np.inf                                   # never take the static bin as the peak
    if isinstance(window, tuple):
        inwin = (f >= window[0]) & (f <= window[1])
        ps = np.where(inwin, ps, -np.inf)
    k = int(np.argmax(ps))
    base = float(np.median(p[1:]))
    peak = float(ps[k])
    if peak < 3.0 * base:
        return _nan_result("no peak")
    # rough FWHM from the half-maximum crossings of the smoothed spectrum
    half = 0.5 * (peak + base)
    left = k
    while left > 1 and ps[left - 1] > half:
        left -= 1
    right = k
    while right < len(f) - 1 and ps[right + 1] > half:
        right += 1
    rough = max((right - left + 1) * df, df)
    if isinstance(window, tuple):
        lo, hi = window
    else:
        if window is not None:
            width = window
        elif is_dho(func):
            width = max(5.0 * rough, 20.0 * df, MIN_HALF_WIDTH_THZ)
        else:   # a Lorentzian's centre drifts with the window on the asymmetric DHO-like tails: stay close
            width = max(1.5 * rough, 10.0 * df, MIN_HALF_WIDTH_THZ)
        lo, hi = f[k] - width, f[k] + width
    p0 = [max(peak - base, 1e-300), f[k], rough, None]
    out, _ = _fit_range(f, p, e, func, lo, hi, p0, df, enbw, n_segments)
    if window is None and np.isfinite(out["fwhm"]) and out["fwhm"] > 0.5 * (out["window_hi"] - out["window_lo"]):
        # the rough width (smoothed half-maximum) was too narrow for the fitted line ("peak wider than window",
        # or "no peak" when the amplitude is then lost in the background): once more over
        # +-1.5 x the fitted FWHM (the Lorentzian's half-width rule above) about the fitted centre
        width = 1.5 * out["fwhm"] if not is_dho(func) else 5.0 * out["fwhm"]
        nu0 = out["frequency"]
        again, _ = _fit_range(f, p, e, func, nu0 - width, nu0 + width, [out["amplitude"], nu0, out["fwhm"],
                                                                        out["background"]], df, enbw,
                              n_segments)
        # kept only if the model still describes the wider window (chi2_red <= 2, or no more than 10% above the
        # first): on a line that is not a Lorentzian (shoulders; Welch chi2_red ~ 10) a wider window makes the
        # centre follow the tails
        if np.isfinite(again["frequency"]) and again["chi2_red"] <= max(2.0, 1.1 * out["chi2_red"]):
            out = again
    return out


def _fit_range(f, p, e, func, lo, hi, p0, df, enbw, n_segments):
    """Weighted fit of ``func`` to ``p`` over [lo, hi] from the start ``p0`` (amplitude, nu0, fwhm, background;
    background None: the window's minimum); returns (result dict, fitted parameters or None)."""
    lo, hi = max(lo, f[1]), min(hi, f[-1])
    sel = (f >= lo) & (f <= hi)
    x, y = f[sel], p[sel]
    if x.size < 6:
        return _nan_result("too few points in window", lo, hi), None
    amp0, nu00, w0, bg0 = p0
    if bg0 is None:
        bg0 = max(float(np.min(y)), 0.0)
    scale = max(float(np.max(y)), 1e-300)           # fit in O(1) numbers
    ys = y / scale
    bounds = ([0.0, lo, 1e-3 * df, 0.0], [np.inf, hi, 4.0 * (hi - lo), np.inf])
    p0s = [max(amp0 / scale, 1e-300), min(max(nu00, lo), hi), min(max(w0, 2e-3 * df), bounds[1][2]),
           max(bg0 / scale, 0.0)]
    # relative error of one bin from the spread over segments (1 for a single periodogram)
    rel = _rel_error(p, e, n_segments, sel) if e is not None else 1.0
    jac = getattr(func, "jac", None) or JACOBIANS.get(func)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OptimizeWarning)
            pars = least_squares_start(func, jac, x, ys, p0s, bounds)
            # maximum likelihood for a spectral estimate whose bins are Gamma distributed about the model with
            # relative spread rel (Whittle): least squares weighted by the model would let a model that sits
            # below a sharp peak call it noise
            pars = whittle_fit(func, jac, x, ys, pars, bounds)
            sigma = np.maximum(func(x, *pars), 1e-12 * np.max(ys)) * rel
            pcov = whittle_covariance(func, jac, x, pars, rel)
    except (RuntimeError, ValueError):
        return _nan_result("fit did not converge", lo, hi), None
    if pcov is None or not np.all(np.isfinite(pcov)):
        return _nan_result("fit did not converge", lo, hi), None
    resid = (ys - func(x, *pars)) / sigma
    dof = max(x.size - 4, 1)
    chi2_red = float(np.sum(resid ** 2) / dof)
    # uncertainty: the covariance from the segment spread, inflated by the misfit when chi2_red > 1
    perr = np.sqrt(np.diag(pcov)) * max(1.0, np.sqrt(chi2_red))
    amp, nu0, fwhm, bg = pars
    out = dict(frequency=nu0, frequency_err=perr[1], fwhm=fwhm, fwhm_err=perr[2], amplitude=amp * scale,
               amplitude_err=perr[0] * scale, background=bg * scale, chi2_red=chi2_red, window_lo=lo,
               window_hi=hi, status="ok")
    narrow = fwhm < (0.25 if isinstance(func, WindowedLorentzian) else 2.0) * enbw
    # the data show a line, whatever the fit made of it: the window's maximum far above the spectrum's median
    strong = float(np.max(y)) > 10.0 * float(np.median(p[1:]))
    if narrow and strong:
        # a line narrower than the resolution: its height (hence amplitude) is ill-determined, its position is not
        out["status"] = "width below resolution"
    elif amp < 3.0 * perr[0]:
        # an insignificant amplitude is "no peak" only where the data show none either; a strong line whose
        # amplitude the model cannot pin down (a split or shouldered line, not a Lorentzian) is said so
        out["status"] = "amplitude ill-determined" if strong else "no peak"
    elif nu0 - lo < 2 * df or hi - nu0 < 2 * df:
        out["status"] = "peak at window edge"
    elif fwhm > 0.5 * (hi - lo):
        out["status"] = "peak wider than window"
    elif narrow:
        out["status"] = "width below resolution"
    return out, pars


def _correlation_factor(attrs) -> float:
    """Variance factor for fits that treat the bins of a windowed (Welch) spectrum as independent.

    Neighbouring bins of a tapered segment are correlated: there are N / ENBW-bins independent bins, not N
    (factor enbw / df: 1.5 for Hann, 1 for boxcar). Overlapping segments are correlated too: the variance of
    their mean is larger by 1 + 2 sum_k (1 - k/K) rho(k hop)^2 with rho the window's autocorrelation
    (:func:`~trajmodes.modes.windows.window_autocorrelation`; 1.06 for Hann at 50%). Missing attributes (spectra
    not from mode_spectra): 1.
    """
    try:
        n = int(attrs["segment_frames"])
        df = float(attrs["resolution_thz"])
        enbw = float(attrs["enbw_thz"])
        K = int(attrs.get("n_segments", 1))
        dt = float(attrs.get("frame_interval_ps", attrs.get("timestep_ps")))
        hop = int(round(float(attrs["hop_ps"]) / dt)) if K > 1 else n
        rho = window_autocorrelation(window_values(str(attrs["window"]), n))
    except (KeyError, TypeError, ValueError):
        return 1.0
    factor = max(enbw / df, 1.0)
    if K > 1 and hop < n:
        extra = sum((1 - k / K) * float(rho[k * hop]) ** 2
                    for k in range(1, min(K, -(-n // hop))))
        factor *= 1 + 2 * extra
    return factor



def _fit_batch(batch, f, func, window, df, enbw, n_segments):
    return [fit_spectrum(f, p, e, nu_h, func, window, df, enbw, n_segments) for p, e, nu_h in batch]


def _run_fits(tasks, f, func, window, df, enbw, n_segments, batch: int = 16, progress: bool = True):
    """Fit every (spectrum, error, harmonic frequency) of ``tasks``.

    Many fits run as Dask tasks in batches, so a Dask progress bar shows them (``progress``: a bar on stderr
    when they take over a second and no other Dask progress bar is active): on an active ``dask.distributed``
    Client (in parallel), else on the synchronous scheduler (the fits hold the GIL nearly all the time: local
    threads were measured slower). Results do not depend on the scheduler."""
    args = (f, func, window, df, enbw, n_segments)
    if len(tasks) <= 2 * batch:
        return _fit_batch(tasks, *args)
    import contextlib

    import dask
    from dask.callbacks import Callback
    from dask.diagnostics import ProgressBar
    try:
        from distributed import default_client
        default_client()
        scheduler = None
    except (ImportError, ValueError):
        scheduler = "sync"
    parts = [dask.delayed(_fit_batch, pure=True)(tasks[i:i + batch], *args) for i in range(0, len(tasks), batch)]
    bar = ProgressBar(minimum=1.0) if progress and not Callback.active else contextlib.nullcontext()
    with bar:
        return [r for part in dask.compute(*parts, scheduler=scheduler) for r in part]


def fit_peaks(spectra: xr.Dataset, model: str = "lorentzian", window=None, average_degenerate: bool = True,
              degeneracy_tol: float = 1e-3, star: bool = True, progress: bool = True) -> xr.Dataset:
    """Fit the peak of every mode's spectrum.

    By default every set of equivalent modes is fitted once: the spectra are averaged over the star of each q
    (:func:`star_average`, when the q-points come with their harmonic frequencies) and summed over degenerate
    branches, and each distinct spectrum is fitted once (all 768 modes of a 256-atom fcc cell are a few
    dozen fits).

    Parameters
    ----------
    spectra : xarray.Dataset
        From :func:`trajmodes.mode_spectra`: ``psd`` (q, branch, frequency) and ``psd_err``; the coordinate
        ``frequency_harmonic`` (q, branch), THz, is used when present (shift, degeneracy, zero modes).
    model : {"lorentzian", "dho", "lorentzian_windowed", "dho_windowed"}
        The ``*_windowed`` models (:class:`WindowedLorentzian`, :class:`WindowedDHO`) fit the expected
        windowed periodogram of the line (needs the ``segment_frames``, ``frame_interval_ps``, ``window`` attributes
        of :func:`trajmodes.mode_spectra`); use them when the FWHM is within a few bins of the resolution.
        Their "width below resolution" flag is FWHM < ENBW / 4 (2 ENBW for the plain models).
    window : None, float or (float, float)
        None: around the maximum of the smoothed spectrum, +- max(5 x rough FWHM, 20 bins, 0.1 THz) for the DHOs,
        +- max(1.5 x rough FWHM, 10 bins, 0.1 THz) for the Lorentzians (on the exact DHO velocity spectrum
        with nu0 = 10, FWHM = 0.3 THz a Lorentzian centre fitted over +-5 FWHM sits 0.016 THz high, over
        +-1.5 FWHM 0.003 THz high: the velocity spectrum is not symmetric about its peak; windows of +-0.5 THz
        or more on MD lines follow their non-Lorentzian tails). The rough FWHM is the half-maximum width after
        smoothing over ~25 rel^2 bins (rel: relative error of one bin, from ``psd_err``; at least 3 bins, at
        most 0.05 THz), so that a single full-resolution periodogram (``full=True``, 100% noise per bin) gives
        the line's width, not a noise spike's. A fit whose FWHM exceeds half the window is repeated once
        over +- 1.5 x (DHOs: 5 x) that FWHM about its centre, kept if its chi2_red is <= 2 or at most 10%
        above the first's (else the first fit stays, flagged "peak wider than window").
        A float: that half-width in THz around the maximum (3-bin smoothing, no refit). A pair: the fit range
        in THz for every mode.
    average_degenerate : bool
        Fit the summed spectrum of branches at the same q whose harmonic frequencies differ by less than
        ``degeneracy_tol`` (THz), and report the result for each of them.
    star : bool
        Average the spectra over the star of q first (:func:`star_average`; skipped when the spectra are
        already averaged or carry no harmonic frequencies). False: fit every q-point's own spectrum.
    progress : bool
        Show a progress bar on stderr when the fits take more than a second (and no other Dask progress bar is
        active).

    Returns
    -------
    xarray.Dataset over (q, branch): ``frequency``, ``frequency_err``, ``shift`` (= frequency -
    frequency_harmonic), ``fwhm``, ``fwhm_err``, ``lifetime`` (= 1/(2 pi fwhm)), ``lifetime_err``, ``amplitude``,
    ``amplitude_err``, ``background`` (eV/THz), ``chi2_red``, ``window_lo``/``window_hi`` (THz), ``n_averaged``
    and ``status`` ("ok" or the reason: "no peak", "amplitude ill-determined" (a strong line the model does not
    describe: position kept, amplitude and width doubtful), "fit did not converge", "peak at window edge",
    "peak wider than window", "width below resolution", "zero-frequency mode", "too few points in window",
    "above Nyquist: aliased" (the spectra's ``aliased`` modes: the frames are too far apart; no values)).
    Values are kept (not NaN) under "peak at window edge", "peak wider than window" and "width below
    resolution": read them only together with ``status``.

    Uncertainties: each bin is weighted by model x (relative spread of that spectrum across the Welch
    segments); errors are the square roots of the covariance diagonal, multiplied by sqrt(chi2_red) when the
    fit is worse than that spread explains (the larger of the two estimates).
    """
    func = peak_model(model, spectra.attrs)
    if star and not spectra.attrs.get("star_averaged") and "frequency_harmonic" in spectra.coords:
        spectra = star_average(spectra)
    psd = spectra["psd"].transpose("q", "branch", "frequency")
    P = np.asarray(psd.values, dtype=float)
    E = np.asarray(spectra["psd_err"].transpose("q", "branch", "frequency").values, dtype=float) \
        if "psd_err" in spectra else None
    f = np.asarray(spectra["frequency"].values, dtype=float)
    df = float(f[1] - f[0])
    enbw = float(spectra.attrs.get("enbw_thz", df))
    n_segments = int(spectra.attrs.get("n_segments", 1))
    if "frequency_harmonic" in spectra.coords or "frequency_harmonic" in spectra:
        H = np.asarray(spectra["frequency_harmonic"].transpose("q", "branch").values, dtype=float)
    else:
        H = None
    nq, nb = P.shape[:2]
    aliased = np.asarray(spectra["aliased"].transpose("q", "branch").values, bool) if "aliased" in spectra \
        else np.zeros((nq, nb), bool)
    names = ["frequency", "frequency_err", "fwhm", "fwhm_err", "amplitude", "amplitude_err", "background",
             "chi2_red", "window_lo", "window_hi"]
    out = {n: np.full((nq, nb), np.nan) for n in names}
    status = np.full((nq, nb), "", dtype=object)
    n_avg = np.ones((nq, nb), dtype=int)
    # identical spectra (every member of a star after star_average, repeated q) are fitted once
    tasks, index, assign = [], {}, []
    for iq in range(nq):
        if H is not None and average_degenerate:
            groups = degenerate_groups(H[iq], degeneracy_tol)
        else:
            groups = [[ib] for ib in range(nb)]
        for g in groups:
            if aliased[iq, g].any():
                assign.append((iq, g, None))
                continue
            p = P[iq, g].sum(axis=0)
            e = np.sqrt((E[iq, g] ** 2).sum(axis=0)) if E is not None else None
            nu_h = float(np.mean(H[iq, g])) if H is not None else None
            zero = nu_h is not None and np.isfinite(nu_h) and abs(nu_h) < 3 * df
            key = (p.tobytes(), None if e is None else e.tobytes(), zero)
            if key not in index:
                index[key] = len(tasks)
                tasks.append((p, e, nu_h))
            assign.append((iq, g, index[key]))
    results = _run_fits(tasks, f, func, window, df, enbw, n_segments, progress=progress)
    for iq, g, k in assign:
        r = results[k] if k is not None else _nan_result(ALIASED)
        for ib in g:
            for n in names:
                out[n][iq, ib] = r[n]
            status[iq, ib] = r["status"]
            n_avg[iq, ib] = len(g)
    inflate = np.sqrt(_correlation_factor(spectra.attrs))
    for n in ("frequency_err", "fwhm_err", "amplitude_err"):
        out[n] *= inflate
    fwhm = out["fwhm"]
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = 1.0 / (2 * np.pi * fwhm)
        tau_err = tau * out["fwhm_err"] / fwhm
    shift = out["frequency"] - H if H is not None else np.full((nq, nb), np.nan)
    dims = ("q", "branch")
    conv = CONVENTION
    ds = xr.Dataset(
        {
            "frequency": (dims, out["frequency"], {"units": "THz", "convention":
                                                  "centre of the fitted peak (renormalised frequency), ordinary "
                                                  "frequency"}),
            "frequency_err": (dims, out["frequency_err"], {"units": "THz", "convention": "1 sigma"}),
            "shift": (dims, shift, {"units": "THz", "convention": "frequency - frequency_harmonic"}),
            "fwhm": (dims, fwhm, {"units": "THz", "convention": conv}),
            "fwhm_err": (dims, out["fwhm_err"], {"units": "THz", "convention": "1 sigma; " + conv}),
            "lifetime": (dims, tau, {"units": "ps", "convention": conv}),
            "lifetime_err": (dims, tau_err, {"units": "ps", "convention": "1 sigma, propagated from fwhm_err"}),
            "amplitude": (dims, out["amplitude"], {"units": spectra["psd"].attrs.get("units", "eV/THz"),
                                                   "convention": "peak height above the background"}),
            "amplitude_err": (dims, out["amplitude_err"], {"units": spectra["psd"].attrs.get("units", "eV/THz"),
                                                           "convention": "1 sigma"}),
            "background": (dims, out["background"], {"units": spectra["psd"].attrs.get("units", "eV/THz"),
                                                     "convention": "constant background in the fit window"}),
            "chi2_red": (dims, out["chi2_red"], {"units": "1", "convention":
                                                 "reduced chi^2 with the segment-spread weights"}),
            "window_lo": (dims, out["window_lo"], {"units": "THz", "convention": "fit window lower edge"}),
            "window_hi": (dims, out["window_hi"], {"units": "THz", "convention": "fit window upper edge"}),
            "n_averaged": (dims, n_avg, {"units": "1", "convention": "degenerate branches fitted together"}),
            "status": (dims, status.astype(str), {"units": "", "convention":
                                                  "'ok' or the reason the values are not a clean fit"}),
        },
        coords={n: c for n, c in spectra.coords.items() if "frequency" not in c.dims},
    )
    ds.attrs.update(model=model, convention=conv, resolution_thz=df, enbw_thz=enbw, n_segments=n_segments,
                    time_axis=str(spectra.attrs.get("time_axis", "unknown")))
    return ds
