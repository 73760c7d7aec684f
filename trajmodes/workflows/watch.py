"""``trajmodes watch``: effective phonons of a run followed while the MD program writes it, and when to stop it.

Every update reads only the frames written since the last (:mod:`~trajmodes.workflows.watch_frames`), adds their
terms to the normal equations already held (:class:`~trajmodes.forceconstants.GrowingNormal`), leaves out the
starting transient (:mod:`~trajmodes.workflows.watch_model`), solves the fit again, and gives the frequencies at the
special points with their block-bootstrap error bars, the pair cutoff the data support, the temperature and the
run length the target needs (:class:`WatchUpdate`). Settings in, updates out: :class:`WatchSettings` ->
:class:`Watch` (``for update in Watch(settings).follow(): ...``); ``--replay`` follows a finished run as if it grew.
"""
from __future__ import annotations

import copy
import dataclasses
import os
import shlex
import subprocess
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from trajmodes.workflows.watch_frames import FrameFollower, followed_name, in_run, ipi_timestep, open_frames
from trajmodes.workflows.watch_model import (LiveErrorModel, LiveErrors, Prediction, Transient, error_bar_state,
                                             find_transient, predict_target)

__all__ = ["WatchSettings", "WatchUpdate", "Watch", "watch", "Prediction", "Transient", "parse_time", "WATCH_DEFAULTS",
           "followed_format_name"]

#: the defaults of the command line's settings (:class:`WatchSettings`' own)
WATCH_DEFAULTS = dict(target=0.05, poll=10.0, segments=20, block_frames=8)
#: the blocks of frames held before the first update: the block bootstrap of the error bars needs 4 time segments
MIN_BLOCKS = 4
#: the share of atoms farther than half the nearest-neighbour distance from their sites at which a crystal is
#: taken as melted (a crystal's atoms at its melting point vibrate by about a tenth of that distance: Lindemann 1910)
MELTED_SHARE = 0.1
#: the relative range of the cell volume above which the cell is said to change (a barostat)
VOLUME_CHANGE = 1e-6
#: Å: a drift of the crystal as a whole the table mentions
DRIFT_SAID = 0.1
#: ps per unit of a time the command line takes
_TIME_UNITS = {"fs": 1e-3, "ps": 1.0, "ns": 1e3}


def followed_format_name(name: str) -> str:
    """The format :class:`WatchSettings` takes for a trajectory format's name on the command line (``lammps``,
    ``lammps-dump``, ``dump``, ``lammpstrj``; ``xyz``, ``extxyz``; ``vasp-out``, ``outcar``; ``vasp-xml``,
    ``vasprun``; ``ipi``, ``i-pi``); others are refused."""
    key = str(name).strip().lower()
    key = {"outcar": "vasp-out", "vasprun": "vasp-xml", "vasprun.xml": "vasp-xml"}.get(key, key)
    if key == "vasp":
        raise ValueError("--format vasp: say which of VASP's files is followed: vasp-out (OUTCAR) or vasp-xml "
                         "(vasprun.xml)")
    found = followed_name(key)
    if found is None:
        raise ValueError(f"--format {name}: trajmodes watch follows LAMMPS text dumps (lammps), (extended) XYZ files "
                         "(xyz), VASP's OUTCAR (vasp-out) and vasprun.xml (vasp-xml) and classical i-PI runs (ipi) "
                         "while they are written; fit a finished run of another format with `trajmodes fit`")
    return found


def parse_time(text: str) -> float:
    """A simulated time as the command line takes it, in ps: ``"2ps"``, ``"500 fs"``, ``"1ns"`` or a number of ps."""
    t = str(text).strip().lower()
    for unit, factor in _TIME_UNITS.items():
        if t.endswith(unit):
            t, scale = t[:-len(unit)].strip(), factor
            break
    else:
        scale = 1.0
    try:
        value = float(t) * scale
    except ValueError:
        raise ValueError(f"{text!r} is not a time: give a number with fs, ps or ns (2ps, 500fs), or a number of ps") \
            from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{text!r}: the time between updates must be positive")
    return value


