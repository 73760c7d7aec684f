"""Frame source for the trajectory formats ASE reads: ab initio MD from VASP (OUTCAR, vasprun.xml, XDATCAR) and
Quantum ESPRESSO (pw.x output), ASE's own ``.traj``, extended XYZ variants, and every other format of ``ase.io``.

ASE, the Atomic Simulation Environment (Larsen et al., J. Phys.: Condens. Matter 29, 273002 (2017)), parses the
frames; this module serves them through the :class:`~trajmodes.io.base.FrameSource` contract, so that they become a
lazy trajectory chunked over frames like any other. How a block of frames is read depends on the format:

``traj``
    ASE's own random access (:class:`ase.io.trajectory.TrajectoryReader`): any frame, directly.
text formats with a frame index (:data:`INDEXED`: ``vasp-out``, ``vasp-xml``, ``vasp-xdatcar``, ``espresso-out``,
``extxyz``, ``xyz``)
    The file is scanned once (memory-mapped, ``bytes.find``) for the byte range of every frame and of the header
    its frames need (the OUTCAR's header up to the first SCF iteration, vasprun.xml's parameters and atom list,
    XDATCAR's cell and species lines, pw.x's start-up summary); the index is saved beside the file (as the other
    readers' are, :func:`trajmodes.io.files.save_index`). A read hands ASE the header and the text of at most
    :data:`RUN_BYTES` of frames at a time, so memory stays bounded whatever the file's size, and a chunk in the
    middle of the run is read without the frames before it.
any other format
    One sequential pass on opening (frame count, atoms, per-frame energy and stress, kept in memory); a read then
    streams ``ase.io.iread(path, index=slice(first, last + 1))``, a pass over the file up to the chunk's last
    frame (unless ASE's reader seeks, as for CP2K's DCD). Prefer one of the formats above for long runs, or
    convert once (``Trajectory.to_netcdf``).

What ASE does not read, this module reads from the indexed files' headers: the masses the program moved the atoms
with (VASP's POMASS, from the OUTCAR's ``Mass of Ions in am`` and vasprun.xml's ``atomtypes``; pw.x's ATOMIC_SPECIES
masses, from its start-up summary: :data:`MASS_FORMATS`), and the MD time step (VASP's POTIM when IBRION = 0;
pw.x's ``Time step = ... a.u.`` line, or for a restart, which prints none, the step that reproduces its ``time =
... pico-seconds`` lines, printed to 0.1 fs only: :func:`_espresso_time_step`). Several files of one restarted run
are joined by :class:`trajmodes.io.restarts.RestartedRun`.

Units at the boundary: ASE's are already Angstrom, eV and amu (positions, cells, forces in eV/A, energies in eV).
Velocities are ASE's momenta / masses, in Angstrom per ASE time unit sqrt(amu A^2 / eV) = 10.18 fs, divided by
:data:`trajmodes.units.NATURAL_TIME_PS` to give A/ps. ASE's stress is eV/A^3, positive under tension (Voigt order
xx yy zz yz xz xy); the pressure tensor is P = -stress x :data:`~trajmodes.units.EV_A3_GPA` GPa (LAMMPS' sign,
positive when compressed).
"""
from __future__ import annotations

import fnmatch
import io
import math
import mmap
import os
import re
import warnings
from typing import NoReturn

import numpy as np

from trajmodes import units as _units
from trajmodes.errors import TrajectoryFormatError, TruncatedFrameWarning, UnitsWarning
from trajmodes.io.base import (FRAME_FIELDS, FrameSource, empty_frames, pressure_from_tensor, take_frame_fields,
                               wanted_frame_fields)
from trajmodes.io.files import contiguous_runs, is_gzip, load_index, plain_path, pread_all, save_index
from trajmodes.lattice.elements import masses_of
from trajmodes.units import EV_J, HARTREE_EV, PLANCK_J_S

__all__ = ["ASESource", "INDEXED", "RUN_BYTES", "guess_ase_format"]

#: largest span of frame text handed to one ASE parse (the header comes on top), bytes: ASE's parsers hold the text
#: they are given several times over (as lines, as an XML tree), so a read's memory is a small multiple of this
RUN_BYTES = 4 << 20
#: ASE formats read through trajmodes' own frame index (the others: ``traj`` natively, the rest sequentially)
INDEXED = ("vasp-out", "vasp-xml", "vasp-xdatcar", "espresso-out", "extxyz", "xyz")
#: relative uncertainty of a time step recovered from a file's rounded times above which a warning asks for it
DT_RTOL = 1e-4
#: revision of the frame indexes saved beside the files (a new one rebuilds those saved before)
INDEX_REVISION = 2
#: file names ASE's formats go by (ASE's own name patterns), checked before ASE's content guess
NAME_PATTERNS = (("*OUTCAR*", "vasp-out"), ("*vasprun*.xml", "vasp-xml"), ("*XDATCAR*", "vasp-xdatcar"),
                 ("*.traj", "traj"), ("*.pwo", "espresso-out"))
_COMPRESSED = (".gz", ".bz2", ".xz")
#: ASE's energy results, force-consistent first (VASP's TOTEN; the same value as ``energy`` for most codes)
ENERGY_KEYS = ("free_energy", "energy")

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


def _strip_compression(name: str) -> str:
    for ext in _COMPRESSED:
        if name.endswith(ext):
            return name[: -len(ext)]
    return name


def name_format(path) -> str | None:
    """The ASE format a file's name says (OUTCAR, vasprun.xml, XDATCAR, .traj, .pwo), or None."""
    name = _strip_compression(os.path.basename(os.fspath(path)))
    for pattern, fmt in NAME_PATTERNS:
        if fnmatch.fnmatchcase(name, pattern):
            return fmt
    return None


