"""Quantum ESPRESSO's pw.x output as trajmodes indexes it for ASE: the frame index of its configurations
(:class:`~trajmodes.io.trajectories.ase_formats.FrameIndex`), and what ASE does not read from it: the masses of
ATOMIC_SPECIES (from the start-up summary), the MD steps and times (``Entering Dynamics: iteration``, ``time = ...
pico-seconds``), and the MD time step (the ``Time step = ... a.u.`` line, or for a restart, which prints none, the
step that reproduces its printed times).
"""
from __future__ import annotations

import math
import re

import numpy as np

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.trajectories.ase_formats import FrameIndex, find_all, frame_index, line_at, line_start
from trajmodes.units import EV_J, HARTREE_EV, PLANCK_J_S

# pw.x output markers, as ASE's espresso-out reader (ase.io.espresso) uses them
_PW_START = b"Program PWSCF"
_PW_POS = b"ATOMIC_POSITIONS"
_PW_CELL = b"CELL_PARAMETERS"
_PW_RESULTS = (b"!    total energy", b"Forces acting on atoms", b"total   stress", b"Magnetic moment per site",
               b"End of self-consistent calculation", b"End of band structure calculation")
_PW_ITERATION = re.compile(rb"Entering Dynamics:?\s*iteration\s*=\s*(\d+)")
_PW_TIME = re.compile(rb"time\s*=\s*([-+0-9.eEdD]+)\s*pico-seconds")
# pw.x's md_init: "Time step = 20.00 a.u., 0.9676 femto-seconds" (F8.2, F8.4), printed when a run starts from scratch
_PW_TIME_STEP = re.compile(rb"Time step\s*=\s*([0-9.]+)\s*a\.u\.,\s*([0-9.]+)\s*femto-seconds")
#: pw.x's unit of time (its input ``dt`` and ``Time step`` line): the Rydberg atomic unit 2 hbar / E_h, in ps
#: (Quantum ESPRESSO's ``2 AU_PS``, CODATA 2018 as QE 7 uses)
PW_TIME_UNIT_PS = PLANCK_J_S / (math.pi * HARTREE_EV * EV_J) * 1e12
# pw.x's start-up summary: the species table (label, valence, mass in amu) and the site list (labels per atom)
_PW_SPECIES = b"atomic species   valence    mass     pseudopotential"
_PW_SITE = re.compile(rb"^\s*\d+\s+(\S+)\s+tau\(\s*\d+\)\s*=", re.M)


def espresso_masses(head: bytes) -> np.ndarray | None:
    """The mass of every atom (amu) of a pw.x run, from its start-up summary: the ``atomic species valence mass
    pseudopotential`` table (the masses of ATOMIC_SPECIES, by species label) and the site list (``1  Si  tau(  1)
    = (...)``, each atom's label), or None."""
    at = head.find(_PW_SPECIES)
    if at < 0:
        return None
    table = {}
    for line in head[at + len(_PW_SPECIES):].split(b"\n")[1:]:
        tok = line.split()
        if len(tok) < 3:
            break
        try:
            table[tok[0]] = float(tok[2])
        except ValueError:
            return None
    labels = _PW_SITE.findall(head)
    if not labels or any(lb not in table for lb in labels):
        return None
    return np.array([table[lb] for lb in labels])


