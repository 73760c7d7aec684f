"""The files of a path-integral run: which bead files belong to it and what its input says (:class:`BeadFiles`), and
the registry's entries that know a path-integral run from one of its files (:data:`PATH_INTEGRAL_KINDS`).

The codes write one file per bead: i-PI ``PREFIX.pos_K.xyz`` (with ``PREFIX.for_K.xyz``, ``PREFIX.vel_K.xyz`` and the
centroid ``PREFIX.xc.xyz``; :mod:`trajmodes.io.trajectories.ipi_files`), LAMMPS ``fix pimd/langevin`` one dump per
partition (``dump 1 all custom 10 dump.${ibead} ...`` run as ``mpirun -np P lmp -partition Px1 -in in.pimd``), GPUMD's
``dump_beads`` ``beads_dump_K.xyz`` beside its ``run.in`` (:mod:`trajmodes.io.trajectories.gpumd`). The files are read
as a ring polymer by :func:`trajmodes.trajectory.beads.read_beads`; this module only finds them (no frame parsed).
"""
from __future__ import annotations

import glob
import os
import re
from dataclasses import dataclass

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.filesystem import read_head, refuse_unreadable
from trajmodes.io.trajectories.gpumd import GPUMD_BEAD_DUMP, is_gpumd_beads, read_gpumd_run_in
from trajmodes.io.trajectories.ipi import IPISource
from trajmodes.io.trajectories.ipi_files import ipi_run_files
from trajmodes.io.trajectories.lammps import LammpsDumpSource
from trajmodes.io.trajectories.lammps_input import LAMMPS_INPUT_BYTES, LammpsInput
from trajmodes.io.trajectories.lammps_script import DEFAULT_TIMESTEP
from trajmodes.units import conversion

__all__ = ["BeadFiles", "find_beads", "GPUMDBeads", "LammpsPartitions", "IPIBeads"]

#: LAMMPS' path-integral fixes and the temperature keyword of their arguments
_PIMD_STYLE = re.compile(r"pimd(?:/langevin|/nvt)?(?:/bosonic)?")
#: the files of a LAMMPS run's folder that may be its input or its per-partition logs
_LAMMPS_INPUTS = ("in.*", "*.in", "*.lmp", "*.lammps", "log.lammps*", "*.log")


@dataclass(frozen=True)
class BeadFiles:
    """The files of one path-integral run, found by :func:`find_beads`.

    Parameters
    ----------
    kind : {"ipi", "lammps", "gpumd"}
        The program that wrote the beads: i-PI, LAMMPS (``fix pimd``) or GPUMD.
    paths : tuple of str
        The positions file (i-PI), dump (LAMMPS) or ``beads_dump_K.xyz`` (GPUMD) of every bead, in bead order.
    first : int
        The index of the first bead in the file names (0 for i-PI; LAMMPS' may start at 1).
    centroid : str or None
        i-PI's centroid file ``PREFIX.xc.xyz``, where there is one.
    input : str or None
        The run's input (i-PI XML, LAMMPS input or log, GPUMD run.in) the settings below come from.
    temperature : float or None
        K, as the input states it.
    stated_beads : int or None
        The bead count the input states (i-PI's ``nbeads``; LAMMPS' ``variable ... world`` values; GPUMD's
        ``ensemble pimd|rpmd|trpmd P``).
    md_timestep : float or None
        ps (LAMMPS: the input's ``timestep`` in its units; GPUMD: run.in's ``time_step``, the frames' times are their
        ``Time=``; i-PI's reader finds its own).
    units : str or None
        LAMMPS' unit style.
    temperature_problem : str or None
        Why the input states no temperature (no input found, a temperature ramp, ...), for the message of
        :meth:`RingPolymerRun.require_temperature`.
    stated_frames : int or None
        The frames the input's runs write (GPUMD: the runs with ``dump_beads``); bead files with more are refused.
    """

    kind: str
    paths: tuple
    first: int = 0
    centroid: str | None = None
    input: str | None = None
    temperature: float | None = None
    stated_beads: int | None = None
    md_timestep: float | None = None
    units: str | None = None
    temperature_problem: str | None = None
    stated_frames: int | None = None

    @property
    def n_beads(self) -> int:
        return len(self.paths)

    def describe(self) -> str:
        """One line: ``i-PI path-integral run: 8 beads at 50 K (input.xml)``."""
        code = {"ipi": "i-PI", "lammps": "LAMMPS fix pimd", "gpumd": "GPUMD"}[self.kind]
        t = "at an unknown temperature" if self.temperature is None else f"at {self.temperature:g} K"
        said = f" ({os.path.basename(self.input)})" if self.input else ""
        return f"{code} path-integral run: {self.n_beads} beads {t}{said}"


