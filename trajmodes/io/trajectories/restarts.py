"""One run split over several files (restarts): the rules that join them, and the frame source of the joined run.

An MD run that outlives a job's wall time is continued by a new job, each writing its own file: LAMMPS dumps,
VASP OUTCARs or vasprun.xml files, pw.x outputs, ASE trajectories. Joined, they are one trajectory, under the rules
LAMMPS restarts follow (:class:`~trajmodes.io.trajectories.lammps.LammpsDumpSource` applies the same two to its dumps):

1. Files whose MD steps count from the start of the run (a LAMMPS dump's ``ITEM: TIMESTEP``, pw.x's ``iteration``,
   which goes on across ``restart_mode = 'restart'``) are put in the order of their first step
   (:func:`order_by_first_step`); a restart repeats the frames since its restart file was written, and of frames
   with the same step the first is kept (:func:`first_of_each_step`).
2. Files whose steps count from the start of each job (VASP: OUTCAR, vasprun.xml and XDATCAR number the ionic
   steps of the job; ASE's ``.traj`` and extended XYZ have no steps) follow each other in the order given, each
   continuing the steps of the one before; a first frame that repeats the previous file's last (the same
   positions and cell, as when an ASE run is restarted from the last frame of its trajectory) is dropped.

A file that is not a continuation of the others is refused, naming it: another atom count, other species or masses,
other fields (forces, velocities, energies), another MD time step, or a cell that jumps (another supercell or
volume: a restart keeps the cell, a variable-cell run moves it by a fraction of a percent per step).
"""
from __future__ import annotations

import os
import warnings

import numpy as np

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.trajectories.base import FrameSource

__all__ = ["order_by_first_step", "first_of_each_step", "StepLine", "RestartedRun", "same_configuration",
           "SAME_FRAME_A", "CELL_JUMP"]

#: Å: two frames whose positions (minimum image) and cells all agree this closely are the same configuration (the
#: print precision of every format is finer; one MD step moves some atom by more, 1e-3 A at 300 K in 1 fs)
SAME_FRAME_A = 1e-5
#: the largest relative change of the cell from one file to the next: fixed-cell runs (every frame's cell the same)
#: must keep theirs to the precision printed (``FIXED_CELL_RTOL``), variable-cell runs may move by this much
CELL_JUMP = 0.02
FIXED_CELL_RTOL = 1e-6
#: relative difference of two MD time steps that are the same
DT_RTOL = 1e-6


def order_by_first_step(first_steps, names, what: str = "files", stacklevel: int = 4) -> list[int]:
    """The order of files by their first MD step (a restart's files given out of order are put in order, with a
    warning naming the order taken; files of equal first step keep the order given).

    Parameters
    ----------
    first_steps : sequence of int
        The first MD step of each file (a file without frames: any value larger than the others).
    names : sequence of str
        The files, for the warning.
    what : str
        What the files are, for the warning ("dump files", "pw.x outputs").
    stacklevel : int
        Of the warning (:func:`warnings.warn`), counted from this function.
    """
    first = [int(s) for s in first_steps]
    order = sorted(range(len(first)), key=lambda k: first[k])
    if order != list(range(len(first))):
        warnings.warn(f"the {what} were given out of time order; reading them in the order of their first MD step: "
                      f"{', '.join(os.path.basename(str(names[k])) for k in order)}", UserWarning,
                      stacklevel=stacklevel)
    return order


def first_of_each_step(steps) -> np.ndarray:
    """Which frames to keep of frames in file order whose MD steps are ``steps``: those whose step is larger than
    every step before them (a restart's repeated frames, and frames that go back in time, are dropped; the first
    frame of each step is kept). Boolean array of the length of ``steps``."""
    steps = np.asarray(steps, dtype=np.int64)
    prev = np.maximum.accumulate(np.concatenate([[np.iinfo(np.int64).min], steps[:-1]]))
    return steps > prev