def index_espresso(mm, path: str) -> FrameIndex:
    """Frames of pw.x output as ASE's espresso-out reader finds them: the configurations (each ``Program PWSCF``
    start-up and each ``ATOMIC_POSITIONS`` card, with a ``CELL_PARAMETERS`` card 5 lines before it for a variable
    cell) that have results (energy, forces, stress) before the next configuration. Frames after a start-up need
    its summary (up to its first result) as their header. MD steps and times come from pw.x's ``Entering
    Dynamics: iteration = N`` and ``time = T pico-seconds`` lines before each configuration."""
    pw = [line_start(mm, p) for p in find_all(mm, _PW_START)]
    if not pw:
        raise TrajectoryFormatError(path, "no 'Program PWSCF' line: not Quantum ESPRESSO pw.x output",
                                    fix="Give the right format=")
    pos = [line_start(mm, p) for p in find_all(mm, _PW_POS, pw[0])]
    results = np.array(sorted(line_start(mm, p) for m in _PW_RESULTS for p in find_all(mm, m, pw[0])), np.int64)
    configs = sorted(set(pw) | set(pos))
    is_start = set(pw)

    def frame_lo(c: int) -> int:
        if c in is_start:
            return c
        back = c
        for _ in range(5):
            if back == 0:
                return c
            back = line_start(mm, back - 1)
        return back if mm.find(_PW_CELL, back, mm.find(b"\n", back)) >= 0 else c

    los = [frame_lo(c) for c in configs]
    kept = []
    for i, c in enumerate(configs):
        nxt = configs[i + 1] if i + 1 < len(configs) else len(mm)
        j = np.searchsorted(results, c, side="right")
        if j < len(results) and results[j] < nxt:
            kept.append(i)
    heads = []
    for s in pw:
        after = [p for p in configs if p > s][:1] + [int(r) for r in results[np.searchsorted(results, s, "right"):][:1]]
        heads.append((s, min(after) if after else len(mm)))
    starts = [los[i] for i in kept]
    ends = [los[i + 1] if i + 1 < len(configs) else len(mm) for i in kept]
    group = [int(np.searchsorted(pw, configs[i], side="right")) - 1 for i in kept]
    need = [configs[i] not in is_start for i in kept]
    steps, times, half = _espresso_times(mm, [configs[i] for i in kept], [configs[i] in is_start for i in kept],
                                         configs)
    dt, note, unc = _espresso_time_step(mm, path, steps, times, half)
    if steps is not None and np.isfinite(dt):
        times = steps * dt
    return frame_index(starts, ends, group=group, heads=heads, need_head=need, steps=steps, times=times, dt=dt,
                       dt_note=note, dt_unc=unc, masses=espresso_masses(mm[heads[0][0]:heads[0][1]]))


def _espresso_times(mm, cfg: list[int], start: list[bool], configs: list[int]):
    """MD steps and printed times (ps) of pw.x configurations ``cfg`` (byte offsets; ``start``: a start-up
    configuration) from the lines pw.x's Verlet step prints before the positions it moves the atoms to::

             Entering Dynamics:    iteration =     1
                                   time      =   0.0010 pico-seconds

    (Quantum ESPRESSO's ``dynamics_module``: I5 and F8.4; ``iteration`` counts every MD step since the run started
    from scratch, restarts included). A start-up configuration (the initial positions, or those a restart resumes
    from) is one MD step before the next frame; its time is NaN. Also returns half the unit of the last digit
    printed (5e-5 ps for F8.4). (None, None, nan) unless every other frame has both lines."""
    def marks(rx, conv):
        pos, val, digits = [], [], []
        for m in rx.finditer(mm):
            try:
                val.append(conv(m.group(1)))
            except ValueError:
                continue
            pos.append(m.start())
            digits.append(len(re.split(rb"[eEdD]", m.group(1))[0].partition(b".")[2]))
        return np.asarray(pos, np.int64), np.asarray(val, float), digits

    start = np.asarray(start, bool)
    cfg = np.asarray(cfg, np.int64)
    if len(cfg) < 2 or start.all():
        return None, None, np.nan
    cpos = np.asarray(configs, np.int64)
    prev = cpos[np.searchsorted(cpos, cfg) - 1]                  # the configuration before each (any, kept or not)
    prev[np.searchsorted(cpos, cfg) == 0] = -1
    out, half = [], np.nan
    for rx, conv in ((_PW_ITERATION, int), (_PW_TIME, lambda b: float(b.replace(b"d", b"e").replace(b"D", b"e")))):
        pos, val, digits = marks(rx, conv)
        j = np.searchsorted(pos, cfg) - 1                        # the last mark before each configuration
        ok = (j >= 0) & (pos[np.maximum(j, 0)] > prev) if len(pos) else np.zeros(len(cfg), bool)
        if not ok[~start].all():
            return None, None, np.nan
        out.append(np.where(ok, val[np.maximum(j, 0)] if len(pos) else 0.0, np.nan))
        if rx is _PW_TIME:
            half = 0.5 * 10.0 ** -min(digits[i] for i in j[ok])
    steps, times = out
    for k in np.flatnonzero(start)[::-1]:     # the initial positions: one step before the next frame
        if k + 1 >= len(cfg) or start[k + 1]:
            return None, None, np.nan
        steps[k] = steps[k + 1] - 1
        times[k] = np.nan
    return steps.astype(np.int64), times, half