def _bead_glob(folder: str, stem: str, suffix: str) -> dict[int, str]:
    """bead index -> file, for the files ``stem<digits>suffix`` in ``folder``."""
    rx = re.compile(re.escape(stem) + r"(\d+)" + re.escape(suffix) + r"$")
    out: dict[int, list] = {}
    for p in glob.glob(os.path.join(glob.escape(folder), glob.escape(stem) + "*" + glob.escape(suffix))):
        m = rx.match(os.path.basename(p))
        if m:
            out.setdefault(int(m.group(1)), []).append(p)
    twice = {k: v for k, v in out.items() if len(v) > 1}
    if twice:
        k, v = next(iter(twice.items()))
        raise TrajectoryFormatError(v[0], f"bead {k} has several files: {', '.join(sorted(map(os.path.basename, v)))}",
                                    fix="keep one file per bead (the same zero padding for all)")
    return {k: v[0] for k, v in out.items()}


def _contiguous(found: dict[int, str], first: int, name_of, what: str) -> list[str]:
    """The files of beads ``first`` .. max, refusing a missing bead (naming the file it should be)."""
    if not found:
        raise FileNotFoundError(f"{what}: no bead file found")
    last = max(found)
    missing = [k for k in range(first, last + 1) if k not in found]
    if missing:
        raise TrajectoryFormatError(name_of(missing[0]), f"bead {missing[0]} of beads {first}..{last} is missing "
                                    f"({len(missing)} missing in all)",
                                    fix="copy every bead's file of the run into the folder (a path-integral run needs "
                                        "all of its beads)")
    return [found[k] for k in range(first, last + 1)]


def _ipi_beads(path: str) -> BeadFiles:
    """The bead files of the i-PI run of ``path`` (any of its output files):
    :func:`~trajmodes.io.trajectories.ipi_files.ipi_run_files`, from the names alone (no file parsed)."""
    run = ipi_run_files(path)
    inp = run.input
    return BeadFiles("ipi", tuple(run.beads), 0, run.centroid, None if inp is None else inp.path,
                     None if inp is None else inp.temperature, None if inp is None else inp.n_beads,
                     None if inp is None else inp.md_timestep)


def _lammps_input(folder: str, dump: str):
    """What the LAMMPS input (or per-partition log) in ``folder`` with a path-integral fix says about the run that
    writes the dump's file (a per-partition name such as ``dump.${ibead}`` matches every partition's dump):
    (its :class:`~trajmodes.io.trajectories.lammps_input.LammpsInput`, its settings for the dump, the fix), or None."""
    base = os.path.basename(dump)
    stem = base[:-3] if base.endswith(".gz") else base
    seen = set()
    for pattern in _LAMMPS_INPUTS:
        for p in sorted(glob.glob(os.path.join(glob.escape(folder), pattern))):
            if p in seen or os.path.abspath(p) == os.path.abspath(dump) or not os.path.isfile(p):
                continue
            seen.add(p)
            try:
                with open(p, "rb") as f:
                    head = f.read(LAMMPS_INPUT_BYTES)
            except OSError:
                continue
            if b"\0" in head[:4096] or b"pimd" not in head:
                continue
            model = LammpsInput.read(p)
            settings = None if model is None else model.settings(stem)
            if settings is None:
                continue
            fixes = [c for c in settings.before_run("fix") if len(c.args) > 2 and _PIMD_STYLE.fullmatch(c.args[2])]
            if fixes:
                return model, settings, fixes[-1]
    return None