class StepLine:
    """The MD steps of one file's frames, in the order written, made one time line: a step that goes back is a
    restart that wrote its frames again (dropped, as :func:`first_of_each_step` drops them) unless it goes back to where
    a ``reset_timestep`` of the run's input set the steps (an equilibration and a production in one dump: the steps
    count anew between two runs), which starts a new segment of the same run. A segment's steps continue those of
    the segment before (:attr:`last`): its first frame, written at the reset, is the configuration the run before
    ended in; where that is the frame before it (``same``: the run's last step was dumped) it is dropped as a repeat,
    else it follows one dump interval after it (the run's end was between two dumped steps).

    Stateful, so that a file read piece by piece (``trajmodes watch``) is joined as the whole file is.

    Parameters
    ----------
    resets : sequence of int or None
        The steps ``reset_timestep`` commands set between the runs that write the file
        (:attr:`~trajmodes.io.trajectories.lammps_settings.LammpsSettings.step_resets`); None for one whose value is not
        known (then any step that goes back lands on it).
    every : int
        The dump interval in MD steps (0: not known; the steps between the frames read are taken).
    """

    def __init__(self, resets=(), every: int = 0):
        self.resets = tuple(resets)
        self.every = max(int(every or 0), 0)
        self.top = None        # the largest step of the current segment
        self.last = None       # the continued step of the last frame kept
        self.offset = 0        # continued step = step + offset, in the current segment
        self.stride = self.every or 1
        self.segment = 0       # the current segment (one more at every reset)
        self.repeats = 0       # frames dropped as restart repeats (not those at a reset)
        self.first_repeat = None   # the first of them among the frames of the last call

    def lands(self, step: int) -> bool:
        """Whether ``step``, below the steps of the current segment, is the first dumped step at or after a reset."""
        if self.top is None or step > self.top:
            return False
        return any(r is None or r <= step < r + self.stride and r < self.top for r in self.resets)

    def add(self, steps, same=None) -> tuple:
        """Join the next frames, at MD ``steps``.

        Parameters
        ----------
        steps : sequence of int
        same : callable, optional
            ``same(j, k)``: whether frame ``k`` of these is the configuration of frame ``j`` (the last one kept, -1:
            the last kept before these); asked only of the first frame of a segment. Without it, never.

        Returns
        -------
        keep : ndarray of bool
            The frames kept.
        continued : ndarray of int
            Every frame's step on the one time line (of a dropped frame, the step of the frame it repeats or follows).
        segment : ndarray of int
            Every frame's segment.
        """
        steps = np.asarray(steps, dtype=np.int64)
        n = len(steps)
        self.first_repeat = None
        keep, cont, seg = np.ones(n, bool), np.empty(n, np.int64), np.empty(n, np.int64)
        if n and (self.top is None or steps[0] > self.top) and (n == 1 or (np.diff(steps) > 0).all()):
            cont[:] = steps + self.offset                 # steps that only go forward: one stretch
            seg[:] = self.segment
            self._forward(steps)
            self.last, self.top = int(cont[-1]), int(steps[-1])
            return keep, cont, seg
        kept = -1
        for k, s in enumerate(steps.tolist()):
            if self.top is None or s > self.top:
                cont[k] = s + self.offset
                if self.top is not None and s - self.top > 0 and not self.every:
                    self.stride = s - self.top
                self.top, self.last, kept = s, int(cont[k]), k
            elif self.lands(s):
                self.segment += 1
                if same is not None and same(kept, k):
                    keep[k], self.offset = False, self.last - s       # the configuration the run before ended in
                else:
                    self.offset = self.last + self.stride - s
                    self.last, kept = s + self.offset, k
                cont[k], self.top = s + self.offset, s
            else:
                keep[k], cont[k] = False, s + self.offset          # a restart wrote it again
                self.repeats += 1
                self.first_repeat = k if self.first_repeat is None else self.first_repeat
            seg[k] = self.segment
        return keep, cont, seg

    def _forward(self, steps: np.ndarray) -> None:
        if not self.every and len(steps) > 1:
            self.stride = max(int(np.median(np.diff(steps))), 1)
        elif not self.every and self.top is not None:
            self.stride = max(int(steps[0]) - self.top, 1)


def _ends(part: FrameSource) -> dict:
    """Positions and cells of the first and last frame of ``part``."""
    k = [0, part.n_frames - 1] if part.n_frames > 1 else [0]
    d = part.read(np.asarray(k), fields=("positions",))
    return dict(positions=d["positions"][[0, -1]], cells=d["cells"][[0, -1]])