def guess_ase_format(path) -> str:
    """The ASE format of ``path``: from its name (:data:`NAME_PATTERNS`), else ASE's own guess from name and content
    (``ase.io.formats.filetype``).

    Raises
    ------
    TrajectoryFormatError
        When ASE does not recognise the file.
    """
    fmt = name_format(path)
    if fmt is not None:
        return fmt
    from ase.io.formats import UnknownFileTypeError, filetype
    try:
        return filetype(os.fspath(path), guess=True)
    except (UnknownFileTypeError, OSError, ValueError) as exc:
        raise TrajectoryFormatError(path, f"ASE does not recognise this file's format ({exc})",
                                    fix="Pass format='ase:<ASE format>' (--format), e.g. 'ase:vasp-out', "
                                        "'ase:espresso-out', 'ase:extxyz'; ase.io.formats.ioformats lists them"
                                    ) from None


class _NamedBytes(io.BytesIO):
    """Bytes handed to ASE as a file, with the ``name`` ASE's OUTCAR reader asks for (to find a CONTCAR beside it)."""

    def __init__(self, data: bytes, name: str):
        super().__init__(data)
        self.name = name


def _as_file(data: bytes, name: str, binary: bool):
    """A file object over ``data`` named ``name``: binary (for XML), or text decoded as Latin-1 (any byte is a
    character, so nothing fails to decode) and streamed, not copied into one string."""
    f = _NamedBytes(data, name)
    return f if binary else io.TextIOWrapper(f, encoding="latin-1")


# --------------------------------------------------------------------------------------------- frame indexes
def _line_start(mm, pos: int) -> int:
    return mm.rfind(b"\n", 0, pos) + 1


def _lines_after(mm, pos: int, n: int) -> int:
    """The byte offset just past the ``n``-th newline at or after ``pos``; -1 when the text ends sooner (a last line
    without its newline does not count: it may be cut)."""
    for _ in range(n):
        nl = mm.find(b"\n", pos)
        if nl < 0:
            return -1
        pos = nl + 1
    return pos


def _find_all(mm, needle: bytes, lo: int = 0, hi: int | None = None) -> list[int]:
    hi = len(mm) if hi is None else hi
    out, pos = [], mm.find(needle, lo, hi)
    while pos >= 0:
        out.append(pos)
        pos = mm.find(needle, pos + len(needle), hi)
    return out


def _count_newlines(mm, lo: int, hi: int) -> int:
    """Newlines in ``mm[lo:hi]``, counted in bounded blocks (an mmap has no ``count``)."""
    n, block = 0, 64 << 20
    for a in range(lo, hi, block):
        n += mm[a:min(a + block, hi)].count(b"\n")
    return n


def _line_number(mm, pos: int) -> int:
    return _count_newlines(mm, 0, pos) + 1


class _Index(dict):
    """A frame index: ``starts``, ``ends`` (n,) byte ranges; ``group`` (n,) which header each frame needs;
    ``head_lo``, ``head_hi`` (g,) header ranges; ``need_head`` (n,) bool; ``steps`` (n,) (-1: none); ``times`` (n,)
    ps (NaN: none); ``dt`` MD step in ps (NaN: unknown), ``dt_note`` where it comes from and ``dt_unc`` its relative
    uncertainty (half the width of the values the file allows); ``masses`` (n_atoms,)
    amu the program moved the atoms with (empty: the file states none); ``truncated`` (the frame dropped, -1:
    none)."""


def _index(starts, ends, *, group=None, heads=((0, 0),), need_head=None, steps=None, times=None, dt=np.nan,
           dt_note="", dt_unc=0.0, masses=None, truncated=-1) -> _Index:
    n = len(starts)
    heads = np.asarray(heads, dtype=np.int64).reshape(-1, 2)
    return _Index(starts=np.asarray(starts, np.int64), ends=np.asarray(ends, np.int64),
                  group=np.zeros(n, np.int64) if group is None else np.asarray(group, np.int64),
                  head_lo=heads[:, 0].copy(), head_hi=heads[:, 1].copy(),
                  need_head=np.zeros(n, bool) if need_head is None else np.asarray(need_head, bool),
                  steps=np.full(n, -1, np.int64) if steps is None else np.asarray(steps, np.int64),
                  times=np.full(n, np.nan) if times is None else np.asarray(times, float),
                  dt=float(dt), dt_note=str(dt_note), dt_unc=float(dt_unc),
                  masses=np.zeros(0) if masses is None else np.asarray(masses, float),
                  truncated=int(truncated))


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


def index_outcar(mm, path: str) -> _Index:
    """Frames of a VASP OUTCAR as ASE's reader splits them: the header runs to the end of the first line with
    ``Iteration``; each ionic step ends 4 lines after ``FREE ENERGIE OF THE ION-ELECTRON SYSTEM``."""
    first = mm.find(b"Iteration")
    head_hi = _lines_after(mm, first, 1) if first >= 0 else -1
    if head_hi < 0:
        raise TrajectoryFormatError(path, "no SCF 'Iteration' line, so no ionic step: not a (complete) VASP OUTCAR",
                                    fix="Check that VASP ran at least one ionic step, or give the right format=")
    ends = []
    for d in _find_all(mm, _OUTCAR_DELIM, head_hi):
        e = _lines_after(mm, d, 5)
        if e < 0:
            break
        ends.append(e)
    last = ends[-1] if ends else head_hi          # after it: an ionic step begun but not finished is a cut frame
    truncated = len(ends) if any(mm.find(m, last) >= 0 for m in (b"Iteration", b"POSITION ", _OUTCAR_DELIM)) else -1
    starts = [head_hi] + ends[:-1]
    head = mm[:head_hi]
    dt = _vasp_md_step(head, _OUTCAR_IBRION, _OUTCAR_POTIM)
    n = len(ends)
    return _index(starts, ends, heads=[(0, head_hi)], need_head=np.ones(n, bool),
                  steps=np.arange(n) if np.isfinite(dt) else None, dt=dt, dt_note=_potim_note(dt),
                  masses=outcar_masses(head), truncated=truncated)


