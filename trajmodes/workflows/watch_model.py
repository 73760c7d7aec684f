"""What ``trajmodes watch`` reads off a growing run besides the fit: where its starting transient ends, and when its
error bars will reach the target.

The transient: of every start on a block boundary in the first half of the run, the one that minimises the marginal
standard error of what follows it, sum (x_i - mean)^2 / (N - t0)^2 (MSER: K. P. White Jr., Simulation 69, 323
(1997); K. Hoad, S. Robinson and R. Davies, J. Oper. Res. Soc. 61, 1389 (2010)), for the kinetic temperature and for
the atoms' mean-square displacement from their sites (a crystal whose sites still drift, or which is still heating or
cooling); a start is taken only where the frames before it differ from those after by more than :data:`TRANSIENT_Z`
standard errors, the error of the mean after it from its statistical inefficiency (a stationary run keeps every
frame).

The prediction: the error bars' decrease with the fitted time, err = a t^-alpha, fitted (least squares on the
logarithms) to the updates of the last three quarters of the fitted time, and the time at which that line reaches
the target; alpha is measured, not assumed 1/2 (shorter than the correlation time, or while
the fit's constants are still settling, the error bars shrink otherwise).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Transient", "find_transient", "statistical_inefficiency", "Prediction", "predict_target", "TRANSIENT_Z"]

#: standard errors by which the frames before a start must differ from those after it to be left out
TRANSIENT_Z = 4.0
#: the most starts tried per series
MAX_STARTS = 64
#: the updates the error bars' exponent is fitted to: those whose fitted time is at least this share of the current
#: one; and the least span of fitted times they need
PREDICTION_SHARE = 0.25
PREDICTION_SPAN = 1.5


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

    def sentence(self) -> str:
        if self.frame == 0:
            return f"fit from frame 0: {self.reason}"
        return f"fit from frame {self.frame}: {self.reason}"


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


def find_transient(temperature, msd, step: int) -> Transient:
    """The start of the fit of a run whose frames have the kinetic ``temperature`` (K, NaN where unknown) and the
    atoms' mean-square displacement ``msd`` from their sites (A^2), on multiples of ``step`` frames."""
    n = len(msd)
    if n < 8 * step:
        return Transient(0, f"too few frames ({n}) to look for a starting transient")
    found = []
    for name, unit, x in (("kinetic temperature", "K", np.asarray(temperature, float)),
                          ("mean-square displacement of the atoms from their sites", "A^2", np.asarray(msd, float))):
        if not np.isfinite(x).all():
            continue
        t0, z, _ = _start_of(x, step)
        if t0 and z > TRANSIENT_Z:
            found.append((t0, name, unit, float(x[:t0].mean()), float(x[t0:].mean()), z))
    if not found:
        return Transient(0, "no starting transient (the temperature and the atoms' mean-square displacement from "
                            "their sites are stationary from the first frame within "
                            f"{TRANSIENT_Z:g} standard errors)")
    t0, name, unit, before, after, z = max(found)
    return Transient(t0, f"the {name} drifted: {before:.4g} {unit} on average before, {after:.4g} {unit} after "
                         f"({z:.0f} standard errors; the start of least marginal standard error, White 1997)")


@dataclass(frozen=True)
class Prediction:
    """When the largest error bar reaches the target.

    ``exponent`` alpha of err ~ t^-alpha (NaN before it can be measured), ``more_time`` ps of simulated time still
    needed (0 once reached, NaN unknown), ``wall_hours`` that time at the run's pace (NaN unknown), ``pace`` ps per
    wall hour, ``error`` THz now, ``reason`` why there is no prediction (empty otherwise)."""

    error: float
    exponent: float
    more_time: float
    wall_hours: float
    pace: float
    reason: str = ""

    @property
    def reached(self) -> bool:
        return self.more_time == 0.0

    def sentence(self, target: float) -> str:
        if self.reached:
            return f"target reached: every special frequency within +-{target:g} THz (largest error {self.error:.3g})"
        if not np.isfinite(self.more_time):
            return f"largest error bar {self.error:.3g} THz; no prediction yet: {self.reason}"
        line = (f"every special frequency within +-{target:g} THz after about {self.more_time:.3g} ps more "
                f"(error bars shrink as t^-{self.exponent:.2f}; largest now {self.error:.3g} THz)")
        if np.isfinite(self.wall_hours):
            line += f": {self.wall_hours:.3g} h at the run's pace of {self.pace:.3g} ps per hour"
        return line


def predict_target(history, target: float, pace: float | None = None) -> Prediction:
    """The :class:`Prediction` from ``history``, (fitted time ps, largest error bar THz) of every update so far, the
    last the current one; ``pace`` ps per wall hour (None: unknown)."""
    pace = float("nan") if pace is None or not np.isfinite(pace) or pace <= 0 else float(pace)
    t = np.array([h[0] for h in history], float)
    e = np.array([h[1] for h in history], float)
    now = float(e[-1]) if len(e) else float("nan")
    if np.isfinite(now) and now <= target:
        return Prediction(now, float("nan"), 0.0, 0.0, pace)
    ok = np.isfinite(t) & np.isfinite(e) & (t > 0) & (e > 0)
    t, e = t[ok], e[ok]
    if len(t):
        keep = t >= PREDICTION_SHARE * t[-1]
        t, e = t[keep], e[keep]
    if len(t) < 3:
        return Prediction(now, float("nan"), float("nan"), float("nan"), pace,
                          "the error bars' decrease is measured over three updates or more")
    if t[-1] < PREDICTION_SPAN * t[0]:
        return Prediction(now, float("nan"), float("nan"), float("nan"), pace,
                          f"the updates span too short a time to measure the decrease (need a factor {PREDICTION_SPAN})")
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
    return Prediction(now, alpha, more, more / pace if np.isfinite(pace) else float("nan"), pace)