def same_configuration(a_pos, a_cell, b_pos, b_cell) -> bool:
    """Whether two frames are the same configuration (:data:`SAME_FRAME_A`)."""
    from trajmodes.lattice.geometry import minimum_image
    if np.all(np.isfinite(a_cell)) and np.all(np.isfinite(b_cell)):
        if np.abs(a_cell - b_cell).max() > SAME_FRAME_A:
            return False
        d = minimum_image((b_pos - a_pos)[None], a_cell[None])[0]
    else:
        d = b_pos - a_pos
    return bool(np.abs(d).max() <= SAME_FRAME_A)


class RestartedRun(FrameSource):
    """One trajectory from the files of a run that was restarted: frames in time order, restart repeats dropped,
    read lazily from the file that holds each (the module's rules).

    Parameters
    ----------
    parts : sequence of FrameSource
        One source per file, as given (each with one path). Sources whose ``steps_absolute`` attribute is True for
        all (their MD steps count from the start of the run) are ordered by step; the others keep this order.
    md_timestep, frame_interval : float, optional
        ps, as for every reader (:func:`trajmodes.io.trajectories.times.frame_times`), applied to the joined steps.

    Attributes
    ----------
    parts : list of FrameSource
        In time order.
    dropped : int
        Frames dropped as repeats.

    Raises
    ------
    TrajectoryFormatError
        Naming the file that does not continue the others, and how.
    """

    def __init__(self, parts, *, md_timestep: float | None = None, frame_interval: float | None = None):
        parts = list(parts)
        if len(parts) < 2:
            raise ValueError("a restarted run needs two files or more")
        absolute = all(getattr(p, "steps_absolute", False) for p in parts)
        if absolute:
            parts = [parts[k] for k in order_by_first_step([p.steps[0] for p in parts], [p.paths[0] for p in parts],
                                                           f"{parts[0].format} files")]
        self.parts = parts
        first = parts[0]
        for p in parts[1:]:
            self._check_same(first, p)
        self.paths = [p.paths[0] for p in parts]
        self.format = first.format
        self.n_atoms, self.species, self.masses = first.n_atoms, first.species, first.masses
        self.ids = np.asarray(first.ids)
        self.fields, self.frame_fields = tuple(first.fields), tuple(first.frame_fields)
        self.has_cell, self.unwrapped, self.units = first.has_cell, first.unwrapped, first.units
        ends = [_ends(p) for p in parts]
        for k in range(1, len(parts)):
            self._check_cell(k, ends)
        steps, part, local = self._join(absolute, ends)
        self._part, self._local = part, local
        self.n_frames = len(steps)
        self._times(steps, md_timestep, frame_interval, all(getattr(p, "has_steps", True) for p in parts))

    # --------------------------------------------------------------------------------- joining
    def _check_same(self, a: FrameSource, b: FrameSource) -> None:
        """``b`` holds the same atoms and fields as ``a``, and the same MD time step."""
        name = b.paths[0]
        fix = f"Join only the files of one run (restarts); read {os.path.basename(name)} separately"
        if b.n_atoms != a.n_atoms:
            raise TrajectoryFormatError(name, f"it has {b.n_atoms} atoms, {a.paths[0]} has {a.n_atoms}", fix=fix)
        if not np.array_equal(np.asarray(b.species), np.asarray(a.species)):
            i = int(np.flatnonzero(np.asarray(b.species) != np.asarray(a.species))[0])
            raise TrajectoryFormatError(name, f"atom {i + 1} is {b.species[i]}, in {a.paths[0]} it is "
                                              f"{a.species[i]}", fix=fix)
        if (a.masses is None) != (b.masses is None) or a.masses is not None and \
                not np.allclose(a.masses, b.masses, rtol=1e-9, atol=0):
            i = 0 if a.masses is None or b.masses is None else int(np.flatnonzero(~np.isclose(a.masses, b.masses,
                                                                                               rtol=1e-9, atol=0))[0])
            show = (lambda m: "unknown" if m is None else f"{m[i]:g} amu")
            raise TrajectoryFormatError(name, f"the mass of atom {i + 1} is {show(b.masses)}, in {a.paths[0]} "
                                              f"{show(a.masses)}", fix=fix + ", or pass masses= to use one set")
        for what, x, y in (("fields", a.fields, b.fields), ("per-frame quantities", a.frame_fields,
                                                                b.frame_fields)):
            if tuple(x) != tuple(y):
                raise TrajectoryFormatError(name, f"its {what} are {', '.join(y) or 'none'}, those of "
                                                  f"{a.paths[0]} {', '.join(x) or 'none'}", fix=fix)
        if bool(a.has_cell) != bool(b.has_cell):
            raise TrajectoryFormatError(name, f"it {'has' if b.has_cell else 'has no'} periodic cell, "
                                              f"{a.paths[0]} {'has' if a.has_cell else 'has none'}", fix=fix)
        da, db = a.md_timestep, b.md_timestep
        tol = max(DT_RTOL, getattr(a, "md_timestep_rtol", 0.0), getattr(b, "md_timestep_rtol", 0.0))
        if da is not None and db is not None and abs(da - db) > tol * da:
            raise TrajectoryFormatError(name, f"its MD time step is {db * 1e3:g} fs, that of {a.paths[0]} "
                                              f"{da * 1e3:g} fs: the frames would not be evenly spaced in time",
                                        fix="Read the parts of each time step separately")

    def _check_cell(self, k: int, ends: list) -> None:
        """The cell of file ``k``'s first frame continues that of file ``k - 1``'s last frame."""
        if not self.has_cell:
            return
        a, b = ends[k - 1]["cells"], ends[k]["cells"]
        scale = np.abs(a[-1]).max()
        fixed = np.abs(a[0] - a[-1]).max() <= FIXED_CELL_RTOL * scale and \
            np.abs(b[0] - b[-1]).max() <= FIXED_CELL_RTOL * scale
        jump = float(np.abs(b[0] - a[-1]).max() / scale)
        if jump > (FIXED_CELL_RTOL if fixed else CELL_JUMP):
            kind = "the fixed cell" if fixed else "the cell"
            raise TrajectoryFormatError(
                self.parts[k].paths[0],
                f"{kind} of its first frame (rows {np.round(b[0], 6).tolist()} A) is not that of the last frame of "
                f"{self.parts[k - 1].paths[0]} (rows {np.round(a[-1], 6).tolist()} A): {100 * jump:.3g}% apart, so "
                "it is not a restart of that run (another supercell, volume or crystal)",
                fix="Join only restarts of one run; read runs of different cells separately")

    def _join(self, absolute: bool, ends: list):
        """The joined MD steps, and for every kept frame its file and its frame there."""
        steps, part, local = [], [], []
        dropped, last, stride = 0, None, 1
        for k, p in enumerate(self.parts):
            s = np.asarray(p.steps, dtype=np.int64)
            keep = np.ones(len(s), bool)
            if k and not absolute:
                a, b = ends[k - 1], ends[k]
                for j in range(k):                       # a file given twice (two names, a copy) is no restart
                    if same_configuration(ends[j]["positions"][0], ends[j]["cells"][0], b["positions"][0],
                                          b["cells"][0]):
                        raise TrajectoryFormatError(p.paths[0], f"its first frame is the first frame of "
                                                                f"{self.parts[j].paths[0]}: the same run twice",
                                                    fix="Give each file of the run once")
                if same_configuration(a["positions"][-1], a["cells"][-1], b["positions"][0], b["cells"][0]):
                    keep[0] = False                      # the restart's first frame is the last one written
                    s = s - s[0] + last
                else:
                    s = s - s[0] + last + stride
            if len(s) > 1:
                stride = max(int(np.median(np.diff(s))), 1)
            if keep.any():
                last = int(s[keep][-1])
            steps.append(s[keep])
            part.append(np.full(int(keep.sum()), k))
            local.append(np.flatnonzero(keep))
            dropped += int((~keep).sum())
        all_steps = np.concatenate(steps)
        part, local = np.concatenate(part), np.concatenate(local)
        if absolute:
            keep = first_of_each_step(all_steps)
            self._check_repeats(all_steps, part, local, keep)
            dropped += int((~keep).sum())
            all_steps, part, local = all_steps[keep], part[keep], local[keep]
        if dropped > len(self.parts) - 1:          # one per junction is what a restart repeats
            warnings.warn(f"{', '.join(self.paths)}: {dropped} frame(s) repeat or go back in MD step and were "
                          "dropped (kept the first of each step)", UserWarning, stacklevel=4)
        self.dropped = dropped
        return all_steps, part.astype(np.int64), local.astype(np.int64)

    def _check_repeats(self, steps, part, local, keep) -> None:
        """The first repeated frame of each file is the frame of its step that is kept (a restart recomputes the
        configuration it resumes from); otherwise the file's steps were counted anew, by another run."""
        for k in np.unique(part[~keep]):
            i = int(np.flatnonzero(~keep & (part == k))[0])
            j = int(np.flatnonzero(keep & (steps == steps[i]))[0]) if (keep & (steps == steps[i])).any() else None
            if j is None:
                continue                                  # it goes back to a step no kept frame has
            fi = self.parts[k].read(np.array([local[i]]), fields=("positions",))
            fj = self.parts[part[j]].read(np.array([local[j]]), fields=("positions",))
            if not same_configuration(fj["positions"][0], fj["cells"][0], fi["positions"][0], fi["cells"][0]):
                raise TrajectoryFormatError(
                    self.parts[k].paths[0],
                    f"its MD step {int(steps[i])} (frame {int(local[i])}) is also a step of "
                    f"{self.parts[part[j]].paths[0]}, with other positions: it is not a restart of that run (a "
                    "restart resumes from a configuration the other file holds, and goes on counting its steps)",
                    frame=int(local[i]),
                    fix="Join only restarts of one run; read runs that count their steps anew separately")

    def _times(self, steps, md_timestep, frame_interval, has_steps: bool) -> None:
        """Frame times of the joined steps (:func:`trajmodes.io.trajectories.times.frame_times`): the MD time step the
        files state (the most precisely stated, when several do), else the values given, else an assumption."""
        from trajmodes.errors import UnitsWarning
        from trajmodes.io.trajectories.times import frame_times
        self.steps = steps
        stated = [p for p in self.parts if p.md_timestep is not None and not p.time_axis.startswith("ASSUMED")]
        found, rtol = None, 0.0
        if has_steps and len(stated) == len(self.parts):
            exact = [p for p in stated if getattr(p, "md_timestep_rtol", 0.0) <= DT_RTOL]
            best = exact[0] if exact else min(stated, key=lambda p: getattr(p, "md_timestep_rtol", 0.0))
            rtol = getattr(best, "md_timestep_rtol", 0.0)
            found = (best.md_timestep, f"{getattr(best, 'md_timestep_source', best.time_axis)} in "
                                       f"{os.path.basename(best.paths[0])}")
        name = ", ".join(self.paths)
        axis = frame_times(name, steps, None, md_timestep=md_timestep, frame_interval=frame_interval, found=found,
                           has_steps=has_steps, stacklevel=5)
        self.times, self.md_timestep, self.time_axis = axis.times, axis.md_timestep, axis.source
        self.md_timestep_rtol = rtol if found is not None and axis.md_timestep == found[0] else 0.0
        if self.md_timestep_rtol > 1e-4:
            warnings.warn(f"{name}: the MD time step is known to {rtol:.1e} only ({found[1]}): give md_timestep=<ps> "
                          "(--md-timestep); every frequency scales with it", UnitsWarning, stacklevel=5)

    # --------------------------------------------------------------------------------- reading
    def read(self, frames, fields=None) -> dict:
        """Frames by index in the joined run (ascending), each read from its file; see :meth:`FrameSource.read`."""
        frames = np.asarray(frames, dtype=np.int64).ravel()
        if len(frames) and (frames.min() < 0 or frames.max() >= self.n_frames):
            raise IndexError(f"frames must lie in 0..{self.n_frames - 1}")
        if not len(frames):
            return self.parts[0].read(frames, fields)
        which = self._part[frames]
        out = None
        for k in np.unique(which):
            sel = which == k
            got = self.parts[k].read(self._local[frames[sel]], fields)
            if out is None:
                out = {name: np.empty((len(frames),) + v.shape[1:], v.dtype) for name, v in got.items()}
            for name in out:
                out[name][sel] = got[name]
        return out

    def token(self) -> tuple:
        """The class and the files' own tokens (paths, sizes, mtimes)."""
        return (type(self).__name__,) + tuple(p.token() for p in self.parts)
