"""VASP's MD output as trajmodes indexes it for ASE: the frame indexes of an OUTCAR, a vasprun.xml and an XDATCAR
(:class:`~trajmodes.io.trajectories.ase_formats.FrameIndex`), and what ASE does not read from their headers: the masses
VASP moved the atoms with (POMASS: the OUTCAR's ``Mass of Ions in am``, vasprun.xml's ``atomtypes``) and the MD time
step (POTIM, when IBRION = 0).
"""
from __future__ import annotations

import re

import numpy as np

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.trajectories.ase_formats import (FrameIndex, count_newlines, find_all, frame_index, line_at,
                                                   line_start, lines_after)

# VASP masses: the POTCAR's "POMASS = 28.085; ZVAL = ..." and the masses the run used, "Mass of Ions in am" then
# "POMASS =" with one F6.2 field per species (fields may touch: 195.08195.08)
_OUTCAR_POTCAR_MASS = re.compile(rb"POMASS\s*=\s*([0-9.]+)\s*;")
_OUTCAR_USED_MASS = re.compile(rb"Mass of Ions in am\s*\n\s*POMASS\s*=([^\n]*)")
_OUTCAR_PER_TYPE = re.compile(rb"ions per type\s*=([ \t\d]+)")
_F62 = re.compile(rb"\d+\.\d\d")
# VASP header parameters (OUTCAR text and vasprun.xml <i name="..."> elements)
_OUTCAR_IBRION = re.compile(rb"IBRION\s*=\s*(-?\d+)")
_OUTCAR_POTIM = re.compile(rb"POTIM\s*=\s*([-+0-9.eE]+)")
_XML_IBRION = re.compile(rb'name="IBRION"\s*>\s*(-?\d+)')
_XML_POTIM = re.compile(rb'name="POTIM"\s*>\s*([-+0-9.eE]+)')
_OUTCAR_DELIM = b"FREE ENERGIE OF THE ION-ELECTRON SYSTEM"
_XDATCAR_CONFIG = b"configuration="
_NON_BLANK = re.compile(rb"\S")


def _vasp_md_step(head: bytes, ibrion_rx, potim_rx) -> float:
    """The MD time step (ps) of a VASP run from its header (POTIM in fs, when IBRION = 0: molecular dynamics)."""
    mi, mp = ibrion_rx.search(head), potim_rx.search(head)
    if mi is None or mp is None or int(mi.group(1)) != 0:
        return np.nan
    try:
        potim = float(mp.group(1))
    except ValueError:
        return np.nan
    return potim * 1e-3 if potim > 0 else np.nan


def _potim_note(dt: float) -> str:
    return f"the run's POTIM (IBRION = 0, {dt * 1e3:g} fs)" if np.isfinite(dt) else ""


def outcar_masses(head: bytes) -> np.ndarray | None:
    """The mass of every atom (amu) VASP moved the ions with, from an OUTCAR's header, or None.

    VASP takes each species' mass from its POTCAR (``POMASS``), unless the INCAR sets ``POMASS`` (deuterium, heavy
    atoms to slow fast modes, ...). The OUTCAR echoes each POTCAR's header (``POMASS =   28.085; ZVAL = ...``) and
    lists the masses the run used after ``Mass of Ions in am`` (``POMASS =`` and one F6.2 field per species); atoms
    come grouped by species, ``ions per type`` of each. The used masses are taken, at the POTCAR's three decimals
    where the two agree to the two decimals printed.
    """
    per_type = _OUTCAR_PER_TYPE.search(head)
    if per_type is None:
        return None
    counts = [int(x) for x in per_type.group(1).split()]
    potcar = [float(x) for x in _OUTCAR_POTCAR_MASS.findall(head)]
    used = _OUTCAR_USED_MASS.search(head)
    masses = [float(x) for x in _F62.findall(used.group(1))] if used is not None else potcar
    if not counts or len(masses) != len(counts):
        return None
    if len(potcar) == len(counts):
        masses = [p if abs(p - m) <= 0.005 + 1e-9 else m for p, m in zip(potcar, masses)]
    return np.repeat(np.asarray(masses, float), counts)


