"""Where a phonon line is, measured the same way on MD spectra and on the lines of perturbation theory: its peak
maximum and its damped-oscillator centre; and how much of the MD's shift and width a level of theory explains.

Three frequencies answer three questions (docs/anharmonic.md, "Which frequency answers which question"):

- the **effective frequency** (the harmonic frequency of constants fitted to the run, TDEP): the static response,
  kT / <|Q|^2> = nu_eff^2 classically; what thermodynamics and the displacement statistics see;
- the **peak maximum** of the mode's kinetic-energy spectrum (a Lorentzian fitted to the top of the line): where a
  scattering experiment sees the line;
- the **damped-oscillator centre** nu0 of a DHO fitted to the line, A (g nu)^2 / ((nu0^2 - nu^2)^2 + (g nu)^2): the
  frequency of the oscillator whose friction makes the width; for a line that is a DHO it is the peak of the
  kinetic-energy spectrum and the effective frequency at once, so the three differ only as far as the line is not
  one damped oscillator (a self-energy that changes across the line).

The kinetic-energy spectrum of a mode is nu A(nu) classically (A the spectral function of its displacement,
:func:`trajmodes.phonons.anharmonic.spectral.spectral_functions`; fluctuation-dissipation: S_QQ(nu) = 2 k_B T Im G(nu) / nu, and
the velocity's is nu^2 times that), so the lines of theory are measured on nu A(nu), as the MD's on the spectrum of
Q'.
"""
from __future__ import annotations

import numpy as np

__all__ = ["line_positions", "md_line_positions", "explained_fraction", "kinetic_lineshape"]


def kinetic_lineshape(axis, spectral) -> np.ndarray:
    """nu A(nu) normalised to unit area over ``axis`` (THz): the kinetic-energy spectrum of a mode whose displacement
    spectral function is ``spectral`` (..., n) 1/THz; zero where A vanishes. 1/THz."""
    from scipy.integrate import trapezoid
    x = np.asarray(axis, dtype=float)
    k = np.clip(np.asarray(spectral, dtype=float), 0.0, None) * x
    area = trapezoid(k, x, axis=-1)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(area > 0, k / area, 0.0)


def _peak(x, y) -> tuple[float, float]:
    """The maximum of ``y`` (a parabola through the highest sample and its neighbours) and its half-maximum width."""
    i = int(np.argmax(y))
    top = float(y[i])
    if not top > 0:
        return np.nan, np.nan
    if 0 < i < len(x) - 1:
        a, b, c = y[i - 1], y[i], y[i + 1]
        den = a - 2 * b + c
        off = 0.5 * (a - c) / den if den < 0 else 0.0
        peak = float(x[i] + off * (x[1] - x[0]))
    else:
        peak = float(x[i])
    above = np.flatnonzero(y >= top / 2)
    lo, hi = above.min(), above.max()          # the outermost half-maximum crossings, interpolated
    left = x[lo] if lo == 0 else x[lo - 1] + (top / 2 - y[lo - 1]) / (y[lo] - y[lo - 1]) * (x[lo] - x[lo - 1])
    right = x[hi] if hi == len(x) - 1 else x[hi] + (y[hi] - top / 2) / (y[hi] - y[hi + 1]) * (x[hi + 1] - x[hi])
    return peak, float(right - left)


def _dho_centre(x, y, peak: float, width: float) -> float:
    """nu0 of the damped oscillator A (g nu)^2 / ((nu0^2 - nu^2)^2 + (g nu)^2) + B least-squares fitted to ``y`` over
    peak +- max(5 width, 10 samples), unweighted (the lines of theory are exact: no noise to weigh; the MD's DHO fits
    of :func:`trajmodes.fit_peaks` take +-max(5 FWHM, 20 bins, 0.1 THz) of their noisy spectra), with the model's
    analytic Jacobian."""
    from scipy.optimize import least_squares
    from trajmodes.modes.lineshapes import dho, dho_jacobian
    half = max(5 * width, 10 * (x[1] - x[0]))
    sel = (x >= max(peak - half, x[1])) & (x <= peak + half)
    if sel.sum() < 5:
        return np.nan
    xs, ys = x[sel], y[sel]
    top = float(ys.max())

    def resid(p):
        return (dho(xs, p[0], p[1], p[2], p[3]) - ys) / top

    def jac(p):
        return dho_jacobian(xs, p[0], p[1], p[2], p[3]) / top
    start = [top, peak, max(width, 2 * (x[1] - x[0])), 0.0]
    r = least_squares(resid, start, jac=jac, bounds=([0, 1e-6, 1e-6, -top], [10 * top, 10 * x[-1], 10 * x[-1], top]))
    return float(r.x[1]) if r.success else np.nan


