"""Following a trajectory file while the MD program writes it (``trajmodes watch``): only the bytes past the last
complete frame are read, a frame is taken only once all its lines are there, and the new frames are parsed by the
package's own reader (:func:`trajmodes.trajectory.read`) from a file that holds them alone, so that reading an
update costs what its new frames cost, not what the run holds.

Formats followed: LAMMPS text dumps (frames begin with ``ITEM: TIMESTEP``; complete when the ``NUMBER OF ATOMS``
atom lines after ``ITEM: ATOMS`` have all ended), (extended) XYZ (a count line, a comment line and that many atom
lines), and VASP's OUTCAR and vasprun.xml, split as the package's reader splits them
(:mod:`trajmodes.io.trajectories.vasp_format`): an OUTCAR's header runs to the end of its first SCF ``Iteration``
line and an ionic step ends 4 lines after its ``FREE ENERGIE OF THE ION-ELECTRON SYSTEM`` line; a vasprun.xml's
header runs to its first ``<calculation>`` and an ionic step is a ``<calculation>`` element, complete once its
``</calculation>`` line has ended (the file is not valid XML until the run ends). A VASP header (POTIM, the masses,
the atoms and the initial structure) is read once and written before the new steps of every private file. A file
that shrinks or is replaced (a new run written over it) is refused: its frames would not be the ones already fitted.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["FOLLOWED_FORMATS", "FrameFollower", "NewFrames", "followed_format", "open_frames"]

#: the formats :class:`FrameFollower` follows, by the names :func:`trajmodes.trajectory.read` takes
FOLLOWED_FORMATS = ("lammps-dump", "xyz", "ase:vasp-out", "ase:vasp-xml")
#: the formats whose frames need the file's header, and the name of their private file
_WITH_HEADER = {"ase:vasp-out": "OUTCAR", "ase:vasp-xml": "vasprun.xml"}
#: the items that open a frame's header (``dump_modify units yes`` / ``time yes`` put UNITS and TIME before TIMESTEP)
#: and the one that ends it
_HEADER = re.compile(rb"(?m)^ITEM: (UNITS|TIMESTEP|TIME|ATOMS)\b")
_NATOMS = re.compile(rb"ITEM: NUMBER OF ATOMS[^\n]*\n[ \t\r]*(\d+)")
_OUTCAR_STEP_END = b"FREE ENERGIE OF THE ION-ELECTRON SYSTEM"
_XML_OPEN, _XML_CLOSE = b"<calculation>", b"</calculation>"
#: i-PI's trajectory files: XYZ whose comment line starts with its cell
_IPI_COMMENT = re.compile(rb"^\s*#\s*CELL[({]")
#: bytes read at a time (doubled where one frame is longer)
WINDOW = 64 << 20


def followed_format(path: str, head: bytes) -> str:
    """The format of ``path`` (one of :data:`FOLLOWED_FORMATS`) from its name and first bytes; other formats are
    refused with what to do."""
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd")):
        raise ValueError(f"{path} is compressed: a compressed file cannot be followed while it is written; "
                         "decompress it first (gunzip) to replay it, or let the MD program write plain text")
    text = head.lstrip()
    name = os.path.basename(path).lower()
    if text.startswith(b"ITEM:"):
        return "lammps-dump"
    if text.startswith(b"<?xml") or text.startswith(b"<modeling>"):
        if b"<modeling>" in head or name.startswith("vasprun"):
            return "ase:vasp-xml"
    elif "outcar" in name or text.startswith(b"vasp."):
        return "ase:vasp-out"
    lines = text.split(b"\n", 2)
    first = lines[0].strip()
    if first.isdigit():
        if len(lines) > 1 and _IPI_COMMENT.match(lines[1]):
            raise ValueError(f"{path} is an i-PI trajectory file: trajmodes watch does not follow i-PI runs (their "
                             "positions and forces are written to separate files); fit the finished run with "
                             "`trajmodes fit` on its positions and forces files")
        return "xyz"
    raise ValueError(f"{path}: trajmodes watch follows LAMMPS text dumps, (extended) XYZ files and VASP's OUTCAR and "
                     "vasprun.xml while they are written, and this is none of them (its first line is "
                     f"{first[:60].decode(errors='replace')!r}); fit a finished run of another format with "
                     "`trajmodes fit`, or write the run as a LAMMPS dump or extended XYZ")


@dataclass
class NewFrames:
    """The complete frames found past the last ones taken: their byte ranges [starts, ends) in the file."""

    starts: np.ndarray
    ends: np.ndarray

    def __len__(self) -> int:
        return len(self.starts)


class FrameFollower:
    """The complete frames of a growing LAMMPS dump, XYZ file, VASP OUTCAR or vasprun.xml, each found once, in order.

    Parameters
    ----------
    path : str
        The file the MD program writes (plain text; a compressed file cannot be followed while it grows).
    format : {"lammps-dump", "xyz", "ase:vasp-out", "ase:vasp-xml"}, optional
        Default: from its name and first bytes.
    """

    def __init__(self, path, format: str | None = None):
        self.path = os.fspath(path)
        self.format = format
        self.position = 0                 # the byte where the next frame starts (all before it taken)
        self.frames = 0                   # frames taken
        self.bytes_read = 0               # bytes read from the file, all polls together
        self._identity = None
        self._folder = None
        self._frame_bytes = 0             # the longest frame seen (bytes)
        self.head = None                  # a VASP file's header (bytes), read once, written before every take
        self._takes = 0

    def _check_identity(self, st) -> None:
        ident = (st.st_dev, st.st_ino)
        if self._identity is None:
            self._identity = ident
        elif ident != self._identity or st.st_size < self.position:
            raise ValueError(f"{self.path}: the file was replaced or cut short while it was followed (it now holds "
                             f"{st.st_size} bytes, {self.position} were read): a new run was written over it; "
                             "watch the new run from its start")

    def _check_head(self, fd: int) -> None:
        """A VASP file whose first bytes (its first line says when the run started) are no longer the header read
        is another run written over the one followed."""
        n = min(len(self.head), 4096)
        now = os.pread(fd, n, 0)
        self.bytes_read += len(now)
        if now != self.head[:n]:
            raise ValueError(f"{self.path}: the file was replaced while it was followed (its header is not the one "
                             "read at the start): a new run was written over it; watch the new run from its start")

    def poll(self, max_frames: int | None = None) -> NewFrames:
        """The complete frames written since the last poll (at most ``max_frames``), read from the byte after the
        last frame taken; a frame still being written is left for a later poll."""
        if not os.path.exists(self.path):
            return NewFrames(np.zeros(0, np.int64), np.zeros(0, np.int64))
        with open(self.path, "rb", buffering=0) as f:
            st = os.fstat(f.fileno())
            self._check_identity(st)
            if self.head is not None:
                self._check_head(f.fileno())
                self.position = max(self.position, len(self.head))   # frames given back (an interrupt) start there
            if self.format is None:
                if st.st_size == 0:
                    return NewFrames(np.zeros(0, np.int64), np.zeros(0, np.int64))
                self.format = followed_format(self.path, os.pread(f.fileno(), 4096, 0))
            if self.format not in FOLLOWED_FORMATS:
                raise ValueError(f"format {self.format!r}: trajmodes watch follows {', '.join(FOLLOWED_FORMATS)}")
            if self.format in _WITH_HEADER and self.head is None and not self._read_head(f.fileno(), st.st_size):
                return NewFrames(np.zeros(0, np.int64), np.zeros(0, np.int64))
            size, window = st.st_size, WINDOW
            starts, ends = [], []
            while self.position < size and (max_frames is None or len(starts) < max_frames):
                n = min(window, size - self.position)
                if max_frames is not None and self._frame_bytes:      # a replay: about the bytes of the frames asked
                    n = min(n, int((max_frames - len(starts) + 1) * self._frame_bytes * 1.05) + 4096)
                buf = os.pread(f.fileno(), n, self.position)
                self.bytes_read += len(buf)
                at_end = self.position + len(buf) >= size
                found = self._splitter()(buf, at_end)
                if max_frames is not None:
                    found = found[:max_frames - len(starts)]
                if not found:
                    if at_end:
                        break
                    window *= 2                   # a frame longer than the window
                    continue
                for a, b in found:
                    starts.append(self.position + a)
                    ends.append(self.position + b)
                self._frame_bytes = max(self._frame_bytes, max(b - a for a, b in found))
                self.position += found[-1][1]
                self.frames += len(found)
        return NewFrames(np.asarray(starts, np.int64), np.asarray(ends, np.int64))

    def _splitter(self):
        return {"lammps-dump": self._lammps_frames, "xyz": self._xyz_frames, "ase:vasp-out": self._outcar_frames,
                "ase:vasp-xml": self._vasprun_frames}[self.format]

    def _read_head(self, fd: int, size: int) -> bool:
        """Read a VASP file's header (once) and start the frames after it; False while it is not all written."""
        window = 1 << 20
        while True:
            buf = os.pread(fd, min(window, size), 0)
            if self.format == "ase:vasp-out":
                first = buf.find(b"Iteration")
                nl = buf.find(b"\n", first) if first >= 0 else -1
                end = nl + 1 if nl >= 0 else -1
            else:
                first = buf.find(_XML_OPEN)
                end = buf.rfind(b"\n", 0, first) + 1 if first >= 0 else -1
            if end > 0 or len(buf) >= size:
                break
            window *= 2
        self.bytes_read += len(buf)
        if end <= 0:
            return False
        self.head = buf[:end]
        self.position = end
        return True

    @staticmethod
    def _outcar_frames(buf: bytes, at_end: bool) -> list:
        """The complete ionic steps of an OUTCAR's ``buf`` (which starts at one), as (start, end) offsets in it: each
        ends 4 lines after its ``FREE ENERGIE OF THE ION-ELECTRON SYSTEM`` line (ended by its newline)."""
        out, start = [], 0
        d = buf.find(_OUTCAR_STEP_END)
        while d >= 0:
            end = d
            for _ in range(5):
                end = buf.find(b"\n", end)
                if end < 0:
                    return out
                end += 1
            out.append((start, end))
            start = end
            d = buf.find(_OUTCAR_STEP_END, end)
        return out

    @staticmethod
    def _vasprun_frames(buf: bytes, at_end: bool) -> list:
        """The complete ``<calculation>`` elements of a vasprun.xml's ``buf`` (which starts at one, or at the blank
        text before it), as (start, end) offsets in it: from the start of the ``<calculation>`` line to the newline
        that ends the ``</calculation>`` line."""
        out, start = [], 0
        lo = buf.find(_XML_OPEN)
        while lo >= 0:
            close = buf.find(_XML_CLOSE, lo)
            nxt = buf.find(_XML_OPEN, lo + len(_XML_OPEN))
            if close >= 0 and 0 <= nxt < close:
                raise ValueError("a <calculation> element is not closed before the next one: the file was not "
                                 "written step after step, or it is damaged")
            nl = buf.find(b"\n", close) if close >= 0 else -1
            if nl < 0:
                break
            out.append((start, nl + 1))
            start = nl + 1
            lo = nxt
        return out

    @staticmethod
    def _lammps_frames(buf: bytes, at_end: bool) -> list:
        """The complete frames of ``buf`` (which starts at a frame), as (start, end) offsets in it."""
        heads, after_atoms = [], True
        for m in _HEADER.finditer(buf):       # a frame starts at the first header item after the last ATOMS
            if m.group(1) == b"ATOMS":
                after_atoms = True
            elif after_atoms:
                heads.append(m.start())
                after_atoms = False
        if not heads:
            return []
        if heads[0] != 0 and buf[:heads[0]].strip():
            raise ValueError("text before the first ITEM: TIMESTEP line of the new frames: the file was not written "
                             "frame after frame")
        out = [(a, b) for a, b in zip(heads, heads[1:])]
        last = heads[-1]
        if at_end and _lammps_frame_complete(buf, last):
            out.append((last, len(buf)))
        return out

    @staticmethod
    def _xyz_frames(buf: bytes, at_end: bool) -> list:
        """The complete XYZ frames of ``buf`` (which starts at a frame), as (start, end) offsets in it."""
        nl = np.flatnonzero(np.frombuffer(buf, np.uint8) == 10)
        out, line, start = [], 0, 0
        while line < len(nl):
            head = buf[start:nl[line]].strip()
            if not head:                  # blank lines between frames
                line, start = line + 1, int(nl[line]) + 1
                continue
            try:
                natoms = int(head)
            except ValueError:
                raise ValueError(f"an XYZ frame does not start with its atom count but with {head[:40]!r}") from None
            last = line + natoms + 1      # the newline that ends the frame's last atom line
            if last >= len(nl):
                break
            end = int(nl[last]) + 1
            out.append((start, end))
            line, start = last + 1, end
        return out

    def take(self, frames: NewFrames, folder: str | None = None) -> str:
        """The bytes of ``frames`` (consecutive, as :meth:`poll` gives them) copied into a file of their own (after
        the header of a VASP file), which :func:`trajmodes.trajectory.read` opens as this format; its path (in a
        private folder removed by :meth:`close`; each take writes a new file and removes the one before)."""
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="trajmodes-watch-", dir=folder)
        name = _WITH_HEADER.get(self.format) or ("frames.lammpstrj" if self.format == "lammps-dump" else "frames.xyz")
        previous = os.path.join(self._folder, f"{self._takes}", name)
        self._takes += 1
        os.makedirs(os.path.join(self._folder, f"{self._takes}"))
        target = os.path.join(self._folder, f"{self._takes}", name)
        lo, hi = int(frames.starts[0]), int(frames.ends[-1])
        with open(self.path, "rb", buffering=0) as f, open(target, "wb") as out:
            if self.head is not None:
                out.write(self.head)
            pos = lo
            while pos < hi:
                chunk = os.pread(f.fileno(), min(hi - pos, WINDOW), pos)
                if not chunk:
                    raise ValueError(f"{self.path}: the file ended at byte {pos} inside frames found before")
                out.write(chunk)
                pos += len(chunk)
        self.bytes_read += hi - lo
        shutil.rmtree(os.path.dirname(previous), ignore_errors=True)   # a folder of its own: its index goes with it
        return target

    def close(self) -> None:
        """Remove the private folder of :meth:`take`."""
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def _lammps_frame_complete(buf: bytes, start: int) -> bool:
    """Whether the LAMMPS frame at ``start`` of ``buf`` (its last) holds all its atom lines, each ended by a
    newline: a line cut inside a number is not taken as a shorter number."""
    m = _NATOMS.search(buf, start)
    j = buf.find(b"ITEM: ATOMS", start)
    if m is None or j < 0:
        return False
    k = buf.find(b"\n", j)
    if k < 0:
        return False
    natoms = int(m.group(1))
    return buf.count(b"\n", k + 1) >= natoms


def open_frames(path: str, format: str, options: dict, quiet: bool = True):
    """The frames of the file ``path`` written by :meth:`FrameFollower.take` as a :class:`Trajectory`, read with
    the ``options`` the run's first opening found (its units, time step, species and masses): its own warnings are
    not repeated (``quiet``). Not quiet, the run's own file is opened, and only the warning about its last frame,
    still being written, is left out."""
    from trajmodes.trajectory import read
    with warnings.catch_warnings():
        warnings.simplefilter("ignore" if quiet else "default")
        warnings.filterwarnings("ignore", message=r".*the last frame .* is incomplete and was dropped")
        warnings.filterwarnings("ignore", message=r".*frame \d+ is incomplete \(truncated file\) and was dropped")
        return read(path, format=format, **options)