@dataclass
class WatchSettings:
    """What ``trajmodes watch`` follows and how.

    Parameters
    ----------
    path : str
        The LAMMPS text dump, (extended) XYZ file, VASP OUTCAR or vasprun.xml the MD program writes, or the
        positions file of a classical i-PI run (``PREFIX.pos_0.xyz``, its forces file beside it).
    reference : str or Structure, optional
        The ideal crystal the displacements are measured from (a LAMMPS data file, a POSCAR); default the mean of the
        first ``settle_frames`` frames, made ideal by symmetry.
    cutoff2 : float, optional
        Pair cutoff, Å; default the longest the supercell holds (:func:`~trajmodes.workflows.fit.default_cutoff2`),
        the cutoff the data support reported at every update.
    target : float
        THz: the run has enough when every frequency at the special points (but Gamma) has an error bar below it.
    every : float, optional
        ps of simulated time between updates; default an update whenever new frames came.
    poll : float
        Seconds between two looks at the file.
    idle : float, optional
        Stop after the file has not grown for this many seconds (None: follow until the target, or Ctrl-C).
    block_frames : int
        Frames per stored block of normal equations: the finest step of the fit's start.
    segments, folds, n_resamples, seed
        The fit's time segments and folds, and its block bootstrap.
    replay : bool
        Follow a finished run as if it were growing, an update every ``every`` ps.
    then : str, optional
        A shell command run once when the target is reached.
    settle_frames : int
        Frames averaged for the reference when none is given.
    format : str, optional
        ``"lammps-dump"``, ``"xyz"``, ``"ase:vasp-out"``, ``"ase:vasp-xml"`` or ``"ipi"``; default from the file's
        first bytes.
    options : dict
        The reading options of the run, as :func:`trajmodes.read` takes them (``species``, ``masses``,
        ``md_timestep`` in ps, ``frame_interval`` in ps, ``units``, ``lj_scales``): what the command line's reading
        options give.
    """

    path: str
    reference: object = None
    cutoff2: float | None = None
    target: float = 0.05
    every: float | None = None
    poll: float = 2.0
    idle: float | None = None
    block_frames: int = 8
    segments: int = 20
    folds: int = 5
    n_resamples: int = 200
    seed: int = 0
    replay: bool = False
    then: str | None = None
    settle_frames: int = 16
    format: str | None = None
    options: dict = field(default_factory=dict)


@dataclass
class WatchUpdate:
    """One update of a followed run.

    Parameters
    ----------
    index : int
        The update's number: 0, 1, ...
    frames_read : int
        Frames read so far.
    first_frame : int
        The first frame fitted (the starting transient before it left out).
    frames_fitted : int
        Frames fitted: from ``first_frame`` to the last frame read.
    time : float
        Simulated time of the last frame read, ps.
    fitted_time : float
        Simulated time of the frames fitted, ps.
    labels : list of str
        The special points.
    qpoints : ndarray (nq, 3)
        The special points, reduced coordinates of the primitive cell's reciprocal lattice.
    frequency, frequency_err : ndarray (nq, branches)
        THz; the error bars of ``trajmodes fit``'s error model of the frames fitted (``errors`` says which, and
        whether they are a lower bound).
    change : ndarray (nq, branches) or None
        THz since the last update.
    cutoff2 : float
        The pair cutoff fitted, Å.
    supported_cutoff : float or None
        The shortest neighbour shell from which the frequencies agree with those of ``cutoff2``, Å (None: not
        decided).
    temperature, temperature_err : float
        K: the mean kinetic temperature of the fitted frames.
    transient : Transient
        Where the fit starts and why (the starting transient found in the temperature and the mean-square
        displacement).
    prediction : Prediction
        When the target will be reached, from how the error bars shrank.
    converged : bool
        Every frequency's error bar below the target.
    seconds : float
        Wall seconds the update took.
    bytes_read : int
        Bytes read from the run's files for the update.
    wall : float
        Wall-clock time of the update (seconds since the epoch, ``time.time()``).
    estimator : EffectiveForceConstants, optional
        The fit of the update (its constants written to fc.nc when the target is reached).
    drift : float
        Å: how far the crystal moved as a whole by the last frame read (taken out of the displacements).
    times_assumed : bool
        The file gives no times: they are ASSUMED, 1 ps between frames (every ps of the update is a frame).
    volume : tuple of float or None
        Å³: the mean cell volume of the fitted frames and its standard deviation, where the cell changes (NPT);
        None in a fixed cell.
    errors : LiveErrors, optional
        What the error bars are (calibrated or a lower bound, and why) and the frozen share of the mean-square
        displacement of the frames fitted (:class:`~trajmodes.workflows.watch_model.LiveErrorModel`).
    """

    index: int
    frames_read: int
    first_frame: int
    frames_fitted: int
    time: float
    fitted_time: float
    labels: list
    qpoints: np.ndarray
    frequency: np.ndarray
    frequency_err: np.ndarray
    change: np.ndarray | None
    cutoff2: float
    supported_cutoff: float | None
    temperature: float
    temperature_err: float
    transient: Transient
    prediction: Prediction
    converged: bool
    seconds: float
    bytes_read: int
    wall: float
    estimator: object = field(repr=False, default=None)
    drift: float = 0.0
    times_assumed: bool = False
    volume: tuple | None = None
    errors: LiveErrors | None = field(repr=False, default=None)

    def worst_error(self) -> float:
        """THz: the largest error bar among the frequencies compared with the target (Gamma's zeros left out)."""
        return worst_error(self.frequency, self.frequency_err)

    def table(self, target: float) -> str:
        """The update as a compact table (the lines ``trajmodes watch`` prints).

        Parameters
        ----------
        target : float
            THz: the error bar the run is followed to (:attr:`WatchSettings.target`), which the prediction's
            sentence compares with.
        """
        head = (f"update {self.index}: {self.frames_fitted} frames fitted ({self.fitted_time:.3g} ps, from frame "
                f"{self.first_frame}; {self.frames_read} read, {self.time:.3g} ps), "
                + (f"T = {self.temperature:.1f} +- {self.temperature_err:.1f} K" if np.isfinite(self.temperature)
                   else "T unknown (no velocities)") + f", cutoff {self.cutoff2:.3g} A"
                + ("" if self.supported_cutoff is None else f" (the data support {self.supported_cutoff:.3g} A)")
                + ("; times ASSUMED: 1 ps between frames (the file gives no times; give --frame-interval)"
                   if self.times_assumed else ""))
        rows = [head, f"  {'point':<6} {'frequencies +- error bar (THz)':<58} {'moved (THz)'}"]
        for k, label in enumerate(self.labels):
            nu, err = self.frequency[k], self.frequency_err[k]
            cells = " ".join(f"{n:6.3f}+-{e:.3f}" for n, e in zip(*_distinct(nu, err)))
            moved = "" if self.change is None else f"{np.max(np.abs(self.change[k])):.3f}"
            rows.append(f"  {label:<6} {cells:<58} {moved}")
        rows.append("  " + self.transient.sentence())
        if self.errors is not None:
            rows.append("  " + self.errors.sentence())
        if self.volume is not None:
            mean, spread = self.volume
            rows.append(f"  the cell changes (a barostat): mean volume {mean:.6g} A^3 of the fitted frames, "
                        f"{100 * spread / mean:.2g} % rms about it; the constants are those of the volumes visited, "
                        "and error bars that do not shrink may follow the volume's slow swings")
        if self.drift > DRIFT_SAID:
            rows.append(f"  the crystal moved {self.drift:.3g} A as a whole (a net momentum: LAMMPS' fix momentum "
                        "removes it); the displacements are measured without it")
        rows.append("  " + self.prediction.sentence(target))
        return "\n".join(rows)


