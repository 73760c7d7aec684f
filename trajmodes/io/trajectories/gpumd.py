"""GPUMD's path-integral output: the per-bead files of ``dump_beads`` and what ``run.in`` and ``model.xyz`` say of
the run (GPUMD: Fan et al., J. Chem. Phys. 157, 114801 (2022); its PIMD, RPMD and TRPMD integrators follow Ceriotti,
Parrinello, Markland and Manolopoulos, J. Chem. Phys. 133, 124104 (2010) and Rossi, Ceriotti and Manolopoulos, J.
Chem. Phys. 140, 234116 (2014)).

A run of ``ensemble pimd <P> <T1> <T2> <T_coup> [pressure control]`` (or ``ensemble rpmd <P>``, ``ensemble trpmd
<P>``: these take the temperature of the ``pimd`` run before them, its final ``T2``, for the ring polymer's springs and
thermostat) with ``dump_beads <interval> <has_velocity> <has_force>`` writes P extended XYZ files in its folder,
``beads_dump_0.xyz`` ... ``beads_dump_{P-1}.xyz``, one per bead. Every frame is::

    32
    Time=1010.00000000 pbc="T T T" Lattice="ax ay az bx by bz cx cy cz" Properties=species:S:1:pos:R:3:vel:R:3:...
    Ar 0.00123456 -0.00234567 0.00345678 0.00001234 ...

``Time=`` is the run's time in fs (accumulated over the ``run`` commands of run.in, written after step ``k
interval`` of a run: the first frame one interval after the run's start), the lattice the cell vectors a, b, c in Å,
positions in Å, velocities in Å/fs (``vel``, where ``has_velocity``), forces in eV/Å (``forces``, where
``has_force``), all with 8 decimals. There is no step number. GPUMD opens the files for appending: a second run in
the same folder adds its frames to the first's. The beads of an atom are kept whole (each bead's image nearest bead
0), not wrapped into the cell.

:func:`is_bead_dump` and :func:`is_gpumd_beads` recognise the files (the XYZ reader then reads ``Time=`` in fs and
the velocities in Å/fs: :class:`~trajmodes.io.trajectories.xyz.XYZSource`); :func:`read_gpumd_run_in` reads what
``run.in`` says of the runs that dumped the beads (:class:`GPUMDRun`); :func:`gpumd_model_masses` the masses of
``model.xyz``'s mass column.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import numpy as np

from trajmodes.errors import TrajectoryFormatError

__all__ = ["GPUMD_BEAD_DUMP", "GPUMD_TIME_PS", "GPUMDRun", "is_bead_dump", "is_gpumd_beads",
           "read_gpumd_run_in", "gpumd_model_masses"]

#: GPUMD's bead file names ``beads_dump_<k>.xyz`` (k from 0, no padding): the part before k and the part after
GPUMD_BEAD_DUMP = ("beads_dump_", ".xyz")
BEAD_DUMP_NAME = re.compile(r"^beads_dump_(\d+)\.xyz$")
#: ps per fs: GPUMD writes ``Time=`` in fs, velocities in Å/fs, and reads ``time_step`` in fs
GPUMD_TIME_PS = 1e-3
#: GPUMD's time step without a ``time_step`` command, fs
DEFAULT_TIME_STEP_FS = 1.0
_ENSEMBLES = ("pimd", "rpmd", "trpmd")


def is_bead_dump(path: str, comment: bytes) -> bool:
    """Whether ``path`` with its first comment line ``comment`` is a file of GPUMD's ``dump_beads``: named
    ``beads_dump_<k>.xyz``, the comment line starting with ``Time=`` and holding GPUMD's ``Properties=species:S:1:
    pos:R:3``."""
    return (BEAD_DUMP_NAME.match(os.path.basename(os.fspath(path))) is not None
            and comment.lstrip().startswith(b"Time=") and b"Properties=species:S:1:pos:R:3" in comment)


def is_gpumd_beads(path) -> bool:
    """Whether ``path`` is a bead file of GPUMD's ``dump_beads`` (:func:`is_bead_dump`, from its first two lines) or a
    folder holding files named as they are."""
    path = os.fspath(path)
    if os.path.isdir(path):
        try:
            return any(BEAD_DUMP_NAME.match(e) for e in os.listdir(path))
        except OSError:
            return False
    if BEAD_DUMP_NAME.match(os.path.basename(path)) is None or not os.path.isfile(path):
        return False
    try:
        with open(path, "rb") as f:
            f.readline()
            return is_bead_dump(path, f.readline(4096))
    except OSError:
        return False


@dataclass(frozen=True)
class GPUMDRun:
    """What GPUMD's ``run.in`` says of the runs that dumped the beads (:func:`read_gpumd_run_in`); None where it says
    nothing.

    Attributes
    ----------
    path : str
        run.in.
    ensemble : str or None
        ``pimd``, ``rpmd`` or ``trpmd``: the integrator of the runs with ``dump_beads``.
    n_beads : int or None
        P of their ``ensemble`` line.
    temperature : float or None
        K: ``T1`` of a ``pimd`` line with ``T1 == T2``; for ``rpmd`` and ``trpmd``, ``T2`` of the ``pimd`` line before
        (GPUMD's springs take it). None where :attr:`problem` says why.
    md_timestep : float
        ps: the ``time_step`` in force for those runs (GPUMD's default 1 fs without one).
    dump_interval : int or None
        Steps between frames (``dump_beads``).
    frames : int
        The frames those runs write: the sum of ``steps // interval`` over them.
    line : int or None
        The line of the ``ensemble`` command of the (first) run with ``dump_beads``.
    problem : str or None
        Why no temperature is taken: no run with ``dump_beads``, a temperature ramp (``T1 != T2``), runs at other
        temperatures, no ``pimd`` line before an ``rpmd`` run.
    """

    path: str
    ensemble: str | None
    n_beads: int | None
    temperature: float | None
    md_timestep: float
    dump_interval: int | None
    frames: int
    line: int | None
    problem: str | None


def _number(tok: list, k: int):
    try:
        return float(tok[k])
    except (IndexError, ValueError):
        return None


def read_gpumd_run_in(path: str) -> GPUMDRun:
    """What GPUMD's ``run.in`` at ``path`` says of its runs with ``dump_beads`` (:class:`GPUMDRun`): the keywords are
    read in order as GPUMD executes them, each ``run <steps>`` ending a run (its ``ensemble`` and ``dump_beads`` apply
    to it alone; ``time_step`` and the last ``pimd`` temperature carry on).

    Raises
    ------
    trajmodes.errors.TrajectoryFormatError
        A ``pimd``, ``rpmd``, ``trpmd``, ``time_step``, ``dump_beads`` or ``run`` line whose numbers GPUMD would not
        take (naming the line).
    """
    path = os.path.abspath(os.fspath(path))
    dt = DEFAULT_TIME_STEP_FS
    last_pimd = None                          # (T2, line) of the last pimd line: rpmd and trpmd take its T2
    ensemble = dump = None
    runs = []                                 # (kind, P, T or None, why none, dt fs, interval, steps, line)
    with open(path, "r", errors="replace") as f:
        lines = f.read().split("\n")
    for ln, text in enumerate(lines, 1):
        tok = text.split("#", 1)[0].split()
        if not tok:
            continue
        key = tok[0]
        if key == "time_step":
            dt = _number(tok, 1)
            if dt is None or dt <= 0:
                raise TrajectoryFormatError(path, f"time_step {' '.join(tok[1:])!r} is no positive time step (fs)",
                                            line=ln, fix="time_step <dt in fs> [max distance per step]")
        elif key == "ensemble":
            ensemble = (tok, ln)
            if len(tok) > 1 and tok[1] in _ENSEMBLES:
                p = _number(tok, 2)
                if p is None or p != int(p) or p < 1:
                    raise TrajectoryFormatError(path, f"ensemble {tok[1]}: {' '.join(tok[2:3])!r} is no bead count",
                                                line=ln, fix=f"ensemble {tok[1]} <number of beads> ...")
                if tok[1] == "pimd":
                    t1, t2 = _number(tok, 3), _number(tok, 4)
                    if t1 is None or t2 is None:
                        raise TrajectoryFormatError(path, "ensemble pimd without its temperatures T1 T2", line=ln,
                                                    fix="ensemble pimd <beads> <T1> <T2> <T_coup> [pressure control]")
                    last_pimd = (t1, t2, ln)
        elif key == "dump_beads":
            interval = _number(tok, 1)
            if interval is None or interval != int(interval) or interval < 1:
                raise TrajectoryFormatError(path, f"dump_beads {' '.join(tok[1:])!r}: no dump interval", line=ln,
                                            fix="dump_beads <interval> <has_velocity> <has_force>")
            dump = int(interval)
        elif key == "run":
            steps = _number(tok, 1)
            if steps is None or steps != int(steps) or steps < 0:
                raise TrajectoryFormatError(path, f"run {' '.join(tok[1:])!r}: no number of steps", line=ln,
                                            fix="run <number of steps>")
            if dump is not None:
                runs.append(_dumping_run(ensemble, last_pimd, dt, dump, int(steps)))
            ensemble = dump = None
    if not runs:
        return GPUMDRun(path, None, None, None, DEFAULT_TIME_STEP_FS * GPUMD_TIME_PS, None, 0, None,
                        "it has no run with dump_beads and a path-integral ensemble (pimd, rpmd or trpmd)")
    kind, p, t, why, dt, interval, _, line = runs[0]
    frames = sum(r[6] // r[5] for r in runs)
    others = [r for r in runs[1:] if (r[1], r[2], r[4], r[5]) != (p, t, dt, interval)]
    if why is None and others:
        o = others[0]
        why = (f"the runs with dump_beads differ (line {line}: {p} beads at {t} K, time step {dt:g} fs, every "
               f"{interval} steps; line {o[7]}: {o[1]} beads at {o[2]} K, {o[4]:g} fs, every {o[5]} steps)")
    return GPUMDRun(path, kind, p, None if why else t, dt * GPUMD_TIME_PS, interval, frames, line, why)


def _dumping_run(ensemble, last_pimd, dt: float, interval: int, steps: int) -> tuple:
    """(kind, P, T, why no T, dt fs, interval, steps, line) of a run with ``dump_beads``."""
    if ensemble is None or len(ensemble[0]) < 2 or ensemble[0][1] not in _ENSEMBLES:
        said = "no ensemble" if ensemble is None else f"ensemble {' '.join(ensemble[0][1:2])} (line {ensemble[1]})"
        return (None, None, None, f"a run with dump_beads has {said}, not pimd, rpmd or trpmd", dt, interval, steps,
                None if ensemble is None else ensemble[1])
    tok, line = ensemble
    kind, p = tok[1], int(float(tok[2]))
    if kind == "pimd":
        t1, t2, _ = last_pimd
        if t1 != t2:
            return (kind, p, None, f"line {line} ramps the temperature from {t1:g} K to {t2:g} K: the beads sample "
                                   "no one temperature", dt, interval, steps, line)
        return kind, p, t1, None, dt, interval, steps, line
    if last_pimd is None:
        return (kind, p, None, f"ensemble {kind} (line {line}) has no pimd line before it to take the temperature "
                               "from", dt, interval, steps, line)
    return kind, p, last_pimd[1], None, dt, interval, steps, line


def gpumd_model_masses(folder: str, n_atoms: int, species) -> np.ndarray | None:
    """Every atom's mass (amu) from the ``mass`` column of GPUMD's ``model.xyz`` in ``folder``; None where there is
    no model.xyz or it has no mass column (GPUMD then takes the standard atomic weights of the species).

    Raises
    ------
    trajmodes.errors.TrajectoryFormatError
        A model.xyz of another atom count or other species than the bead files (``species``, in atom order).
    """
    path = os.path.join(folder, "model.xyz")
    if not os.path.isfile(path):
        return None
    with open(path, "r", errors="replace") as f:
        first, comment = f.readline(), f.readline()
        m = re.search(r"properties=(\S+)", comment, re.I)
        if m is None:
            return None
        cols, at = {}, 0
        parts = m.group(1).split(":")
        for name, width in zip(parts[0::3], parts[2::3]):
            cols[name.lower()] = (at, at + int(width))
            at += int(width)
        if "mass" not in cols:
            return None
        try:
            n = int(first.split()[0])
        except (IndexError, ValueError):
            raise TrajectoryFormatError(path, "its first line is no atom count", line=1,
                                        fix="give the run's model.xyz") from None
        if n != n_atoms:
            raise TrajectoryFormatError(path, f"{n} atoms, but the bead files have {n_atoms}", line=1,
                                        fix="put the run's own model.xyz beside its bead files")
        rows = [f.readline().split() for _ in range(n)]
    sp = np.array([r[cols.get("species", (0, 1))[0]] if r else "" for r in rows])
    bad = np.flatnonzero(sp != np.asarray(species))
    if len(bad):
        raise TrajectoryFormatError(path, f"atom {bad[0] + 1} is {sp[bad[0]]}, in the bead files "
                                          f"{np.asarray(species)[bad[0]]}", line=int(bad[0]) + 3,
                                    fix="put the run's own model.xyz beside its bead files")
    lo = cols["mass"][0]
    masses = np.empty(n)
    for k, r in enumerate(rows):
        try:
            masses[k] = float(r[lo])
        except (IndexError, ValueError):
            raise TrajectoryFormatError(path, f"atom {k + 1} has no mass that is a number in its mass column",
                                        line=k + 3, fix="give the run's model.xyz, or remove its mass column "
                                                        "(GPUMD's standard atomic weights are taken then)") from None
    return masses
