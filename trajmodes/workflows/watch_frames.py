"""Following a trajectory file while the MD program writes it (``trajmodes watch``): only the bytes past the last
complete frame are read, each once (the complete frames copied into a private file as they are read, the bytes of a
frame still being written kept for the next poll), a frame is taken only once all its lines are there, and the new
frames are parsed by the package's own reader (:func:`trajmodes.trajectory.read`) from that file, which holds them
alone, so that reading an update costs what its new frames cost, not what the run holds.

Formats followed: LAMMPS text dumps (frames begin with ``ITEM: TIMESTEP``; complete when the ``NUMBER OF ATOMS``
atom lines after ``ITEM: ATOMS`` have all ended), (extended) XYZ (a count line, a comment line and that many atom
lines), VASP's OUTCAR and vasprun.xml, split as the package's reader splits them
(:mod:`trajmodes.io.trajectories.vasp_format`): an OUTCAR's header runs to the end of its first SCF ``Iteration``
line and an ionic step ends 4 lines after its ``FREE ENERGIE OF THE ION-ELECTRON SYSTEM`` line; a vasprun.xml's
header runs to its first ``<calculation>`` and an ionic step is a ``<calculation>`` element, complete once its
``</calculation>`` line has ended (the file is not valid XML until the run ends). A VASP header (POTIM, the masses,
the atoms and the initial structure) is read once and written before the new steps of every private file. A
classical i-PI run (:class:`IPIRun`) writes its positions, forces and velocities to separate XYZ files
(``PREFIX.pos_0.xyz``, ``PREFIX.for_0.xyz``, ``PREFIX.vel_0.xyz``), each at its own time: a step is taken once its
frame is complete in all of them (forces written every n times the positions' stride: the steps that have both;
velocities whose steps are not the positions': left out, the temperature unknown), and the private files are named
as the run's, for i-PI's reader (:mod:`trajmodes.io.trajectories.ipi`) to join them. A file that shrinks or is
replaced (a new run written over it) is refused: its frames would not be the ones already fitted.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = ["FOLLOWED", "FOLLOWED_FORMATS", "FrameFollower", "IPIRun", "NewFrames", "followed_format", "followed_name",
           "in_run", "ipi_timestep", "open_frames"]

#: the formats :class:`FrameFollower` follows, by the names :func:`trajmodes.trajectory.read` takes
FOLLOWED_FORMATS = ("lammps-dump", "xyz", "ase:vasp-out", "ase:vasp-xml", "ipi")
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
#: a LAMMPS frame's MD step
_TIMESTEP = re.compile(rb"ITEM: TIMESTEP[^\n]*\n[ \t\r]*(-?\d+)")
#: the MD step an i-PI comment line states
_IPI_STEP = re.compile(rb"Step:\s*(-?\d+)")
#: the first bytes of gzip, bzip2, xz and zstd files
_COMPRESSED = (b"\x1f\x8b", b"BZh", b"\xfd7zXZ", b"\x28\xb5\x2f\xfd")
#: bytes read at a time (doubled where one frame is longer)
WINDOW = 64 << 20


#: how the follower splits the frames of a run (:data:`FOLLOWED_FORMATS`), by the registry's name of what the run's
#: file is (:func:`trajmodes.io.identify`: a reader's first format name, an ASE format, a path-integral run's); a
#: reader whose files a splitter of :class:`FrameFollower` can cut into frames is followed by naming it here
FOLLOWED = {"lammps": "lammps-dump", "xyz": "xyz", "ase:vasp-out": "ase:vasp-out", "ase:vasp-xml": "ase:vasp-xml",
            "ipi": "ipi", "ipi-beads": "ipi"}


def followed_format(path: str, head: bytes) -> str:
    """The format of ``path`` (one of :data:`FOLLOWED_FORMATS`) as the one registry of what a path is answers
    (:func:`trajmodes.io.identify`, from its name and first bytes); a compressed file and other formats are refused
    with what to do (an i-PI run of several beads is refused by :class:`IPIRun`, saying what it is)."""
    from trajmodes.io import identify
    if head.startswith(_COMPRESSED):
        raise ValueError(f"{path} is compressed: a compressed file cannot be followed while it is written; "
                         "decompress it first (gunzip) to replay it, or let the MD program write plain text")
    found = identify(path)
    name = found.format if found.kind == "path-integral" or found.format.startswith("ase:") else \
        found.entry.format_names[0]
    if name in FOLLOWED and found.kind != "structure":
        return FOLLOWED[name]
    first = head.lstrip().split(b"\n", 1)[0].strip()
    what = ("none of trajmodes' own formats, which only MDAnalysis may read" if name == "mdanalysis" else
            f"{found.describe()}")
    raise ValueError(f"{path}: trajmodes watch follows LAMMPS text dumps, (extended) XYZ files, VASP's OUTCAR and "
                     "vasprun.xml and i-PI's trajectory files while they are written, and this is none of them (it is "
                     f"{what}; its first line is {first[:60].decode(errors='replace')!r}); fit a finished run of "
                     "another format with `trajmodes fit`, or write the run as a LAMMPS dump or extended XYZ")


def followed_name(name: str) -> str | None:
    """The format :class:`FrameFollower` follows for a format name as ``format=`` takes it (the registry's reader of
    that name, :func:`trajmodes.io.reader_for`; an ASE format with or without its ``ase:``), None where it follows
    none."""
    from trajmodes.io import reader_for
    key = str(name).strip().lower()
    if not key.startswith("ase:") and "ase:" + key in FOLLOWED:
        key = "ase:" + key
    return FOLLOWED.get(key if key.startswith("ase:") else reader_for(key).format_names[0])


@dataclass
class NewFrames:
    """The complete frames found past the last ones taken: their byte ranges [starts, ends) in the file (of an i-PI
    run, in its positions file), and ``path``, the private file they were copied into as they were read
    (:meth:`FrameFollower.take`), None where there are none."""

    starts: np.ndarray
    ends: np.ndarray
    path: str | None = None

    def __len__(self) -> int:
        return len(self.starts)


def _no_frames() -> NewFrames:
    return NewFrames(np.zeros(0, np.int64), np.zeros(0, np.int64))


class FrameFollower:
    """The complete frames of a growing LAMMPS dump, XYZ file, VASP OUTCAR or vasprun.xml, or of a classical i-PI
    run's positions and forces files, each found once, in order.

    Every byte is read once: :meth:`poll` copies the complete frames it finds into a private file as it reads them
    (:meth:`take` gives its path), and keeps the bytes past them (a frame still being written) for the next poll,
    which reads only what was written since.

    Parameters
    ----------
    path : str
        The file the MD program writes (plain text; a compressed file cannot be followed while it grows); of an
        i-PI run, the positions file of its bead (``PREFIX.pos_0.xyz``) or one of its siblings.
    format : {"lammps-dump", "xyz", "ase:vasp-out", "ase:vasp-xml", "ipi"}, optional
        Default: from its name and first bytes.
    folder : str, optional
        Where the private folder of the frames read is made (default the system's temporary folder).
    """

    def __init__(self, path, format: str | None = None, folder: str | None = None):
        self.path = os.fspath(path)
        self.format = format
        self.folder = folder
        self.position = 0                 # the byte where the next frame starts (all before it taken)
        self.frames = 0                   # frames taken
        self.lines = 0                    # the lines before :attr:`position` (for messages about the run's file)
        self._read = 0                    # bytes read from the file, all polls together
        self._identity = None
        self._folder = None
        self._frame_bytes = 0             # the longest frame seen (bytes)
        self.head = None                  # a VASP file's header (bytes), read once, written before every take
        self._takes = 0
        self._tail, self._tail_at = b"", -1   # the bytes read past the last frame taken, and the byte they start at
        self._kept = None                 # a file of an i-PI run: its frames kept in memory (start, end, bytes)
        self._run = None                  # an i-PI run: its files, followed together (:class:`IPIRun`)
        self._first = None                # the first bytes of the first frame: is it still the run followed?
        self._last_step = None            # a LAMMPS dump: the MD step of the last frame taken
        #: whether the run's files are whole (a replay; a run that ended or went quiet): an i-PI file that has no
        #: frame of the positions' next step has stopped (:class:`IPIRun`), it is not waited for
        self.ended = False

    @property
    def bytes_read(self) -> int:
        """Bytes read from the run's files, all polls together."""
        return self._read + (self._run.bytes_read if self._run is not None else 0)

    def mark(self) -> tuple:
        """The state before a poll, to go back to (:meth:`rewind`) where its frames were not used (an interrupt)."""
        return (self.position, self.frames, None if self._run is None else self._run.mark(), self._last_step,
                self.lines)

    def rewind(self, state: tuple) -> None:
        """Go back to the state :meth:`mark` gave: the frames polled since are found again by the next poll."""
        self.position, self.frames, run, self._last_step, self.lines = state
        if self._run is not None:
            if run is None:               # the run was opened by the polls given back: opened again
                self._read += self._run.bytes_read
                self._run = None
            else:
                self._run.rewind(run)

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
        self._read += len(now)
        if now != self.head[:n]:
            raise ValueError(f"{self.path}: the file was replaced while it was followed (its header is not the one "
                             "read at the start): a new run was written over it; watch the new run from its start")

    def poll(self, max_frames: int | None = None) -> NewFrames:
        """The complete frames written since the last poll (at most ``max_frames``), read from the byte after the
        last frame taken (the bytes of a frame still being written, read by the poll before, not read again) and
        copied into a private file (:meth:`take`); a frame still being written is left for a later poll."""
        if not os.path.exists(self.path):
            return _no_frames()
        if self.format is None:
            with open(self.path, "rb", buffering=0) as f:
                head = os.pread(f.fileno(), 4096, 0)
            lines = head.lstrip().count(b"\n")
            if len(head) < 4096 and not head.startswith(_COMPRESSED) and (
                    lines < 1 or (lines < 2 and head.lstrip()[:1].isdigit())):
                return _no_frames()        # its first line (an XYZ file's comment line: i-PI's?) not yet written
            self.format = followed_format(self.path, head)
        if self.format == "ipi":
            if self._run is None:
                self._run = IPIRun(self.path)
            self._run.ended = self.ended
            new = self._run.poll(max_frames, self._new_take)
            self.frames += len(new)
            return new
        if self.format not in FOLLOWED_FORMATS:
            raise ValueError(f"format {self.format!r}: trajmodes watch follows {', '.join(FOLLOWED_FORMATS)}")
        with open(self.path, "rb", buffering=0) as f:
            fd = f.fileno()
            st = os.fstat(fd)
            self._check_identity(st)
            if self.head is not None:
                self._check_head(fd)
                self.position = max(self.position, len(self.head))   # frames given back (an interrupt) start there
            if self.format in _WITH_HEADER and self.head is None and not self._read_head(fd, st.st_size):
                return _no_frames()
            try:
                return self._scan(fd, st.st_size, max_frames)
            except ValueError as e:
                self._check_first(fd, e)
                raise ValueError(f"{self.path}, byte {self.position}: {e}") from None

    def _check_first(self, fd: int, error: Exception) -> None:
        """Where the new bytes are no frames: a run restarted without append (the file opened again for writing:
        the same file, cut and written anew) past the bytes read, if the first frame is no longer the one read."""
        if self._first is None:
            return
        now = os.pread(fd, len(self._first), 0)
        if now != self._first:
            raise ValueError(f"{self.path}: a new run was written over the one followed (its first frame is not the "
                             f"one read at the start; a LAMMPS run restarted without dump_modify append yes opens the "
                             f"dump anew): watch the new run from its start (the new bytes read: {error})") from None

    def _scan(self, fd: int, size: int, max_frames: int | None) -> NewFrames:
        """Read the bytes from the last frame taken to ``size`` (those read before and kept not again), and copy
        (or keep) the complete frames among them."""
        buf = self._tail if self._tail_at == self.position else b""
        at = self.position + len(buf)                          # the next byte to read
        # a replay asks for a few frames: read about their bytes (a first guess of one frame before any was seen)
        window = WINDOW if max_frames is None or self._frame_bytes else 1 << 20
        more_at_least = 4096                                   # doubled while no frame ends in the bytes read
        out = path = None
        starts, ends = [], []
        try:
            while max_frames is None or len(starts) < max_frames:
                if at < size:
                    n = min(window, size - at)
                    if max_frames is not None and self._frame_bytes:  # a replay: about the bytes of the frames asked
                        want = int((max_frames - len(starts) + 1) * self._frame_bytes * 1.05) + 4096
                        n = min(n, max(want - len(buf), more_at_least))
                    more = os.pread(fd, n, at)
                    self._read += len(more)
                    at += len(more)
                    buf = buf + more if buf else more
                at_end = at >= size
                found = self._splitter()(buf, at_end) if buf else []
                if max_frames is not None:
                    found = found[:max_frames - len(starts)]
                back = self._step_back(buf, found, bool(starts)) if self.format == "lammps-dump" else None
                if back is not None:
                    found = found[:back]          # the steps go back there: the frames from it in the next take
                    if not found:
                        break
                if not found:
                    if at_end:
                        break
                    window *= 2                   # a frame longer than the window (or than the frames before)
                    more_at_least *= 2
                    continue
                used = found[-1][1]
                if self._first is None and self.position == 0:
                    self._first = bytes(buf[:min(found[0][1], 1024)])
                if self._kept is not None:
                    self._kept += [(self.position + a, self.position + b, buf[a:b]) for a, b in found]
                else:
                    if out is None:
                        path = self._take_file()
                        out = open(path, "wb")
                        if self.head is not None:
                            out.write(self.head)
                    out.write(memoryview(buf)[:used])
                starts += [self.position + a for a, _ in found]
                ends += [self.position + b for _, b in found]
                self._frame_bytes = max(self._frame_bytes, max(b - a for a, b in found))
                self.position += used
                self.lines += buf.count(b"\n", 0, used)
                self.frames += len(found)
                buf = buf[used:]
                if at_end or back is not None:
                    break
        finally:
            if out is not None:
                out.close()
        self._tail, self._tail_at = buf, self.position
        return NewFrames(np.asarray(starts, np.int64), np.asarray(ends, np.int64), path)

    def _step_back(self, buf: bytes, found: list, taken: bool) -> int | None:
        """The first of the LAMMPS frames ``found`` in ``buf`` whose step is not past the step of the frame before it
        (a restart's repeats, or a ``reset_timestep`` between two runs), where frames are taken before it in this take
        (``taken``, or it is not the first of ``found``): a take's steps only go forward, and the reader of the run's
        steps (:class:`~trajmodes.io.trajectories.restarts.StepLine`) joins each take to the one before. None where
        none goes back; the step of the last frame kept is remembered."""
        prev = self._last_step
        for k, (a, b) in enumerate(found):
            m = _TIMESTEP.search(buf, a, b)
            step = int(m.group(1)) if m else None
            if step is not None and prev is not None and step <= prev and (k or taken):
                self._last_step = prev
                return k
            prev = step if step is not None else prev
        self._last_step = prev
        return None

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
        self._read += len(buf)
        if end <= 0:
            return False
        self.head = buf[:end]
        self.lines = self.head.count(b"\n")
        self.position = end
        self._tail, self._tail_at = buf[end:], end              # the first steps' bytes, read with the header
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
        end = _lammps_frame_end(buf, last) if at_end else -1
        if end > 0:
            out.append((last, end))
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

    def _new_take(self) -> str:
        """A new folder of the private folder for the frames of one poll (the one of the poll before removed, its
        index with it)."""
        if self._folder is None:
            self._folder = tempfile.mkdtemp(prefix="trajmodes-watch-", dir=self.folder)
        shutil.rmtree(os.path.join(self._folder, f"{self._takes}"), ignore_errors=True)
        self._takes += 1
        target = os.path.join(self._folder, f"{self._takes}")
        os.makedirs(target)
        return target

    def _take_file(self) -> str:
        name = _WITH_HEADER.get(self.format) or ("frames.lammpstrj" if self.format == "lammps-dump" else "frames.xyz")
        return os.path.join(self._new_take(), name)

    def take(self, frames: NewFrames) -> str:
        """The file that holds ``frames`` (as the last :meth:`poll` gave them) alone, after the header of a VASP file
        (of an i-PI run: its positions file, its forces and velocities files beside it, named as the run's), which
        :func:`trajmodes.trajectory.read` opens as this format; in a private folder removed by :meth:`close`, each
        poll's in a new folder that replaces the one before."""
        if frames.path is None or not os.path.isfile(frames.path):
            raise ValueError("no file holds these frames: take the frames of the last poll, before the next")
        return frames.path

    def finished(self) -> str | None:
        """Why the run has written its last frame, where it says so (an i-PI run: :meth:`IPIRun.finished`), in
        words; None otherwise."""
        return self._run.finished() if self._run is not None else None

    @property
    def ipi_velocities(self) -> tuple:
        """Of an i-PI run: the positions' stride (MD steps between their last two frames) and why its velocities were
        left out (None where they were not); (None, None) otherwise."""
        if self._run is None:
            return None, None
        return self._run.strides["positions"] or self._run.stride, self._run.velocities_why

    def step_times(self, steps, times) -> np.ndarray:
        """The times (ps) of the frames of MD ``steps`` taken, whose reader gave them ``times``: of an i-PI run, its
        properties file's where they differ (:meth:`IPIRun.times`); ``times`` otherwise."""
        return self._run.times(steps, times) if self._run is not None else np.asarray(times, float)

    def close(self) -> None:
        """Remove the private folder of :meth:`take`."""
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
        if self._run is not None:
            self._run.close()


class IPIRun:
    """The files of a classical i-PI run (one bead) followed together: the positions file ``PREFIX.pos_0.xyz`` and
    beside it the forces file (``PREFIX.for_0.xyz``) and, where there is one, the velocities file, which i-PI writes
    at different times. A step is taken once its frame is complete in every one of them (matched by the ``Step:`` of
    their comment lines, in order where they state none); the frames of the files ahead are kept until the others
    have them.

    Each file may have its own ``stride``: a finer one's steps between the positions' are passed over; forces written
    every ``n`` times the positions' stride have the steps that hold both fitted (the others unused, said once); the
    velocities, which give only the temperature, are left out (the temperature unknown, said once, as of a run written
    without them) where their steps are not all the positions' (a coarser stride, or a file that stopped), which the
    first take waits to know. A file only behind the positions (its next step may still come) is waited for, and a
    wait that lasts a poll is said; once the files are whole (:attr:`ended`: a replay, the run ended or went quiet), a
    file that ends before the positions' step is not waited for.

    Parameters
    ----------
    path : str
        One of the run's files (its positions file, or its forces or velocities file).

    Raises
    ------
    ValueError
        A path-integral run (several beads: fitted over its beads by ``trajmodes fit`` once it has finished), a run
        without a forces file, or (by :meth:`poll`) forces whose steps are not every n-th of the positions'.
    """

    def __init__(self, path: str):
        from trajmodes.io import identify, positions_file_of, sibling_path
        pos = positions_file_of(os.fspath(path))
        found = identify(pos)
        if found.kind == "path-integral":
            raise ValueError(f"{path} is a file of an i-PI path-integral run of {found.beads.n_beads} beads: "
                             "trajmodes watch follows classical i-PI runs (one bead, nbeads=\"1\"); fit the "
                             f"path-integral run over all its beads once it has finished with `trajmodes fit {pos}`")
        self.paths = {"positions": pos}
        for field in ("forces", "velocities"):
            p = sibling_path(pos, field)
            if p is not None:
                self.paths[field] = p
        if "forces" not in self.paths:
            raise ValueError(f"{pos} has no forces file beside it (PREFIX.for_0.xyz): the fit of the effective "
                             "constants needs the force on every atom in every frame; add <trajectory "
                             "filename=\"for\" stride=\"...\"> forces </trajectory> to the <output> of the i-PI input, "
                             "with the positions' stride, and run it again")
        from trajmodes.io import ipi_bead_count
        self.bead_count = ipi_bead_count(pos)       # a bead of a path-integral run written alone is refused
        self.files = {field: FrameFollower(p, "xyz") for field, p in self.paths.items()}
        for f in self.files.values():
            f._kept = []
        self.pending = {field: [] for field in self.paths}     # complete frames not taken: (step, start, end, bytes)
        self.top = {field: None for field in self.paths}       # the largest step read of each file
        self.strides = {field: None for field in self.paths}   # the steps between its last two frames, per file
        self.stride = 1                   # the steps between the last two frames of the positions file
        self.repeats = 0                  # frames of the positions file left out: their step was read before
        #: whether the run's files are whole (a replay; the run has ended): a file without the positions' next step
        #: has stopped, it is not waited for
        self.ended = False
        self.left_out: dict = {}          # the files left out (the velocities): why, in words
        self.velocities_why = None        # which steps the velocities left out lack, in words
        self.taken = 0                    # steps taken
        self.unused = 0                   # frames of the positions file without forces at their step: not fitted
        self._said = set()                # the lines said once (the coarser forces, a file that stopped)
        self._waiting = None              # the file the last poll waited for and its last step
        self.properties = None            # the properties file's step and time columns, read as they grow

    @property
    def bytes_read(self) -> int:
        return sum(f.bytes_read for f in self.files.values()) + (
            self.properties.bytes_read if self.properties is not None else 0)

    def times(self, steps, times) -> np.ndarray:
        """The times (ps) of the frames of MD ``steps`` whose times counted with the input's time step are ``times``:
        i-PI's own where its properties file writes ``time`` and they are not those (a run restarted with another
        ``<timestep>``: its time goes on from the restart with the new step), as ``trajmodes fit`` takes them from
        the same file (a step between its rows on the line through them; past its last row, the line through its last
        two continued); ``times`` where it writes none (the warning of :func:`ipi_timestep` says so)."""
        from trajmodes.io import PropertiesTimes, ipi_input_beside, properties_files
        times = np.asarray(times, float)
        if self.properties is None:
            found = properties_files(self.paths["positions"], ipi_input_beside(self.paths["positions"]))
            if not found:
                return times
            self.properties = PropertiesTimes(found[0])
        self.properties.read()
        own = self.properties.times(steps)
        other = np.isfinite(own) & ~np.isclose(own, times, rtol=1e-6, atol=1e-9)
        if not other.any():
            return times
        k = int(np.flatnonzero(other)[0])
        if "times" not in self._said:
            self._said.add("times")
            warnings.warn(f"{self.paths['positions']}: the {self.properties.column} column of "
                          f"{self.properties.path} says {own[k]:.6g} ps at MD step {int(steps[k])}, not its step x "
                          f"the input's time step ({times[k]:.6g} ps): the run's time step was not the input's there "
                          "(restarted with another <timestep>, or an input edited after the run); the frames' times "
                          "are the properties file's, as trajmodes fit takes them", UserWarning, stacklevel=4)
        return np.where(other, own, times)

    def mark(self) -> tuple:
        return ({k: (f.position, f.frames) for k, f in self.files.items()},
                {k: list(v) for k, v in self.pending.items()}, dict(self.top), self.repeats, self.stride,
                dict(self.strides), self.taken, self.unused)

    def rewind(self, state: tuple) -> None:
        at, pending, top, self.repeats, self.stride, strides, self.taken, self.unused = state
        for k, f in self.files.items():
            f.position, f.frames = at[k]
        self.pending = {k: list(v) for k, v in pending.items()}
        self.top, self.strides = dict(top), dict(strides)

    def _read(self, field: str, max_frames: int | None) -> int:
        """Poll the file of ``field``: its new complete frames join its pending ones, with their steps."""
        f = self.files[field]
        f.poll(max_frames)
        got, f._kept = f._kept, []
        counted = f.frames - len(got)                         # the index of the first in its file
        top = self.top[field]
        for k, (a, b, data) in enumerate(got):
            head = data.split(b"\n", 2)[1] if data.count(b"\n") > 1 else b""
            m = _IPI_STEP.search(head)
            step = int(m.group(1)) if m else counted + k
            if top is not None and step <= top:       # i-PI restarted from an earlier checkpoint writes them again
                self.repeats += field == "positions"
                continue
            if top is not None:
                self.strides[field] = step - top
                if field == "positions":
                    self.stride = step - top
            top = step
            self.pending[field].append((step, a, b, data))
        self.top[field] = top
        return len(got)

    def _followed(self) -> list:
        """The files followed besides the positions (those not left out)."""
        return [k for k in self.paths if k != "positions" and k not in self.left_out]

    def finished(self) -> str | None:
        """Why the run has written its last frame (its input's ``<total_steps>`` reached: no step of its stride is
        left before it in any file followed), in words; None where it has not or the input does not say. A
        velocities file not yet known to follow the positions' steps (a frame written once) is not waited for."""
        from trajmodes.io import ipi_input_beside
        fields = [k for k in ["positions"] + self._followed()
                  if k != "velocities" or self.strides[k] is not None]
        if any(self.top[k] is None for k in fields):
            return None
        inp = ipi_input_beside(self.paths["positions"])
        if inp is None or inp.total_steps is None or any(
                self.top[k] + max(self.strides[k] or self.stride, 1) <= inp.total_steps for k in fields):
            return None
        top = min(self.top[k] for k in fields)
        return (f"the i-PI run has finished: {os.path.basename(inp.path)} says <total_steps> {inp.total_steps}, and "
                f"its files hold step {top}, the last of its stride; every frame is read")

    def _has(self, k: str, j: int, step: int) -> str:
        """Whether file ``k`` holds ``step`` at ``j`` of its pending frames (the frames before it passed): "has";
        "past" where it passes the step by (a later step is there, or its stride steps over it); "stopped" where the
        files are whole and it ends before the step; "wait" where the step may still be written."""
        queue, top, stride = self.pending[k], self.top[k], self.strides[k]
        if j < len(queue):
            return "has" if queue[j][0] == step else "past"
        if top is not None and stride is not None and top + stride > step:
            return "past"
        return "stopped" if self.ended else "wait"

    def _left_out_velocities(self, step: int, state: str) -> None:
        """Leave the velocities out: their steps are not all the positions'. Before any step is taken, from the first
        step (the temperature unknown, as ``trajmodes fit`` reads the run); after, from ``step`` on (a restart with
        another stride, a file that stopped: the frames from there on fitted without them)."""
        k, name = "velocities", os.path.basename(self.paths["velocities"])
        top, v, p = self.top[k], self.strides[k], self.strides["positions"]
        if state == "past" and v is not None and p is not None:
            why = f"{name} is written every {v} steps, the positions every {p}"
        elif state == "past" or top is None:
            why = f"{name} has no frame of step {step}, which the positions have"
        else:
            why = f"{name} holds no frame after step {top}, while the positions have step {self.top['positions']}"
        from trajmodes.io import velocities_left_out
        self.left_out[k] = velocities_left_out(why, p or self.stride) if not self.taken else (
            f"{why}: the velocities are left out from step {step} on, the frames from there on fitted without them, "
            "and the temperature is unknown, as `trajmodes fit` leaves these velocities out of every frame; for the "
            f"temperature, give the velocities <trajectory> of the i-PI input the positions' stride=\"{p or self.stride}\"")
        self.velocities_why = why
        self.pending[k] = []
        warnings.warn(f"{self.paths['positions']}: {self.left_out[k]}", UserWarning, stacklevel=6)

    def _coarser_forces(self, step: int, j: int) -> None:
        """A positions frame of ``step`` that the forces file passes by (its next frame after ``j`` of its pending
        ones): unused where the forces' stride is a multiple of the positions' (said once); refused where not."""
        k, name = "forces", os.path.basename(self.paths["forces"])
        queue, f, p = self.pending[k], self.strides[k], self.strides["positions"]
        if f is None or p is None:
            return                        # the strides not known yet (one frame read): this step unused
        from trajmodes.io import coarser_forces
        nxt = queue[j][0] if j < len(queue) else self.top[k] + f
        taken, what, fix = coarser_forces(name, os.path.basename(self.paths['positions']), f, p, not (nxt - step) % p)
        if not taken:
            raise ValueError(f"{what}; {fix}")
        if "coarser" not in self._said:
            self._said.add("coarser")
            warnings.warn(f"{self.paths['positions']}: {what}; {fix}", UserWarning, stacklevel=6)

    def _stopped(self, k: str, step: int) -> None:
        """Say once that file ``k``, whose steps were taken, has no frame of the positions' ``step`` and never will
        (the files are whole): the positions from it on are not fitted."""
        if ("stopped", k) in self._said:
            return
        self._said.add(("stopped", k))
        warnings.warn(f"{self.paths[k]} ends at step {self.top[k]}: the frames of "
                      f"{os.path.basename(self.paths['positions'])} from step {step} on, which have no {k}, are not "
                      "fitted", UserWarning, stacklevel=6)

    def _wait(self, k: str, step: int) -> None:
        """A poll that waits for file ``k`` (its frame of ``step`` not written yet): said where the poll before
        waited for it at the same last step (a wait that lasts a poll), once a wait."""
        now = (k, self.top[k])
        if self._waiting == now and ("wait",) + now not in self._said:
            self._said.add(("wait",) + now)
            last = "it holds no frame yet" if self.top[k] is None else f"its last frame is step {self.top[k]}"
            warnings.warn(f"waiting for {os.path.basename(self.paths[k])}: {last}, the positions' is step "
                          f"{self.top['positions']} (a file that i-PI writes more rarely than the positions, or no "
                          "longer, is known to once the run has ended)", UserWarning, stacklevel=5)
        self._waiting = now

    def _rows(self, max_frames: int | None):
        """The steps to take now: (rows, positions frames passed, at, unused, waited): each row (start, end, its
        positions frame, the other files' frames), the pending positions frames passed (taken or unused), the pending
        frames of each other file passed, the positions frames unused (the forces pass their step by) and the file
        waited for with the step (or None)."""
        pos = self.pending["positions"]
        while True:
            others = self._followed()
            rows, at, used, unused, waited = [], {k: 0 for k in others}, 0, 0, None
            for step, a, b, data in pos:
                if max_frames is not None and len(rows) >= max_frames:
                    break
                row, state = {}, "has"
                for k in others:
                    queue, j = self.pending[k], at[k]
                    while j < len(queue) and queue[j][0] < step:      # a finer stride: steps without positions
                        j += 1
                    at[k] = j
                    state = self._has(k, j, step)
                    if state != "has":
                        break
                    row[k] = queue[j][3]
                if state == "has":
                    for k in others:
                        at[k] += 1
                    rows.append((a, b, data, row))
                    used += 1
                    continue
                if state == "wait":
                    waited = (k, step)
                    break
                if k == "forces" and state == "past":              # a coarser stride: this step has no forces
                    self._coarser_forces(step, at[k])
                    used, unused = used + 1, unused + 1
                    continue
                if k == "velocities" and (not self.taken or not rows):    # left out (from here on)
                    self._left_out_velocities(step, state)
                    break
                if k == "velocities":             # the steps before it taken with them; left out at the next poll
                    break
                if state == "past":                                # a followed file's stride changed
                    raise ValueError(f"{self.paths[k]} has no frame of step {step}, which {self.paths['positions']} "
                                     f"has, though it had the steps before: i-PI wrote the {k} with another stride; "
                                     "write them with the positions' <trajectory stride=...> and run it again")
                self._stopped(k, step)
                break
            if "velocities" in others and "velocities" in self.left_out:
                continue                  # the steps again, without the velocities
            return rows, used, at, unused, waited

    def poll(self, max_frames: int | None, new_take) -> NewFrames:
        """The steps complete in every file since the last poll (at most ``max_frames``), their files written into
        the folder ``new_take()`` gives. Frames whose step is not past the steps read before in their file (i-PI
        restarted from a checkpoint older than its last frames writes those steps again, in every file) are left
        out with a warning, the first frame of each step kept, as ``trajmodes fit`` keeps it of a LAMMPS dump. The
        first steps are taken once the velocities are known to have the positions' steps (two of them, or the files
        whole)."""
        before = self.repeats
        self._read("positions", max_frames)
        for k in self._followed():  # a file behind the positions (a replay reads a few frames at a time) reads on
            while (self._read(k, max_frames) and self.pending["positions"] and self.top[k] is not None
                   and self.top[k] < self.pending["positions"][-1][0]):
                pass
        if self.repeats > before:
            warnings.warn(f"{self.paths['positions']}: {self.repeats - before} new frame(s) repeat MD steps already "
                          "read (i-PI restarted from a checkpoint older than its last frames writes them again) and "
                          "were left out in every file of the run (the first frame of each step kept)", UserWarning,
                          stacklevel=4)
        rows, used, at, unused, waited = self._rows(max_frames)
        if waited is not None:
            self._wait(*waited)
        else:
            self._waiting = None
        others = self._followed()
        if not self.taken and "velocities" in others and len(rows) < 2 and not self.ended:
            return _no_frames()           # whether the velocities have the positions' steps: known at the second
        pos = self.pending["positions"]
        del pos[:used]
        self.unused += unused
        for k in others:
            del self.pending[k][:at[k]]
        if not rows:
            return _no_frames()
        self.taken += len(rows)
        folder = new_take()
        for k in ["positions"] + others:
            p = self.paths[k]
            with open(os.path.join(folder, os.path.basename(p)), "wb") as out:
                out.writelines(r[2] if k == "positions" else r[3][k] for r in rows)
        return NewFrames(np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.int64),
                         os.path.join(folder, os.path.basename(self.paths["positions"])))

    def close(self) -> None:
        for f in self.files.values():
            f.close()


