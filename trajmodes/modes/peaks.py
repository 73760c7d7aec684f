"""Peak fits of per-mode spectra: renormalised frequency, FWHM linewidth and lifetime, with uncertainties.

Conventions: frequencies are ordinary frequencies in THz; the linewidth is the FWHM of the mode's
peak in the kinetic-energy spectral density of Qdot (:func:`trajmodes.mode_spectra`), in THz; the lifetime is
tau = 1 / (2 pi FWHM) in ps.

The line shapes are in :mod:`trajmodes.modes.lineshapes`, the likelihood in :mod:`trajmodes.modes.whittle`.

Cost: each distinct spectrum is fitted once (the members of a star after :func:`star_average` share theirs);
fits expected to take long enough run as Dask tasks in worker processes on all cores (:func:`_run_fits`), so a
progress bar sees them.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import NamedTuple

import numpy as np
import xarray as xr
from scipy.optimize import OptimizeWarning

from trajmodes.modes.averaging import degenerate_sum, star_average
from trajmodes.modes.defaults import DEFAULT_PEAK_MODEL
from trajmodes.phonons.harmonic.degeneracy import degenerate_groups
from trajmodes.modes.lineshapes import JACOBIANS, WindowedLorentzian, is_dho, peak_model
from trajmodes.modes.windows import window_autocorrelation, window_values
from trajmodes.modes.whittle import (SIGMA_FLOOR, least_squares_start, negative_log_likelihood, whittle_covariance,
                                     whittle_fit)

__all__ = ["fit_peaks", "star_average", "degenerate_sum", "peak_model", "ALIASED"]

CONVENTION = ("FWHM of the peak in the kinetic-energy spectral density of Qdot (trajmodes.mode_spectra); "
              "lifetime = 1/(2 pi FWHM)")


# automatic window (fit_peaks(window=None)): see fit_spectrum
SMOOTH_LINE_FRACTION = 0.75  # the smoothed line: the widest running mean no wider than this x the FWHM it leaves
MIN_HALF_WIDTH_THZ = 0.1  # the automatic window's half-width is at least this (and 10 bins)
START_WIDTHS = (1.0, 0.5, 2.0)  # the starts of every fit: the smoothed line's FWHM times these
COLLAPSE_FRACTION = 0.25  # a fit narrower than this fraction of a resolved smoothed line has collapsed onto noise
RESOLVED_ENBW = 4.0       # a smoothed line is resolved when wider than this many ENBW (and 6 bins)
GAUSSIAN_SMOOTH = 9       # Gaussian bins (lag-window estimates): sigma from the |spectrum| smoothed over these bins
SAFE_NOISE = 0.2          # the broad check smooths a spectrum down to this relative noise per bin

#: the status of a mode whose harmonic frequency is near or above the Nyquist frequency of the frames
ALIASED = "above Nyquist: aliased"
#: the status of a fit that fell onto a noise spike of a resolved broad line, twice (no values)
COLLAPSED = "collapsed"
#: the status of a fit whose error bars are wider than its window: the data do not pin it down (no values)
UNCONSTRAINED = "unconstrained"
#: the status of a mode whose harmonic frequency is imaginary (negative): unstable force constants at its q
UNSTABLE = "imaginary harmonic frequency"

#: the model names of ``fit_peaks(model="auto")``: both fitted, the one of higher likelihood kept
AUTO_MODELS = ("lorentzian", "dho")


def _smooth(p, n: int = 3):
    """Running mean over ``n`` (odd) bins, edges padded with the edge value."""
    n = max(int(n) // 2 * 2 + 1, 1)
    if n == 1:
        return np.array(p, dtype=float)
    c = np.concatenate([[0.0], np.cumsum(np.pad(np.asarray(p, float), n // 2, mode="edge"))])
    return (c[n:] - c[:-n]) / n


def _odd_bins(n: float) -> int:
    """The odd number of bins at or below ``n``, at least 3."""
    n = int(n)
    return max(n - 1 if n % 2 == 0 else n, 3)


class SmoothedLine(NamedTuple):
    """The line as the smoothed spectrum shows it: the start of every fit and the yardstick of a collapse."""

    index: int          #: bin of the smoothed maximum
    centre: float       #: THz, its frequency
    height: float       #: the smoothed maximum (the spectrum's units)
    base: float         #: the median of the spectrum (bins > 0)
    fwhm: float         #: THz, the half-maximum width W of the smoothed line (above ``base``), less the running
                        #: mean's width L: sqrt(W^2 - L^2) (at least one bin)
    smoothed_fwhm: float  #: THz, W itself
    bins: int           #: the running mean's width in bins


def _line_at(f, p, n, df, inside, base) -> SmoothedLine:
    ps = _smooth(p, n)
    ps[0] = -np.inf                                   # never take the static bin as the peak
    if inside is not None:
        ps = np.where(inside, ps, -np.inf)
    k = int(np.argmax(ps))
    peak = float(ps[k])
    half = 0.5 * (peak + base)
    # the bins above half maximum connected to the maximum, bridging dips of up to n bins (noise the running mean
    # left: the line goes on past them)
    above = np.flatnonzero(ps > half)
    if not np.isfinite(peak) or above.size == 0:      # nothing stands above the rest (a flat or a 2-bin spectrum,
        return SmoothedLine(k, np.nan, -np.inf, base, np.nan, np.nan, int(n))   # a window off the axis): no line
    gaps = np.flatnonzero(np.diff(above) > n + 1)
    i = int(np.searchsorted(above, k))
    start = above[gaps[gaps < i][-1] + 1] if np.any(gaps < i) else above[0]
    stop = above[gaps[gaps >= i][0]] if np.any(gaps >= i) else above[-1]
    # a running mean of width L widens a Lorentzian of FWHM G to sqrt(G^2 + L^2) exactly: undone
    width = (stop - start + 1) * df
    return SmoothedLine(k, float(f[k]), peak, base, float(np.sqrt(max(width * width - (n * df) ** 2, df * df))),
                        width, int(n))


def smoothed_line(f, p, df: float, inside=None) -> SmoothedLine:
    """Centre, height and half-maximum width of the line in the spectrum ``p`` after smoothing out its noise.

    Running means over 3, 5, 9, 17, 33, ... bins (up to a quarter of the spectrum); the widest one that is at most
    0.75 x as wide as the half-maximum width W it leaves is kept, 3 bins if none is, and its width L taken out of W:
    FWHM = sqrt(W^2 - L^2), exact for a Lorentzian (at least one bin). A single full-resolution periodogram has 100% noise per bin: a narrow running mean
    leaves noise spikes whose maximum and half-maximum crossings are a spike's, not the line's (the contiguous
    region above half maximum breaks at the first dip); the widest admissible one averages them out, while a line
    of a few bins keeps the 3-bin mean. ``inside`` (bool, per bin): where the maximum may lie.
    """
    base = float(np.median(p[1:]))
    best = _line_at(f, p, 3, df, inside, base)
    n = 5
    while n <= max(3, (len(f) - 1) // 4):
        line = _line_at(f, p, n, df, inside, base)
        if n * df <= SMOOTH_LINE_FRACTION * line.smoothed_fwhm:
            best = line
        n = 2 * n - 1
    return best


def _nan_result(status, lo=np.nan, hi=np.nan, line: SmoothedLine | None = None):
    return dict(frequency=np.nan, frequency_err=np.nan, fwhm=np.nan, fwhm_err=np.nan, amplitude=np.nan,
                amplitude_err=np.nan, background=np.nan, chi2_red=np.nan, window_lo=lo, window_hi=hi,
                status=status, model="", estimate_frequency=line.centre if line is not None else np.nan,
                estimate_fwhm=line.fwhm if line is not None else np.nan)


def _rel_error(p, e, n_segments, sel=slice(None)):
    """Median relative error of one bin over ``sel``: from ``e`` (the standard error of ``p``), else
    1/sqrt(n_segments). (A single periodogram has e = p: 1; a sum over K degenerate / star modes ~1/sqrt(K).)"""
    if e is None:
        return 1.0 / np.sqrt(n_segments)
    es, ys = e[sel], np.abs(p[sel])
    good = (es > 0) & (ys > 0)
    return float(np.median(es[good] / ys[good])) if np.any(good) else 1.0 / np.sqrt(n_segments)


def _half_width(line: SmoothedLine, func, window, df) -> float:
    """Half-width (THz) of the automatic window: max(1.5 FWHM, 10 bins, 0.1 THz) of the smoothed line for the
    Lorentzians, max(5 FWHM, 20 bins, 0.1 THz) for the DHOs; a float ``window`` as given."""
    if window is not None:
        return float(window)
    if is_dho(func):
        return max(5.0 * line.fwhm, 20.0 * df, MIN_HALF_WIDTH_THZ)
    # a Lorentzian's centre drifts with the window on the asymmetric DHO-like tails: stay close
    return max(1.5 * line.fwhm, 10.0 * df, MIN_HALF_WIDTH_THZ)


def _resolved(line: SmoothedLine, enbw: float, df: float) -> bool:
    """Whether the smoothed line is wider than a few resolution elements (the running mean's width taken out)."""
    return line.fwhm >= max(RESOLVED_ENBW * enbw, 6.0 * df)


def _failure(out, line: SmoothedLine, enbw: float, df: float) -> str | None:
    """Why the fit ``out`` is no measurement of the line, or None: "collapsed" (narrower than a quarter of a
    resolved smoothed line: it sits on a noise spike of a broad line), "unconstrained" (the centre's error bar wider
    than half the fit window, or for a resolved line the width's wider than twice the window). A line the smoothed
    spectrum does not resolve keeps its narrow fit ("width below resolution": the width's error is then large by
    nature, the position is measured)."""
    if not np.isfinite(out["frequency"]):
        return None
    span = out["window_hi"] - out["window_lo"]
    resolved = _resolved(line, enbw, df)
    if resolved and out["fwhm"] < COLLAPSE_FRACTION * line.fwhm:
        return COLLAPSED
    if not out["frequency_err"] <= 0.5 * span:
        return UNCONSTRAINED
    if resolved and not out["fwhm_err"] <= 2.0 * span:
        return UNCONSTRAINED
    return None


def fit_spectrum(f, p, e, nu_h, func, window, df, enbw, n_segments, likelihood: str = "gamma"):
    """Fit one spectrum; returns a dict of results (NaN values and a reason in ``status`` on failure).

    ``func`` is a model function or a sequence of (name, function) pairs: each is fitted on the same window and
    the one of highest likelihood kept (equal numbers of parameters: the Akaike criterion is the likelihood);
    ``model`` in the result names it.

    The start (:func:`smoothed_line`): the centre, height and half-maximum width ("rough") of the spectrum smoothed
    by the widest running mean of 3, 5, 9, 17, ... bins that stays within 0.75 x the half-maximum width it leaves
    (``SMOOTH_LINE_FRACTION``; that mean's own width taken back out), so that on a single full-resolution periodogram
    (every bin exponentially distributed) they are those of the line, not of a noise spike. Automatic window (``window`` None): +-max(1.5 rough, 10 bins, 0.1 THz)
    for the Lorentzians (max(5 rough, 20 bins, 0.1 THz) for the DHOs). Every model is fitted from several starts
    (widths rough x 1, 0.5 and 2, and the least-squares fit from the first) and the best likelihood kept. A fit
    whose FWHM comes out wider than half the window is repeated once over +-1.5 x that FWHM (5 x for the DHOs)
    about the fitted centre; the refit replaces the first if its chi2_red is <= 2 or at most 10% above the
    first's. A fit narrower than a quarter of a resolved smoothed line ("collapsed" onto noise) or with an error
    bar wider than its window ("unconstrained") is repeated over a window twice as wide from the wider starts; if
    that fails too the result is NaN with that status (the smoothed estimate is kept in ``estimate_*``)."""
    models = [("", func)] if callable(func) else list(func)
    if nu_h is not None and np.isfinite(nu_h) and abs(nu_h) < 3 * df:
        return _nan_result("zero-frequency mode")
    if not np.all(np.isfinite(p)) or np.max(p[1:]) <= 0:
        return _nan_result("no peak")
    inside = (f >= window[0]) & (f <= window[1]) if isinstance(window, tuple) else None
    line = smoothed_line(f, p, df, inside)
    if line.height < 3.0 * line.base or line.height <= 0:
        return _nan_result("no peak", line=line)
    first = models[0][1]
    if isinstance(window, tuple):
        lo, hi = window
    else:
        width = _half_width(line, first, window, df)
        lo, hi = line.centre - width, line.centre + width
    amp0 = max(line.height - line.base, 1e-300)
    starts = [[amp0, line.centre, line.fwhm * s, None] for s in START_WIDTHS]
    if _resolved(line, enbw, df):
        out = _best_model(models, f, p, e, lo, hi, starts, df, enbw, n_segments, likelihood, line)
    else:
        # a line the smoothed spectrum does not resolve: no broad line to miss, and the models agree on a narrow
        # line; one start, the first model (its width then runs to the bound in many steps: the costly case)
        out = _best_model(models[:1], f, p, e, lo, hi, starts[:1], df, enbw, n_segments, likelihood, line,
                          direct=False)
    func = out.pop("_func")
    if window is None and np.isfinite(out["fwhm"]) and out["fwhm"] > 0.5 * (out["window_hi"] - out["window_lo"]):
        # the rough width (smoothed half-maximum) was too narrow for the fitted line ("peak wider than window",
        # or "no peak" when the amplitude is then lost in the background): once more over
        # +-1.5 x the fitted FWHM (the Lorentzian's half-width rule above) about the fitted centre
        width = 1.5 * out["fwhm"] if not is_dho(func) else 5.0 * out["fwhm"]
        nu0 = out["frequency"]
        again, _, _ = _fit_range(f, p, e, func, nu0 - width, nu0 + width,
                                 [[out["amplitude"], nu0, out["fwhm"], out["background"]]], df, enbw, n_segments,
                                 likelihood)
        # kept only if the model still describes the wider window (chi2_red <= 2, or no more than 10% above the
        # first): on a line that is not a Lorentzian (shoulders; Welch chi2_red ~ 10) a wider window makes the
        # centre follow the tails
        if np.isfinite(again["frequency"]) and again["chi2_red"] <= max(2.0, 1.1 * out["chi2_red"]) \
                and _failure(again, line, enbw, df) is None:
            again["model"] = out["model"]
            out = again
    if window is None and np.isfinite(out["fwhm"]):
        out = _against_broad(out, func, models, f, p, e, df, enbw, n_segments, likelihood, line)
    failed = _failure(out, line, enbw, df)
    if failed is not None:
        # once more, over a window twice as wide about the smoothed centre (more of the line's shape, the spike's
        # bin a smaller part of the likelihood), from the smoothed width and wider
        if isinstance(window, tuple):
            lo2, hi2 = window
        else:
            width = 2.0 * _half_width(line, first, window, df)
            lo2, hi2 = line.centre - width, line.centre + width
        again = _best_model(models, f, p, e, lo2, hi2, [s for s in starts if s[2] >= line.fwhm], df, enbw,
                            n_segments, likelihood, line)
        again.pop("_func")
        if np.isfinite(again["frequency"]) and _failure(again, line, enbw, df) is None:
            out = again
        else:
            return _nan_result(failed, out["window_lo"], out["window_hi"], line)
    out.update(estimate_frequency=line.centre, estimate_fwhm=line.fwhm)
    return out


def _against_broad(out, func, models, f, p, e, df, enbw, n_segments, likelihood, line):
    """``out`` (fitted with ``func``), or the fit of a broad line where the likelihood prefers it.

    The finest admissible smoothing (:func:`smoothed_line`) can still take a noise spike on top of a broad line for
    the line (one periodogram: an exponentially distributed bin five times the line's height is no rarity). The
    spectrum smoothed down to ~20% noise per bin (over (ENBW / df) (rel / 0.2)^2 bins) shows the broad line. When the
    fit is narrower than a quarter of that and its line holds less than half of the power the spectrum has above its
    median within +-W of that maximum (W: the smoothed width; a real narrow line holds nearly all of it, a spike a
    small part), both are fitted over the broad line's window (from the broad estimate and from the narrow fit) and
    the better likelihood decides.
    """
    rel = _rel_error(p, e, n_segments, slice(1, None))
    n_safe = _odd_bins(max(enbw / df, 1.0) * (rel / SAFE_NOISE) ** 2)
    if n_safe <= line.bins or n_safe > (len(f) - 1) // 4:
        return out
    broad = _line_at(f, p, n_safe, df, None, line.base)
    broad = broad._replace(fwhm=broad.smoothed_fwhm)      # as wide as the smoothed spectrum shows it: an upper bound
    if out["fwhm"] >= COLLAPSE_FRACTION * broad.fwhm:
        return out
    near = (f >= broad.centre - broad.fwhm) & (f <= broad.centre + broad.fwhm)
    near[0] = False
    power = float(np.sum(p[near] - broad.base)) * df
    # the fitted line's area within +-W of the broad line's centre: pi A G / 2 for every model (a line narrower than
    # a bin is not sampled by its values at the bins), the fraction of a Lorentzian inside
    off = abs(out["frequency"] - broad.centre)
    inside = (np.arctan(2 * (broad.fwhm - off) / out["fwhm"]) + np.arctan(2 * (broad.fwhm + off) / out["fwhm"])) / np.pi
    held = 0.5 * np.pi * out["amplitude"] * out["fwhm"] * inside
    if held >= 0.5 * power:
        return out
    width = _half_width(broad, models[0][1], None, df)
    starts = [[max(broad.height - broad.base, 1e-300), broad.centre, broad.fwhm * s, None] for s in (1.0, 0.5)]
    starts.append([out["amplitude"], out["frequency"], out["fwhm"], out["background"]])
    cand = _best_model(models, f, p, e, broad.centre - width, broad.centre + width, starts, df, enbw, n_segments,
                       likelihood, line)
    cand.pop("_func")
    if np.isfinite(cand["fwhm"]) and cand["fwhm"] >= COLLAPSE_FRACTION * broad.fwhm \
            and _failure(cand, line, enbw, df) is None:
        return cand
    return out


def _best_model(models, f, p, e, lo, hi, starts, df, enbw, n_segments, likelihood, line, direct: bool = True):
    """The fit of highest likelihood among ``models`` ((name, function) pairs) over [lo, hi]: its result dict, with
    ``model`` its name and ``_func`` its function."""
    best, best_nll = None, np.inf
    for name, func in models:
        out, _, nll = _fit_range(f, p, e, func, lo, hi, starts, df, enbw, n_segments, likelihood, direct)
        out["model"], out["_func"] = name, func
        if best is None or (np.isfinite(out["frequency"]) and nll < best_nll):
            best, best_nll = out, nll
    return best


def _fit_range(f, p, e, func, lo, hi, starts, df, enbw, n_segments, likelihood="gamma", direct: bool = True):
    """Maximum-likelihood fit of ``func`` to ``p`` over [lo, hi] from several ``starts`` (each (amplitude, nu0,
    fwhm, background); background None: the window's minimum), keeping the best likelihood; the first start is
    also tried after an unweighted least-squares fit (``direct`` False: only that way). Returns (result dict, fitted parameters or None, negative
    log-likelihood: :func:`~trajmodes.modes.whittle.negative_log_likelihood`, inf on failure)."""
    lo, hi = max(lo, f[1]), min(hi, f[-1])
    sel = (f >= lo) & (f <= hi)
    x, y = f[sel], p[sel]
    if x.size < 6:
        return _nan_result("too few points in window", lo, hi), None, np.inf
    scale = max(float(np.max(y)), 1e-300)           # fit in O(1) numbers
    ys = y / scale
    bounds = ([0.0, lo, 1e-3 * df, 0.0], [np.inf, hi, 4.0 * (hi - lo), np.inf])
    # relative error of one bin from the spread over segments (1 for a single periodogram)
    rel = _rel_error(p, e, n_segments, sel) if e is not None else 1.0
    # a negative bin (a lag-window estimate's ringing) has no Gamma likelihood: Gaussian bins instead
    if likelihood == "gamma" and np.any(y <= 0):
        likelihood = "gaussian"
    sigma = None
    if likelihood == "gaussian":
        # each bin's standard deviation: rel x the spectrum smoothed over GAUSSIAN_SMOOTH bins (its envelope: in the
        # tails of a lag-window estimate, the strong line's ringing), no less than rel x SIGMA_FLOOR x its maximum
        level = _smooth(np.abs(p), GAUSSIAN_SMOOTH)[sel] / scale
        sigma = rel * np.maximum(level, SIGMA_FLOOR * float(np.max(level)))
    jac = getattr(func, "jac", None) or JACOBIANS.get(func)
    pars, nll = None, np.inf
    for i, (amp0, nu00, w0, bg0) in enumerate(starts):
        if bg0 is None:
            bg0 = max(float(np.min(y)), 0.0)
        p0s = np.array([max(amp0 / scale, 1e-300), min(max(nu00, lo), hi), min(max(w0, 2e-3 * df), bounds[1][2]),
                        max(bg0 / scale, 0.0)])
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OptimizeWarning)
                first = [least_squares_start(func, jac, x, ys, p0s, bounds)] if i == 0 else []
                for th in first + ([p0s] if direct else []):
                    # maximum likelihood for a spectral estimate whose bins are Gamma distributed about the model
                    # with relative spread rel (Whittle): least squares weighted by the model would let a model
                    # that sits below a sharp peak call it noise
                    th = whittle_fit(func, jac, x, ys, th, bounds, likelihood=likelihood, sigma=sigma)
                    val = negative_log_likelihood(func, x, ys, th, likelihood, sigma)
                    if np.isfinite(val) and val < nll:
                        pars, nll = th, val
        except (RuntimeError, ValueError):
            continue
    if pars is None:
        return _nan_result("fit did not converge", lo, hi), None, np.inf
    pcov = whittle_covariance(func, jac, x, pars, rel, sigma)
    if sigma is None:
        sigma = np.maximum(func(x, *pars), 1e-12 * np.max(ys)) * rel
    if pcov is None or not np.all(np.isfinite(pcov)):
        return _nan_result("fit did not converge", lo, hi), None, np.inf
    resid = (ys - func(x, *pars)) / sigma
    dof = max(x.size - 4, 1)
    chi2_red = float(np.sum(resid ** 2) / dof)
    # uncertainty: the covariance from the segment spread, inflated by the misfit when chi2_red > 1
    perr = np.sqrt(np.abs(np.diag(pcov))) * max(1.0, np.sqrt(chi2_red))
    amp, nu0, fwhm, bg = pars
    out = dict(frequency=nu0, frequency_err=perr[1], fwhm=fwhm, fwhm_err=perr[2], amplitude=amp * scale,
               amplitude_err=perr[0] * scale, background=bg * scale, chi2_red=chi2_red, window_lo=lo,
               window_hi=hi, status="ok", model="")
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
    return out, pars, nll


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
        dt = float(attrs["frame_interval_ps"])
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


