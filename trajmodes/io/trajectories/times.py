"""The time axis of a trajectory: where the time of every frame comes from, and the two time steps.

Two different times are easily confused, so they have separate names everywhere in trajmodes:

- ``md_timestep``: the MD integration step in ps (LAMMPS' ``timestep`` command). A frame's time is its MD
  step number times ``md_timestep``.
- ``frame_interval``: the time between two frames in ps (``md_timestep`` times the dump interval).

:func:`frame_times` resolves them for every reader, in this order: times written in the file (LAMMPS
``ITEM: TIME``, extended-XYZ ``time=``, the trajectory's own ``dt``), the values the user gave, the LAMMPS
input or log beside a dump (:func:`lammps_settings_beside`), and last an assumption, which is always
announced with a :class:`~trajmodes.errors.UnitsWarning`. The result says which, in words, so that every
frequency computed from the trajectory can say where its time axis came from.
"""
from __future__ import annotations

import fnmatch
import math
import os
import re
import warnings
from dataclasses import dataclass

import numpy as np

from trajmodes.errors import TrajectoryFormatError, UnitsWarning
from trajmodes.lattice.geometry import minimum_image

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
        ps.
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
        ps.
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
        why = ("frames are missing there" if d[k] > med else "an extra frame sits there")
        warnings.warn(f"{name}: the frames are not evenly spaced in time: frames {k} and {k + 1} are {d[k]:g} ps "
                      f"apart{at(k)}, {d[k] / med:.3g} times the {med:g} ps between most frames: {why} "
                      f"({n} uneven step{'s' if n > 1 else ''} in all; the times are {source}). Spectra and "
                      "correlation functions need evenly spaced frames: analyse an evenly spaced stretch (traj[a:b])",
                      UserWarning, stacklevel=stacklevel)


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


# ----------------------------------------------------------------------------- LAMMPS input or log beside a dump
#: names of LAMMPS inputs and logs looked for in the dump's folder
LAMMPS_INPUT_PATTERNS = ("log.lammps", "log*.lammps", "*.log", "in.*", "*.in", "*.lmp", "*.lammps")
#: only this much of each candidate is read (inputs and the echoed input at the top of a log are short)
LAMMPS_INPUT_BYTES = 4 << 20

_NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
#: a LAMMPS ``units`` command (also echoed in a log)
UNITS_COMMAND = re.compile(r"^\s*units\s+(\w+)", re.M)
_TIMESTEP = re.compile(r"^\s*timestep\s+" + _NUM + r"\s*(?:#.*)?$", re.M)
_DUMP = re.compile(r"^\s*dump\s+(\S+)\s+\S+\s+\S+\s+(\d+)\s+(\S+)", re.M)
_EVERY = re.compile(r"^\s*dump_modify\s+(\S+)\s+.*?\bevery\s+(\d+)", re.M)
_MASS = re.compile(r"^\s*mass\s+(\d+|\d*\*\d*)\s+" + _NUM + r"\s*(?:#.*)?$", re.M)
#: the file a ``read_data`` or ``read_restart`` command reads (also echoed in a log)
_READ_DATA = re.compile(r"^\s*read_data\s+(?!CPU\s*=)(\S+)", re.M)         # not a log's "read_data CPU = 0.01 s"
_READ_RESTART = re.compile(r"^\s*read_restart\s+(?!CPU\s*=)(\S+)", re.M)