def in_run(error: Exception, follower: FrameFollower, state: tuple) -> Exception:
    """``error``, raised reading a take of ``follower`` (its private copy of the frames polled after ``state``, what
    :meth:`FrameFollower.mark` gave), naming the run's own file and the frame and line there instead of the copy's,
    which is removed when the watch ends; other errors as they are."""
    folder = follower._folder              # a FileFormatError: the file, what, frame, line and fix
    if not all(hasattr(error, k) for k in ("path", "what", "frame", "line", "fix")) or folder is None or \
            not str(error.path or "").startswith(folder):
        return error
    position, frames, _, _, lines = state
    head = follower.head.count(b"\n") if follower.head is not None else 0
    frame, line = error.frame, error.line
    if follower.format == "ipi":              # a take joins the run's files: its frames are steps of all three (the
        #                                       frame in the positions file unknown where some of it were unused)
        path = os.path.join(os.path.dirname(follower._run.paths["positions"]), os.path.basename(error.path))
        kept = path == follower._run.paths["positions"] and frame is not None and not follower._run.unused
        frame, line = (frame + frames if kept else None), None
    else:
        path = follower.path
        frame = None if frame is None else frame + frames
        line = None if line is None else (line if line <= head else line - head + lines)
    out = type(error)(path, error.what, frame=frame, line=line, fix=error.fix)
    return out