class _FitFailed(RuntimeError):
    """A fit of :func:`_fit_batch` that raised: the index of its task among all the fits and the error in words
    (pickled by its arguments: it crosses from a worker process intact); :func:`fit_peaks` names the mode."""

    def __init__(self, task: int, error: str):
        super().__init__(int(task), str(error))
        self.task, self.error = int(task), str(error)


def _fit_batch(batch, f, func, window, df, enbw, n_segments, likelihood, first: int = 0):
    """The fits of ``batch``, the tasks ``first``, ``first + 1``, ... of :func:`_run_fits`; one that raises is a
    :class:`_FitFailed` with its task's index."""
    out = []
    for i, (p, e, nu_h) in enumerate(batch):
        try:
            out.append(fit_spectrum(f, p, e, nu_h, func, window, df, enbw, n_segments, likelihood))
        except Exception as exc:
            raise _FitFailed(first + i, f"{type(exc).__name__}: {exc}") from exc
    return out


#: seconds of fits this process runs before it judges whether the rest are worth worker processes (the fits range from
#: about 1 ms, a short narrow line, to 0.2 s, a long spectrum fitted with two models from several starts)
PROBE_SECONDS = 0.2

#: seconds to start one worker process: a fork of this process (measured 10-15 ms per worker, numpy and scipy already
#: imported); a spawned worker imports numpy and scipy again
START_SECONDS = {"fork": 0.015, "spawn": 1.0}