def vasprun_masses(head: bytes) -> np.ndarray | None:
    """The mass of every atom (amu) of a vasprun.xml, from its ``atominfo``: the ``atomtypes`` array's ``mass``
    column (the masses the run used, POTCAR or INCAR ``POMASS``) repeated ``atomspertype`` times, or None."""
    import xml.etree.ElementTree as ET
    m = re.search(rb'<array\s+name="atomtypes"\s*>.*?</array>', head, re.S)
    if m is None:
        return None
    try:
        arr = ET.fromstring(m.group(0))
        names = [f.text.strip() for f in arr.findall("field")]
        rows = [[c.text.strip() for c in rc.findall("c")] for rc in arr.iter("rc")]
        k, n = names.index("mass"), names.index("atomspertype")
        return np.repeat(np.array([float(r[k]) for r in rows]), [int(r[n]) for r in rows])
    except (ET.ParseError, ValueError, IndexError, AttributeError):
        return None


def index_outcar(mm, path: str) -> FrameIndex:
    """Frames of a VASP OUTCAR as ASE's reader splits them: the header runs to the end of the first line with
    ``Iteration``; each ionic step ends 4 lines after ``FREE ENERGIE OF THE ION-ELECTRON SYSTEM``."""
    first = mm.find(b"Iteration")
    head_hi = lines_after(mm, first, 1) if first >= 0 else -1
    if head_hi < 0:
        raise TrajectoryFormatError(path, "no SCF 'Iteration' line, so no ionic step: not a (complete) VASP OUTCAR",
                                    fix="Check that VASP ran at least one ionic step, or give the right format=")
    ends = []
    for d in find_all(mm, _OUTCAR_DELIM, head_hi):
        e = lines_after(mm, d, 5)
        if e < 0:
            break
        ends.append(e)
    last = ends[-1] if ends else head_hi          # after it: an ionic step begun but not finished is a cut frame
    truncated = len(ends) if any(mm.find(m, last) >= 0 for m in (b"Iteration", b"POSITION ", _OUTCAR_DELIM)) else -1
    starts = [head_hi] + ends[:-1]
    head = mm[:head_hi]
    dt = _vasp_md_step(head, _OUTCAR_IBRION, _OUTCAR_POTIM)
    n = len(ends)
    return frame_index(starts, ends, heads=[(0, head_hi)], need_head=np.ones(n, bool),
                       steps=np.arange(n) if np.isfinite(dt) else None, dt=dt, dt_note=_potim_note(dt),
                       masses=outcar_masses(head), truncated=truncated)


def index_vasprun(mm, path: str) -> FrameIndex:
    """Frames of a vasprun.xml: its ``<calculation>`` elements (one per ionic step), after the header (generator,
    INCAR, k-points, parameters, atominfo, initial structure); the closing ``</modeling>`` is added to each read."""
    opens = [line_start(mm, p) for p in find_all(mm, b"<calculation>")]
    if not opens:
        raise TrajectoryFormatError(path, "no <calculation> element (ionic step) in this vasprun.xml",
                                    fix="Check that VASP ran at least one ionic step")
    starts, ends, truncated = [], [], -1
    for k, lo in enumerate(opens):
        nxt = opens[k + 1] if k + 1 < len(opens) else len(mm)
        close = mm.find(b"</calculation>", lo, nxt)
        end = lines_after(mm, close, 1) if close >= 0 else -1
        if end < 0:
            if k + 1 < len(opens):
                raise TrajectoryFormatError(path, "a <calculation> element is not closed before the next one",
                                            frame=k, line=line_at(mm, lo),
                                            fix="The file is damaged: write or copy it again")
            truncated = k
            break
        starts.append(lo)
        ends.append(end)
    head = mm[:opens[0]]
    dt = _vasp_md_step(head, _XML_IBRION, _XML_POTIM)
    n = len(starts)
    return frame_index(starts, ends, heads=[(0, opens[0])], need_head=np.ones(n, bool),
                       steps=np.arange(n) if np.isfinite(dt) else None, dt=dt, dt_note=_potim_note(dt),
                       masses=vasprun_masses(head), truncated=truncated)