def _lammps_beads(path: str, got=None) -> BeadFiles:
    """The per-partition dumps of the LAMMPS run of the dump ``path`` and what its input says (``got``: what
    :func:`_lammps_input` found for it, where already asked)."""
    base = os.path.basename(path)
    m = re.match(r"^(.*?)(\d+)(\D*)$", base)
    if m is None:
        raise TrajectoryFormatError(path, "its name holds no bead number (dump.K, dump.K.lammpstrj, ...)",
                                    fix="give one of the per-partition dumps of the run (its name with the bead index)")
    folder = os.path.dirname(path)
    stem, suffix = m.group(1), m.group(3)
    found = _bead_glob(folder, stem, suffix)
    first = min(found)
    if first not in (0, 1):
        raise TrajectoryFormatError(path, f"the bead dumps are numbered from {first}", fix="give the dumps of every "
                                    "bead, numbered from 0 or 1 (LAMMPS' partitions)")
    width = len(m.group(2))
    paths = [os.path.abspath(q) for q in
             _contiguous(found, first, lambda k: os.path.join(folder, f"{stem}{k:0{width}d}{suffix}"), path)]
    got = _lammps_input(folder or ".", path) if got is None else got
    if got is None:
        return BeadFiles("lammps", tuple(paths), first)
    model, settings, fix = got
    inp = model.path
    args = list(fix.args[3:])
    t = next((args[k + 1] for k in range(len(args) - 1) if args[k] == "temp"), None)
    try:
        temperature = None if t is None or fix.unknown else float(t)
    except ValueError:
        temperature = None
    style = settings.units or "metal"
    stated = None
    for kind, values in model.world_variables.values():
        stated = len(values) if kind in ("world", "universe") or not values else \
            (int(values[-1]) if str(values[-1]).isdigit() else None)
        break
    conv = conversion(style) if style != "lj" else None
    dt = settings.md_timestep if settings.timestep_problem is None else None
    if dt is None and settings.timestep_problem is None and style != "lj":
        dt = DEFAULT_TIMESTEP.get(style)
    files = BeadFiles("lammps", tuple(paths), first, None, os.path.abspath(inp), temperature, stated,
                      None if dt is None or conv is None else dt * conv.time, style,
                      temperature_problem=None if temperature is not None else
                      (f"{fix.name} {' '.join(fix.args)} ({fix.where()}): " +
                       (fix.unknown if fix.unknown else "it states no temperature (temp T)")))
    if stated is not None and stated != files.n_beads:
        raise TrajectoryFormatError(inp, f"the input runs {stated} partitions (beads), but {files.n_beads} dumps "
                                    f"{stem}K{suffix} are beside it",
                                    fix="copy the dump of every partition into the folder")
    return files


def _gpumd_beads(path: str) -> BeadFiles:
    """The bead files ``beads_dump_K.xyz`` of the GPUMD run in the folder ``path`` or of the bead file ``path``, and
    what the run.in beside them says (:func:`~trajmodes.io.trajectories.gpumd.read_gpumd_run_in`)."""
    folder = path if os.path.isdir(path) else os.path.dirname(path) or "."
    stem, suffix = GPUMD_BEAD_DUMP
    found = _bead_glob(folder, stem, suffix)
    if not found:
        raise FileNotFoundError(f"{path}: no GPUMD bead files {stem}K{suffix} in {folder}")
    paths = tuple(os.path.abspath(q) for q in _contiguous(
        found, 0, lambda k: os.path.join(folder, f"{stem}{k}{suffix}"), path))
    run_in = os.path.join(folder, "run.in")
    if not os.path.isfile(run_in):
        return BeadFiles("gpumd", paths, temperature_problem=f"no run.in beside {os.path.basename(paths[0])}, so "
                                                             "neither the temperature nor the bead count is known")
    run = read_gpumd_run_in(run_in)
    if run.n_beads is not None and run.n_beads != len(paths):
        raise TrajectoryFormatError(run_in, f"ensemble {run.ensemble} runs {run.n_beads} beads, but {len(paths)} bead "
                                            f"files {stem}K{suffix} are beside it", line=run.line,
                                    fix="copy the file of every bead of the run into the folder (or the run.in of "
                                        "this run beside them)")
    return BeadFiles("gpumd", paths, 0, None, run.path, run.temperature, run.n_beads, run.md_timestep,
                     temperature_problem=None if run.problem is None else f"run.in: {run.problem}",
                     stated_frames=run.frames or None)


# ------------------------------------------------------------------- the registry's entries of path-integral runs
# Each knows its code's run from one of its files (or GPUMD's folder) and finds its bead files
# (:func:`~trajmodes.io.trajectories.registry.identify` asks them before the trajectory readers that would take one
# bead's file as an ordinary trajectory).