def index_vasprun(mm, path: str) -> _Index:
    """Frames of a vasprun.xml: its ``<calculation>`` elements (one per ionic step), after the header (generator,
    INCAR, k-points, parameters, atominfo, initial structure); the closing ``</modeling>`` is added to each read."""
    opens = [_line_start(mm, p) for p in _find_all(mm, b"<calculation>")]
    if not opens:
        raise TrajectoryFormatError(path, "no <calculation> element (ionic step) in this vasprun.xml",
                                    fix="Check that VASP ran at least one ionic step")
    starts, ends, truncated = [], [], -1
    for k, lo in enumerate(opens):
        nxt = opens[k + 1] if k + 1 < len(opens) else len(mm)
        close = mm.find(b"</calculation>", lo, nxt)
        end = _lines_after(mm, close, 1) if close >= 0 else -1
        if end < 0:
            if k + 1 < len(opens):
                raise TrajectoryFormatError(path, "a <calculation> element is not closed before the next one",
                                            frame=k, line=_line_number(mm, lo),
                                            fix="The file is damaged: write or copy it again")
            truncated = k
            break
        starts.append(lo)
        ends.append(end)
    head = mm[:opens[0]]
    dt = _vasp_md_step(head, _XML_IBRION, _XML_POTIM)
    n = len(starts)
    return _index(starts, ends, heads=[(0, opens[0])], need_head=np.ones(n, bool),
                  steps=np.arange(n) if np.isfinite(dt) else None, dt=dt, dt_note=_potim_note(dt),
                  masses=vasprun_masses(head), truncated=truncated)


def _xdatcar_count(mm, path: str, lo: int, hi: int, k: int) -> int:
    """The atom count of an XDATCAR header (7 lines from ``lo``: comment, scale, a, b, c, species, counts)."""
    lines = bytes(mm[lo:hi]).split(b"\n")
    try:
        return sum(int(x) for x in lines[6].split())
    except (IndexError, ValueError):
        raise TrajectoryFormatError(path, "expected the XDATCAR header (comment, scale, three cell vectors, species, "
                                          "counts) before this configuration", frame=k, line=_line_number(mm, lo),
                                    fix="The file is damaged or not an XDATCAR (VASP 5 layout)") from None