def _distinct(nu, err, tol: float = 1e-4):
    """The distinct frequencies of one q (degenerate branches once), with the larger of their error bars."""
    out_n, out_e = [], []
    for n, e in zip(nu, err):
        if out_n and abs(n - out_n[-1]) <= tol * max(1.0, abs(n)):
            out_e[-1] = max(out_e[-1], e)
            continue
        out_n.append(float(n))
        out_e.append(float(e))
    return out_n, out_e


def worst_error(frequency, frequency_err, floor: float = 1e-3) -> float:
    """THz: the largest error bar among frequencies above ``floor`` THz (Gamma's acoustic zeros left out)."""
    nu, err = np.asarray(frequency, float), np.asarray(frequency_err, float)
    keep = np.abs(nu) > floor
    return float(np.nanmax(err[keep])) if keep.any() else float("nan")


class Watch:
    """A run followed while it grows (or replayed): :meth:`follow` yields a :class:`WatchUpdate` per update.

    The state after the last completed update is :attr:`last` (and :attr:`history`): an interrupt between or
    inside an update leaves it as it was.

    Parameters
    ----------
    settings : WatchSettings
        The run's file, how it is read and fitted, and the target (THz) it is followed to.

    Raises
    ------
    ValueError
        A ``target`` or ``every`` that is not positive.
    FileNotFoundError
        A ``replay`` of a file that does not exist.
    """

    def __init__(self, settings: WatchSettings):
        if settings.target <= 0:
            raise ValueError(f"target must be a positive frequency error in THz, not {settings.target}")
        if settings.every is not None and settings.every <= 0:
            raise ValueError(f"every must be a positive time in ps, not {settings.every}")
        if settings.replay and not os.path.exists(settings.path):
            raise FileNotFoundError(f"{settings.path} does not exist: --replay follows a finished run; give the path "
                                    "of its dump, XYZ file, OUTCAR, vasprun.xml or i-PI positions file")
        self.settings = settings
        self.follower = FrameFollower(settings.path, settings.format)
        self.follower.ended = settings.replay     # a finished run's files are whole: one that stopped is not waited for
        self.history: list[WatchUpdate] = []
        self.last: WatchUpdate | None = None
        self.reached_at: WatchUpdate | None = None
        self.then_status: int | None = None
        self.growing = None
        self.base = None
        self._options = None
        self._series = {"time": [], "temperature": [], "msd": [], "wall": [], "volume": []}
        self._next_time = None
        self._every_said = False
        #: whether the frame times are ASSUMED (a file without times and no --frame-interval / --md-timestep)
        self.times_assumed = False
        self._cell_said = False           # whether the mean cell's strain from the reference's was said
        #: why the watch stopped where the run says it has ended (an i-PI run at its input's total_steps), or None
        self.finished: str | None = None

    # -- reading -------------------------------------------------------------------------------------------------
    def _start(self, path: str) -> None:
        """Open the run as it is now (its input or log beside it found as ``trajmodes fit`` finds them): the reading
        options of the new frames, the ideal crystal, the estimator and its kernel. An i-PI run is opened from the
        first frames read (``path``: its files read alone cannot be joined while they are written out of step), with
        the time step of its input or properties file."""
        from trajmodes.forceconstants import EffectiveForceConstants, GrowingNormal
        from trajmodes.lattice import ideal_crystal, nearest_neighbour_distance
        from trajmodes.lattice.crystal import Crystal
        from trajmodes.lattice.structure import Structure
        from trajmodes.workflows.fit import default_cutoff2
        from trajmodes.io import StepLine, lammps_settings_beside
        s = self.settings
        fmt = self.follower.format
        options = dict(s.options)
        if fmt == "ipi" and options.get("md_timestep") is None and options.get("frame_interval") is None:
            options["md_timestep"] = ipi_timestep(s.path)
        lammps = lammps_settings_beside(s.path) if fmt == "lammps-dump" else None   # the run's input, found once
        if lammps is not None:
            options["lammps_settings"] = lammps
        # the first frames taken, as every update's (the run's file is read by the follower alone, each byte once)
        first = open_frames(path, fmt, dict(options, reference=s.reference), quiet=False, run=s.path)
        if first.forces is None:
            what = ("fx fy fz to the dump's columns (dump custom ... id type x y z vx vy vz fx fy fz)"
                    if fmt == "lammps-dump" else "the forces to every frame (a forces column: ase.io.write of Atoms "
                                                 "with their calculator's forces)")
            raise ValueError(f"{s.path} has no forces: the fit of the effective constants needs the force on every "
                             f"atom in every frame; add {what} and run the MD again")
        src = first.source
        opts = dict(options) if fmt == "ipi" else dict(options, units=src.units)   # i-PI's files state their units
        if fmt == "lammps-dump":
            types = np.asarray(src.types) if src.types is not None else None
            if types is not None:
                at = {int(t): int(np.flatnonzero(types == t)[0]) for t in np.unique(types)}
                opts["species"] = {t: str(src.species[i]) for t, i in at.items()}
                if src.masses is not None:
                    opts["masses"] = {t: float(src.masses[i]) for t, i in at.items()}
            if src.md_timestep is not None:
                opts["md_timestep"] = float(src.md_timestep)
        # a file without times (nor MD steps) has its frames counted: every private file's times restart at 0, so
        # the times are the count of frames taken times the interval, given (--frame-interval) or ASSUMED (1 ps)
        axis = str(first.time_axis)
        self.times_assumed = axis.startswith("ASSUMED")
        counted = axis.startswith("ASSUMED: 1 ps between frames") or (axis.startswith("frame_interval")
                                                                         and "MD steps" not in axis)
        self._counted_interval = float(first.frame_interval) if counted else None
        if s.reference is not None:
            ref, averaged = first.reference, False
        else:             # the mean of the first frames taken
            ref, averaged = first[np.arange(min(s.settle_frames, first.n_frames))].average_structure(), True
        crystal = Crystal.from_structure(ref, masses=ref.masses if ref.masses is not None else first.masses)
        cutoff2 = s.cutoff2 if s.cutoff2 is not None else default_cutoff2(ref.cell, first.n_atoms)
        est = EffectiveForceConstants(cutoff2=cutoff2, segments=s.segments, folds=s.folds)
        supercell, tol = ideal_crystal(crystal, float(est.symprec), False, averaged=averaged)
        est.prepare(supercell, tol)
        self.ideal = Structure(supercell.positions + ref.origin, ref.cell, ref.species, ref.masses, ref.origin)
        self.base = est
        self.growing = GrowingNormal(est, s.block_frames)
        self.live = LiveErrorModel(self.ideal, **(self._ipi_input() if fmt == "ipi" else {}))
        self._options = dict(opts, reference=self.ideal)
        self._drift = np.zeros(3)
        self._site_radius = 0.5 * nearest_neighbour_distance(self.ideal.cell, self.ideal.positions)
        self._auto_cutoff = s.cutoff2 is None
        # a LAMMPS dump's steps on one time line: a restart's repeats left out, a reset_timestep's new segment kept
        self._steps = None
        if fmt == "lammps-dump" and self._counted_interval is None:
            self._steps = StepLine(lammps.step_resets, lammps.every) if lammps is not None else StepLine()
            steps = np.asarray(first.source.steps, float)
            self._step_time = (float(first.md_timestep) if first.md_timestep is not None else
                               float((first.times[-1] - first.times[0]) / (steps[-1] - steps[0]))
                               if len(steps) > 1 and steps[-1] > steps[0] else 0.0)
            self._step_shift = not str(first.time_axis).startswith("ITEM: TIME")   # LAMMPS' own time goes on
        self._last_frame = None

    def _ipi_input(self) -> dict:
        """What the i-PI input beside the run says to the error model (:class:`LiveErrorModel`'s ``ensemble`` and
        ``write_velocities``): whether the run keeps its energy, as i-PI defines its ensembles (None where the input
        does not say), and what it needs for velocities at the positions' stride (their ``<output>`` line, or the
        stride to give the velocities left out)."""
        from trajmodes.io import ipi_input_beside, positions_file_of, velocities_hint
        inp = ipi_input_beside(positions_file_of(self.settings.path))
        ensemble = None
        if inp is not None and inp.energy_conserved is not None:
            ensemble = (inp.energy_conserved, inp.ensemble_said())
        stride, why = self.follower.ipi_velocities
        return dict(ensemble=ensemble, write_velocities=velocities_hint(stride or 1, why))

    def _add(self, path: str, n_before: int) -> None:
        """Parse the frames of ``path`` and add their terms (and their temperatures and mean-square displacements).

        The displacements are measured from the ideal crystal moved by the drift of the crystal as a whole so far (a
        run without ``fix momentum`` carries it away from its sites: each file is checked against where the crystal
        is, and no displacement wraps around the cell), less each frame's drift, the mean displacement of the atoms
        (a uniform translation exerts no force: the fit does not change). A crystal whose atoms left their sites
        (melted) is refused."""
        import dask
        from trajmodes.forceconstants import fit_layer
        here = self.ideal if not self._drift.any() else dataclasses.replace(
            self.ideal, positions=self.ideal.positions + self._drift)
        # the first file is checked against the reference; a later one's atoms are where the watch left them (a
        # check of its first frame against the sites would take a drift or a melt for other atoms, or another order)
        traj = open_frames(path, self.follower.format, dict(self._options, reference=here if not n_before else None))
        if traj.masses is None:
            traj.masses = self.ideal.masses
        # a VASP file's steps are counted from the first step of each private file (after the header)
        counted_here = self.follower.head is not None and self._counted_interval is None
        shift, line, last_frame = 0.0, self._steps, self._last_frame
        if self._steps is not None:
            got = self._on_step_line(traj)
            if got is None:
                return
            traj, shift, line, last_frame = got
        elif self._counted_interval is None and not counted_here and self.follower.format != "ipi":
            # (an i-PI run's repeated steps are left out by step as they are read, and its times may be i-PI's own)
            traj = self._past_repeats(traj)
            if traj is None:
                return
        layer = fit_layer(traj)
        parts = [traj.displacements(layer=layer, reference=here), traj.field("forces", layer)]
        names = [n for n in ("potential_energy", "velocities") if n in layer]
        if "potential_energy" in names:
            parts.append(traj.field("potential_energy", layer))
        if "velocities" in names:
            parts += [traj.temperature(layer=layer), traj.field("velocities", layer)]
        with_cell = traj.source.has_cell
        if with_cell:
            parts.append(traj.field("cells", layer))
        got = list(dask.compute(*parts, scheduler="synchronous"))
        u, f = got[0], got[1]
        k = 2
        energy = temperature = cells = None
        if "potential_energy" in names:
            energy, k = got[k], k + 1
        velocities = None
        if "velocities" in names:
            temperature, velocities, k = got[k], got[k + 1], k + 2
        if with_cell:
            cells = got[k]
        if self._counted_interval is not None:
            times = (n_before + np.arange(len(u))) * self._counted_interval
        elif counted_here:
            times = (n_before + np.asarray(traj.steps, float)) * float(traj.md_timestep)
        else:
            times = np.asarray(traj.times, float) + shift
            if self.follower.format == "ipi":     # i-PI's own times where the run changed its time step, as fit's
                times = self.follower.step_times(traj.source.steps, times)
        temps = np.full(len(u), np.nan) if temperature is None else np.asarray(temperature, float)
        volume = np.full(len(u), np.nan) if cells is None else np.abs(np.linalg.det(np.asarray(cells, float)))
        drift = u.mean(axis=1)
        u = u - drift[:, None, :]
        self._check_sites(u[-1], times[-1])
        msd = np.mean(np.sum(u * u, axis=2), axis=1)
        # everything computed: the state changes in a few plain statements after it
        if velocities is None and self.follower.format == "ipi" and self.follower.ipi_velocities[1]:
            from trajmodes.io import velocities_hint          # velocities left out along the run: why, and the fix
            self.live.write_velocities = velocities_hint(*self.follower.ipi_velocities)
        self.live.add(self.growing.n_frames, u, velocities, times)
        self.growing.add(u, f, energy, temperature, cells, self.ideal.cell if cells is not None else None)
        for name, values in (("time", times), ("temperature", temps), ("msd", msd), ("wall", [time.time()] * len(u)),
                             ("volume", volume)):
            self._series[name].extend(np.asarray(values, float).tolist())
        self._drift = self._drift + drift[-1]
        self._steps, self._last_frame = line, last_frame

    def _check_sites(self, u: np.ndarray, t: float) -> None:
        """Refuse a crystal whose atoms left their sites: more than :data:`MELTED_SHARE` of them farther than half
        the nearest-neighbour distance from their site (the drift of the whole taken out) in the frame at ``t`` ps.
        Effective phonons are those of atoms that vibrate about sites; a liquid's would be fitted as if it were a
        crystal."""
        far = np.linalg.norm(u, axis=1) > self._site_radius
        if far.mean() <= MELTED_SHARE:
            return
        raise ValueError(
            f"{self.settings.path}: at {t:.4g} ps {int(far.sum())} of {len(u)} atoms are farther than half the "
            f"nearest-neighbour distance ({self._site_radius:.3g} A) from their sites: the crystal melted (or its "
            "atoms diffuse), and effective phonons of atoms that left their sites mean nothing; the watch stops "
            "here (the updates before it are kept). Run the crystal below its melting point"
            + ("" if self.last is None else f" (the last update, {self.last.index}, was at {self.last.time:.4g} ps)"))

    def _on_step_line(self, traj):
        """The frames of a LAMMPS take on the run's time line (:class:`~trajmodes.io.trajectories.restarts.StepLine`,
        as ``trajmodes fit`` reads the whole dump): a restart's repeats left out with a warning, a frame at a
        ``reset_timestep`` that repeats the configuration the run before ended in left out, the steps of a new
        segment continued. Returns (the frames kept, the shift of their times in ps, the time line after them and the
        last frame kept: positions and cell, for the next take's junction), or None where none is kept; the watch's
        state is not changed."""
        from trajmodes.io import same_configuration
        src = traj.source
        raw = np.asarray(src.steps, np.int64)
        line = copy.copy(self._steps)

        def frame(k: int) -> tuple:
            d = src.read(np.array([k]), fields=("positions",))
            return d["positions"][0], d["cells"][0]

        def same(j: int, k: int) -> bool:
            before = frame(j) if j >= 0 else self._last_frame
            return before is not None and same_configuration(*before, *frame(k))
        keep, continued, _ = line.add(raw, same)
        dropped = line.repeats - self._steps.repeats
        if dropped:
            k = line.first_repeat
            warnings.warn(f"{self.settings.path}: {dropped} new frame(s) repeat or go back in time (the first at MD "
                          f"step {int(raw[k])}: a restarted run appending to the file) and were left out, as trajmodes "
                          "fit leaves them out (it keeps the first frame of each time step)", UserWarning,
                          stacklevel=3)
        if not keep.any():
            return None
        kept = np.flatnonzero(keep)
        last = frame(int(kept[-1])) if line.resets else None     # only a reset asks for the configuration
        shift = (continued - raw)[kept] * self._step_time if self._step_shift else 0.0
        return (traj if keep.all() else traj[kept]), shift, line, last

    def _past_repeats(self, traj):
        """``traj`` without its frames at times already held (a restarted run that appends to the same file repeats
        the steps since its restart file, as ``trajmodes fit`` keeps the first of each step), None when none is
        left; a warning says how many were left out."""
        t = np.asarray(traj.times, float)
        held = self._series["time"][-1] if self._series["time"] else -np.inf
        latest = np.maximum.accumulate(np.concatenate([[held], t]))[:-1]
        keep = t > latest + 1e-9 * max(1.0, abs(float(latest[-1])) if np.isfinite(latest[-1]) else 1.0)
        if keep.all():
            return traj
        k = int(np.flatnonzero(~keep)[0])
        warnings.warn(f"{self.settings.path}: {int((~keep).sum())} new frame(s) repeat or go back in time (the first "
                      f"at {t[k]:.6g} ps, after {latest[k]:.6g} ps: a restarted run appending to the file) and were "
                      "left out, as trajmodes fit leaves them out (it keeps the first frame of each time step)",
                      UserWarning, stacklevel=2)
        return traj[np.flatnonzero(keep)] if keep.any() else None

    # -- one update ------------------------------------------------------------------------------------------------
    def read_new(self, max_frames: int | None = None) -> int:
        """Read the complete frames written since the last call and add them to the normal equations held.

        Parameters
        ----------
        max_frames : int, optional
            Read at most this many of the new frames (a replay's step); default all of them.

        Returns
        -------
        int
            The frames read (0: none written since). An error or an interrupt while they are added leaves them
            unread, for the next call.
        """
        at = self.follower.mark()
        new = self.follower.poll(max_frames)
        if not len(new):
            return 0
        try:
            path = self.follower.take(new)
            n_before = self.growing.n_frames if self.growing is not None else 0
            if self.base is None:
                self._start(path)
            self._add(path, n_before)
        except BaseException as e:        # an interrupt (or an error) before they were added: read them again later
            self.follower.rewind(at)
            said = in_run(e, self.follower, at)     # named in the run's file, not in the take's private copy
            if said is e:
                raise
            raise said from None
        return len(new)

    def refit(self, seconds: float = 0.0, bytes_read: int = 0) -> WatchUpdate:
        """Solve from the frames held (the transient left out) and make the update.

        Parameters
        ----------
        seconds : float
            Wall seconds already spent on this update (reading its frames), added to the solve's in
            :attr:`WatchUpdate.seconds`.
        bytes_read : int
            Bytes read from the run's files for this update (:attr:`WatchUpdate.bytes_read`).

        Returns
        -------
        WatchUpdate
            The update, also kept as :attr:`last` and appended to :attr:`history`.
        """
        from trajmodes.forceconstants import cell_mismatch, cell_statistics
        from trajmodes.lattice import special_points
        from trajmodes.phonons.harmonic.convergence import cutoff_convergence
        s = self.settings
        t0 = time.perf_counter()
        times = np.asarray(self._series["time"])
        volume = np.asarray(self._series["volume"])
        changing = bool(np.isfinite(volume).all() and np.ptp(volume) > VOLUME_CHANGE * np.mean(volume))
        transient = find_transient(np.asarray(self._series["temperature"]), np.asarray(self._series["msd"]),
                                   self.growing.block_frames, volume if changing else None)
        est = copy.copy(self.base)
        self.growing.solve(transient.frame, estimator=est)
        mismatch = None if self._cell_said else cell_mismatch(*cell_statistics(est.segments_)[:2])
        supported = None
        if est.segments_.n_blocks >= 2:
            conv = cutoff_convergence(est, n_resamples=min(s.n_resamples, 100), seed=s.seed)
            supported = float(conv.cutoff2)
        pts = special_points(est.primitive_)
        labels, q = list(pts), np.array(list(pts.values()), float)
        if not hasattr(est, "params_samples_"):        # the block bootstrap (the error model's bootstrap part)
            est.bootstrap(s.n_resamples, s.seed)
        first = self.growing.first_frame_of(transient.frame)
        live = self.live.errors(est, q, first)
        fw = live.errors.result
        fitted = self.growing.held_frames(transient.frame)
        n = self.growing.n_frames
        fitted_time = float(times[-1] - times[first]) if fitted > 1 else 0.0
        prev = self.last
        change = None
        if prev is not None and prev.frequency.shape == fw.frequency.shape:
            change = fw.frequency - prev.frequency
        err = worst_error(fw.frequency, fw.frequency_err)
        history = [(u.fitted_time, u.worst_error(), *error_bar_state(u.estimator)) for u in self.history] + [
            (fitted_time, err, *error_bar_state(est))]
        pace = self._pace()
        prediction = predict_target(history, s.target, pace)
        below = bool(np.isfinite(err) and err <= s.target)
        # reached: below the target at two updates in a row, the frames of each stationary (a run still heating
        # through its first update can have error bars below the target and a temperature not yet trending in it)
        confirmed = prev is not None and prev.transient.stationary and prev.worst_error() <= s.target
        if below and not transient.stationary:
            prediction = Prediction(err, float("nan"), float("nan"), float("nan"), prediction.pace,
                                    "the error bars are below the target, but the run is not stationary yet")
        elif below and not confirmed:
            prediction = Prediction(err, float("nan"), float("nan"), float("nan"), prediction.pace,
                                    "the error bars are below the target: the next update confirms it (the target "
                                    "is reached when it holds at two updates in a row)")
        update = WatchUpdate(
            index=len(self.history), frames_read=n, first_frame=first, frames_fitted=fitted,
            time=float(times[-1]), fitted_time=fitted_time, labels=labels, qpoints=q, frequency=fw.frequency,
            frequency_err=fw.frequency_err, change=change, cutoff2=float(est.cutoff2), supported_cutoff=supported,
            temperature=float(est.temperature_), temperature_err=float(getattr(est, "temperature_err_", np.nan)),
            transient=transient, prediction=prediction,
            converged=below and transient.stationary and confirmed,
            seconds=seconds + time.perf_counter() - t0, bytes_read=bytes_read, wall=time.time(), estimator=est,
            drift=float(np.linalg.norm(self._drift)), times_assumed=self.times_assumed,
            volume=(float(np.mean(volume[first:])), float(np.std(volume[first:]))) if changing else None,
            errors=live)
        self.history.append(update)
        self.last = update
        if mismatch is not None:          # said once, as trajmodes fit says it
            self._cell_said = True
            warnings.warn(f"{s.path}: {mismatch}", UserWarning, stacklevel=2)
        return update

    def _pace(self) -> float | None:
        """ps of simulated time per wall hour at which the run grows (None in a replay or before it grew twice)."""
        if self.settings.replay or len(self.history) < 1:
            return None
        t, w = np.asarray(self._series["time"]), np.asarray(self._series["wall"])
        first = self.history[0].frames_read - 1
        dt_wall = w[-1] - w[first]
        if dt_wall <= 0:
            return None
        return float((t[-1] - t[first]) / dt_wall * 3600.0)

    # -- following -------------------------------------------------------------------------------------------------
    def _due(self) -> bool:
        """Whether the frames read call for an update (``every`` ps of simulated time since the last)."""
        if self.growing is None or self.growing.n_frames < MIN_BLOCKS * self.settings.block_frames:
            return False
        if self.settings.every is None:
            return True
        every, times = self.settings.every, self._series["time"]
        t, t0 = times[-1], times[0]
        if self._next_time is None:
            self._next_time = t0 + every
        if t + 1e-9 < self._next_time:
            return False
        # the first due time after t (not stepped there: an every far below the frames' interval would loop for long)
        self._next_time = t0 + every * (np.floor((t + 1e-9 - t0) / every) + 1.0)
        interval = float(np.median(np.diff(times)))
        if interval > every and not self._every_said:
            self._every_said = True
            warnings.warn(f"--every {every:g} ps is shorter than the {interval:.3g} ps between the frames of "
                          f"{self.settings.path}: the watch refits at every new batch of frames it reads instead",
                          UserWarning, stacklevel=2)
        return True

    def follow(self):
        """Yield a :class:`WatchUpdate` at every update until the target is reached (and ``then`` has run), the file
        stopped growing for ``idle`` seconds, or (replay) the run's end."""
        s = self.settings
        quiet_since = time.monotonic()
        try:
            while True:
                t0, b0 = time.perf_counter(), self.follower.bytes_read
                step = self._replay_step() if s.replay else None
                got = self.read_new(step)
                if got:
                    quiet_since = time.monotonic()
                elif not s.replay:
                    self.finished = self.follower.finished()         # a run that says it ended is not waited for
                last = s.replay or self.finished is not None or (
                    s.idle is not None and time.monotonic() - quiet_since >= s.idle)
                if not got and last and not self.follower.ended:
                    # the run's files are whole: read once more, a file that stopped (an i-PI velocities file
                    # written more rarely than the positions) not waited for
                    self.follower.ended = True
                    continue
                if (got and self._due()) or (not got and last and self.growing is not None and (
                        self.last is None or self.last.frames_read < self.growing.n_frames) and
                        self.growing.n_frames >= MIN_BLOCKS * s.block_frames):     # at the end: the frames since
                    update = self.refit(time.perf_counter() - t0, self.follower.bytes_read - b0)
                    if update.converged and self.reached_at is None:
                        self.reached_at = update          # before the caller sees it: it writes fc.nc, says so
                    yield update
                    if self.reached_at is update:         # after the caller wrote its files: `then` may stop the run
                        self._run_then()
                        if not s.replay:
                            return
                    if got:
                        continue
                if got:
                    continue
                if last:
                    return
                time.sleep(s.poll)
        finally:
            self.follower.close()

    def _replay_step(self) -> int | None:
        """Frames per replayed update: ``every`` ps of frames (at first the frames an update needs, their interval not
        known yet), else 16 blocks."""
        s = self.settings
        if s.every is not None and (self.growing is None or len(self._series["time"]) < 2):
            return MIN_BLOCKS * s.block_frames
        if s.every is None or self.growing is None:
            return 16 * s.block_frames
        t = np.asarray(self._series["time"])
        interval = float(np.median(np.diff(t))) if len(t) > 1 else 0.0
        if interval <= 0:
            return 16 * s.block_frames
        due = self._next_time if self._next_time is not None else t[0] + s.every
        return max(int(np.ceil((due - t[-1]) / interval - 1e-6)), 1)     # the frames up to the next update's time

    def _run_then(self) -> None:
        """Run the ``then`` command once the target is reached (its exit status kept as :attr:`then_status`)."""
        if not self.settings.then:
            return
        env = dict(os.environ, TRAJMODES_WATCH_FRAMES=str(self.last.frames_read),
                   TRAJMODES_WATCH_TIME=f"{self.last.time:.6g}")
        self.then_status = subprocess.call(self.settings.then, shell=True, env=env)

    def write(self, folder, draw=None) -> list:
        """Write the last update into ``folder``: ``watch.nc`` (every update's frequencies, error bars, temperature,
        start frame and prediction), ``watch.png`` (the figure) and, once the target is reached, ``fc.nc`` (the
        converged constants, as ``trajmodes fit`` writes them). Each file is replaced whole (atomically).

        Parameters
        ----------
        folder : str or path-like
            The folder written into (made where missing).
        draw : callable, optional
            ``draw(dataset, path)`` writes the figure of the watch dataset to ``path``
            (:func:`trajmodes.plots.plot_watch`); None: no figure.

        Returns
        -------
        list
            The paths written.
        """
        from trajmodes.workflows.watch_outputs import write_watch
        return write_watch(self, folder, draw)