def parallel_pays(n_fits: int, seconds_per_fit: float, workers: int, start_seconds: float) -> bool:
    """Whether ``n_fits`` fits of ``seconds_per_fit`` seconds each finish sooner on ``workers`` worker processes
    started for them (``start_seconds`` each, one after another) than one after another in this process.

    The expected parallel time, ``w x start_seconds + n_fits x seconds_per_fit / w`` with ``w = min(workers,
    n_fits)``, must save a fifth of the serial time ``n_fits x seconds_per_fit``: a margin for the uneven cost of the
    fits and the transfers of the spectra and results. 50 fits of 0.1 s on 2 or more forked workers: parallel; 50
    of 1 ms: not."""
    workers = min(int(workers), int(n_fits))
    if workers < 2:
        return False
    serial = n_fits * seconds_per_fit
    return workers * start_seconds + serial / workers < 0.8 * serial


#: fits per Dask task when they run in this process (a progress bar's steps)
SERIAL_BATCH = 16


def fit_batch_size(n_fits: int, workers: int, largest: int = 16) -> int:
    """Fits per Dask task: at most ``largest``, and few enough that every worker gets about four tasks (50 fits on
    16 workers: one fit per task)."""
    return max(1, min(int(largest), int(n_fits) // (4 * max(1, int(workers)))))


def fit_workers() -> int:
    """Processes the peak fits run in: the cores this process may use (its CPU affinity, else ``os.cpu_count``)."""
    import os
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _worker_signals(parent: int) -> None:
    """The start of a worker process of the fits: SIGINT ignored and SIGTERM's default action. The handlers a fork
    inherits (the command line's turn SIGINT and SIGTERM into an exception) made a worker take Ctrl-C for the
    result of the fit it was running and go on with the next; the calling process decides, and ends its workers
    (:func:`_worker_pool`). On Linux the worker is also sent SIGTERM when the calling process ``parent`` dies without
    ending it (killed: ``kill -9``, the kernel's out-of-memory killer), which no code of the calling process can do."""
    import os
    import signal
    import sys
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    if sys.platform.startswith("linux") and os.getppid() == parent:       # not under a fork server
        import ctypes
        try:
            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)      # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            return
        if os.getppid() != parent:                                # the caller died before the call above
            os._exit(1)


@contextlib.contextmanager
def _worker_pool(processes: int, method: str):
    """A :class:`multiprocessing.pool.Pool` of ``processes`` workers started by ``method`` ("fork" or "spawn") for
    the fits, terminated on leaving the block, whether the fits finished, failed or were interrupted: no worker
    outlives the call, and Ctrl-C does not wait for the fits queued behind the running ones."""
    import multiprocessing
    import os
    pool = multiprocessing.get_context(method).Pool(processes, initializer=_worker_signals, initargs=(os.getpid(),))
    try:
        yield pool
    finally:
        pool.terminate()
        pool.join()


def _run_fits(tasks, f, func, window, df, enbw, n_segments, likelihood="gamma", progress: bool = True,
              workers: int | None = None):
    """Fit every (spectrum, error, harmonic frequency) of ``tasks``, on all cores when that pays.

    The first fits (at least one) run in this process for :data:`PROBE_SECONDS`; from their mean time the rest run
    where they are expected to finish first (:func:`parallel_pays`): as Dask tasks (:func:`fit_batch_size` fits
    each) in worker processes, on an active ``dask.distributed`` Client when there is one, else in a pool of
    ``workers`` processes (default :func:`fit_workers`) that ends with the call (:func:`_worker_pool`), or in
    this process (in Dask tasks of :data:`SERIAL_BATCH` fits on the synchronous scheduler when more than two such
    tasks are left). Processes, not threads: the fits hold the GIL nearly all the time (51 fits of a 4,000-atom Cu
    run: 2.42 s one after another, 2.34 s on two threads). ``progress``: a Dask progress bar on stderr when the
    fits after the first take over a second and no other Dask progress bar is active. Every fit is a pure function of
    its spectrum: results do not depend on where it ran."""
    import time
    args = (f, func, window, df, enbw, n_segments, likelihood)
    results, start = [], time.perf_counter()
    while len(results) < len(tasks) and (not results or time.perf_counter() - start < PROBE_SECONDS):
        results.extend(_fit_batch(tasks[len(results):len(results) + 1], *args, first=len(results)))
    done = len(results)
    rest = tasks[done:]
    if not rest:
        return results
    import multiprocessing

    from trajmodes.resources import distributed_client
    client = distributed_client()
    per_fit = (time.perf_counter() - start) / len(results)
    # fork: the workers start at once with the fits' modules imported, and a script that calls fit_peaks
    # needs no ``if __name__ == "__main__"`` guard (spawn would import it again in every worker)
    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    if client is not None:                              # its workers run already: they cost no start
        workers, start_seconds = max(1, sum(client.nthreads().values())), 0.0
    else:
        workers = fit_workers() if workers is None else max(1, int(workers))
        start_seconds = START_SECONDS[method]
    parallel = parallel_pays(len(rest), per_fit, workers, start_seconds)
    if not parallel and len(rest) <= 2 * SERIAL_BATCH:
        return results + _fit_batch(rest, *args, first=done)
    import dask
    from dask.callbacks import Callback
    from dask.diagnostics import ProgressBar
    batch = fit_batch_size(len(rest), workers) if parallel else SERIAL_BATCH
    parts = [dask.delayed(_fit_batch, pure=True)(rest[i:i + batch], *args, first=done + i)
             for i in range(0, len(rest), batch)]
    bar = ProgressBar(minimum=1.0) if progress and not Callback.active else contextlib.nullcontext()
    with contextlib.ExitStack() as stack:
        stack.enter_context(bar)
        options = {}
        if not parallel:
            options = {"scheduler": "sync"}                 # in this process, in tasks a progress bar counts
        elif client is None:
            pool = stack.enter_context(_worker_pool(min(workers, len(parts)), method))
            options = {"scheduler": "processes", "pool": pool}
        return results + [r for part in dask.compute(*parts, **options) for r in part]


def _models(model, attrs):
    """(name, function) pairs of ``model``: one name, "auto" (:data:`AUTO_MODELS`) or a sequence of names."""
    names = list(AUTO_MODELS) if model == "auto" else [model] if isinstance(model, str) else list(model)
    if not names:
        raise ValueError("model: give a model name, 'auto' or a sequence of names")
    return [(n, peak_model(n, attrs)) for n in names]


def fit_peaks(spectra: xr.Dataset, model: str = DEFAULT_PEAK_MODEL, window=None, average_degenerate: bool = True,
              degeneracy_tol: float = 1e-3, star: bool = True, progress: bool = True,
              workers: int | None = None) -> xr.Dataset:
    """Fit the peak of every mode's spectrum.

    By default every set of equivalent modes is fitted once: the spectra are averaged over the star of each q
    (:func:`star_average`, when the q-points come with their harmonic frequencies) and summed over degenerate
    branches, and each distinct spectrum is fitted once (all 768 modes of a 256-atom fcc cell are a few
    dozen fits).

    Parameters
    ----------
    spectra : xarray.Dataset
        From :func:`trajmodes.mode_spectra`: ``psd`` (q, branch, frequency) and ``psd_err``; the coordinate
        ``frequency_harmonic`` (q, branch), THz, is used when present (shift, degeneracy, zero modes, unstable
        modes). The attribute ``bin_distribution`` ("gamma", the default: periodograms and their averages;
        "gaussian": lag-window estimates that dip below zero, as :func:`~trajmodes.modes.current_peaks.current_spectra`)
        chooses the likelihood (:mod:`trajmodes.modes.whittle`); a window holding a bin <= 0 is fitted as Gaussian.
    model : {"lorentzian", "dho", "lorentzian_windowed", "dho_windowed", "auto"} or sequence of them
        The ``*_windowed`` models (:class:`WindowedLorentzian`, :class:`WindowedDHO`) fit the expected
        windowed periodogram of the line (needs the ``segment_frames``, ``frame_interval_ps``, ``window`` attributes
        of :func:`trajmodes.mode_spectra`); use them when the FWHM is within a few bins of the resolution.
        Their "width below resolution" flag is FWHM < ENBW / 4 (2 ENBW for the plain models).
        "auto" (the default: Lorentzian and DHO) or a sequence of names: each is fitted on the same window (the
        first model's) and the one of highest likelihood kept for every spectrum (the models have equally many
        parameters, so this is also the Akaike choice); ``line_model`` names it. On broad lines at low frequency
        (FWHM ~ nu0 / 2) the velocity spectrum of a damped oscillator is asymmetric and a Lorentzian's centre sits
        high (synthetic DHO lines at 1 THz, FWHM 0.8: +0.16 THz; bcc Zr at 1300 K, TA branch: 0.2 THz above the
        "auto" fits, which chose the DHO for 88% of them); on narrow lines the two agree, and a line the smoothed
        spectrum does not resolve (narrower than 4 ENBW) is fitted with the first model only, from one start.
    window : None, float or (float, float)
        None: around the maximum of the smoothed spectrum, +- max(5 x rough FWHM, 20 bins, 0.1 THz) for the DHOs,
        +- max(1.5 x rough FWHM, 10 bins, 0.1 THz) for the Lorentzians (on the exact DHO velocity spectrum
        with nu0 = 10, FWHM = 0.3 THz a Lorentzian centre fitted over +-5 FWHM sits 0.016 THz high, over
        +-1.5 FWHM 0.003 THz high: the velocity spectrum is not symmetric about its peak; windows of +-0.5 THz
        or more on MD lines follow their non-Lorentzian tails). The rough FWHM and the centre are those of the
        spectrum smoothed by the widest running mean (3, 5, 9, 17, ... bins) within 0.75 x the line's
        half-maximum width (:func:`smoothed_line`), so that a single full-resolution
        periodogram (``full=True``, 100% noise per bin) gives the line's width, not a noise spike's; they are
        returned as ``estimate_frequency`` and ``estimate_fwhm``. Every fit starts from that estimate with
        widths x 1, 0.5 and 2 and keeps the best likelihood. A fit whose FWHM exceeds half the window is
        repeated once over +- 1.5 x (DHOs: 5 x) that FWHM about its centre, kept if its chi2_red is <= 2 or at
        most 10% above the first's (else the first fit stays, flagged "peak wider than window").
        A float: that half-width in THz around the smoothed maximum (no refit). A pair: the fit range
        in THz for every mode.
    average_degenerate : bool
        Fit the summed spectrum of branches at the same q whose harmonic frequencies differ by less than
        ``degeneracy_tol`` (THz), and report the result for each of them.
    degeneracy_tol : float
        Largest difference between the harmonic frequencies (``frequency_harmonic``) of two branches at the same q
        for them to count as degenerate, THz (default 0.001). Used with ``average_degenerate``.
    star : bool
        Average the spectra over the star of q first (:func:`star_average`; skipped when the spectra are
        already averaged or carry no harmonic frequencies). False: fit every q-point's own spectrum.
    progress : bool
        Show a progress bar on stderr when the fits take more than a second (and no other Dask progress bar is
        active).
    workers : int, optional
        Processes for the fits when they are expected to take long enough to pay for starting them (default: every
        core this process may use, :func:`fit_workers`; 1: all in this process; an active ``dask.distributed`` Client
        runs them on its workers instead). The results do not depend on it.

    Returns
    -------
    xarray.Dataset
        Over (q, branch): ``frequency``, ``frequency_err``, ``shift`` (= frequency -
        frequency_harmonic), ``fwhm``, ``fwhm_err``, ``lifetime`` (= 1/(2 pi fwhm)), ``lifetime_err``, ``amplitude``,
        ``amplitude_err``, ``background`` (eV/THz), ``chi2_red``, ``window_lo``/``window_hi`` (THz),
        ``estimate_frequency``/``estimate_fwhm`` (THz, the smoothed line the fit started from), ``line_model`` (the
        model fitted), ``n_averaged`` and ``status`` ("ok" or the reason: "no peak", "amplitude ill-determined" (a
        strong line the model does not describe: position kept, amplitude and width doubtful), "fit did not
        converge", "collapsed" (the fit fell onto a noise spike: narrower than a quarter of the resolved smoothed line,
        twice; no values), "unconstrained" (error bars wider than the fit window, twice; no values), "peak at window
        edge", "peak wider than window", "width below resolution", "zero-frequency mode", "too few points in window",
        "above Nyquist: aliased" (the spectra's ``aliased`` modes: the frames are too far apart; no values),
        "imaginary harmonic frequency" (the force constants are unstable at this q: the peak is the run's, but
        ``shift`` is NaN: project onto the run's own effective constants)).
        Values are kept (not NaN) under "peak at window edge", "peak wider than window", "width below
        resolution" and "imaginary harmonic frequency": read them only together with ``status``.

    Notes
    -----
    Uncertainties: each bin is weighted by model x (relative spread of that spectrum across the Welch
    segments); errors are the square roots of the covariance diagonal, multiplied by sqrt(chi2_red) when the
    fit is worse than that spread explains (the larger of the two estimates).
    """
    models = _models(model, spectra.attrs)
    func = models[0][1] if len(models) == 1 else models
    likelihood = str(spectra.attrs.get("bin_distribution", "gamma"))
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
    tasks, assign = _fit_tasks(P, E, H, aliased, average_degenerate, degeneracy_tol, df)
    try:
        results = _run_fits(tasks, f, func, window, df, enbw, n_segments, likelihood, progress=progress,
                            workers=workers)
    except _FitFailed as exc:
        raise RuntimeError(_failed_fit_words(exc, assign, spectra, H)) from exc
    out, status, used, n_avg = _spread_results(results, assign, (nq, nb), models[0][0] if len(models) == 1 else None)
    inflate = np.sqrt(_correlation_factor(spectra.attrs))
    for n in ("frequency_err", "fwhm_err", "amplitude_err"):
        out[n] *= inflate
    shift = out["frequency"] - H if H is not None else np.full((nq, nb), np.nan)
    if H is not None:
        # unstable constants: the run's line is measured, but a shift from an imaginary frequency means nothing
        unstable = (H <= -3 * df) & ~aliased
        status[unstable] = UNSTABLE
        shift[unstable] = np.nan
    ds = _peaks_dataset(spectra, out, shift, used, n_avg, status)
    ds.attrs.update(model=model if isinstance(model, str) else ",".join(model), convention=CONVENTION,
                    resolution_thz=df, enbw_thz=enbw, n_segments=n_segments, likelihood=likelihood,
                    time_axis=str(spectra.attrs.get("time_axis", "unknown")))
    return ds


#: the values of every fit that :func:`fit_peaks` reports for each mode
_RESULT_NAMES = ("frequency", "frequency_err", "fwhm", "fwhm_err", "amplitude", "amplitude_err", "background",
                 "chi2_red", "window_lo", "window_hi", "estimate_frequency", "estimate_fwhm")


def _fit_tasks(P, E, H, aliased, average_degenerate: bool, degeneracy_tol: float, df: float):
    """The distinct spectra to fit and where their results go (:func:`fit_peaks`): tasks (spectrum, its error or
    None, the group's harmonic frequency or None) and, for every group of degenerate branches at each q, (q index,
    branch indices, the task's index, None for aliased modes). Identical spectra (every member of a star after
    :func:`star_average`, repeated q) are one task."""
    nq, nb = P.shape[:2]
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
    return tasks, assign


def _failed_fit_words(failed: _FitFailed, assign: list, spectra: xr.Dataset, H) -> str:
    """What :func:`fit_peaks` says of a fit that raised (``failed``): the mode it fitted (the first of the q-points
    and branches that share its spectrum, ``assign`` of :func:`_fit_tasks`), its harmonic frequency, the error and
    how to look at it alone."""
    iq, group = next((iq, g) for iq, g, k in assign if k == failed.task)
    where = f"q index {iq}"
    if "qpoint" in spectra and "q" in spectra["qpoint"].dims:
        q = np.asarray(spectra["qpoint"].transpose("q", ...).values[iq], dtype=float)
        where += f" (q = [{', '.join(f'{x:.4g}' for x in np.atleast_1d(q))}])"
    branches = f"branch {group[0]}" if len(group) == 1 else f"branches {', '.join(map(str, group))} (degenerate)"
    nu = "" if H is None else f", harmonic frequency {float(np.mean(H[iq, group])):.4g} THz"
    shared = sum(1 for _, _, k in assign if k == failed.task)
    also = f" and {shared - 1} more mode group(s) with the same spectrum" if shared > 1 else ""
    return (f"the peak fit of the spectrum at {where}, {branches}{nu}{also} failed: {failed.error}. Fit that "
            f"spectrum alone to see where (fit_peaks(spectra.isel(q=[{iq}]), star=False, workers=1))")


def _spread_results(results: list, assign: list, shape: tuple, single: str | None):
    """The fits' ``results`` placed on every (q, branch) of their groups (``assign`` of :func:`_fit_tasks`): the
    values of :data:`_RESULT_NAMES`, the status, the model used (``single``: the one model, named where the fit gave
    a frequency) and the number of branches fitted together."""
    out = {n: np.full(shape, np.nan) for n in _RESULT_NAMES}
    status = np.full(shape, "", dtype=object)
    used = np.full(shape, "", dtype=object)
    n_avg = np.ones(shape, dtype=int)
    for iq, g, k in assign:
        r = results[k] if k is not None else _nan_result(ALIASED)
        for ib in g:
            for n in _RESULT_NAMES:
                out[n][iq, ib] = r[n]
            status[iq, ib] = r["status"]
            used[iq, ib] = (single if np.isfinite(r["frequency"]) else "") if single is not None else r["model"]
            n_avg[iq, ib] = len(g)
    return out, status, used, n_avg


def _peaks_dataset(spectra: xr.Dataset, out: dict, shift, used, n_avg, status) -> xr.Dataset:
    """The result of :func:`fit_peaks` without its attributes, over (q, branch) and the spectra's coordinates other
    than ``frequency``."""
    fwhm = out["fwhm"]
    with np.errstate(divide="ignore", invalid="ignore"):
        tau = 1.0 / (2 * np.pi * fwhm)
        tau_err = tau * out["fwhm_err"] / fwhm
    dims = ("q", "branch")
    conv = CONVENTION
    return xr.Dataset(
        {
            "frequency": (dims, out["frequency"], {"units": "THz", "convention":
                                                  "centre of the fitted peak (renormalised frequency), ordinary "
                                                  "frequency"}),
            "frequency_err": (dims, out["frequency_err"], {"units": "THz", "convention": "1 sigma"}),
            "shift": (dims, shift, {"units": "THz", "convention": "frequency - frequency_harmonic; NaN where the "
                                                                  "harmonic frequency is imaginary"}),
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
            "estimate_frequency": (dims, out["estimate_frequency"], {"units": "THz", "convention":
                                   "maximum of the smoothed spectrum: the fit's start"}),
            "estimate_fwhm": (dims, out["estimate_fwhm"], {"units": "THz", "convention":
                              "half-maximum width of the smoothed spectrum: the fit's start"}),
            "line_model": (dims, used.astype(str), {"units": "", "convention":
                                                   "the line shape fitted (the more likely one with model='auto')"}),
            "n_averaged": (dims, n_avg, {"units": "1", "convention": "degenerate branches fitted together"}),
            "status": (dims, status.astype(str), {"units": "", "convention":
                                                  "'ok' or the reason the values are not a clean fit"}),
        },
        coords={n: c for n, c in spectra.coords.items() if "frequency" not in c.dims},
    )
