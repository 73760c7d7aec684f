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
log(t) / 2). Its range (:data:`RANGE_LEVEL`, 90 %) is the sampling error of the error bars it is made from: a standard
deviation from n_eff independent time segments (the fit's ``n_effective_``) is s sqrt(chi^2_(n_eff - 1) / (n_eff - 1))
of the true one, about 1 +- 1 / sqrt(2 (n_eff - 1)), 16 % with 20 segments, and the length, which goes as the error
bar squared, lies between L (n_eff - 1) / chi^2 at the upper and the lower quantile; widened to cover each update's own
t (err / target)^2. Where the kinetic temperature's blocking ratio (``temperature_blocking_``) exceeds
:data:`~trajmodes.forceconstants.uncertainty.BLOCKING_WARN` at an update of the window, the crystal's energy relaxes
more slowly than a time segment and the error bars may be that ratio too small: the prediction is provisional, its
upper end that ratio squared longer. The exponent measured from a few
updates scatters far more than the error bars do (0.20 to 0.68 at 7-8 ps over eight independent argon runs whose
error bars went on to fall as t^-0.36 to t^-0.67: benchmarks/bench_watch_prediction.py), and the prediction with it
(up to 12 times too long). Where the segments are shorter than the correlation time, or the blocking analysis
found no plateau, the error bars do not shrink as t^-1/2, and alpha is measured.

The error model: the block bootstrap sees what varies within the run; what stays fixed over it, the energy each set
of modes kept in a small crystal under NVE or one global thermostat (W. G. Hoover, Phys. Rev. A 31, 1695 (1985)),
does not. :class:`LiveErrorModel` holds at most :data:`~trajmodes.series.errorbars.ERROR_MODEL_FRAMES` frames of the
run, evenly spaced (the stride doubles as the run grows), and at every update projects those fitted on the modes of
the update's constants, as ``trajmodes fit``'s error model projects a finished run
(:func:`~trajmodes.series.errorbars.error_model_inputs`): the frozen fraction of every set of modes, the frozen
share of the mean-square displacement, and with them which error bar is calibrated for the run, or that it is a
lower bound and why (:func:`~trajmodes.series.errorbars.run_frequency_errors`, the same verdict ``trajmodes fit``
gives the same frames). The projection costs at most that many frames per update, however long the run.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["Transient", "find_transient", "statistical_inefficiency", "Prediction", "predict_target", "TRANSIENT_Z",
           "error_bars_settled", "error_bar_state", "SETTLED_EXPONENT", "RANGE_LEVEL", "LiveErrorModel", "LiveErrors"]

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
#: the probability the range of a prediction from error bars at their blocking plateau covers the length needed
RANGE_LEVEL = 0.90


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
    atoms' mean-square displacement ``msd`` from their sites (Å²) and, where the cell changes (NPT), the cell
    ``volume`` (Å³; None in a fixed cell), on multiples of ``step`` frames, and whether the frames after it are
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


def error_bar_state(fit) -> tuple[bool, float, float]:
    """What the prediction needs of a bootstrapped ``fit`` besides its largest error bar: whether its error bars are
    settled (:func:`error_bars_settled`), the effective number of independent time segments they are estimated from
    (``n_effective_``; NaN: not bootstrapped) and the blocking ratio of its mean kinetic temperature
    (``temperature_blocking_``; NaN: not measured)."""
    return (error_bars_settled(fit), float(getattr(fit, "n_effective_", np.nan)),
            float(getattr(fit, "temperature_blocking_", np.nan)))


def _chi2_quantile(p: float, nu: float) -> float:
    """The ``p`` quantile of chi^2 with ``nu`` degrees of freedom (not necessarily whole)."""
    from scipy.stats import chi2
    return float(chi2.ppf(p, nu))


@dataclass(frozen=True)
class Prediction:
    """When the largest error bar reaches the target.

    ``exponent`` alpha of err ~ t^-alpha (NaN before it can be measured), ``more_time`` ps of simulated time still
    needed (0 once reached, NaN unknown), ``wall_hours`` that time at the run's pace (NaN unknown), ``pace`` ps per
    wall hour, ``error`` THz now, ``reason`` why there is no prediction (empty otherwise); ``settled``: alpha is the
    1/2 of error bars at their blocking plateau (False: measured), and then ``low`` and ``high``, the range of ps
    still needed (NaN otherwise): :data:`RANGE_LEVEL` of the sampling error of error bars from ``segments``
    independent time segments (NaN: not known, and the range is only that of the updates), widened to the least and
    the most that one of the updates it was fitted to predicts alone, t (err / target)^2, ``updates`` their number;
    ``temperature_blocking`` the largest blocking ratio of the kinetic temperature over those updates (NaN: not
    known), and ``provisional`` where it exceeds
    :data:`~trajmodes.forceconstants.uncertainty.BLOCKING_WARN`: ``high`` is then that ratio squared longer."""

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
    segments: float = float("nan")
    temperature_blocking: float = float("nan")
    provisional: bool = False

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
            high = f"{self.high:.3g}" if np.isfinite(self.high) else "no end"
            why = (f"the error bars' sampling error from about {self.segments:.3g} independent time segments and "
                   f"each of the last {self.updates} updates" if np.isfinite(self.segments)
                   else f"each of the last {self.updates} updates")
            line += (f"({RANGE_LEVEL:.0%} range {self.low:.3g} to {high} by {why}; error bars at their blocking "
                     f"plateau shrink as t^-{self.exponent:.2g}; largest now {self.error:.3g} THz)")
            if self.provisional:
                line += (f", provisional: the kinetic temperature is correlated over more than a time segment "
                         f"(blocking ratio {self.temperature_blocking:.2f}), the error bars may be that much too "
                         "small")
        else:
            line += f"(error bars shrink as t^-{self.exponent:.2f}; largest now {self.error:.3g} THz)"
        if np.isfinite(self.wall_hours):
            line += f": {self.wall_hours:.3g} h at the run's pace of {self.pace:.3g} ps per hour"
        return line


def predict_target(history, target: float, pace: float | None = None) -> Prediction:
    """The :class:`Prediction` from ``history``, (fitted time ps, largest error bar THz[, settled[, n_eff[,
    temperature blocking ratio]]]) of every update so far, the last the current one: ``settled`` whether that update's
    error bars were at their blocking plateau (:func:`error_bars_settled`; absent: not known, alpha measured),
    ``n_eff`` the effective number of independent time segments of its error bars and the blocking ratio of its mean
    kinetic temperature (:func:`error_bar_state`; absent or NaN: not known); ``pace`` ps per wall hour (None:
    unknown)."""
    pace = float("nan") if pace is None or not np.isfinite(pace) or pace <= 0 else float(pace)
    t = np.array([h[0] for h in history], float)
    e = np.array([h[1] for h in history], float)
    settled = np.array([bool(h[2]) if len(h) > 2 else False for h in history], bool)
    n_eff = np.array([float(h[3]) if len(h) > 3 and h[3] is not None else np.nan for h in history], float)
    t_ratio = np.array([float(h[4]) if len(h) > 4 and h[4] is not None else np.nan for h in history], float)
    now = float(e[-1]) if len(e) else float("nan")
    if np.isfinite(now) and now <= target:
        return Prediction(now, float("nan"), 0.0, 0.0, pace)
    ok = np.isfinite(t) & np.isfinite(e) & (t > 0) & (e > 0)
    t, e, settled, n_eff, t_ratio = t[ok], e[ok], settled[ok], n_eff[ok], t_ratio[ok]
    if len(t):
        keep = t >= PREDICTION_SHARE * t[-1]
        t, e, settled, n_eff, t_ratio = t[keep], e[keep], settled[keep], n_eff[keep], t_ratio[keep]
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
    each = t * (e / target) ** (1.0 / alpha)             # the length by each update's own error bar
    low, high = float(each.min()), float(each.max())
    segments = float(n_eff[-1])
    if np.isfinite(segments):          # the error bars' sampling error: s^2 (n - 1) / sigma^2 is chi^2 with n - 1
        tail = (1.0 - RANGE_LEVEL) / 2.0
        if segments > 1.0:
            low = min(low, total * (segments - 1.0) / _chi2_quantile(1.0 - tail, segments - 1.0))
            high = max(high, total * (segments - 1.0) / _chi2_quantile(tail, segments - 1.0))
        else:
            high = float("inf")
    from trajmodes.forceconstants import BLOCKING_WARN
    ratio = float(np.nanmax(t_ratio)) if np.isfinite(t_ratio).any() else float("nan")
    provisional = bool(np.isfinite(ratio) and ratio > BLOCKING_WARN)
    if provisional:                    # the energy relaxes more slowly than a segment: error bars up to ratio too small
        high *= ratio ** 2
    return Prediction(now, alpha, more, wall, pace, settled=True, low=max(low - float(t[-1]), 0.0),
                      high=max(high - float(t[-1]), 0.0), updates=len(t), segments=segments,
                      temperature_blocking=ratio, provisional=provisional)


@dataclass(frozen=True)
class LiveErrors:
    """The error model of one update (:meth:`LiveErrorModel.errors`).

    Parameters
    ----------
    errors : RunFrequencyErrors
        The frequencies at the update's q-points and their error bars by the estimate calibrated for the run, or the
        bootstrap's marked as a lower bound (:func:`~trajmodes.series.errorbars.run_frequency_errors`): ``result``
        (``frequency``, ``frequency_err`` THz and their parts), ``model``, ``lower_bound``, ``reason``.
    inputs : ErrorModelInputs or None
        What the projection measured (:func:`~trajmodes.series.errorbars.error_model_inputs`; ``share`` the frozen
        share of the mean-square displacement, ``frozen`` the frozen fraction of every mode); None where no frame
        was held.
    frames : int
        Frames projected.
    """

    errors: object
    inputs: object
    frames: int

    @property
    def lower_bound(self) -> bool:
        return bool(self.errors.lower_bound)

    @property
    def share(self) -> float:
        """The frozen share of the mean-square displacement (NaN: not measured)."""
        return float("nan") if self.inputs is None else float(self.inputs.share)

    def sentence(self) -> str:
        """What the error bars are, as ``trajmodes fit`` labels them: ``error bars calibrated (why)`` or ``error bars
        lower bound (why)``."""
        from trajmodes.series import error_bar_label
        return "error bars " + error_bar_label(self.lower_bound, self.errors.reason)


class LiveErrorModel:
    """The frames of a growing run its error model projects: at most ``max_frames`` of them (positions measured
    from the ideal crystal, velocities), every ``stride``-th frame of the run; when more would be held the stride
    doubles and every other frame held is let go, so that the frames held stay evenly spaced over the run and their
    projection at an update costs at most ``max_frames`` frames, however long the run.

    Parameters
    ----------
    ideal : Structure
        The ideal crystal the displacements are measured from (its cell, species, masses).
    max_frames : int
        The most frames held; default :data:`~trajmodes.series.errorbars.ERROR_MODEL_FRAMES`, the frames
        ``trajmodes fit``'s error model projects of a finished run.
    ensemble : (bool, str), optional
        Whether the run keeps its total energy (NVE) and where that is said, in words, where the MD program's input
        states it (an i-PI input's ``<dynamics mode>`` and ``<thermostat mode>``): taken instead of the variance of
        the kinetic energy of the frames held, which a thermostatted run's first updates can have as low as NVE's.
    write_velocities : str
        What the run's input needs for velocities, said where it has none (a LAMMPS dump's columns ``vx vy vz`` by
        default; an i-PI input's ``<output>`` line).
    """

    def __init__(self, ideal, max_frames: int | None = None, ensemble: tuple | None = None,
                 write_velocities: str = "write vx vy vz"):
        from trajmodes.series import ERROR_MODEL_FRAMES
        self.ideal = ideal
        self.max_frames = int(ERROR_MODEL_FRAMES if max_frames is None else max_frames)
        if self.max_frames < 2:
            raise ValueError(f"max_frames must be at least 2, not {max_frames}")
        self.stride = 1
        self.index = np.zeros(0, int)                 # the run's frame numbers held
        self.u = np.zeros((0, ideal.n_atoms, 3))      # A, from the ideal sites
        self.v = np.zeros((0, ideal.n_atoms, 3))      # A/ps
        self.times = np.zeros(0)                      # ps
        self.ensemble = ensemble
        self.write_velocities = write_velocities
        #: why no frame is held (empty while frames are held)
        self.why_not = ""

    def add(self, first: int, displacements, velocities, times) -> None:
        """Hold what the stride keeps of the next frames: the run's frames ``first``, ``first + 1``, ... with their
        ``displacements`` (Å, from the ideal sites), ``velocities`` (Å/ps; None: the run has none) and ``times``
        (ps)."""
        from trajmodes.resources import may_hold
        if self.why_not:
            return
        if velocities is None:
            self.why_not = ("the run has no velocities, so whether its modes kept their energies over it cannot be "
                            f"measured ({self.write_velocities})")
        elif not may_hold(2 * 3 * 8.0 * self.max_frames * self.ideal.n_atoms, where="here"):
            self.why_not = (f"{self.max_frames} frames of {self.ideal.n_atoms} atoms are too many to hold in this "
                            "process's memory for the projection on the modes")
        if self.why_not:
            self.index, self.u, self.v, self.times = self.index[:0], self.u[:0], self.v[:0], self.times[:0]
            return
        idx = int(first) + np.arange(len(displacements))
        keep = idx % self.stride == 0
        self.index = np.concatenate([self.index, idx[keep]])
        self.u = np.concatenate([self.u, np.asarray(displacements, float)[keep]])
        self.v = np.concatenate([self.v, np.asarray(velocities, float)[keep]])
        self.times = np.concatenate([self.times, np.asarray(times, float)[keep]])
        while len(self.index) > self.max_frames:
            self.stride *= 2
            kept = self.index % self.stride == 0
            self.index, self.u, self.v, self.times = (self.index[kept], self.u[kept], self.v[kept],
                                                      self.times[kept])

    def frames(self, first_frame: int = 0):
        """The frames held from the run's frame ``first_frame`` on, as a trajectory in memory measured from the ideal
        crystal (None where none is held)."""
        from trajmodes.trajectory import from_arrays
        sel = np.flatnonzero(self.index >= int(first_frame))
        if not len(sel):
            return None
        ideal = self.ideal
        interval = float(np.median(np.diff(self.times[sel]))) if len(sel) > 1 else 1.0
        return from_arrays(ideal.positions[None] + self.u[sel], ideal.cell, ideal.species,
                           frame_interval=interval if interval > 0 else 1.0, masses=ideal.masses,
                           velocities=self.v[sel], reference=ideal, origins=ideal.origin)

    def errors(self, fit, qpoints, first_frame: int = 0) -> LiveErrors:
        """The error bars of the update ``fit`` (fitted from the run's frame ``first_frame`` on and bootstrapped) at
        ``qpoints`` by ``trajmodes fit``'s error model of the frames held from ``first_frame`` on: projected on the
        modes of ``fit`` (no fourth order: its partition term is left to ``trajmodes fit`` on the finished run)."""
        import dataclasses
        import warnings

        from trajmodes.series import SIGMA_A_LIMIT, error_model_inputs, run_frequency_errors
        run = None if self.why_not else self.frames(first_frame)
        inputs = None
        if run is not None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")          # the update says what its fit found already
                inputs = error_model_inputs(fit, run, fourth_order=False)
            if self.ensemble is not None:            # the input's ensemble, not the held frames' variance
                inputs = dataclasses.replace(inputs, energy_conserved=bool(self.ensemble[0]),
                                             ensemble_from=str(self.ensemble[1]))
        result = run_frequency_errors(fit, qpoints, inputs)
        if inputs is not None and inputs.exchanging is False and inputs.sigma_a <= SIGMA_A_LIMIT:
            result = dataclasses.replace(result, reason=(
                f"{result.reason}; the quartic response by mode of the partition estimate needs a fourth order "
                "fitted to the run, which the watch does not fit: `trajmodes fit` on the finished run adds it"))
        if inputs is None:
            why = self.why_not or f"no frame held from frame {first_frame} on (one in {self.stride} is held)"
            result = dataclasses.replace(result, lower_bound=True, reason=(
                f"{why}; the bootstrap is calibrated only for runs whose modes exchange their energies (a stochastic "
                "thermostat)"))
        return LiveErrors(result, inputs, 0 if run is None else run.n_frames)