@dataclass(frozen=True)
class LammpsSettings:
    """What a LAMMPS input says about one of its dumps."""

    path: str
    units: str | None
    md_timestep: float | None      # in the input's own time unit; None: the unit style's default applies
    every: int
    #: the ``mass`` commands before the run: (first type, last type or None for no upper bound, mass in the input's
    #: own mass unit), later commands overriding earlier ones
    mass_commands: tuple = ()
    #: the files its ``read_data`` commands before the run read, as the input names them (relative to the folder
    #: LAMMPS ran in, which :meth:`data_paths` takes to be the input's), in order
    data_files: tuple = ()
    #: the binary restart files its ``read_restart`` commands before the run read, as the input names them
    restart_files: tuple = ()

    def mass_of(self, t: int) -> float | None:
        """The mass the ``mass`` commands give LAMMPS type ``t`` (the input's mass unit; the last command for it),
        or None."""
        found = [m for lo, hi, m in self.mass_commands if lo <= t and (hi is None or t <= hi)]
        return found[-1] if found else None

    def data_paths(self) -> tuple:
        """The files of :attr:`data_files` as paths: relative names taken from the input's folder (where a user's
        LAMMPS run reads them from)."""
        folder = os.path.dirname(os.path.abspath(self.path))
        return tuple(name if os.path.isabs(name) else os.path.join(folder, name) for name in self.data_files)


def lammps_settings_beside(dump_path: str) -> LammpsSettings | None:
    """The ``units``, ``timestep`` and dump interval from a LAMMPS input or log in the dump's folder.

    Looks at the files named by :data:`LAMMPS_INPUT_PATTERNS` (text files only, the first
    :data:`LAMMPS_INPUT_BYTES` of each) for a ``dump`` command writing a file of this name (LAMMPS'
    ``*`` wildcard allowed, ``.gz`` ignored on either side). The ``timestep`` is the last one given before the
    first ``run`` after that ``dump`` (None when the input gives none: LAMMPS then uses its default). Returns
    None when no input names the dump, or the values are not plain numbers (variables).
    """
    folder = os.path.dirname(os.path.abspath(dump_path))
    base = os.path.basename(dump_path)
    stem = base[:-3] if base.endswith(".gz") else base
    try:
        entries = sorted(os.listdir(folder))
    except OSError:
        return None
    seen = set()
    for pattern in LAMMPS_INPUT_PATTERNS:
        for e in entries:
            p = os.path.join(folder, e)
            if e in seen or e == base or not fnmatch.fnmatch(e, pattern) or not os.path.isfile(p):
                continue
            seen.add(e)
            found = _settings_in(p, stem)
            if found is not None:
                return found
    return None


def lammps_settings_in(path: str, dump_path: str) -> LammpsSettings | None:
    """What the LAMMPS input or log ``path`` says about the dump ``dump_path`` (as :func:`lammps_settings_beside`),
    or None when it has no ``dump`` command writing a file of that name."""
    base = os.path.basename(dump_path)
    return _settings_in(path, base[:-3] if base.endswith(".gz") else base)


def _settings_in(path: str, dump_stem: str) -> LammpsSettings | None:
    try:
        with open(path, "rb") as f:
            raw = f.read(LAMMPS_INPUT_BYTES)
    except OSError:
        return None
    if b"\0" in raw[:4096]:
        return None                                      # binary: not an input or log
    text = raw.decode("utf-8", "replace")
    for m in _DUMP.finditer(text):
        target = m.group(3)
        target = target[:-3] if target.endswith(".gz") else target
        if not fnmatch.fnmatch(dump_stem, os.path.basename(target)):
            continue
        every = int(m.group(2))
        for e in _EVERY.finditer(text, m.end()):
            if e.group(1) == m.group(1):
                every = int(e.group(2))
        run = re.search(r"^\s*run\s", text[m.end():], re.M)
        upto = m.end() + run.start() if run else len(text)
        steps = [float(t.group(1)) for t in _TIMESTEP.finditer(text, 0, upto)]
        if re.search(r"^\s*timestep\s+\S*[$v]", text[:upto], re.M):
            return None                                  # a variable: not ours to evaluate
        units = UNITS_COMMAND.search(text, 0, upto)
        masses = []
        for mm in _MASS.finditer(text, 0, upto):
            spec, value = mm.group(1), float(mm.group(2))
            lo, star, hi = spec.partition("*")
            masses.append((int(lo) if lo else 1, (int(hi) if hi else None) if star else int(lo), value))
        data = tuple(d.group(1) for d in _READ_DATA.finditer(text, 0, upto))
        restarts = tuple(r.group(1) for r in _READ_RESTART.finditer(text, 0, upto))
        return LammpsSettings(path, units.group(1) if units else None, steps[-1] if steps else None, every,
                              tuple(masses), data, restarts)
    return None