def line_positions(axis, lines, measure=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Peak maximum, damped-oscillator centre and half-maximum width (THz) of every line in ``lines`` (..., n), the
    kinetic-energy spectra of theory on ``axis`` (n,) THz (:func:`kinetic_lineshape`): as the MD lines are measured
    (a maximum; a DHO fitted about it). NaN where a line is zero, and where ``measure`` (..., bool) is False (lines
    not to be measured, e.g. narrower than the axis resolves)."""
    x = np.asarray(axis, dtype=float)
    y = np.asarray(lines, dtype=float)
    flat = y.reshape(-1, y.shape[-1])
    peak, centre, width = (np.full(len(flat), np.nan) for _ in range(3))
    todo = np.ones(len(flat), bool) if measure is None else np.broadcast_to(measure, y.shape[:-1]).reshape(-1)
    # equal lines (a star, degenerate branches) are measured once
    _, first, back = np.unique(np.round(flat, 12), axis=0, return_index=True, return_inverse=True)
    back = back.reshape(-1)
    wanted = np.zeros(len(first), bool)
    np.logical_or.at(wanted, back, todo)
    for k, i in enumerate(first):
        if not wanted[k]:
            continue
        p, w = _peak(x, flat[i])
        if np.isfinite(p):
            peak[k], width[k], centre[k] = p, w, _dho_centre(x, flat[i], p, w)
    shape = y.shape[:-1]
    out = [np.where(todo, v[back], np.nan).reshape(shape) for v in (peak, centre, width)]
    return out[0], out[1], out[2]


def md_line_positions(modes, peak_frequency, peak_error, status):
    """The MD lines' peak maxima and damped-oscillator centres (THz, (q, branch) each, with their errors and fit
    statuses): the ``trajmodes project`` fits (``peak_frequency``, ``peak_error``, ``status``) give one (a
    Lorentzian's centre is its maximum; a DHO's nu0 its centre; with ``peak_model`` "auto", mode by mode as
    ``peak_line_model`` says), the other is fitted to the same spectra (``psd``, averaged over the star of q as the project's were)
    with the other model, windowed alike. Without spectra the other is NaN.

    Returns
    -------
    dict with ``peak``, ``peak_err``, ``peak_status``, ``centre``, ``centre_err``, ``centre_status`` and the two
    models, ``peak_model``, ``centre_model``.
    """
    model = str(modes.attrs.get("peak_model", modes.attrs.get("model", "lorentzian")))   # a project's, or fit_peaks'
    windowed = model.endswith("_windowed")
    base = model.replace("_windowed", "")
    have = dict(frequency=np.asarray(peak_frequency, float), err=np.asarray(peak_error, float),
                status=np.asarray(status).astype(str))
    suffix = "_windowed" if windowed else ""
    nan = np.full(np.shape(peak_frequency), np.nan)
    spectra = "psd" in modes and "frequency_harmonic" in modes.coords

    def refit(name):
        return _refit(modes, name) if spectra else dict(frequency=nan, err=nan,
                                                         status=np.full(nan.shape, "no spectra"))
    if base == "auto":
        # the project chose the line shape mode by mode (``peak_line_model``): its fit gives the maximum where it
        # chose the Lorentzian and the centre where it chose the damped oscillator; the other is fitted here
        name = next((n for n in ("peak_line_model", "line_model") if n in modes), None)
        used = (np.asarray(modes[name].transpose("q", "branch").values).astype(str) if name is not None
                else np.full(nan.shape, "lorentzian"))
        lor = used == "lorentzian"
        peak, centre = refit("lorentzian" + suffix), refit("dho" + suffix)
        for k in ("frequency", "err", "status"):
            peak[k] = np.where(lor, have[k], peak[k])
            centre[k] = np.where(lor, centre[k], have[k])
        return dict(peak=peak["frequency"], peak_err=peak["err"], peak_status=peak["status"],
                    centre=centre["frequency"], centre_err=centre["err"], centre_status=centre["status"],
                    peak_model="lorentzian" + suffix, centre_model="dho" + suffix)
    other = ("dho" if base == "lorentzian" else "lorentzian") + suffix
    fitted = refit(other)
    peak, centre = (have, fitted) if base == "lorentzian" else (fitted, have)
    return dict(peak=peak["frequency"], peak_err=peak["err"], peak_status=peak["status"],
                centre=centre["frequency"], centre_err=centre["err"], centre_status=centre["status"],
                peak_model=model if base == "lorentzian" else other,
                centre_model=model if base != "lorentzian" else other)


def _refit(modes, model: str) -> dict:
    """The peaks of the spectra of a ``trajmodes project`` dataset fitted with ``model``, star-averaged when the
    project's were."""
    from trajmodes.modes.averaging import star_average
    from trajmodes.modes.peaks import fit_peaks
    keep = [v for v in ("psd", "psd_err") if v in modes]
    sp = modes[keep]
    attrs = {k[len("spectra_"):]: v for k, v in modes.attrs.items() if k.startswith("spectra_")}
    sp.attrs = dict(modes.attrs, **attrs)
    sp.attrs.pop("star_averaged", None)
    if int(modes.attrs.get("star_averaged", 0)):
        sp = star_average(sp)
    fits = fit_peaks(sp, model=model, star=False, progress=False)
    return dict(frequency=np.asarray(fits["frequency"].transpose("q", "branch").values, float),
                err=np.asarray(fits["frequency_err"].transpose("q", "branch").values, float),
                status=np.asarray(fits["status"].transpose("q", "branch").values).astype(str))


def explained_fraction(theory, md, mask) -> float:
    """How much of the MD's values (shifts or widths) a level of theory explains: the least-squares slope through
    the origin of ``theory`` against ``md`` over ``mask``, sum(theory md) / sum(md^2) (1: all of it; 0: none; the
    modes with large MD values weigh most, so that small, noisy ones do not dominate a ratio). NaN without modes."""
    t, m = np.asarray(theory, float), np.asarray(md, float)
    ok = np.asarray(mask, bool) & np.isfinite(t) & np.isfinite(m)
    den = float((m[ok] ** 2).sum())
    return float((t[ok] * m[ok]).sum() / den) if ok.any() and den > 0 else float("nan")