def ipi_timestep(path: str) -> float | None:
    """The MD time step (ps) of the i-PI run of ``path``: the ``<timestep>`` of its input beside it, else from its
    properties file (``PREFIX.out``); None where neither says it (yet). Warns where the run was restarted with
    another time step and its properties file writes no ``time`` (the watch's times, the steps x this one, are then
    wrong after the restart, and so are `trajmodes fit`'s; the frequencies are not); where it writes them, the
    frames' times are its own (:meth:`IPIRun.times`)."""
    from trajmodes.io import (PropertiesTimes, ipi_input_beside, positions_file_of, properties_files,
                              properties_timestep, restart_timestep_change)
    pos = positions_file_of(os.fspath(path))
    inp = ipi_input_beside(pos)
    if inp is not None and inp.md_timestep is not None:
        said = restart_timestep_change(pos, inp)
        written = [p for p in properties_files(pos, inp) if _writes_time(PropertiesTimes(p))]
        if said is not None and not written:
            warnings.warn(f"{said}: the times, --every and the predicted lengths of this watch count the steps with "
                          f"the input's step (the frequencies do not depend on them); write time{{picosecond}} into "
                          "the <properties> of the input to have the times taken from the properties file",
                          UserWarning, stacklevel=3)
        return float(inp.md_timestep)
    got = properties_timestep(pos)
    return None if got is None else float(got[0])