def _espresso_time_step(mm, path: str, steps, times, half: float) -> tuple[float, str, float]:
    """pw.x's MD time step (ps), where it comes from, and its relative uncertainty, or (nan, "", nan).

    A run started from scratch prints ``Time step = 20.00 a.u., 0.9676 femto-seconds`` (F8.2 in Rydberg atomic
    units, :data:`PW_TIME_UNIT_PS`, and F8.4 fs): the time step is the a.u. value when the fs value agrees with it
    (the input's ``dt``, which has two decimals or fewer), else the fs value. A restarted run prints no such line;
    the time step is then recovered from the ``time = T pico-seconds`` lines, which pw.x prints to 0.1 fs only
    (F8.4 ps: 20 a.u. prints as 0.0010, 0.0019, 0.0029, ... ps): of the steps that reproduce every printed time, the
    one of two decimals in a.u. (the input's), else the middle of their range. Printed times that no time step
    reproduces are an error naming the frame."""
    if steps is None:
        return np.nan, "", np.nan
    md = np.isfinite(times) & (steps > 0)
    lo = float(np.max((times[md] - half) / steps[md])) if md.any() else 0.0
    hi = float(np.min((times[md] + half) / steps[md])) if md.any() else np.inf
    found = [(m.group(1), m.group(2), m.start()) for m in _PW_TIME_STEP.finditer(mm)]
    where = "the 'time = ... pico-seconds' lines"
    if found:
        if len({(a, b) for a, b, _ in found}) > 1:
            (a0, _, _), (a1, _, at) = found[0], next(f for f in found if f[:2] != found[0][:2])
            raise TrajectoryFormatError(path, f"pw.x's time step changes within the file ({a0.decode()} a.u., then "
                                              f"{a1.decode()} a.u.)", line=line_at(mm, at),
                                        fix="The frames would not be evenly spaced in time: split the file where "
                                            "the time step changes and read the parts separately")
        x_au, y_fs = float(found[0][0]), float(found[0][1])
        dt_au, dt_fs = x_au * PW_TIME_UNIT_PS, y_fs * 1e-3
        dt = dt_au if abs(dt_au - dt_fs) <= 0.5e-7 + 1e-15 else dt_fs
        unc = 0.5e-7 if dt == dt_fs else 1e-15
        line = f"pw.x's 'Time step = {x_au:.2f} a.u., {y_fs:.4f} femto-seconds'"
        if lo - 1e-15 <= dt <= hi + 1e-15:
            return dt, line, unc / dt
        a, b = max(lo, dt - unc), min(hi, dt + unc)
        if a <= b:                                           # the printed times narrow the fs value down
            return 0.5 * (a + b), f"{line}, refined by {where}", (b - a) / (b + a)
        k = int(np.flatnonzero(md & (np.abs(steps * dt - times) > half + 1e-12))[0])
        raise TrajectoryFormatError(path, f"pw.x's time {times[k]:g} ps at iteration {int(steps[k])} is not "
                                          f"{int(steps[k])} x its time step {dt * 1e3:g} fs", frame=k,
                                    fix="The file joins runs of different time steps: split it where the step "
                                        "changes, or give md_timestep= (ps)")
    if not md.any() or lo > hi or hi <= 0:
        return np.nan, "", np.nan
    grid = np.arange(np.ceil(lo / PW_TIME_UNIT_PS * 100 - 1e-9), np.floor(hi / PW_TIME_UNIT_PS * 100 + 1e-9) + 1)
    if len(grid) == 1:
        return grid[0] / 100 * PW_TIME_UNIT_PS, f"{where} (a restart: {grid[0] / 100:.2f} a.u.)", 0.0
    rel = (hi - lo) / (hi + lo)
    return 0.5 * (lo + hi), f"{where} (a restart: {0.5 * (lo + hi) * 1e3:.6g} fs, known to {rel:.1e})", rel
