"""What ``trajmodes watch`` reads off a growing run besides the fit: where its starting transient ends, and when its
error bars will reach the target.

The transient: of every start on a block boundary in the first half of the run, the one that minimises the marginal
standard error of what follows it, sum (x_i - mean)^2 / (N - t0)^2 (MSER: K. P. White Jr., Simulation 69, 323
(1997); K. Hoad, S. Robinson and R. Davies, J. Oper. Res. Soc. 61, 1389 (2010)), for the kinetic temperature and for
the atoms' mean-square displacement from their sites (a crystal whose sites still drift, or which is still heating or
cooling); a start is taken only where the frames before it differ from those after by more than :data:`TRANSIENT_Z`
standard errors, the error of the mean after it from its statistical inefficiency (a stationary run keeps every
frame). What follows the start must itself be stationary: a run heating or cooling through the whole of it (whose
least marginal standard error can lie anywhere) has the means of the first and the second half of the frames kept
differ by more than :data:`TRANSIENT_Z` standard errors, and is said not to be stationary yet (no target is reached
until it is).

The prediction: the error bars' decrease with the fitted time, err = a t^-alpha, fitted (least squares on the
logarithms) to the updates of the last three quarters of the fitted time, and the time at which that line reaches
the target. Where the blocking analysis of every one of those updates reached its plateau (its time segments longer
than the correlation time: H. Flyvbjerg and H. G. Petersen, J. Chem. Phys. 91, 461 (1989)) the error bars are those
of the mean of a stationary series, and alpha is 1/2: only the amplitude a is fitted (the mean of log err +
log(t) / 2), and each update's own t (err / target)^2 gives the prediction's range. The exponent measured from a few
updates scatters far more than the error bars do (0.20 to 0.68 at 7-8 ps over eight independent argon runs whose
error bars went on to fall as t^-0.36 to t^-0.67: benchmarks/bench_watch_prediction.py), and the prediction with it
(up to 12 times too long). Where the segments are shorter than the correlation time, or the blocking analysis
found no plateau, the error bars do not shrink as t^-1/2, and alpha is measured.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Transient", "find_transient", "statistical_inefficiency", "Prediction", "predict_target", "TRANSIENT_Z",
           "error_bars_settled", "SETTLED_EXPONENT"]

#: standard errors by which the frames before a start must differ from those after it to be left out
TRANSIENT_Z = 4.0
#: the most starts tried per series
MAX_STARTS = 64
#: the updates the error bars' exponent is fitted to: those whose fitted time is at least this share of the current
#: one; and the least span of fitted times they need
PREDICTION_SHARE = 0.25
PREDICTION_SPAN = 1.5
#: the exponent of err ~ t^-alpha of error bars at their blocking plateau: the error of the mean of a stationary series
SETTLED_EXPONENT = 0.5


def statistical_inefficiency(x) -> float:
    """g = 1 + 2 sum_t (1 - t/N) C(t) / C(0) of the series ``x``, summed up to the first lag whose autocorrelation
    is not positive (the sum of :func:`pymbar.timeseries.statisticalInefficiency`); 1 for fewer than 3 values."""
    x = np.asarray(x, float)
    n = len(x)
    if n < 3:
        return 1.0
    d = x - x.mean()
    c0 = float(d @ d) / n
    if c0 <= 0:
        return 1.0
    m = 1 << int(np.ceil(np.log2(2 * n)))
    f = np.fft.rfft(d, m)
    acf = np.fft.irfft(f * np.conj(f), m)[:n] / (n * c0)          # C(t) / C(0) with 1/N normalisation
    acf = acf * n / (n - np.arange(n))                             # unbiased: 1/(N - t)
    t = np.arange(1, n)
    stop = np.flatnonzero(acf[1:] <= 0)
    last = int(stop[0]) if len(stop) else n - 1
    g = 1.0 + 2.0 * float(np.sum((1.0 - t[:last] / n) * acf[1:last + 1]))
    return max(g, 1.0)


@dataclass(frozen=True)
class Transient:
    """Where the fit starts: ``frame`` (0: no transient found), and why (``reason``, one sentence)."""

    frame: int
    reason: str
    #: whether the frames kept are stationary (False: the halves of one of the series differ; ``trend`` says how)
    stationary: bool = True
    trend: str = ""

    def sentence(self) -> str:
        line = f"fit from frame {self.frame}: {self.reason}"
        if not self.stationary:
            line += f"; NOT STATIONARY yet: {self.trend}"
        return line


def _start_of(x: np.ndarray, step: int) -> tuple[int, float, float]:
    """(t0, z, g): the start minimising the marginal standard error of ``x`` after it (on multiples of ``step``),
    the significance of the difference of the frames before it, and the statistical inefficiency after it."""
    n = len(x)
    starts = np.arange(0, n // 2 + 1, step)
    if len(starts) > MAX_STARTS:
        starts = starts[np.unique(np.linspace(0, len(starts) - 1, MAX_STARTS).astype(int))]
    mser = [float(np.sum((x[t0:] - x[t0:].mean()) ** 2)) / (n - t0) ** 2 for t0 in starts]
    best = int(starts[int(np.argmin(mser))])
    g = statistical_inefficiency(x[best:])
    if best == 0:
        return 0, 0.0, g
    head, tail = x[:best], x[best:]
    se = np.sqrt(tail.var(ddof=1) * g * (1.0 / len(head) + 1.0 / len(tail)))
    z = abs(head.mean() - tail.mean()) / se if se > 0 else np.inf
    return best, float(z), g


def _halves(x: np.ndarray) -> tuple[float, float, float]:
    """(first, second, z): the means of the two halves of ``x`` and their difference in standard errors (each
    half's error of the mean from its statistical inefficiency)."""
    h = len(x) // 2
    a, b = x[:h], x[h:]
    var = sum(y.var(ddof=1) * statistical_inefficiency(y) / len(y) for y in (a, b))
    diff = abs(float(a.mean() - b.mean()))
    return float(a.mean()), float(b.mean()), (diff / np.sqrt(var) if var > 0 else (np.inf if diff > 0 else 0.0))


def find_transient(temperature, msd, step: int, volume=None) -> Transient:
    """The start of the fit of a run whose frames have the kinetic ``temperature`` (K, NaN where unknown), the
    atoms' mean-square displacement ``msd`` from their sites (A^2) and, where the cell changes (NPT), the cell
    ``volume`` (A^3; None in a fixed cell), on multiples of ``step`` frames, and whether the frames after it are
    stationary."""
    n = len(msd)
    if n < 8 * step:
        return Transient(0, f"too few frames ({n}) to look for a starting transient")
    series = [(name, unit, np.asarray(x, float)) for name, unit, x in (
        ("kinetic temperature", "K", temperature),
        ("mean-square displacement of the atoms from their sites", "A^2", msd),
        ("cell volume", "A^3", np.full(len(msd), np.nan) if volume is None else volume)) if np.isfinite(x).all()]
    found = []
    for name, unit, x in series:
        t0, z, _ = _start_of(x, step)
        if t0 and z > TRANSIENT_Z:
            found.append((t0, name, unit, float(x[:t0].mean()), float(x[t0:].mean()), z))
    if not found:
        what = " and ".join({"kinetic temperature": "the temperature", "cell volume": "the cell volume"}.get(
            s[0], "the atoms' mean-square displacement from their sites") for s in series)
        t0, reason = 0, (f"no starting transient ({what} {'are' if len(series) > 1 else 'is'} stationary from the "
                         f"first frame within {TRANSIENT_Z:g} standard errors)")
    else:
        t0, name, unit, before, after, z = max(found)
        reason = (f"the {name} drifted: {before:.4g} {unit} on average before, {after:.4g} {unit} after "
                  f"({z:.0f} standard errors; the start of least marginal standard error, White 1997)")
    for name, unit, x in [s for s in series if s[0] != "cell volume"]:   # a barostat swings slowly: its start only
        first, second, z = _halves(x[t0:])
        if z > TRANSIENT_Z:
            return Transient(t0, reason, False, f"the {name} of the frames fitted went from {first:.4g} {unit} "
                                                f"(first half) to {second:.4g} {unit} (second half), {z:.0f} "
                                                "standard errors: the run is still heating, cooling or relaxing, "
                                                "and no target is reached until it is stationary")
    return Transient(t0, reason)


def error_bars_settled(fit) -> bool:
    """Whether the error bars of a bootstrapped ``fit`` are at the plateau of their blocking analysis with time segments
    longer than the correlation time (``blocking_converged_``, ``blocking_ratio_`` at most
    :data:`~trajmodes.forceconstants.uncertainty.BLOCKING_WARN`): then they shrink as t^-1/2 as the run grows."""
    from trajmodes.forceconstants import BLOCKING_WARN
    ratio = float(getattr(fit, "blocking_ratio_", np.nan))
    return bool(getattr(fit, "blocking_converged_", False)) and np.isfinite(ratio) and ratio <= BLOCKING_WARN


@dataclass(frozen=True)
class Prediction:
    """When the largest error bar reaches the target.

    ``exponent`` alpha of err ~ t^-alpha (NaN before it can be measured), ``more_time`` ps of simulated time still
    needed (0 once reached, NaN unknown), ``wall_hours`` that time at the run's pace (NaN unknown), ``pace`` ps per
    wall hour, ``error`` THz now, ``reason`` why there is no prediction (empty otherwise); ``settled``: alpha is the
    1/2 of error bars at their blocking plateau (False: measured), and then ``low`` and ``high``, the least and the
    most ps still needed that one of the updates it was fitted to predicts alone, from its own error bar as
    t (err / target)^2 (NaN otherwise), ``updates`` their number."""

    error: float
    exponent: float
    more_time: float
    wall_hours: float
    pace: float
    reason: str = ""
    settled: bool = False
    low: float = float("nan")
    high: float = float("nan")
    updates: int = 0

    @property
    def reached(self) -> bool:
        return self.more_time == 0.0

    def sentence(self, target: float) -> str:
        if self.reached:
            return f"target reached: every special frequency within +-{target:g} THz (largest error {self.error:.3g})"
        if not np.isfinite(self.more_time):
            return f"largest error bar {self.error:.3g} THz; no prediction yet: {self.reason}"
        line = f"every special frequency within +-{target:g} THz after about {self.more_time:.3g} ps more "
        if self.settled:
            line += (f"({self.low:.3g} to {self.high:.3g} by each of the last {self.updates} updates; error bars at "
                     f"their blocking plateau shrink as t^-{self.exponent:.2g}; largest now {self.error:.3g} THz)")
        else:
            line += f"(error bars shrink as t^-{self.exponent:.2f}; largest now {self.error:.3g} THz)"
        if np.isfinite(self.wall_hours):
            line += f": {self.wall_hours:.3g} h at the run's pace of {self.pace:.3g} ps per hour"
        return line


def predict_target(history, target: float, pace: float | None = None) -> Prediction:
    """The :class:`Prediction` from ``history``, (fitted time ps, largest error bar THz[, settled]) of every update so
    far, the last the current one, ``settled`` whether that update's error bars were at their blocking plateau
    (:func:`error_bars_settled`; absent: not known, alpha measured); ``pace`` ps per wall hour (None: unknown)."""
    pace = float("nan") if pace is None or not np.isfinite(pace) or pace <= 0 else float(pace)
    t = np.array([h[0] for h in history], float)
    e = np.array([h[1] for h in history], float)
    settled = np.array([bool(h[2]) if len(h) > 2 else False for h in history], bool)
    now = float(e[-1]) if len(e) else float("nan")
    if np.isfinite(now) and now <= target:
        return Prediction(now, float("nan"), 0.0, 0.0, pace)
    ok = np.isfinite(t) & np.isfinite(e) & (t > 0) & (e > 0)
    t, e, settled = t[ok], e[ok], settled[ok]
    if len(t):
        keep = t >= PREDICTION_SHARE * t[-1]
        t, e, settled = t[keep], e[keep], settled[keep]
    if len(t) < 3:
        return Prediction(now, float("nan"), float("nan"), float("nan"), pace,
                          "the error bars' decrease is measured over three updates or more")
    if t[-1] < PREDICTION_SPAN * t[0]:
        return Prediction(now, float("nan"), float("nan"), float("nan"), pace,
                          f"the updates span too short a time to measure the decrease (need a factor {PREDICTION_SPAN})")
    if settled.all():
        alpha = SETTLED_EXPONENT
        intercept = float(np.mean(np.log(e) + alpha * np.log(t)))
    else:
        slope, intercept = np.polyfit(np.log(t), np.log(e), 1)
        alpha = -float(slope)
    if alpha <= 0.05:
        return Prediction(now, alpha, float("nan"), float("nan"), pace,
                          f"the error bars do not shrink yet (exponent {alpha:.2f})")
    total = float(np.exp((intercept - np.log(target)) / alpha))        # where the fitted line reaches the target
    if total <= t[-1]:                  # the trend is past the target, the largest error bar (it scatters) is not
        return Prediction(now, alpha, float("nan"), float("nan"), pace,
                          f"the error bars' trend (t^-{alpha:.2f}) is below the target already, the largest error bar "
                          "not yet: it scatters about its trend, and the next updates will say")
    more = total - float(t[-1])
    wall = more / pace if np.isfinite(pace) else float("nan")
    if not settled.all():
        return Prediction(now, alpha, more, wall, pace)
    each = np.maximum(t * (e / target) ** (1.0 / alpha) - t[-1], 0.0)   # ps more by each update's own error bar
    return Prediction(now, alpha, more, wall, pace, settled=True, low=float(each.min()), high=float(each.max()),
                      updates=len(t))
