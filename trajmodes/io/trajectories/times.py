"""The time axis of a trajectory: where the time of every frame comes from, and the two time steps.

Two different times are easily confused, so they have separate names everywhere in trajmodes:

- ``md_timestep``: the MD integration step in ps (LAMMPS' ``timestep`` command). A frame's time is its MD
  step number times ``md_timestep``.
- ``frame_interval``: the time between two frames in ps (``md_timestep`` times the dump interval).

:func:`frame_times` resolves them for every reader, in this order: times written in the file (LAMMPS
``ITEM: TIME``, extended-XYZ ``time=``, the trajectory's own ``dt``), the values the user gave, the LAMMPS
input or log beside a dump (:func:`~trajmodes.io.trajectories.lammps_input.lammps_settings_beside`), and last an assumption, which is always
announced with a :class:`~trajmodes.errors.UnitsWarning`. The result says which, in words, so that every
frequency computed from the trajectory can say where its time axis came from.
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from trajmodes.errors import TrajectoryFormatError, UnitsWarning

#: relative disagreement tolerated between two statements of the same time
TIME_RTOL = 1e-6
#: a step between two frames this far (relative) from the median step between frames is named as uneven: a missing
#: frame doubles it; the rounding of times written as text stays far below
UNEVEN_RTOL = 0.25


def positive_time(value, name: str) -> float | None:
    """``value`` as a float in ps, checked finite and positive (None stays None).

    Raises
    ------
    ValueError
        For zero, negative, NaN, infinite or non-numeric values.
    """
    if value is None:
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a time in ps, not {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a positive, finite time in ps, not {v!r}")
    return v


def reject_timestep(timestep) -> None:
    """The old, ambiguous ``timestep=`` keyword: refuse it, explaining the two names that replace it."""
    if timestep is not None:
        raise TypeError("timestep= is ambiguous and no longer accepted: pass md_timestep=<ps> (the MD "
                        "integration step; frame times = step number x md_timestep) or frame_interval=<ps> (the "
                        "time between two frames)")


@dataclass(frozen=True)
class TimeAxis:
    """Frame times and where they came from.

    Attributes
    ----------
    times : ndarray (n_frames,)
        Time of each frame, ps.
    md_timestep : float or None
        The MD integration step in ps, when known.
    source : str
        Where the times came from, in words (starts with ``ASSUMED`` when nothing stated them).
    """

    times: np.ndarray
    md_timestep: float | None
    source: str

    @property
    def assumed(self) -> bool:
        return self.source.startswith("ASSUMED")


def _stride(steps: np.ndarray) -> int | None:
    """The common step difference between frames, or None when the frames are not evenly spaced."""
    d = np.diff(steps)
    return int(d[0]) if len(d) and np.all(d == d[0]) and d[0] > 0 else None


def frame_times(name: str, steps: np.ndarray, file_times: np.ndarray | None = None, *, what_in_file: str = "",
                md_timestep: float | None = None, frame_interval: float | None = None,
                found: tuple[float, str] | None = None, default: tuple[float, str] | None = None,
                has_steps: bool = True, stacklevel: int = 3) -> TimeAxis:
    """Resolve the time of every frame, and check that time goes forward (:func:`check_frame_times`).

    Parameters
    ----------
    name : str
        The file, for messages.
    steps : ndarray of int (n_frames,)
        MD step of every frame (frame indices when ``has_steps`` is False).
    file_times : ndarray (n_frames,), optional
        Times (ps) written in the file; NaN for frames that lack one.
    what_in_file : str
        What those times are called in the file (``"ITEM: TIME"``), for the description.
    md_timestep, frame_interval : float, optional
        Given by the user (ps).
    found : (md_timestep, description), optional
        The MD time step read from the simulation's own input or log.
    default : (md_timestep, description), optional
        The last resort (a LAMMPS unit style's default step); announced with a UnitsWarning. Without it the
        assumption is 1 ps between frames.
    has_steps : bool
        Whether ``steps`` are MD step numbers.

    Raises
    ------
    ValueError
        When the given values contradict each other, or ``md_timestep`` is given for a file without step
        numbers. (Values that contradict the times written in the file are ignored with a warning.)
    TrajectoryFormatError
        When two frames have the same time, or time goes back (:func:`check_frame_times`).
    """
    axis = _resolve_times(name, steps, file_times, what_in_file, md_timestep, frame_interval, found, default,
                          has_steps, stacklevel + 1)
    check_frame_times(name, axis.times, axis.source, steps=steps if has_steps else None, stacklevel=stacklevel + 1)
    return axis


def check_frame_times(name: str, times: np.ndarray, source: str, *, steps: np.ndarray | None = None,
                      stacklevel: int = 3) -> None:
    """Time must go forward from frame to frame, evenly.

    Two frames at the same time (a frame written twice: a restarted run appending to its file, files joined with an
    overlap) or a time that goes back are refused, naming the two frames: every frequency computed from the frames
    would be wrong. Steps between frames that differ from the median step by more than :data:`UNEVEN_RTOL` (a
    missing frame doubles one) are named in a warning: spectra and correlation functions need evenly spaced frames,
    and refuse them.

    Parameters
    ----------
    name : str
        The file(s), for messages.
    times : ndarray (n_frames,)
        Time of each frame, ps.
    source : str
        Where the times come from, in words.
    steps : ndarray of int (n_frames,), optional
        The MD steps of the frames, named in the messages.

    Raises
    ------
    TrajectoryFormatError
        For a repeated time, or one that goes back.
    """
    t = np.asarray(times, float)
    if len(t) < 2:
        return
    d = np.diff(t)
    back = np.flatnonzero(~(d > 0) & np.isfinite(d))
    at = (lambda k: f", at MD steps {int(steps[k])} and {int(steps[k + 1])}") if steps is not None else (lambda k: "")
    if len(back):
        k = int(back[0])
        more = f"; {len(back)} such pairs, the last frames {int(back[-1])} and {int(back[-1]) + 1}" \
            if len(back) > 1 else ""
        what = (f"frames {k} and {k + 1} have the same time, {t[k]:g} ps{at(k)}" if d[k] == 0 else
                f"time goes back from frame {k} to frame {k + 1}: {t[k]:g} ps, then {t[k + 1]:g} ps{at(k)}")
        raise TrajectoryFormatError(name, f"{what}; the times are {source}{more}", frame=k + 1,
                                    fix="A frame written twice (a restarted run appending to the file, or files "
                                        "joined with an overlap) would be read as a time step of zero, or a "
                                        "negative one: remove the repeated frames, keeping one of each time, or "
                                        "split the file where time goes back and read the parts separately")
    med = float(np.median(d))
    odd = np.flatnonzero(np.abs(d - med) > UNEVEN_RTOL * med)
    if len(odd):
        k = int(odd[0])
        n = len(odd)
        uneven = f"{n} uneven step{'s' if n > 1 else ''} in all"
        change = _spacing_change(d, steps)
        if change is not None:
            what, j, before, after = change
            warnings.warn(f"{name}: the frames are not evenly spaced in time: {what}, so the frames before it are "
                          f"{d[0]:g} ps apart and those after {d[-1]:g} ps (the times are {source}, "
                          "each frame's as it is). Spectra and correlation functions need evenly spaced frames: "
                          f"analyse the frames before the change or those after it (traj[:{before}] or "
                          f"traj[{after}:])", UserWarning, stacklevel=stacklevel)
            return
        why = ("frames are missing there" if d[k] > med else "an extra frame sits there")
        warnings.warn(f"{name}: the frames are not evenly spaced in time: frames {k} and {k + 1} are {d[k]:g} ps "
                      f"apart{at(k)}, {d[k] / med:.3g} times the {med:g} ps between most frames: {why} "
                      f"({uneven}; the times are {source}). Spectra and "
                      "correlation functions need evenly spaced frames: analyse an evenly spaced stretch (traj[a:b])",
                      UserWarning, stacklevel=stacklevel)


#: two spacings (ps per MD step, MD steps or ps between frames) this close, relative, are one (times as written are
#: rounded); a change that matters is larger than :data:`UNEVEN_RTOL`
SAME_SPACING_RTOL = 0.1


def _spacing_change(d: np.ndarray, steps: np.ndarray | None):
    """Where the frames' spacing ``d`` (ps between consecutive frames) changed for good, not a frame missing or extra
    among evenly spaced ones: (what, index, end of the frames before, start of those after), ``what`` in words: the MD
    time step (the time per MD step changed: a second ``run`` after another ``timestep``), else the interval in MD
    steps (``dump_modify every``), else the time between frames where there are no MD steps; None where the spacing
    ends as it began, or where one of the two spacings holds for a single step (a frame missing or extra at an end)."""
    def close(a, b):
        return abs(a - b) <= SAME_SPACING_RTOL * max(abs(a), abs(b))

    def first_change(x):
        if close(x[0], x[-1]):
            return None
        j = next(i for i in range(len(x)) if not close(x[i], x[0]))
        if j < 2 or sum(close(v, x[-1]) for v in x[j:]) < 2:
            return None                                   # one odd pair at an end: a frame missing or extra
        again = not all(close(v, x[-1]) for v in x[j + 1:])
        return j, close(x[j], x[-1]), again

    series = []
    if steps is not None:
        ds = np.diff(np.asarray(steps, dtype=np.int64)).astype(float)
        if len(ds) == len(d) and (ds > 0).all():
            series = [("time step", d / ds), ("dump interval", ds)]
    else:
        series = [("spacing", d)]
    for kind, x in series:
        got = first_change(x)
        if got is None:
            continue
        j, clean, again = got
        later = "; it changes again later" if again else ""
        if steps is not None:
            where = (f"at MD step {int(steps[j])}" if clean else
                     f"between MD steps {int(steps[j])} and {int(steps[j + 1])}")
        else:
            where = f"at frame {j}" if clean else f"between frames {j} and {j + 1}"
        if kind == "time step":
            what = (f"the MD time step changed {where}, from {x[0] * 1000:g} fs to {x[-1] * 1000:g} fs{later}")
        elif kind == "dump interval":
            what = (f"the interval between frames changed {where}, from {x[0]:g} to {x[-1]:g} MD steps (dump_modify "
                    f"every, or another dump interval in a later run){later}")
        else:
            what = f"the time between frames changed {where}, from {x[0]:g} ps to {x[-1]:g} ps{later}"
        return what, j, j + 1, j if clean else j + 1
    return None


def _resolve_times(name, steps, file_times, what_in_file, md_timestep, frame_interval, found, default, has_steps,
                   stacklevel) -> TimeAxis:
    """The time axis of :func:`frame_times`, before its check."""
    steps = np.asarray(steps, dtype=np.int64)
    n = len(steps)
    md_timestep = positive_time(md_timestep, "md_timestep")
    frame_interval = positive_time(frame_interval, "frame_interval")
    stride = _stride(steps) if has_steps else 1
    if md_timestep is not None and not has_steps:
        raise ValueError(f"{name}: md_timestep= needs MD step numbers, which this file does not have; give "
                         "frame_interval=<ps between frames> instead")
    if md_timestep is not None and frame_interval is not None and n > 1:
        if stride is None or abs(stride * md_timestep - frame_interval) > TIME_RTOL * frame_interval:
            raise ValueError(f"{name}: md_timestep={md_timestep:g} ps and frame_interval={frame_interval:g} ps "
                             f"disagree: the frames are {stride if stride else 'unevenly many'} MD steps apart")
    if file_times is not None:
        ft = np.asarray(file_times, float)
        have = np.isfinite(ft)
        if have.all():
            _check_given(name, steps, ft, md_timestep, frame_interval, what_in_file)
            return TimeAxis(ft, _dt_from(steps, ft) if has_steps else None, f"{what_in_file} in the file")
        if have.any():
            missing = np.flatnonzero(~have)
            dt = _dt_from(steps[have], ft[have]) if has_steps else None
            if dt is None:
                raise ValueError(f"{name}: {len(missing)} frame(s) lack {what_in_file} (first: frame {missing[0]}) "
                                 f"and the others do not give one time per step to fill them in: add "
                                 f"{what_in_file} to every frame, or drop those frames")
            offset = float(np.median(ft[have] - steps[have] * dt))
            out = ft.copy()
            out[missing] = steps[missing] * dt + offset
            warnings.warn(f"{name}: {len(missing)} frame(s) lack {what_in_file} (first: frame {int(missing[0])}); "
                          f"their times are their MD steps x {dt:g} ps, the step the other frames give",
                          UnitsWarning, stacklevel=stacklevel)
            _check_given(name, steps, out, md_timestep, frame_interval, what_in_file)
            return TimeAxis(out, dt, f"{what_in_file} in the file ({len(missing)} frame(s) without it filled in "
                                     f"from their steps x {dt:g} ps)")
    if md_timestep is not None:
        return TimeAxis(steps * md_timestep, md_timestep, f"MD steps x md_timestep {md_timestep:g} ps (given)")
    if frame_interval is not None:
        if has_steps and n > 1:
            if stride is None:
                raise ValueError(f"{name}: the frames are not evenly spaced in MD steps, so frame_interval= does "
                                 "not fix their times; give md_timestep=<ps per MD step> instead")
            dt = frame_interval / stride
            return TimeAxis(steps * dt, dt, f"frame_interval {frame_interval:g} ps (given), {stride} MD steps")
        return TimeAxis((steps - steps[0]) * frame_interval if n else np.zeros(0), None,
                        f"frame_interval {frame_interval:g} ps (given)")
    if found is not None and has_steps:
        dt, where = found
        return TimeAxis(steps * dt, dt, f"MD steps x timestep {dt:g} ps from {where}")
    if default is not None and has_steps:
        dt, why = default
        if n > 1:
            warnings.warn(f"{name}: {why}; ASSUMED {dt:g} ps per MD step. Give md_timestep=<ps> "
                          "(--md-timestep) or frame_interval=<ps> (--frame-interval) if that is not what the run "
                          "used: every frequency scales with it", UnitsWarning, stacklevel=stacklevel)
        return TimeAxis(steps * dt, dt, f"ASSUMED: {why}; {dt:g} ps per MD step")
    if n > 1:
        warnings.warn(f"{name}: the file gives no times; ASSUMED 1 ps between frames. Give frame_interval=<ps> "
                      "(--frame-interval): every frequency scales with it", UnitsWarning, stacklevel=stacklevel)
    return TimeAxis(np.arange(n, dtype=float), None, "ASSUMED: 1 ps between frames (the file gives no times)")


def _dt_from(steps: np.ndarray, times: np.ndarray) -> float | None:
    """The MD time step the frames' (step, time) pairs imply, or None if they imply none consistently."""
    if len(steps) < 2:
        return None
    ds, dtimes = np.diff(steps).astype(float), np.diff(times)
    ok = ds > 0
    if not ok.any():
        return None
    dt = dtimes[ok] / ds[ok]
    med = float(np.median(dt))
    if med <= 0 or np.any(np.abs(dt - med) > 1e-4 * med):
        return None
    return med


def _check_given(name, steps, times, md_timestep, frame_interval, what) -> None:
    """A value the user gave that disagrees with the times written in the file is ignored, with a warning."""
    if len(times) < 2:
        return
    if md_timestep is not None:
        dt = _dt_from(steps, times)
        if dt is None or abs(dt - md_timestep) > 1e-4 * md_timestep:
            warnings.warn(f"{name}: md_timestep={md_timestep:g} ps disagrees with {what} in the file "
                          f"({'%g ps per step' % dt if dt else 'no single step'}); the file's times are used",
                          UnitsWarning, stacklevel=5)
    if frame_interval is not None:
        fi = float(np.median(np.diff(times)))
        if abs(fi - frame_interval) > 1e-4 * frame_interval:
            warnings.warn(f"{name}: frame_interval={frame_interval:g} ps disagrees with {what} in the file "
                          f"({fi:g} ps between frames); the file's times are used", UnitsWarning, stacklevel=5)


# ----------------------------------------------------------------------------- a time unit misread by 1000
#: a crystal's mean vibration frequency sqrt(<m v^2> / <m u^2>) / 2 pi lies in this range (THz): about the Debye
#: frequency / sqrt(3), from about 0.5 THz (caesium, lead) to about 30 THz (diamond), with room either side
PLAUSIBLE_THZ = (0.2, 200.0)
#: frequencies (THz) this far outside that range, whose 1000-fold is inside it, mean a time unit read as 1000 times
#: another (fs as ps)
IMPLAUSIBLE_THZ = (0.02, 2000.0)
#: the finite-difference velocities of consecutive frames over the velocities written lie in this range when the two
#: agree: 1 for close frames, up to tan(x)/x (x = pi f dt) for frames a fraction of a period f^-1 apart (the
#: correlation of the two is then still above 0.9); a time unit misread gives 1000 (fs and ps), 98 or 10 (ASE's).
#: Only the fallback for runs of fewer than :data:`INTERVAL_MIN_FRAMES` consecutive frames: longer ones are checked by
#: :func:`frame_interval_estimate`, strictly
SLOPE_RANGE = (1 / 3, 3.0)
#: the time-scale checks look only at atoms that stay near their sites (rms displacement below this, Å)
SOLID_RMS_A = 1.0
#: the frame interval is estimated from up to this many consecutive frames (:func:`frame_interval_estimate`), at least
#: this many (fewer: the loose :data:`SLOPE_RANGE` check), and the time-scale checks look at most at this many atoms
#: of each (:func:`atom_sample`: a fixed draw spread over the whole crystal). The estimate is exact per atom for motion
#: below half a cycle per frame, so more atoms add nothing to its verdict, only to its cost: at 10,976 atoms x 128
#: frames all of them took 2.0 s of CPU on opening a dump, 2048 take 0.16 s
INTERVAL_FRAMES, INTERVAL_MIN_FRAMES, INTERVAL_ATOMS = 128, 16, 2048
#: a reader reads those frames once on opening (:func:`interval_frames`): about this many atom lines at most, and this
#: share of the run's bytes (all the frames that fit in INTERVAL_SMALL_BYTES), since reading the run reads them again
INTERVAL_ATOM_LINES, INTERVAL_FILE_SHARE, INTERVAL_SMALL_BYTES = 4_000_000, 1 / 8, 1 << 20
#: a frame interval stated (in the file, the input, or given) is refused when the estimate differs from it by a factor
#: beyond (1 + INTERVAL_MARGIN) exp(INTERVAL_SIGMAS x the estimate's relative uncertainty). Real LAMMPS runs give the
#: true interval within 0.5% (velocity Verlet's velocities are not exactly the derivative of its positions: an error
#: of order (omega h)^2 / 8 for an MD step h); the margin leaves room for coarser integrators and thermostats
INTERVAL_MARGIN, INTERVAL_SIGMAS = 0.10, 4.0
#: the estimate says nothing where the spectra of positions and velocities agree with a coherence below this, or its
#: relative uncertainty exceeds this (then even the widest tolerance, 1.1 exp(0.4) = 1.64, still refuses a factor 2)
INTERVAL_COHERENCE, INTERVAL_MAX_SIGMA = 0.9, 0.1
#: the uncertainty is a jackknife over this many frequency bands of equal velocity power
INTERVAL_BANDS = 8


@dataclass(frozen=True)
class FrameInterval:
    """The time between frames that consecutive frames' own positions and velocities imply
    (:func:`frame_interval_estimate`).

    Attributes
    ----------
    ps : float
        The estimated interval, in the time unit of the velocities (ps for velocities in Å/ps).
    rel_sigma : float
        Its relative uncertainty (jackknife over :data:`INTERVAL_BANDS` bands of equal velocity power).
    coherence : float
        Re <V* Y> / sqrt(<|V|^2> <|Y|^2>) over all bins: 1 where the positions' derivative is the velocities.
    high_share : float
        The share of the velocity power above 0.4 cycles per frame (near the frames' Nyquist frequency).
    frames : int
        The consecutive frames used.
    """

    ps: float
    rel_sigma: float
    coherence: float
    high_share: float
    frames: int

    @property
    def why_not(self) -> str | None:
        """Why these frames cannot tell their interval, in words; None when they can."""
        if np.isfinite(self.ps) and self.ps > 0 and self.coherence >= INTERVAL_COHERENCE and \
                self.rel_sigma <= INTERVAL_MAX_SIGMA:
            return None
        how = (f"the positions and velocities agree with a coherence of {self.coherence:.2f} only (1 for frames close "
               "enough to tell" if self.coherence < INTERVAL_COHERENCE else
               f"the estimate varies by {self.rel_sigma:.0%} between frequency bands (coherence {self.coherence:.2f}")
        return (f"{how}; {self.high_share:.0%} of the velocity power lies above 0.4 cycles per frame): the frames are "
                "too far apart for the atoms' fastest motion, which is aliased, or the velocities are not those of the "
                "positions")


def atom_sample(n_atoms: int) -> np.ndarray:
    """The atoms the time-scale checks look at in a system of ``n_atoms``: all of them up to :data:`INTERVAL_ATOMS`,
    else that many drawn at random without repetition (a fixed seed: the same atoms on every call), in index order.
    A random draw is spread over the whole crystal and over every species whatever the order of the atoms (an even
    stride could pick one species of a crystal whose species alternate in the file)."""
    n = int(n_atoms)
    if n <= INTERVAL_ATOMS:
        return np.arange(n)
    return np.sort(np.random.default_rng(0).choice(n, INTERVAL_ATOMS, replace=False))


def interval_frames(frame_bytes: np.ndarray, n_atoms: int) -> int:
    """How many consecutive frames from the first a reader reads on opening to estimate the frame interval: at most
    :data:`INTERVAL_FRAMES`, about :data:`INTERVAL_ATOM_LINES` atom lines, and :data:`INTERVAL_FILE_SHARE` of the
    bytes of all frames (``frame_bytes``, one value a frame) or all that fit in :data:`INTERVAL_SMALL_BYTES`."""
    fb = np.asarray(frame_bytes, float)
    room = max(INTERVAL_SMALL_BYTES, INTERVAL_FILE_SHARE * float(fb.sum()))
    n = int(np.searchsorted(np.cumsum(fb[:INTERVAL_FRAMES]), room, side="right"))
    return min(n, INTERVAL_FRAMES, INTERVAL_ATOM_LINES // max(int(n_atoms), 1))


def frame_interval_estimate(positions: np.ndarray, cells: np.ndarray, velocities: np.ndarray,
                            masses: np.ndarray | None = None) -> FrameInterval | None:
    """The time between consecutive frames that their positions and velocities alone imply, without knowing the
    spectrum.

    For motion slower than half a cycle per frame, the windowed discrete Fourier transforms of the positions and of the
    velocities are related exactly: with the (periodic) Hann window w, W[w v] = (i 2 pi c_k W[w u] - W[w' u]) / dt at
    every frequency bin c_k (cycles per frame), w' the window's derivative per frame (the second term undoes the
    window's own derivative, so that leakage between bins cancels). The interval dt is the least-squares ratio of
    the two over all bins, atoms and directions (weighted by the velocity power), its uncertainty a jackknife over
    :data:`INTERVAL_BANDS` bands of equal velocity power. Motion faster than half a cycle per frame is aliased: its
    positions appear at a frequency that does not fit its velocities, and the coherence of the two drops
    (:attr:`FrameInterval.why_not`).

    Parameters
    ----------
    positions : (frames, atoms, 3)
        Å, consecutive frames evenly spaced in time, wrapped or not: the displacements are unwrapped frame to frame in
        fractional coordinates (steps below half a cell), which also removes an NPT box's homogeneous strain.
    cells : (frames, 3, 3)
        Å, lattice vectors as rows (NaN without a cell).
    velocities : (frames, atoms, 3)
        In any unit length / time: the interval comes out in that time unit.
    masses : (atoms,) amu, optional
        The atoms are weighted by their masses (the velocity power is then the kinetic energy).

    Returns
    -------
    FrameInterval, or None for fewer than :data:`INTERVAL_MIN_FRAMES` frames or nothing that moves.

    Notes
    -----
    Of more than :data:`INTERVAL_ATOMS` atoms, only those of :func:`atom_sample` are looked at.
    """
    x, v = np.asarray(positions, float), np.asarray(velocities, float)
    nf, na = x.shape[:2]
    if nf < INTERVAL_MIN_FRAMES or na == 0:
        return None
    m = np.ones(na) if masses is None else np.asarray(masses, float)
    if not (np.isfinite(m).all() and (m > 0).all()):
        m = np.ones(na)
    if na > INTERVAL_ATOMS:
        take = atom_sample(na)
        x, v, m = x[:, take], v[:, take], m[take]
    cells = np.asarray(cells, float)
    with np.errstate(all="ignore"):
        if np.isfinite(cells).all() and (np.abs(np.linalg.det(cells)) > 0).all():
            inv, ref = np.linalg.inv(cells), cells.mean(axis=0)
            s = _rows_times(x, inv)
            ds = np.diff(s, axis=0)
            ds -= np.round(ds)
            u = _rows_times(np.concatenate([np.zeros_like(s[:1]), np.cumsum(ds, axis=0)]), ref)
            v = _rows_times(_rows_times(v, inv), ref)    # the velocities in the same (mean) cell
        else:
            u = x - x[:1]
        w = m / m.sum()
        u = u - np.einsum("a,fai->fi", w, u)[:, None, :]      # the centre of mass's motion, from both alike
        v = v - np.einsum("a,fai->fi", w, v)[:, None, :]
        u -= u.mean(axis=0)
        phase = 2 * np.pi * np.arange(nf) / nf
        win, dwin = 0.5 * (1 - np.cos(phase)), np.pi / nf * np.sin(phase)
        sq = np.sqrt(m)[None, :, None]
        X = np.fft.rfft(win[:, None, None] * sq * u, axis=0)
        Y = 2j * np.pi * (np.arange(len(X)) / nf)[:, None, None] * X - np.fft.rfft(dwin[:, None, None] * sq * u, axis=0)
        V = np.fft.rfft(win[:, None, None] * sq * v, axis=0)
        keep = slice(0, (nf + 1) // 2)                          # not the Nyquist bin of an even count
        num = (V.real * Y.real + V.imag * Y.imag)[keep].sum(axis=(1, 2))
        vv = (np.abs(V[keep]) ** 2).sum(axis=(1, 2))
        yy = (np.abs(Y[keep]) ** 2).sum(axis=(1, 2))
    tv, ty = float(vv.sum()), float(yy.sum())
    if not (tv > 0 and ty > 0 and np.isfinite(tv + ty + num.sum())):
        return None
    dt = float(num.sum() / tv)
    band = np.minimum((np.cumsum(vv) / tv * INTERVAL_BANDS).astype(np.int64), INTERVAL_BANDS - 1)
    bn, bv = np.bincount(band, num, INTERVAL_BANDS), np.bincount(band, vv, INTERVAL_BANDS)
    rest = tv - bv
    jk = (num.sum() - bn[rest > 0]) / rest[rest > 0]
    nb = len(jk)
    sigma = float(np.sqrt((nb - 1) / nb * ((jk - jk.mean()) ** 2).sum())) if nb > 1 else math.inf
    c = np.arange(len(vv)) / nf
    return FrameInterval(dt, sigma / abs(dt) if dt else math.inf, float(num.sum() / np.sqrt(tv * ty)),
                         float(vv[c > 0.4].sum() / tv), nf)


@dataclass(frozen=True)
class TimeScale:
    """What a few frames say about the time unit of velocities and frame times (:func:`time_scale`).

    Attributes
    ----------
    slope : float or None
        The frame interval the frames' own positions and velocities imply over the interval of the time axis
        (``interval.ps / given``) where :func:`frame_interval_estimate` can tell; else (fewer than
        :data:`INTERVAL_MIN_FRAMES` consecutive frames) the finite-difference velocities of consecutive frames
        (displacement / time between them) over the velocities of the file (their mean at the two frames), fitted.
        None when there are no velocities, the frames are too far apart to tell, or the times are not known.
    thz : float or None
        The mean vibration frequency sqrt(<m v^2> / <m u^2>) / 2 pi (THz) of the velocities (or of the
        finite-difference velocities, when the file has none and consecutive frames are close), u the displacement
        from the mean position; None when the atoms do not stay near their sites (a liquid) or nothing moves.
    kelvin : float or None
        The kinetic temperature of the velocities used for ``thz``.
    source : str
        ``"velocities"`` or ``"finite differences"``: what ``thz`` came from.
    frames : int
        The frames looked at.
    interval : FrameInterval or None
        The interval estimated from the first consecutive frames (:func:`frame_interval_estimate`).
    given : float or None
        The time axis' interval between those frames (ps), None when the times are not known.
    first : int
        The frame of the file where those frames start (for messages).
    """

    slope: float | None
    thz: float | None
    kelvin: float | None
    source: str
    frames: int
    interval: FrameInterval | None = None
    given: float | None = None
    first: int = 0

    @property
    def _estimated(self) -> bool:
        """Whether ``slope`` is the estimated interval over the given one."""
        return self.interval is not None and self.interval.why_not is None and self.given is not None

    @property
    def disagrees(self) -> bool:
        """Whether the velocities and the frame times disagree: by more than (1 + :data:`INTERVAL_MARGIN`)
        exp(:data:`INTERVAL_SIGMAS` sigma) where the interval was estimated, else outside :data:`SLOPE_RANGE`."""
        if self.slope is None:
            return False
        if self._estimated:
            return not abs(math.log(self.slope)) <= math.log1p(INTERVAL_MARGIN) + \
                INTERVAL_SIGMAS * self.interval.rel_sigma
        return not SLOPE_RANGE[0] <= self.slope <= SLOPE_RANGE[1]

    @property
    def unit_misread(self) -> str:
        """The time unit misread that ``slope`` points to (1000, ASE's 98 or 10), in words; ``""`` for none."""
        return _thousand(self.slope) if self.slope is not None else ""

    def _block(self) -> str:
        return f"frames {self.first} to {self.first + self.interval.frames - 1}"

    def note(self) -> str:
        """What the time axis's provenance gains from the check (``"; ..."``): why the frames could not tell, or, for
        times not known, the interval the frames imply; ``""`` when they were checked (and agree), or there was
        nothing to estimate (no velocities, too few consecutive frames)."""
        est = self.interval
        if est is None or est.why_not is None and self.given is not None:
            return ""
        if est.why_not is not None:
            return f"; the time step could not be checked against the velocities ({self._block()}): {est.why_not}"
        return (f"; the frames' own positions and velocities say {est.ps:.4g} ps between frames, within "
                f"{100 * max(est.rel_sigma, 1e-4):.2g}% ({self._block()})")

    def mismatch(self) -> str | None:
        """What is wrong, in words, when the slope or the frequency is off; None otherwise."""
        if self.disagrees and self._estimated:
            within = 100 * max(self.interval.rel_sigma, 1e-4)
            return (f"the velocities and the frame times disagree: the frames' own positions and velocities say "
                    f"{self._block()} are {self.interval.ps:.4g} ps apart (within {within:.2g}%), the time axis puts "
                    f"them {self.given:.4g} ps apart: {self.slope:.3g} times that, beyond what a "
                    f"{INTERVAL_MARGIN:.0%} margin and that uncertainty allow" + _thousand(self.slope))
        if self.disagrees:
            return (f"the velocities and the frame times disagree: the displacement between consecutive frames over "
                    f"the time between them is {self.slope:.3g} times the velocities written (over "
                    f"{self.frames} frames)" + _thousand(self.slope))
        if self.thz is None:
            return None
        lo, hi = IMPLAUSIBLE_THZ
        plo, phi = PLAUSIBLE_THZ
        if self.thz < lo and plo <= self.thz * 1000 <= phi or self.thz > hi and plo <= self.thz / 1000 <= phi:
            slow = self.thz < lo
            return (f"the {self.source} are about 1000 times too {'slow' if slow else 'fast'} for the atoms' "
                    f"displacements: they give a mean vibration frequency sqrt(<m v^2>/<m u^2>)/2pi of "
                    f"{self.thz:.3g} THz over {self.frames} frames, where a crystal's lies between "
                    f"{PLAUSIBLE_THZ[0]:g} and {PLAUSIBLE_THZ[1]:g} THz, and a kinetic temperature of "
                    f"{self.kelvin:.3g} K: {'fs read as ps' if slow else 'ps read as fs'}, most likely")
        return None


def _thousand(ratio: float) -> str:
    """The time unit misread that a ratio of finite-difference to written velocities points to, in words."""
    from trajmodes.units import NATURAL_TIME_PS
    ase_ps, ase_fs = 1 / NATURAL_TIME_PS, 1e-3 / NATURAL_TIME_PS      # ASE's time unit read as ps (98), as fs (0.098)
    if 300 <= ratio <= 3000:
        return ": about 1000, as when velocities in A/fs are read as A/ps (or times in ps as fs)"
    if 1 / 3000 <= ratio <= 1 / 300:
        return ": about 1/1000, as when times in fs are read as ps (or velocities in A/ps as A/fs)"
    if ase_ps / 2 <= 1 / ratio <= ase_ps * 2:
        return (f": about 1/{ase_ps:.3g}, as when times in ASE's time unit (sqrt(amu A^2/eV) = "
                f"{NATURAL_TIME_PS * 1e3:.4g} fs) are read as ps")
    if ase_fs / 2 <= 1 / ratio <= ase_fs * 2:
        return (f": about {1 / ase_fs:.3g}, as when times in ASE's time unit (sqrt(amu A^2/eV) = "
                f"{NATURAL_TIME_PS * 1e3:.4g} fs) are read as fs")
    return ""


def _rows_times(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """``x @ m`` for vectors ``x`` (frames, atoms, 3) and one matrix ``m`` (3, 3) or one a frame (frames, 3, 3), as
    three multiply-adds over the arrays. BLAS would multiply the (frames x atoms, 3) rows on all its threads, whose
    start and wait cost more than the products: the check on opening a dump of 10,976 atoms took 2.2 s of CPU for
    128 frames, most of it in those threads."""
    m = np.asarray(m, float)
    if m.ndim == 3:
        m = m[:, None]
    out = x[..., 0:1] * m[..., 0, :]
    out += x[..., 1:2] * m[..., 1, :]
    out += x[..., 2:3] * m[..., 2, :]
    return out


def _minimum_image(delta: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """``delta`` (frames, atoms, 3) as the minimum images in each frame's cell, by rounding the fractional coordinates
    (as :func:`~trajmodes.lattice.geometry.minimum_image`, without BLAS: :func:`_rows_times`); every frame unchanged
    when one frame has no cell (NaN) or a degenerate one (zero volume), where the lattice's function would wrap the
    frames that have one, or fail."""
    if not len(cells) or not np.isfinite(cells).all() or not (np.abs(np.linalg.det(cells)) > 0).all():
        return delta
    cell = cells[0] if np.all(cells == cells[0]) else cells             # one cell for the block (NVT, NVE)
    frac = _rows_times(delta, np.linalg.inv(cell))
    frac -= np.round(frac)
    return _rows_times(frac, cell)


def time_scale(positions: np.ndarray, cells: np.ndarray, times: np.ndarray | None, masses: np.ndarray | None,
               velocities: np.ndarray | None = None, consecutive: np.ndarray | None = None,
               first: int = 0) -> TimeScale:
    """Check the time unit of a few frames against physics: the frame interval that the first consecutive frames'
    own positions and velocities imply (:func:`frame_interval_estimate`, from :data:`INTERVAL_MIN_FRAMES` frames on;
    fewer: the finite-difference velocities of consecutive frames over the velocities, loosely) against the
    times', and the mean vibration frequency sqrt(<m v^2> / <m u^2>) (by equipartition, kinetic and potential energy
    agree for every mode, so this is a mean phonon frequency) against a crystal's.

    Parameters
    ----------
    positions : (frames, atoms, 3)
        Å; frames in time order.
    cells : (frames, 3, 3)
        Å (NaN without a cell).
    times : (frames,) or None
        ps, as read (None: not known).
    masses : (atoms,) amu or None (equal masses)
    velocities : (frames, atoms, 3) Å/ps or None
    consecutive : (frames,) bool, optional
        Whether each frame is followed, in the file, by the next one in ``positions`` (default: all are). The
        interval is estimated from the frames that follow each other from the first on (up to
        :data:`INTERVAL_FRAMES`, evenly spaced in ``times``).
    first : int
        The frame of the file that ``positions[0]`` is (for messages).

    Notes
    -----
    Vectorised over frames and atoms; meant for a dozen frames spread over a run and :data:`INTERVAL_FRAMES`
    consecutive ones at its start. Of more than :data:`INTERVAL_ATOMS` atoms, only those of :func:`atom_sample` are
    looked at (every verdict, frequency and temperature is that of the sample).
    """
    from trajmodes.units import KB_EV, NATURAL_TIME_PS
    x = np.asarray(positions, float)
    nf, na = x.shape[:2]
    if na > INTERVAL_ATOMS:                                           # a sample spread over the crystal
        take = atom_sample(na)
        x, na = x[:, take], len(take)
        velocities = None if velocities is None else np.asarray(velocities, float)[:, take]
        masses = None if masses is None else np.asarray(masses, float)[take]
    m = np.ones(na) if masses is None else np.asarray(masses, float)
    if not (np.isfinite(m).all() and (m > 0).all()):
        m = np.ones(na)
    w = m / m.sum()
    pair = np.ones(max(nf - 1, 0), bool) if consecutive is None else np.asarray(consecutive[:-1], bool)
    with np.errstate(all="ignore"):
        steps = _minimum_image(x[1:] - x[:-1], cells[1:])[pair] if nf > 1 else np.zeros((0, na, 3))
        dt = np.diff(times)[pair] if times is not None and nf > 1 else None
        slope = None
        if velocities is not None and dt is not None and len(dt) and (dt > 0).all():
            v = np.asarray(velocities, float)
            vm = 0.5 * (v[1:] + v[:-1])[pair]
            fd = steps / dt[:, None, None]
            num, vv, ff = ((w[:, None] * a * b).sum() for a, b in ((fd, vm), (vm, vm), (fd, fd)))
            if vv > 0 and ff > 0 and num / np.sqrt(vv * ff) > 0.9:
                slope = float(num / vv)
        # velocities for the frequency: the file's, else finite differences of close frames
        source, vel = "velocities", None if velocities is None else np.asarray(velocities, float)
        if vel is None and dt is not None and len(dt) >= 2 and (dt > 0).all():
            a, b = steps[:-1], steps[1:]
            ab, aa, bb = ((w[:, None] * p * q).sum() for p, q in ((a, b), (a, a), (b, b)))
            if aa > 0 and bb > 0 and ab / np.sqrt(aa * bb) > 0.5:     # consecutive steps go on the same way
                source, vel = "finite-difference velocities", steps / dt[:, None, None]
        thz = kelvin = None
        if vel is not None:
            u = _minimum_image(x - x[:1], cells)
            u -= u.mean(axis=0)
            u -= np.einsum("a,fai->fi", w, u)[:, None, :]                # the drift of the centre of mass
            vel = vel - np.einsum("a,fai->fi", w, vel)[:, None, :]
            uu = float((w[:, None] * u * u).sum() / nf)
            vv = float((w[:, None] * vel * vel).sum() / len(vel))
            rms = float(np.sqrt((u * u).sum(axis=2).mean()))
            if uu > 0 and vv > 0 and rms < SOLID_RMS_A and np.isfinite(uu + vv):
                thz = float(np.sqrt(vv / uu) / (2 * np.pi))
                kelvin = float(m.sum() * vv * NATURAL_TIME_PS ** 2 / (3 * na * KB_EV))
    interval, given = _interval_of_block(x, cells, times, masses, velocities, pair)
    if interval is not None and interval.why_not is None and given is not None:
        slope = interval.ps / given
    return TimeScale(slope, thz, kelvin, source, nf, interval, given, int(first))


def _interval_of_block(x, cells, times, masses, velocities, pair) -> tuple[FrameInterval | None, float | None]:
    """The interval estimated from the consecutive frames at the start of ``x`` (evenly spaced in ``times`` where
    known, at most :data:`INTERVAL_FRAMES`) and the times' interval between them."""
    if velocities is None:
        return None, None
    n = min(len(x), INTERVAL_FRAMES, 1 + int(np.argmin(pair)) if len(pair) and not pair.all() else len(x))
    given = None
    if times is not None and n > 1:
        d = np.diff(np.asarray(times[:n], float))
        given = float(np.median(d))
        if not given > 0:
            return None, None
        uneven = np.flatnonzero(~(np.abs(d - given) <= 1e-3 * given))
        if len(uneven):
            n = int(uneven[0]) + 1
            given = float(np.median(d[:n - 1])) if n > 1 else None
    interval = frame_interval_estimate(x[:n], np.asarray(cells)[:n], np.asarray(velocities)[:n], masses)
    return interval, given