def watch(settings: WatchSettings, printer=print, folder=None, draw=None):
    """Follow the run of ``settings``: print every update's table, write the outputs after each, and say when the
    target is reached (and how the ``then`` command ended).

    Parameters
    ----------
    settings : WatchSettings
        The run's file, how it is read and fitted, and the target (THz) it is followed to.
    printer : callable
        Called with each text shown (a str): every update's table (:meth:`WatchUpdate.table`), the target
        reached, how the ``then`` command ended; default ``print``.
    folder : str or path-like, optional
        The folder each update's files are written into (:meth:`Watch.write`); None: nothing is written.
    draw : callable, optional
        ``draw(dataset, path)`` writes the figure into ``folder`` (:func:`trajmodes.plots.plot_watch`); None: no
        figure.

    Returns
    -------
    Watch
        The watch followed: its last update, history and whether (and where) the target was reached.
    """
    w = Watch(settings)
    for update in w.follow():
        printer(update.table(settings.target))
        if folder is not None:
            w.write(folder, draw)
        if w.reached_at is update:
            printer(f"target reached: every frequency at the special points within +-{settings.target:g} THz after "
                    f"{update.fitted_time:.3g} ps fitted ({update.frames_fitted} frames"
                    + ("; times ASSUMED, 1 ps between frames" if update.times_assumed else "") + ")"
                    + ("" if folder is None else f"; the constants written to {os.path.join(folder, 'fc.nc')}"))
    if w.then_status is not None:
        printer(f"ran {shlex.quote(settings.then)}: " + ("done (exit status 0)" if w.then_status == 0 else
                f"it FAILED with exit status {w.then_status}; run it yourself (the target was reached)"))
    return w
