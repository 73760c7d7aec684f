"""The ASE formats trajmodes reads: which one a file is (its name, else ASE's own guess), and the frame index of
the text formats read through one.

A frame index (:class:`FrameIndex`) holds the byte range of every frame and of the header its frames need, the MD
steps, times and time step the file states, and the masses it states; the format modules build it by scanning
the memory-mapped file with the helpers here (:mod:`trajmodes.io.trajectories.vasp_format` for OUTCAR, vasprun.xml and
XDATCAR, :mod:`trajmodes.io.trajectories.espresso_format` for pw.x output, :func:`index_xyz` for (extended) XYZ), and
:class:`trajmodes.io.trajectories.ase_reader.ASESource` hands ASE the text of a block of frames from it.
"""
from __future__ import annotations

import fnmatch
import mmap
import os

import numpy as np

from trajmodes.errors import TrajectoryFormatError

#: file names ASE's formats go by (ASE's own name patterns), checked before ASE's content guess
NAME_PATTERNS = (("*OUTCAR*", "vasp-out"), ("*vasprun*.xml", "vasp-xml"), ("*XDATCAR*", "vasp-xdatcar"),
                 ("*.traj", "traj"), ("*.pwo", "espresso-out"))
_COMPRESSED = (".gz", ".bz2", ".xz")


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


#: the first bytes of ASE's binary trajectories (ASE's own magic strings of its ``traj`` format)
ASE_TRAJ_MAGIC = (b"- of UlmASE-Trajectory", b"AFFormatASE-Trajectory")


def ase_format_of(path: str, head: bytes) -> str | None:
    """The ASE format of a file from its name (OUTCAR, vasprun.xml, XDATCAR, .traj, .pwo) or its first bytes (ASE's
    trajectory header, pw.x's ``Program PWSCF``, VASP's ``<modeling>`` XML or XDATCAR ``Direct configuration=``), or
    None. Imports nothing from ASE."""
    fmt = name_format(path)
    if fmt is not None:
        return fmt
    if head.startswith(ASE_TRAJ_MAGIC):
        return "traj"
    if b"Program PWSCF" in head:
        return "espresso-out"
    if b"<modeling>" in head and b"vasp" in head.lower():
        return "vasp-xml"
    lines = head.split(b"\n", 8)
    if len(lines) > 7 and lines[7].lstrip().startswith(b"Direct configuration="):
        return "vasp-xdatcar"
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


def line_start(mm, pos: int) -> int:
    return mm.rfind(b"\n", 0, pos) + 1


def lines_after(mm, pos: int, n: int) -> int:
    """The byte offset just past the ``n``-th newline at or after ``pos``; -1 when the text ends sooner (a last line
    without its newline does not count: it may be cut)."""
    for _ in range(n):
        nl = mm.find(b"\n", pos)
        if nl < 0:
            return -1
        pos = nl + 1
    return pos


def find_all(mm, needle: bytes, lo: int = 0, hi: int | None = None) -> list[int]:
    hi = len(mm) if hi is None else hi
    out, pos = [], mm.find(needle, lo, hi)
    while pos >= 0:
        out.append(pos)
        pos = mm.find(needle, pos + len(needle), hi)
    return out


def count_newlines(mm, lo: int, hi: int) -> int:
    """Newlines in ``mm[lo:hi]``, counted in bounded blocks (an mmap has no ``count``)."""
    n, block = 0, 64 << 20
    for a in range(lo, hi, block):
        n += mm[a:min(a + block, hi)].count(b"\n")
    return n


def line_at(mm, pos: int) -> int:
    return count_newlines(mm, 0, pos) + 1


class FrameIndex(dict):
    """A frame index: ``starts``, ``ends`` (n,) byte ranges; ``group`` (n,) which header each frame needs;
    ``head_lo``, ``head_hi`` (g,) header ranges; ``need_head`` (n,) bool; ``steps`` (n,) (-1: none); ``times`` (n,)
    ps (NaN: none); ``dt`` MD step in ps (NaN: unknown), ``dt_note`` where it comes from and ``dt_unc`` its relative
    uncertainty (half the width of the values the file allows); ``masses`` (n_atoms,)
    amu the program moved the atoms with (empty: the file states none); ``truncated`` (the frame dropped, -1:
    none)."""


def frame_index(starts, ends, *, group=None, heads=((0, 0),), need_head=None, steps=None, times=None,
                dt=np.nan, dt_note="", dt_unc=0.0, masses=None, truncated=-1) -> FrameIndex:
    n = len(starts)
    heads = np.asarray(heads, dtype=np.int64).reshape(-1, 2)
    return FrameIndex(starts=np.asarray(starts, np.int64), ends=np.asarray(ends, np.int64),
                      group=np.zeros(n, np.int64) if group is None else np.asarray(group, np.int64),
                      head_lo=heads[:, 0].copy(), head_hi=heads[:, 1].copy(),
                      need_head=np.zeros(n, bool) if need_head is None else np.asarray(need_head, bool),
                      steps=np.full(n, -1, np.int64) if steps is None else np.asarray(steps, np.int64),
                      times=np.full(n, np.nan) if times is None else np.asarray(times, float),
                      dt=float(dt), dt_note=str(dt_note), dt_unc=float(dt_unc),
                      masses=np.zeros(0) if masses is None else np.asarray(masses, float),
                      truncated=int(truncated))


def index_xyz(dp: str, path: str) -> FrameIndex:
    """Frames of an (extended) XYZ file, from trajmodes' compiled scan
    (:func:`trajmodes.io.trajectories.xyz_format.scan_xyz_windows`); a last frame without its final newline is dropped
    (its last line may be cut), as trajmodes' own XYZ reader does."""
    from trajmodes.io.trajectories.xyz_format import scan_xyz_windows
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
            last = lines_after(mm, starts[-1], natoms + 2)
        if last < 0:
            truncated = len(starts) - 1
            last = starts.pop()
    if not starts:
        raise TrajectoryFormatError(path, "no complete frame", frame=0, line=1,
                                    fix="an XYZ frame is a count line, a comment line and that many atom lines")
    return frame_index(starts, starts[1:] + [last], truncated=truncated)


#: the per-frame arrays of an index (the others are per header, or scalars)
PER_FRAME = ("starts", "ends", "group", "need_head", "steps", "times")