def _xdatcar_count(mm, path: str, lo: int, hi: int, k: int) -> int:
    """The atom count of an XDATCAR header (7 lines from ``lo``: comment, scale, a, b, c, species, counts)."""
    lines = bytes(mm[lo:hi]).split(b"\n")
    try:
        return sum(int(x) for x in lines[6].split())
    except (IndexError, ValueError):
        raise TrajectoryFormatError(path, "expected the XDATCAR header (comment, scale, three cell vectors, species, "
                                          "counts) before this configuration", frame=k, line=line_at(mm, lo),
                                    fix="The file is damaged or not an XDATCAR (VASP 5 layout)") from None


def index_xdatcar(mm, path: str) -> FrameIndex:
    """Frames of an XDATCAR: each ``Direct configuration=`` line and its atom lines, preceded by the header (cell,
    species, counts) once for a fixed cell, or before every configuration for a variable cell (NPT). A last
    configuration short of its atom lines, or text after the last complete one (a header the run was killed while
    writing), is the truncated frame."""
    configs = [line_start(mm, p) for p in find_all(mm, _XDATCAR_CONFIG)]
    if not configs:
        raise TrajectoryFormatError(path, "no 'Direct configuration=' line: not an XDATCAR",
                                    fix="Give the right format=")
    natoms = _xdatcar_count(mm, path, 0, configs[0], 0)
    starts, ends, need, steps, truncated = [], [], [], [], -1
    prev_end = 0
    for k, c in enumerate(configs):
        if k:
            gap = count_newlines(mm, prev_end, c)
            if gap == 7:
                m = _xdatcar_count(mm, path, prev_end, c, k)
                if m != natoms:
                    raise TrajectoryFormatError(path, f"atom count changed from {natoms} to {m}", frame=k,
                                                line=line_at(mm, prev_end) + 6,
                                                fix="trajmodes needs a fixed set of atoms; split the file where the "
                                                    "count changes")
            elif gap != 0:
                raise TrajectoryFormatError(path, f"the previous configuration has {natoms + gap} coordinate lines, "
                                                  f"the header says {natoms} atoms", frame=k - 1,
                                            line=line_at(mm, starts[-1]),
                                            fix="The file is damaged, or its atom count changed")
        lo = c if k and count_newlines(mm, prev_end, c) == 0 else prev_end
        end = lines_after(mm, c, natoms + 1)
        nxt = configs[k + 1] if k + 1 < len(configs) else len(mm)
        if end < 0 or end > nxt:
            if k + 1 < len(configs):
                raise TrajectoryFormatError(path, f"fewer than {natoms} coordinate lines", frame=k,
                                            line=line_at(mm, c), fix="The file is damaged, or its atom count "
                                                                          "changed")
            truncated = k
            break
        starts.append(lo)
        ends.append(end)
        need.append(k > 0 and lo == c)
        try:
            steps.append(int(bytes(mm[c:mm.find(b"\n", c)]).split(b"=")[1].split()[0]))
        except (IndexError, ValueError):
            steps.append(-1)
        prev_end = end
    if truncated < 0 and _NON_BLANK.search(mm, prev_end) is not None:
        truncated = len(starts)       # the next frame's header, cut before its configuration line
    steps = np.asarray(steps, np.int64)
    if len(steps) and (steps < 0).any():
        steps = None
    return frame_index(starts, ends, heads=[(0, configs[0])], need_head=need, steps=steps, truncated=truncated)