class GPUMDBeads:
    """GPUMD's ``dump_beads`` (``ensemble pimd|rpmd|trpmd P``): ``beads_dump_K.xyz`` beside its run.in, or the folder of
    those files."""

    kind = "path-integral"
    format_names = ("gpumd-beads",)
    takes_folders = True
    needs = ("a GPUMD path-integral run needs files named beads_dump_K.xyz whose comment lines start with Time= and "
             "hold Properties=species:S:1:pos:R:3 (dump_beads), or the folder holding them")

    @classmethod
    def bead_files(cls, head: bytes | None, path: str) -> BeadFiles | None:
        return _gpumd_beads(path) if is_gpumd_beads(path) else None


class LammpsPartitions:
    """LAMMPS ``fix pimd/langevin`` (``pimd/nvt``, ``/bosonic``) run as P partitions, one dump per partition: a dump
    whose folder holds an input or per-partition log that runs the fix and writes dumps of its name."""

    kind = "path-integral"
    format_names = ("lammps-pimd",)
    takes_folders = False
    needs = ("a LAMMPS path-integral run needs one dump per partition (dump.K, K the bead number) and beside them "
             "the input or log (in.*, *.in, *.lmp, *.lammps, log.lammps*) that runs fix pimd/langevin or pimd/nvt "
             "and writes dumps of that name")

    @classmethod
    def bead_files(cls, head: bytes | None, path: str) -> BeadFiles | None:
        if head is None or not LammpsDumpSource.can_open(head, path):
            return None
        got = _lammps_input(os.path.dirname(path) or ".", path)
        return None if got is None else _lammps_beads(path, got)


class IPIBeads:
    """An i-PI path-integral run: one bead's file (positions, forces, velocities, ``PREFIX.pos_K.xyz``) or the
    centroid's, the others found by their names beside it."""

    kind = "path-integral"
    format_names = ("ipi-beads",)
    takes_folders = False
    needs = ("an i-PI path-integral run needs its bead files PREFIX.pos_K.xyz (XYZ with i-PI's comment line: "
             "CELL(abcABC): and a quantity with its unit in braces) for more than one bead K")

    @classmethod
    def bead_files(cls, head: bytes | None, path: str) -> BeadFiles | None:
        return _ipi_beads(path) if head is not None and IPISource.can_open(head, path) else None


def find_beads(path) -> BeadFiles:
    """The bead files of the path-integral run that ``path`` belongs to.

    Parameters
    ----------
    path : str or os.PathLike
        One bead's file (i-PI ``sim.pos_0.xyz``, or its forces or velocities file, or the centroid ``sim.xc.xyz``;
        a LAMMPS dump ``dump.pimd.1``; GPUMD's ``beads_dump_0.xyz``), i-PI's output prefix (``sim``, with its
        folder) or the folder of GPUMD's bead files.

    Returns
    -------
    BeadFiles
        Every bead's file, sorted by bead index, and what the run's input says (temperature, bead count, time step).

    Raises
    ------
    trajmodes.errors.TrajectoryFormatError
        A bead missing between the first and the last; a bead count that the input states otherwise.
    FileNotFoundError
        No file at ``path`` and no i-PI files of that prefix.
    """
    path = os.fspath(path)
    if is_gpumd_beads(path):
        return _gpumd_beads(path)
    if not os.path.isfile(path):
        hits = sorted(glob.glob(glob.escape(path) + ".*_*.xyz*"), key=lambda h: (".pos_" not in h, h))
        if not hits:
            raise FileNotFoundError(f"{path}: no such file, and no i-PI bead files {path}.pos_K.xyz")
        return _ipi_beads(hits[0])
    head = read_head(path)
    refuse_unreadable(path, head)
    if IPISource.can_open(head, path):
        return _ipi_beads(path)
    if LammpsDumpSource.can_open(head, path):
        return _lammps_beads(path)
    raise TrajectoryFormatError(path, "not a bead of an i-PI, LAMMPS or GPUMD path-integral run: "
                                f"{IPIBeads.needs}; {LammpsPartitions.needs}; {GPUMDBeads.needs}",
                                fix="give an i-PI PREFIX.pos_K.xyz file, a LAMMPS fix pimd dump or GPUMD's "
                                    "beads_dump_K.xyz")