def index_xdatcar(mm, path: str) -> _Index:
    """Frames of an XDATCAR: each ``Direct configuration=`` line and its atom lines, preceded by the header (cell,
    species, counts) once for a fixed cell, or before every configuration for a variable cell (NPT)."""
    configs = [_line_start(mm, p) for p in _find_all(mm, _XDATCAR_CONFIG)]
    if not configs:
        raise TrajectoryFormatError(path, "no 'Direct configuration=' line: not an XDATCAR",
                                    fix="Give the right format=")
    natoms = _xdatcar_count(mm, path, 0, configs[0], 0)
    starts, ends, need, steps, truncated = [], [], [], [], -1
    prev_end = 0
    for k, c in enumerate(configs):
        if k:
            gap = _count_newlines(mm, prev_end, c)
            if gap == 7:
                m = _xdatcar_count(mm, path, prev_end, c, k)
                if m != natoms:
                    raise TrajectoryFormatError(path, f"atom count changed from {natoms} to {m}", frame=k,
                                                line=_line_number(mm, prev_end) + 6,
                                                fix="trajmodes needs a fixed set of atoms; split the file where the "
                                                    "count changes")
            elif gap != 0:
                raise TrajectoryFormatError(path, f"the previous configuration has {natoms + gap} coordinate lines, "
                                                  f"the header says {natoms} atoms", frame=k - 1,
                                            line=_line_number(mm, starts[-1]),
                                            fix="The file is damaged, or its atom count changed")
        lo = c if k and _count_newlines(mm, prev_end, c) == 0 else prev_end
        end = _lines_after(mm, c, natoms + 1)
        nxt = configs[k + 1] if k + 1 < len(configs) else len(mm)
        if end < 0 or end > nxt:
            if k + 1 < len(configs):
                raise TrajectoryFormatError(path, f"fewer than {natoms} coordinate lines", frame=k,
                                            line=_line_number(mm, c), fix="The file is damaged, or its atom count "
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
    steps = np.asarray(steps, np.int64)
    if len(steps) and (steps < 0).any():
        steps = None
    return _index(starts, ends, heads=[(0, configs[0])], need_head=need, steps=steps, truncated=truncated)


def index_espresso(mm, path: str) -> _Index:
    """Frames of pw.x output as ASE's espresso-out reader finds them: the configurations (each ``Program PWSCF``
    start-up and each ``ATOMIC_POSITIONS`` card, with a ``CELL_PARAMETERS`` card 5 lines before it for a variable
    cell) that have results (energy, forces, stress) before the next configuration. Frames after a start-up need
    its summary (up to its first result) as their header. MD steps and times come from pw.x's ``Entering
    Dynamics: iteration = N`` and ``time = T pico-seconds`` lines before each configuration."""
    pw = [_line_start(mm, p) for p in _find_all(mm, _PW_START)]
    if not pw:
        raise TrajectoryFormatError(path, "no 'Program PWSCF' line: not Quantum ESPRESSO pw.x output",
                                    fix="Give the right format=")
    pos = [_line_start(mm, p) for p in _find_all(mm, _PW_POS, pw[0])]
    results = np.array(sorted(_line_start(mm, p) for m in _PW_RESULTS for p in _find_all(mm, m, pw[0])), np.int64)
    configs = sorted(set(pw) | set(pos))
    is_start = set(pw)

    def frame_lo(c: int) -> int:
        if c in is_start:
            return c
        back = c
        for _ in range(5):
            if back == 0:
                return c
            back = _line_start(mm, back - 1)
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
    return _index(starts, ends, group=group, heads=heads, need_head=need, steps=steps, times=times, dt=dt,
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
                                              f"{a1.decode()} a.u.)", line=_line_number(mm, at),
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


def index_xyz(dp: str, path: str) -> _Index:
    """Frames of an (extended) XYZ file, from trajmodes' compiled scan
    (:func:`trajmodes.io.xyz_format.scan_xyz_windows`); a last frame without its final newline is dropped (its last
    line may be cut), as trajmodes' own XYZ reader does."""
    from trajmodes.io.xyz_format import scan_xyz_windows
    starts, counts, complete, bad = scan_xyz_windows(dp)
    if len(counts) and (counts != counts[0]).any():
        k = int(np.flatnonzero(counts != counts[0])[0])
        raise TrajectoryFormatError(path, f"atom count changed from {counts[0]} to {counts[k]}", frame=k,
                                    fix="trajmodes needs a fixed set of atoms; split the file where the count changes")
    if bad >= 0:
        raise TrajectoryFormatError(path, "expected an atom count line (one integer)", frame=len(starts),
                                    fix="check the atom count of the previous frame")
    starts = [int(s) for s in starts]
    truncated = -1 if complete else len(starts)
    if starts:
        natoms = int(counts[0])
        with open(dp, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
            last = _lines_after(mm, starts[-1], natoms + 2)
        if last < 0:
            truncated = len(starts) - 1
            last = starts.pop()
    if not starts:
        raise TrajectoryFormatError(path, "no complete frame", frame=0, line=1,
                                    fix="an XYZ frame is a count line, a comment line and that many atom lines")
    return _index(starts, starts[1:] + [last], truncated=truncated)


#: the per-frame arrays of an index (the others are per header, or scalars)
_PER_FRAME = ("starts", "ends", "group", "need_head", "steps", "times")
#: formats whose files state the masses the program moved the atoms with, and where
MASS_FORMATS = {"vasp-out": "the OUTCAR's 'Mass of Ions in am' / POMASS lines",
                "vasp-xml": "the atomtypes mass column of vasprun.xml's atominfo",
                "espresso-out": "pw.x's 'atomic species valence mass' table"}
_TEXT_INDEXERS = {"vasp-out": index_outcar, "vasp-xml": index_vasprun, "vasp-xdatcar": index_xdatcar,
                  "espresso-out": index_espresso}


# --------------------------------------------------------------------------------------------- the source
class ASESource(FrameSource):
    """A trajectory in any format ASE reads, served lazily in trajmodes' units.

    Parameters
    ----------
    path : str or os.PathLike
        The file (a gzipped text file is decompressed once into the cache folder, as for the other readers).
    ase_format : str, optional
        ASE's name of the format (``"vasp-out"``, ``"vasp-xml"``, ``"vasp-xdatcar"``, ``"espresso-out"``,
        ``"traj"``, ``"extxyz"``, ``"castep-md"``, ...); default: from the file's name (OUTCAR, vasprun.xml,
        XDATCAR, .traj, .pwo), else ASE's own guess (:func:`guess_ase_format`).
    md_timestep, frame_interval : float, optional
        In ps (:func:`trajmodes.io.times.frame_times`). ``md_timestep`` needs MD step numbers: a VASP MD run's
        (IBRION = 0; its POTIM already gives the step), pw.x's ``Entering Dynamics: iteration``, or XDATCAR's
        configuration numbers (taken as MD steps); otherwise give ``frame_interval``.
    species : sequence of str, optional
        Element of every atom, for formats that name none (ASE's ``X``, e.g. CP2K's DCD).
    masses : dict or sequence, optional
        amu, by element (``{"Si": 28.0855}``) or per atom. Default: the masses the file states (VASP's POMASS in an
        OUTCAR or vasprun.xml, pw.x's ATOMIC_SPECIES masses; an ASE ``.traj`` with masses set), else the standard
        atomic weights of the elements (with a warning for the formats that should state them).
    ase_kwargs : dict, optional
        Passed to ``ase.io.iread`` (e.g. ``{"ref_atoms": atoms, "aligned": True}`` for CP2K's DCD).

    Attributes
    ----------
    ase_format : str
        ASE's name of the format read.
    access : str
        ``"native"`` (``traj``), ``"indexed"`` (:data:`INDEXED`) or ``"sequential"`` (the others).
    fields : tuple of str
        ``positions``; ``velocities`` when the frames carry momenta (ASE ``.traj``, extended XYZ ``momenta``);
        ``forces`` when they carry forces. A field on frame 0 must be on every frame.
    frame_fields : tuple of str
        ``potential_energy`` (eV; ASE's force-consistent ``free_energy`` where the file gives it, e.g. VASP's
        TOTEN, else ``energy``); ``pressure_tensor`` and ``pressure`` (GPa, P = -stress) when frames carry a
        stress.
    masses_stated : bool
        Whether the masses are given or stated by the file (not the standard weights assumed).
    has_steps, steps_absolute : bool
        Whether the file numbers its MD steps, and whether it counts them from the start of the run across restarts
        (pw.x's ``iteration``; VASP counts each job's ionic steps anew).
    md_timestep_rtol : float
        The relative uncertainty of :attr:`md_timestep` (0 unless recovered from pw.x's rounded times).

    Notes
    -----
    Atoms keep the file's order (``ids`` 1..n). Positions are as the code wrote them (VASP wraps them into the cell):
    displacements are minimum-image differences, so that does not matter. A frame whose atom count,
    elements, or set of fields differs from frame 0's raises :class:`~trajmodes.errors.TrajectoryFormatError` naming
    the file and the frame, as does text ASE cannot parse; a truncated last frame is dropped with a
    :class:`~trajmodes.errors.TruncatedFrameWarning`.
    """

    unwrapped = False
    units = "metal"

    def __init__(self, path, *, ase_format: str | None = None, md_timestep: float | None = None,
                 frame_interval: float | None = None, species=None, masses=None, ase_kwargs: dict | None = None):
        from importlib.util import find_spec
        if find_spec("ase") is None:  # pragma: no cover
            raise ImportError("reading this format needs ASE: pip install 'ase>=3.22'")
        self.path = os.path.abspath(os.fspath(path))
        self.paths = [self.path]
        if not os.path.isfile(self.path):
            raise TrajectoryFormatError(self.path, "file does not exist", fix="check the path and the working directory")
        if os.path.getsize(self.path) == 0:
            raise TrajectoryFormatError(self.path, "the file is empty", fix="check that the run wrote this file")
        self.ase_format = self._check_format(ase_format or guess_ase_format(self.path))
        self.format = f"ASE {self.ase_format}"
        self.ase_kwargs = dict(ase_kwargs or {})
        self._gz = self.ase_format in INDEXED and is_gzip(self.path)
        self.access = ("native" if self.ase_format == "traj" else
                       "indexed" if self.ase_format in INDEXED else "sequential")
        self._frame_data: dict = {}
        self._index: _Index | None = None
        if self.access == "native":
            first, last = self._open_traj()
        elif self.access == "indexed":
            first, last = self._open_indexed()
        else:
            first, last = self._open_sequential()
        self._setup(first, species, masses)
        if self.access == "indexed":
            self._check_last()
        elif last is not None:
            self._check_frame(last, self.n_frames - 1)
        self._times(md_timestep, frame_interval)

    # ------------------------------------------------------------------ opening
    def _check_format(self, fmt: str) -> str:
        from ase.io.formats import ioformats
        fmt = str(fmt).lower()
        if fmt not in ioformats:
            close = [n for n in ioformats if fmt in n or n in fmt][:6]
            raise ValueError(f"{self.path}: {fmt!r} is not a format ASE knows" +
                             (f" (similar: {', '.join(close)})" if close else "") +
                             "; ase.io.formats.ioformats lists them, e.g. 'vasp-out', 'vasp-xml', 'espresso-out'")
        if not ioformats[fmt].can_read:
            raise ValueError(f"{self.path}: ASE cannot read the {fmt!r} format, only write it")
        return fmt

    @property
    def data_path(self) -> str:
        """The file actually read (the decompressed copy of a gzipped text file)."""
        return plain_path(self.path) if self._gz else self.path

    def _fail(self, what: str, frame: int | None, exc: BaseException | None = None,
              fix: str | None = None) -> NoReturn:
        """Raise :class:`TrajectoryFormatError` naming the file and ``frame`` (with ``exc``, ASE's complaint)."""
        why = "" if exc is None else f" ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        raise TrajectoryFormatError(self.path, what + why, frame=frame,
                                    fix=fix or "The file is damaged or truncated there, or not of the format "
                                               f"{self.ase_format!r}: check it, or give format='ase:<format>'"
                                    ) from None

    def _open_traj(self):
        from ase.io.trajectory import TrajectoryReader
        try:
            with TrajectoryReader(self.path) as r:
                n = len(r)
                if n == 0:
                    self._fail("the ASE trajectory holds no frame", 0)
                first = self._traj_frame(r, 0)
                good = n
                try:
                    last = r[n - 1]
                except Exception:
                    good, last = self._readable_prefix(r, n)
        except TrajectoryFormatError:
            raise
        except Exception as exc:
            self._fail("ASE cannot open this trajectory", None, exc)
        if good < n:
            warnings.warn(f"{self.path}: frames {good}..{n - 1} cannot be read (truncated file) and were dropped",
                          TruncatedFrameWarning, stacklevel=4)
        self.n_frames = good
        return first, last

    def _traj_frame(self, r, k: int):
        try:
            return r[k]
        except Exception as exc:
            self._fail("ASE cannot read this frame of the trajectory", k, exc)

    def _readable_prefix(self, r, n: int):
        """The number of frames that can be read (bisection: a truncated file loses its last ones) and the last."""
        lo, hi = 0, n - 1          # frame lo is readable, frame hi is not
        while hi - lo > 1:
            mid = (lo + hi) // 2
            try:
                r[mid]
                lo = mid
            except Exception:
                hi = mid
        return lo + 1, r[lo]

    def _open_indexed(self):
        dp = self.data_path
        kind = f"ase-{self.ase_format}-{INDEX_REVISION}"
        idx = load_index(dp, kind)
        if idx is None:
            if self.ase_format in ("extxyz", "xyz"):
                idx = index_xyz(dp, self.path)
            else:
                with open(dp, "rb") as f, mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                    idx = _TEXT_INDEXERS[self.ase_format](mm, self.path)
            save_index(dp, kind, **idx)
        self._index = _Index({k: (np.asarray(v) if np.ndim(v) else v.item() if hasattr(v, "item") else v)
                              for k, v in idx.items() if k not in ("version", "kind", "size", "mtime_ns")})
        n = len(self._index["starts"])
        if int(self._index["truncated"]) >= 0:
            warnings.warn(f"{self.path}: frame {int(self._index['truncated'])} is incomplete (truncated file) and "
                          "was dropped", TruncatedFrameWarning, stacklevel=4)
        if n == 0:
            self._fail(f"no complete frame (ASE {self.ase_format})", 0, fix="Check that the run wrote at least one "
                                                                           "complete step")
        self.n_frames = n
        return self._parse_run(np.array([0]))[0], None

    def _check_last(self) -> None:
        """Parse and check the last frame of an indexed file; one that cannot be read, or lacks what frame 0 has (the
        file ends inside its forces, say), is dropped with a :class:`TruncatedFrameWarning`."""
        k = self.n_frames - 1
        if k < 1:
            return
        try:
            self._check_frame(self._parse_run(np.array([k]))[0], k)
        except TrajectoryFormatError as exc:
            warnings.warn(f"{self.path}: frame {k} cannot be read ({exc.what}) and was dropped: the file is probably "
                          "truncated", TruncatedFrameWarning, stacklevel=5)
            self.n_frames = k
            self._index = _Index({key: (v[:k] if key in _PER_FRAME else v) for key, v in self._index.items()})

    def _open_sequential(self):
        """One pass over the file: frame count, atoms, fields, and the per-frame energy and stress (kept)."""
        first, last, n = None, None, 0
        energy, stress = [], []
        for k, atoms in self._iread(slice(None)):
            if k == 0:
                first = atoms
                self._setup(atoms, None, None)
            else:
                self._check_frame(atoms, k)
            res = _results(atoms)
            energy.append(self._energy_of(res, k) if "potential_energy" in self.frame_fields else np.nan)
            stress.append(self._stress_of(res, k) if "pressure_tensor" in self.frame_fields else None)
            last, n = atoms, k + 1
        if n == 0:
            self._fail(f"ASE finds no frame in this file (format {self.ase_format})", 0)
        self.n_frames = n
        if "potential_energy" in self.frame_fields:
            self._frame_data["potential_energy"] = np.asarray(energy, float)
        if "pressure_tensor" in self.frame_fields:
            t = np.asarray(stress, float)
            self._frame_data["pressure_tensor"] = t
            self._frame_data["pressure"] = pressure_from_tensor(t)
        return first, (last if n > 1 else None)

    def _setup(self, atoms, species, masses) -> None:
        """Atoms, fields and per-frame quantities from frame 0."""
        self.n_atoms = len(atoms)
        if self.n_atoms == 0:
            self._fail("frame 0 has no atoms", 0)
        self._numbers = np.asarray(atoms.numbers).copy()
        sp = np.asarray(atoms.get_chemical_symbols(), dtype=str)
        if species is not None:
            given = np.asarray(list(species.values()) if isinstance(species, dict) else species, dtype=str)
            if isinstance(species, dict) or len(given) != self.n_atoms:
                raise ValueError(f"{self.path}: species= must name the element of each of the {self.n_atoms} atoms "
                                 "(ASE formats have no LAMMPS types)")
            sp = given
        self.species = sp
        self.masses = self._masses(atoms, masses)
        self.ids = np.arange(1, self.n_atoms + 1)
        cell = np.asarray(atoms.cell.array, float)
        self.has_cell = bool(abs(np.linalg.det(cell)) > 1e-12)
        res = _results(atoms)
        f = ["positions"]
        if atoms.has("momenta"):
            f.append("velocities")
        if res.get("forces") is not None:
            f.append("forces")
        self.fields = tuple(f)
        self._energy_key = next((k for k in ENERGY_KEYS if res.get(k) is not None), None)
        ff = []
        if self._energy_key is not None:
            ff.append("potential_energy")
        if res.get("stress") is not None:
            ff += ["pressure", "pressure_tensor"]
        self.frame_fields = tuple(x for x in FRAME_FIELDS if x in ff)

    def _masses(self, atoms, masses) -> np.ndarray | None:
        """The masses: given, else those the file states (:data:`MASS_FORMATS`; an ASE ``.traj`` with masses set),
        else the standard atomic weights. Sets :attr:`masses_stated`."""
        self.masses_stated = True
        if masses is not None:
            if isinstance(masses, dict):
                try:
                    return np.array([float(masses[s]) for s in self.species])
                except KeyError as exc:
                    raise ValueError(f"{self.path}: masses= has no mass for {exc.args[0]!r}") from None
            m = np.asarray(masses, float).ravel()
            if m.shape != (self.n_atoms,):
                raise ValueError(f"{self.path}: masses= must give one mass per atom ({self.n_atoms}) or a dict by "
                                 "element")
            return m
        stated = self._index["masses"] if self._index is not None else np.zeros(0)
        if len(stated) == self.n_atoms:
            return np.asarray(stated, float).copy()
        if self.ase_format in MASS_FORMATS:
            warnings.warn(f"{self.path}: {MASS_FORMATS[self.ase_format]} not found, so the masses the run used are "
                          "unknown: the standard atomic weights are used. Pass masses= (--masses) if the run set "
                          "others", UserWarning, stacklevel=5)
        if "masses" in atoms.arrays:
            return np.asarray(atoms.arrays["masses"], float).copy()
        self.masses_stated = False
        uniq, inv = np.unique(self.species, return_inverse=True)
        m = masses_of(uniq)
        return None if m is None else m[inv]

    def _times(self, md_timestep, frame_interval) -> None:
        from trajmodes.io.times import frame_times
        idx = self._index
        steps = None if idx is None or (idx["steps"] < 0).any() else np.asarray(idx["steps"], np.int64)
        dt = np.nan if idx is None else float(idx["dt"])
        found = (dt, str(idx["dt_note"])) if np.isfinite(dt) else None
        file_times = None if idx is None or found is not None or not np.isfinite(idx["times"]).all() else \
            idx["times"]
        self.has_steps = steps is not None
        self.steps = steps if self.has_steps else np.arange(self.n_frames)
        #: pw.x counts MD steps from the start of the run, restarts included (VASP and XDATCAR from each job's)
        self.steps_absolute = self.has_steps and self.ase_format == "espresso-out"
        axis = frame_times(self.path, self.steps, file_times, what_in_file="pw.x's 'time = ... pico-seconds'",
                           md_timestep=md_timestep, frame_interval=frame_interval, found=found,
                           has_steps=self.has_steps, stacklevel=5)
        self.times, self.md_timestep, self.time_axis = axis.times, axis.md_timestep, axis.source
        #: relative uncertainty of md_timestep (a time step recovered from pw.x's rounded times; else 0)
        self.md_timestep_rtol = float(idx["dt_unc"]) if found is not None and self.md_timestep == dt else 0.0
        #: where md_timestep comes from, in words
        self.md_timestep_source = found[1] if found is not None and self.md_timestep == dt else self.time_axis
        if self.md_timestep_rtol > DT_RTOL:
            warnings.warn(f"{self.path}: the MD time step comes from {found[1]}: pw.x prints no 'Time step' line "
                          "when it resumes a run, and its 'time = ... pico-seconds' lines have 0.1 fs. Give "
                          f"md_timestep=<ps> (--md-timestep; pw.x's dt x {PW_TIME_UNIT_PS:.6e} ps): every frequency "
                          "scales with it", UnitsWarning, stacklevel=5)

    # ------------------------------------------------------------------ ASE calls
    def _iread(self, index):
        """(frame number, Atoms) from ``ase.io.iread`` over the whole file (sequential access)."""
        import ase.io
        k = (index.start or 0) if isinstance(index, slice) else 0
        try:
            for atoms in ase.io.iread(self.path, index=index, format=self.ase_format, parallel=False,
                                      **self.ase_kwargs):
                yield k, atoms
                k += 1
        except TrajectoryFormatError:
            raise
        except Exception as exc:
            self._fail(f"ASE ({self.ase_format}) cannot read this frame", k, exc)

    def _text(self, fd: int, lo: int, hi: int) -> bytes:
        return pread_all(fd, hi - lo, lo) if hi > lo else b""

    def _parse_run(self, frames: np.ndarray) -> list:
        """ASE's Atoms of consecutive ``frames`` (back to back in the file), parsed from their text and the header."""
        import ase.io
        idx = self._index
        a, b = int(frames[0]), int(frames[-1])
        with open(self.data_path, "rb") as f:
            fd = f.fileno()
            g = int(idx["group"][a])
            head = self._text(fd, int(idx["head_lo"][g]), int(idx["head_hi"][g])) if idx["need_head"][a] else b""
            body = self._text(fd, int(idx["starts"][a]), int(idx["ends"][b]))
        tail = b"\n</modeling>\n" if self.ase_format == "vasp-xml" else b""
        fobj = _as_file(head + body + tail, self.data_path, binary=self.ase_format == "vasp-xml")
        del head, body
        out = []
        try:
            for atoms in ase.io.iread(fobj, index=":", format=self.ase_format, parallel=False, **self.ase_kwargs):
                out.append(atoms)
        except Exception as exc:
            for k in range(a, b) if b > a else ():      # find the frame that fails, to name it
                self._parse_run(np.array([k]))
            self._fail(f"ASE ({self.ase_format}) cannot parse this frame", b, exc)
        if len(out) != b - a + 1:
            self._fail(f"ASE ({self.ase_format}) finds {len(out)} frame(s) in the text of frames {a}..{b}, the frame "
                       f"index {b - a + 1}", a, fix="The file changed or is damaged there: remove its index "
                                                    "(.NAME.tmidx.npz) and read it again, or check the file")
        return out

    # ------------------------------------------------------------------ per frame
    def _check_frame(self, atoms, k: int) -> None:
        """The atoms and the fields of frame ``k`` are those of frame 0."""
        if len(atoms) != self.n_atoms:
            self._fail(f"atom count changed from {self.n_atoms} to {len(atoms)}", k,
                       fix="trajmodes needs a fixed set of atoms; split the trajectory where the count changes")
        numbers = np.asarray(atoms.numbers)
        if not np.array_equal(numbers, self._numbers):
            i = int(np.flatnonzero(numbers != self._numbers)[0])
            from ase.data import chemical_symbols
            self._fail(f"species changed: atom {i + 1} is {chemical_symbols[numbers[i]]!r}, frame 0 had "
                       f"{chemical_symbols[self._numbers[i]]!r}", k, fix="trajmodes needs the same atoms in every "
                                                                          "frame")
        res = _results(atoms)
        if "forces" in self.fields:
            f = res.get("forces")
            if f is None:
                self._fail("this frame has no forces, frame 0 has", k, fix="Every frame must carry forces to fit "
                                                                           "force constants: drop the frames without "
                                                                           "(slice the trajectory) or rewrite the file")
            if np.shape(f) != (self.n_atoms, 3):
                self._fail(f"this frame has forces of shape {np.shape(f)} for {self.n_atoms} atoms", k)
        if "velocities" in self.fields and not atoms.has("momenta"):
            self._fail("this frame has no momenta (velocities), frame 0 has", k,
                       fix="Drop the frames without or rewrite the file")
        if "potential_energy" in self.frame_fields:
            self._energy_of(res, k)
        if "pressure_tensor" in self.frame_fields:
            self._stress_of(res, k)

    def _energy_of(self, res: dict, k: int) -> float:
        e = res.get(self._energy_key)
        if e is None:
            self._fail(f"this frame has no {self._energy_key}, frame 0 has", k, fix="Drop the frames without")
        return float(e)

    def _stress_of(self, res: dict, k: int) -> np.ndarray:
        s = res.get("stress")
        if s is None:
            self._fail("this frame has no stress, frame 0 has", k, fix="Drop the frames without")
        if np.shape(s) not in ((6,), (3, 3)):
            self._fail(f"this frame has a stress of shape {np.shape(s)}", k)
        return -_full_stress(s) * _units.EV_A3_GPA

    def _fill(self, atoms, k: int, i: int, out: dict, per_atom: tuple, per_frame: tuple) -> None:
        """Frame ``k`` (ASE's Atoms, checked) into row ``i`` of the output arrays, converted to trajmodes' units."""
        self._check_frame(atoms, k)
        out["positions"][i] = atoms.positions
        if self.has_cell:
            out["cells"][i] = atoms.cell.array
        res = _results(atoms)
        if "forces" in per_atom:
            out["forces"][i] = res["forces"]
        if "velocities" in per_atom:
            out["velocities"][i] = atoms.get_velocities() / _units.NATURAL_TIME_PS   # A per ASE time unit -> A/ps
        if "potential_energy" in per_frame:
            out["potential_energy"][i] = self._energy_of(res, k)
        if "pressure_tensor" in per_frame or "pressure" in per_frame:
            t = self._stress_of(res, k)
            if "pressure_tensor" in out:
                out["pressure_tensor"][i] = t
            if "pressure" in out:
                out["pressure"][i] = np.trace(t) / 3.0

    def read(self, frames, fields=None) -> dict:
        """Read frames by index (ascending); see :meth:`FrameSource.read`.

        Returns positions (A), velocities (A/ps), forces (eV/A), cells (A, rows a, b, c; NaN without a cell) and
        origins (zeros), atoms in the file's order; and the :attr:`frame_fields` asked for (eV, GPa).
        """
        frames = np.asarray(frames, dtype=np.int64).ravel()
        if len(frames) and (frames.min() < 0 or frames.max() >= self.n_frames):
            raise IndexError(f"frames must lie in 0..{self.n_frames - 1}")
        per_frame = wanted_frame_fields(self, fields)
        if self.access == "sequential":
            stored = take_frame_fields(self._frame_data, frames, per_frame)
            if stored and fields is not None and not set(self.fields) & set(fields):
                return stored
        per_atom = self.fields if fields is None else tuple(f for f in self.fields if f in fields)
        todo = per_frame if self.access != "sequential" else ()
        out = empty_frames(len(frames), self.n_atoms, tuple(dict.fromkeys(("positions",) + per_atom + todo)))
        if self.access == "sequential":
            out.update(stored)
        if not len(frames):
            return out
        if self.access == "native":
            from ase.io.trajectory import TrajectoryReader
            with TrajectoryReader(self.path) as r:
                for i, k in enumerate(frames.tolist()):
                    self._fill(self._traj_frame(r, k), k, i, out, per_atom, todo)
        elif self.access == "indexed":
            idx = self._index
            for i0, i1 in contiguous_runs(frames, idx["starts"], idx["ends"], idx["group"], max_bytes=RUN_BYTES):
                for j, atoms in enumerate(self._parse_run(frames[i0:i1])):
                    self._fill(atoms, int(frames[i0 + j]), i0 + j, out, per_atom, todo)
        else:
            want = {int(k): i for i, k in enumerate(frames.tolist())}
            for k, atoms in self._iread(slice(int(frames[0]), int(frames[-1]) + 1)):
                if k in want:
                    self._fill(atoms, k, want[k], out, per_atom, todo)
        return out

    def token(self) -> tuple:
        """(class name, abs path, size, mtime_ns, ASE format, ASE keyword names)."""
        st = os.stat(self.path)
        return (type(self).__name__, self.path, st.st_size, st.st_mtime_ns, self.ase_format,
                tuple(sorted(self.ase_kwargs)))


def _results(atoms) -> dict:
    """The results a file gave for a frame (ASE's single-point calculator), without computing anything."""
    calc = atoms.calc
    return dict(getattr(calc, "results", None) or {}) if calc is not None else {}


def _full_stress(s) -> np.ndarray:
    """A (3, 3) stress from ASE's Voigt six (xx yy zz yz xz xy) or a (3, 3) array."""
    s = np.asarray(s, float)
    if s.shape == (3, 3):
        return s
    if s.shape != (6,):
        raise ValueError(f"a stress of shape {s.shape}")
    xx, yy, zz, yz, xz, xy = s
    return np.array([[xx, xy, xz], [xy, yy, yz], [xz, yz, zz]])