# ----------------------------------------------------------------------------- a time unit misread by 1000
#: a crystal's mean vibration frequency sqrt(<m v^2> / <m u^2>) / 2 pi lies in this range (THz): about the Debye
#: frequency / sqrt(3), from about 0.5 THz (caesium, lead) to about 30 THz (diamond), with room either side
PLAUSIBLE_THZ = (0.2, 200.0)
#: frequencies (THz) this far outside that range, whose 1000-fold is inside it, mean a time unit read as 1000 times
#: another (fs as ps)
IMPLAUSIBLE_THZ = (0.02, 2000.0)
#: the finite-difference velocities of consecutive frames over the velocities written lie in this range when the two
#: agree: 1 for close frames, up to tan(x)/x (x = pi f dt) for frames a fraction of a period f^-1 apart (the
#: correlation of the two is then still above 0.9); a time unit misread gives 1000 (fs and ps), 98 or 10 (ASE's)
SLOPE_RANGE = (1 / 3, 3.0)
#: the time-scale checks look only at atoms that stay near their sites (rms displacement below this, A)
SOLID_RMS_A = 1.0


@dataclass(frozen=True)
class TimeScale:
    """What a few frames say about the time unit of velocities and frame times (:func:`time_scale`).

    Attributes
    ----------
    slope : float or None
        The finite-difference velocities of consecutive frames (displacement / time between them) over the
        velocities of the file (their mean at the two frames), fitted; None when there are no velocities, the frames
        are too far apart to tell (correlation below 0.9), or the times are not known.
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
    """

    slope: float | None
    thz: float | None
    kelvin: float | None
    source: str
    frames: int

    def mismatch(self) -> str | None:
        """What is wrong, in words, when the slope or the frequency is off by about 1000; None otherwise."""
        if self.slope is not None and not SLOPE_RANGE[0] <= self.slope <= SLOPE_RANGE[1]:
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


def _minimum_image(delta: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """``delta`` (frames, atoms, 3) as the minimum images in each frame's cell
    (:func:`~trajmodes.lattice.geometry.minimum_image`); every frame unchanged when one frame has no cell (NaN) or a
    degenerate one (zero volume), where the lattice's function would wrap the frames that have one, or fail."""
    if not np.isfinite(cells).all() or not (np.abs(np.linalg.det(cells)) > 0).all():
        return delta
    return minimum_image(delta, cells)


def time_scale(positions: np.ndarray, cells: np.ndarray, times: np.ndarray | None, masses: np.ndarray | None,
               velocities: np.ndarray | None = None, consecutive: np.ndarray | None = None) -> TimeScale:
    """Check the time unit of a few frames against physics: the velocities against the finite-difference velocities
    of consecutive frames, and the mean vibration frequency sqrt(<m v^2> / <m u^2>) (by equipartition, kinetic and
    potential energy agree for every mode, so this is a mean phonon frequency) against a crystal's.

    Parameters
    ----------
    positions : (frames, atoms, 3)
        A; frames in time order.
    cells : (frames, 3, 3)
        A (NaN without a cell).
    times : (frames,) or None
        ps, as read (None: not known).
    masses : (atoms,) amu or None (equal masses)
    velocities : (frames, atoms, 3) A/ps or None
    consecutive : (frames,) bool, optional
        Whether each frame is followed, in the file, by the next one in ``positions`` (default: all are).

    Notes
    -----
    Vectorised over frames and atoms; meant for a dozen frames.
    """
    from trajmodes.units import KB_EV, NATURAL_TIME_PS
    x = np.asarray(positions, float)
    nf, na = x.shape[:2]
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
    return TimeScale(slope, thz, kelvin, source, nf)
