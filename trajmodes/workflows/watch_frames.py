"""Following a trajectory file while the MD program writes it (``trajmodes watch``): only the bytes past the last
complete frame are read, a frame is taken only once all its lines are there, and the new frames are parsed by the
package's own reader (:func:`trajmodes.trajectory.read`) from a file that holds them alone, so that reading an
update costs what its new frames cost, not what the run holds.

Formats followed: LAMMPS text dumps (frames begin with ``ITEM: TIMESTEP``; complete when the ``NUMBER OF ATOMS``
atom lines after ``ITEM: ATOMS`` have all ended) and (extended) XYZ (a count line, a comment line and that many atom
lines). A file that shrinks or is replaced (a new run written over it) is refused: its frames would not be the ones
already fitted.
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
FOLLOWED_FORMATS = ("lammps-dump", "xyz")
#: the items that open a frame's header (``dump_modify units yes`` / ``time yes`` put UNITS and TIME before TIMESTEP)
#: and the one that ends it
_HEADER = re.compile(rb"(?m)^ITEM: (UNITS|TIMESTEP|TIME|ATOMS)\b")
_NATOMS = re.compile(rb"ITEM: NUMBER OF ATOMS[^\n]*\n[ \t\r]*(\d+)")
#: bytes read at a time (doubled where one frame is longer)
WINDOW = 64 << 20


def followed_format(path: str, head: bytes) -> str:
    """``"lammps-dump"`` or ``"xyz"`` from the first bytes of ``path``; other formats are refused with what to do."""
    if head.startswith((b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd")):
        raise ValueError(f"{path} is compressed: a compressed file cannot be followed while it is written; "
                         "decompress it first (gunzip) to replay it, or let the MD program write plain text")
    text = head.lstrip()
    if text.startswith(b"ITEM:"):
        return "lammps-dump"
    first = text.split(b"\n", 1)[0].strip()
    if first.isdigit():
        return "xyz"
    raise ValueError(f"{path}: trajmodes watch follows LAMMPS text dumps and (extended) XYZ files while they are "
                     "written, and this is neither (its first line is "
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
    """The complete frames of a growing LAMMPS dump or XYZ file, each found once, in order.

    Parameters
    ----------
    path : str
        The file the MD program writes (plain text; a compressed file cannot be followed while it grows).
    format : {"lammps-dump", "xyz"}, optional
        Default: from its first bytes.
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

    def _check_identity(self, st) -> None:
        ident = (st.st_dev, st.st_ino)
        if self._identity is None:
            self._identity = ident
        elif ident != self._identity or st.st_size < self.position:
            raise ValueError(f"{self.path}: the file was replaced or cut short while it was followed (it now holds "
                             f"{st.st_size} bytes, {self.position} were read): a new run was written over it; "
                             "watch the new run from its start")

    def poll(self, max_frames: int | None = None) -> NewFrames:
        """The complete frames written since the last poll (at most ``max_frames``), read from the byte after the
        last frame taken; a frame still being written is left for a later poll."""
        if not os.path.exists(self.path):
            return NewFrames(np.zeros(0, np.int64), np.zeros(0, np.int64))
        with open(self.path, "rb", buffering=0) as f:
            st = os.fstat(f.fileno())
            self._check_identity(st)
            if self.format is None:
                if st.st_size == 0:
                    return NewFrames(np.zeros(0, np.int64), np.zeros(0, np.int64))
                self.format = followed_format(self.path, os.pread(f.fileno(), 4096, 0))
            size, window = st.st_size, WINDOW
            starts, ends = [], []
            while self.position < size and (max_frames is None or len(starts) < max_frames):
                n = min(window, size - self.position)
                if max_frames is not None and self._frame_bytes:      # a replay: about the bytes of the frames asked
                    n = min(n, int((max_frames - len(starts) + 1) * self._frame_bytes * 1.05) + 4096)
                buf = os.pread(f.fileno(), n, self.position)
                self.bytes_read += len(buf)
                at_end = self.position + len(buf) >= size
                found = (self._lammps_frames if self.format == "lammps-dump" else self._xyz_frames)(buf, at_end)
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
        """The bytes of ``frames`` (consecutive, as :meth:`poll` gives them) copied into a file of their own, which
        :func:`trajmodes.trajectory.read` opens as this format; its path (in a private folder removed by
        :meth:`close`)."""
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="trajmodes-watch-", dir=folder)
        suffix = ".lammpstrj" if self.format == "lammps-dump" else ".xyz"
        target = os.path.join(self._folder, f"frames{suffix}")
        lo, hi = int(frames.starts[0]), int(frames.ends[-1])
        with open(self.path, "rb", buffering=0) as f, open(target, "wb") as out:
            pos = lo
            while pos < hi:
                chunk = os.pread(f.fileno(), min(hi - pos, WINDOW), pos)
                if not chunk:
                    raise ValueError(f"{self.path}: the file ended at byte {pos} inside frames found before")
                out.write(chunk)
                pos += len(chunk)
        self.bytes_read += hi - lo
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
        return read(path, format=format, **options)