def _writes_time(properties) -> bool:
    """Whether the i-PI properties file of ``properties`` (a :class:`~trajmodes.io.PropertiesTimes`) writes the step
    and time columns (its header and rows so far read)."""
    properties.read()
    return properties.column is not None


def _lammps_frame_end(buf: bytes, start: int) -> int:
    """The byte after the LAMMPS frame at ``start`` of ``buf`` (its last): after the newline of its last atom line, the
    ``NUMBER OF ATOMS`` lines after ``ITEM: ATOMS`` (a line cut inside a number is not taken as a shorter number, and
    the first bytes of the next frame, too few to name its first item, are not taken into this one); -1 while they are
    not all written."""
    m = _NATOMS.search(buf, start)
    j = buf.find(b"ITEM: ATOMS", start)
    if m is None or j < 0:
        return -1
    k = buf.find(b"\n", j)
    natoms = int(m.group(1))
    if k < 0 or buf.count(b"\n", k + 1) < natoms:
        return -1
    if natoms == 0:
        return k + 1
    nl = np.flatnonzero(np.frombuffer(buf, np.uint8, offset=k + 1) == 10)
    return k + 1 + int(nl[natoms - 1]) + 1


def open_frames(path: str, format: str, options: dict, quiet: bool = True, run: str | None = None):
    """The frames of the file ``path`` written by :meth:`FrameFollower.take` as a :class:`Trajectory`, read with
    the ``options`` the run's first opening found (its units, time step, species and masses, a LAMMPS run's input:
    ``lammps_settings``, found beside the run's file, not beside this copy; ``reference``): its own warnings are not
    repeated (``quiet``); the first take's are said (not quiet), naming the run's file ``run`` (where given) instead
    of this private copy, which is removed when the watch ends (of an i-PI run, the run's folder for the copy's,
    whose files are named as the run's)."""
    from trajmodes.io import open_source
    from trajmodes.trajectory import Trajectory
    options = dict(options)
    reference = options.pop("reference", None)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("ignore" if quiet else "always")
        traj = Trajectory(open_source(path, format=format, **options), reference=reference)
        if reference is not None and not (isinstance(reference, str) and reference in ("first", "average")):
            traj.reference                # checked against the frames now, as trajmodes.read checks it
    for w in said:
        text = str(w.message)
        if run is not None:
            text = (text.replace(os.path.dirname(path) + os.sep, os.path.dirname(os.path.abspath(run)) + os.sep)
                    if format == "ipi" else text.replace(path, run))
        warnings.warn(text, w.category, stacklevel=2)
    return traj
