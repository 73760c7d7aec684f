"""File plumbing shared by the readers and writers: gzip, the other compressions and byte-order marks, a file's
first bytes (:func:`read_head`), the cache folder, byte-offset indexes, contiguous reads, and writes that never leave
a half-written file (:func:`atomic_write`, :class:`StagedOutputs`)."""
from __future__ import annotations

import gzip
import hashlib
import os
import re
import shutil
import tempfile
import threading
from pathlib import Path

import numpy as np

from trajmodes.errors import TrajectoryFormatError

INDEX_VERSION = 3
#: temporary files and staging folders carry the writer's process id: ``.NAME.<pid>.<random>.part``
_PART = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.[^.]+\.part$")
_STAGE = re.compile(r"^\.trajmodes-staging-(?P<pid>\d+)-[^.]+$")


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:          # exists, owned by someone else
        return True
    return True


def remove_stale(folder: str | os.PathLike, name: str | None = None) -> None:
    """Remove temporaries left in ``folder`` by writers that were killed (their process no longer exists).

    ``name``: only the temporaries of that target file; None: also stale staging folders.
    """
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for e in entries:
        m = _PART.match(e)
        if m and (name is None or m.group("name") == name) and not _alive(int(m.group("pid"))):
            try:
                os.unlink(os.path.join(folder, e))
            except OSError:
                pass
        m = _STAGE.match(e) if name is None else None
        if m and not _alive(int(m.group("pid"))):
            shutil.rmtree(os.path.join(folder, e), ignore_errors=True)


class CacheFolderError(OSError):
    """No writable folder for decompressed files and indexes."""


def cache_dir() -> Path:
    """Folder for decompressed files and indexes of read-only data.

    ``$TRAJMODES_CACHE`` when set; else ``~/.cache/trajmodes``, or the system's temporary folder when the home
    folder is not writable. Created on first use (never at import or when a file is only opened).

    Raises
    ------
    CacheFolderError
        When none of them can be created and written, naming the folders tried.
    """
    env = os.environ.get("TRAJMODES_CACHE")
    candidates = [Path(env)] if env else [Path.home() / ".cache" / "trajmodes",
                                         Path(tempfile.gettempdir()) / f"trajmodes-cache-{os.getuid()}"]
    tried = []
    for d in candidates:
        try:
            d.mkdir(parents=True, exist_ok=True)
            if os.access(d, os.W_OK | os.X_OK):
                return d
            tried.append(f"{d} (not writable)")
        except OSError as exc:
            tried.append(f"{d} ({exc.strerror or exc})")
    raise CacheFolderError(
        "no writable cache folder for decompressed trajectories and frame indexes: tried " + "; ".join(tried)
        + ". Set TRAJMODES_CACHE to a writable folder" + ("" if env else " (or decompress the file beside itself "
                                                                         "with gunzip)"))


def _stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _hashed(path: str, suffix: str) -> Path:
    h = hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:16]
    return cache_dir() / f"{Path(path).name}.{h}{suffix}"


def atomic_write(target: str | os.PathLike, write) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``target``.

    A failed or interrupted write (an exception, Ctrl-C) leaves no half-written ``target`` and removes its
    temporary; temporaries of writers that were killed outright are removed by the next write of the same target.
    """
    target = Path(target)
    remove_stale(target.parent, target.name)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".part", dir=target.parent)
    os.close(fd)
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)    # mkstemp makes 0600; give the file the usual mode
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


class StagedOutputs:
    """The files one command writes, moved into place only when the whole command has succeeded.

    ``staged(target)`` returns the path to write ``target`` to: a file in a hidden staging folder
    (``.trajmodes-staging-<pid>-...``) in the nearest existing folder above ``target``, so that the final
    rename stays on one file system. :meth:`commit` creates the target folders and renames every staged file
    onto its target; :meth:`discard` (on failure or interruption) removes the staging folders, so that a command
    that fails leaves no new output folder and no partial files. Used as a context manager it commits on
    success and discards otherwise.
    """

    def __init__(self, notify=None):
        self._files: dict[str, str] = {}
        self._stages: dict[str, str] = {}
        #: the targets moved into place early (:meth:`keep`), which a later failure or interruption leaves
        self.kept: list[str] = []
        self._notify = notify

    def _tell(self, what: str, path: str) -> None:
        if self._notify is not None:
            self._notify(what, path)

    def __call__(self, target: str | os.PathLike) -> str:
        target = os.path.abspath(os.fspath(target))
        if target in self.kept:
            return target
        if target in self._files:
            return self._files[target]
        if os.path.isdir(target):
            raise IsADirectoryError(f"{target} is a folder; give a file name")
        parent = os.path.dirname(target)
        while not os.path.isdir(parent):
            parent = os.path.dirname(parent)
        if parent not in self._stages:
            remove_stale(parent)
            self._stages[parent] = tempfile.mkdtemp(prefix=f".trajmodes-staging-{os.getpid()}-", dir=parent)
            self._tell("stage", self._stages[parent])
        path = os.path.join(self._stages[parent], f"{len(self._files)}-{os.path.basename(target)}")
        self._files[target] = path
        return path

    def keep(self, target: str | os.PathLike) -> str:
        """Move the staged file of ``target``, written completely, into place now, so that a later step that fails
        or is interrupted does not take it away (the netCDF cache of ``trajmodes run`` before the fit); later calls
        with ``target`` return ``target`` itself. Returns the target."""
        target = os.path.abspath(os.fspath(target))
        if target in self.kept:
            return target
        path = self._files.pop(target)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        os.replace(path, target)
        self.kept.append(target)
        self._tell("kept", target)
        return target

    def commit(self) -> list[str]:
        """Move every staged file that was written onto its target; returns the targets."""
        done = []
        for target, path in self._files.items():
            if os.path.exists(path):
                os.makedirs(os.path.dirname(target), exist_ok=True)
                os.replace(path, target)
                done.append(target)
        self.discard()
        return done

    def discard(self) -> None:
        """Remove the staging folders with every file not yet moved into place (the :attr:`kept` ones stay)."""
        for stage in self._stages.values():
            shutil.rmtree(stage, ignore_errors=True)
        self._stages.clear()
        self._files.clear()

    def __enter__(self) -> "StagedOutputs":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()


def source_fingerprint(paths, settings: str = "") -> str:
    """What identifies the input files ``paths`` as they are now: for each its absolute path, size, modification
    time (ns) and the SHA-1 of its first MiB, with ``settings`` (the options the output depends on), as one string.
    An output that stores it (the cache of ``trajmodes run``) is reused only while it is unchanged."""
    parts = []
    for p in paths:
        p = os.fspath(p)
        size, mtime = _stamp(p)
        with open(p, "rb") as f:
            head = hashlib.sha1(f.read(1 << 20)).hexdigest()
        parts.append(f"{os.path.abspath(p)}|{size}|{mtime}|{head}")
    return "; ".join(parts) + (f"; {settings}" if settings else "")


def is_gzip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


#: the first two bytes of gzip data
GZIP_MAGIC = b"\x1f\x8b"


def require_regular(path: str) -> None:
    """Refuse a path that is not a regular file (a FIFO, a socket, a device, a folder): frames are found by their
    byte offsets and read more than once, which a pipe cannot give, and reading one would wait forever."""
    import stat
    mode = os.stat(path).st_mode
    if not stat.S_ISREG(mode):
        kind = ("a folder" if stat.S_ISDIR(mode) else "a named pipe (FIFO)" if stat.S_ISFIFO(mode) else
                "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode)
                else "not a regular file")
        raise TrajectoryFormatError(path, f"it is {kind}, not a regular file: trajmodes finds frames by their byte "
                                          "offsets and reads them more than once",
                                    fix="Write the trajectory to a file first (a pipe or stream cannot be re-read)")


def read_head(path: str, n: int = 4096) -> bytes:
    """The first ``n`` bytes of the file's content, gzip decompressed.

    Raises
    ------
    TrajectoryFormatError
        For a path that is not a regular file, an empty file, a file compressed twice, or gzip data that cannot be
        decompressed at all.
    """
    import zlib
    require_regular(path)
    with open(path, "rb") as f:
        raw = f.read(max(n, 1 << 16))
    if not raw:
        raise TrajectoryFormatError(path, "the file is empty", fix="Check that the run wrote it completely")
    if raw[:2] != GZIP_MAGIC:
        return raw[:n]
    d = zlib.decompressobj(wbits=31)
    try:
        head = d.decompress(raw, n)
    except zlib.error as exc:
        raise TrajectoryFormatError(path, f"the gzip data are damaged ({exc})",
                                    fix="Copy the file again from where it was made") from None
    if not head:
        raise TrajectoryFormatError(path, "the gzip data hold no text (truncated or damaged)",
                                    fix="Copy the file again from where it was made") from None
    if head[:2] == GZIP_MAGIC:
        raise TrajectoryFormatError(path, "the file is compressed twice (gzip inside gzip)",
                                    fix="Decompress it once: gunzip -c FILE > FILE_ONCE.gz (or rename it and "
                                        "gunzip it once)")
    return head


#: the UTF-8 byte-order mark some Windows editors put at the start of a text file
BOM = b"\xef\xbb\xbf"
#: (magic bytes, compression, its decompressor) of the compressions trajmodes does not read itself
_COMPRESSIONS = ((b"BZh", "bzip2", "bunzip2"), (b"\xfd7zXZ\x00", "xz", "unxz"), (b"\x28\xb5\x2f\xfd", "zstd", "unzstd"),
                 (b"\x04\x22\x4d\x18", "lz4", "unlz4"))
_ARCHIVES = ((b"PK\x03\x04", "a ZIP archive", "unzip"), (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "7z x"))


def compression_of(head: bytes) -> tuple[str, str] | None:
    """(what the file is, what to do) for a file compressed in a way trajmodes does not read (bzip2, xz, zstd, lz4;
    a ZIP or 7-Zip archive), from its first bytes; None otherwise. gzip is read directly."""
    for magic, name, tool in _COMPRESSIONS:
        if head.startswith(magic) and (name != "bzip2" or head[3:4] in b"123456789"):
            return (f"{name}-compressed", f"Decompress it ({tool} FILE) or recompress it with gzip ({tool} -c FILE | "
                                          "gzip > FILE.gz), which trajmodes reads directly")
    for magic, name, tool in _ARCHIVES:
        if head.startswith(magic):
            return name, f"Extract the trajectory from it ({tool} FILE) and read that file (plain or gzip)"
    return None


def byte_order_mark_error(path: str, first: bytes = b"") -> TrajectoryFormatError:
    """The error for a text trajectory (LAMMPS dump, XYZ) that starts with a UTF-8 byte-order mark: the readers find
    frames by byte offsets from the file's start, and the mark would be read as part of the first line."""
    said = first.split(b"\n", 1)[0].strip()[:40].decode("utf-8", "replace")
    return TrajectoryFormatError(path, "the file starts with a UTF-8 byte-order mark (bytes EF BB BF"
                                       + (f" before {said!r}" if said else "") + ")", line=1,
                                 fix="Save it without one (e.g. sed -i '1s/^\\xEF\\xBB\\xBF//' FILE)")


class _GzipDataError(Exception):
    """The compressed stream itself is damaged (as opposed to the cache folder failing)."""


def own_text_format(text: bytes) -> bool:
    """Whether ``text`` starts like a LAMMPS dump (an ``ITEM:`` line) or an XYZ file (an atom count line)."""
    text = text.lstrip()
    return text.startswith(b"ITEM") or text.split(b"\n", 1)[0].strip().isdigit()


def refuse_unreadable(path: str, head: bytes) -> None:
    """Refuse, saying what it is, a file compressed in a way trajmodes does not read, or a LAMMPS dump or XYZ file
    that starts with a UTF-8 byte-order mark."""
    packed = compression_of(head)
    if packed is not None:
        raise TrajectoryFormatError(path, f"it is {packed[0]}", fix=packed[1])
    if head.startswith(BOM) and own_text_format(head[3:]):
        raise byte_order_mark_error(path, head[3:])


def plain_path(path: str) -> str:
    """A path with random access to the file's text.

    Gzip files are decompressed once (streamed) into the cache folder; the copy is
    reused while the original's size and mtime are unchanged.
    """
    import zlib
    from trajmodes.errors import TrajectoryFormatError
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    if not is_gzip(path):
        return path
    size, mtime = _stamp(path)
    out = _hashed(path, f".{size}.{mtime}.txt")
    if not out.exists():
        def write(tmp):
            with gzip.open(path, "rb") as src, open(tmp, "wb") as dst:
                while True:
                    try:
                        block = src.read(16 << 20)
                    except (OSError, EOFError, zlib.error) as exc:
                        raise _GzipDataError(exc) from None
                    if not block:
                        break
                    dst.write(block)
        try:
            atomic_write(out, write)
        except _GzipDataError as exc:
            raise TrajectoryFormatError(path, f"the gzip data cannot be decompressed ({exc})",
                                        fix="The file is truncated or damaged: copy it again from where it was "
                                            "made") from None
        except OSError as exc:
            raise CacheFolderError(
                f"{path}: cannot write its decompressed copy into the cache folder {out.parent} "
                f"({exc.strerror or exc}). Set TRAJMODES_CACHE to a writable folder with room for it, or gunzip "
                "the file by hand") from None
    return str(out)


def index_locations(path: str):
    """Where the frame index of ``path`` may be: beside the file first (when that folder is writable or the index
    is there), then the cache folder, only when one can be had."""
    p = Path(path)
    beside = p.with_name(f".{p.name}.tmidx.npz")
    if os.access(p.parent, os.W_OK) or beside.exists():
        yield beside
    try:
        yield _hashed(path, ".tmidx.npz")
    except CacheFolderError:
        return


def load_index(path: str, kind: str) -> dict | None:
    """A saved index of ``path`` if it is still valid (same size and mtime), else None."""
    for ip in index_locations(path):
        if not ip.exists():
            continue
        try:
            with np.load(ip, allow_pickle=False) as z:
                d = {k: z[k] for k in z.files}
        except Exception:
            continue
        size, mtime = _stamp(path)
        if (int(d.get("version", -1)) == INDEX_VERSION and str(d.get("kind")) == kind
                and int(d["size"]) == size and int(d["mtime_ns"]) == mtime):
            return d
    return None


def save_index(path: str, kind: str, **arrays) -> None:
    """Save an index beside ``path`` (or in the cache folder); failures only cost a rescan."""
    size, mtime = _stamp(path)

    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez(f, version=INDEX_VERSION, kind=kind, size=size, mtime_ns=mtime, **arrays)
    for ip in index_locations(path):
        try:
            atomic_write(ip, write)
            return
        except OSError:
            continue


def line_number(path: str, offset: int) -> int:
    """1-based line number of byte ``offset`` in ``path`` (streamed; used only for error messages)."""
    n = 1
    done = 0
    with open(path, "rb") as f:
        while done < offset:
            block = f.read(min(64 << 20, offset - done))
            if not block:
                break
            n += block.count(b"\n")
            done += len(block)
    return n


def pread_all(fd: int, size: int, offset: int) -> bytes:
    """Read exactly ``size`` bytes at ``offset`` (fewer only at end of file), looping over short reads."""
    parts = []
    while size > 0:
        b = os.pread(fd, size, offset)
        if not b:
            break
        parts.append(b)
        size -= len(b)
        offset += len(b)
    return b"".join(parts) if len(parts) != 1 else parts[0]


#: per-thread reusable buffer of :func:`pread_reused`
_SCRATCH = threading.local()


def pread_reused(fd: int, size: int, offset: int, keep: int = 256 << 20) -> memoryview:
    """Bytes ``[offset, offset + size)`` of the open file ``fd`` (fewer only at end of file), read into a buffer
    that the calling thread reuses from call to call.

    A fresh ``bytes`` per read costs page faults and zeroing of new memory on every call; the reused buffer costs
    them once. Buffers larger than ``keep`` bytes (a LAMMPS dump frame of about 2 million atoms) are not kept. A frame
    of 864,000 atoms (107 MB of text) from the page cache: 65 ms a read into a new buffer, 14 ms into the kept one.
    The view is valid until the thread's next call: parse it, do not keep it.
    """
    buf = getattr(_SCRATCH, "buf", None)
    if buf is None or len(buf) < size:
        buf = bytearray(max(size, 1 << 20))
        if len(buf) <= keep:
            _SCRATCH.buf = buf
    view = memoryview(buf)
    got = 0
    while got < size:
        n = os.preadv(fd, [view[got:size]], offset + got)
        if n == 0:
            break
        got += n
    return view[:got]


def contiguous_runs(frames, starts, ends, files=None, max_bytes: int = 64 << 20) -> list[tuple[int, int]]:
    """Split sorted frame indices into runs that lie back to back on disk, each at most ~``max_bytes`` long.

    Parameters
    ----------
    frames : (n,) int
        Frame indices, ascending.
    starts, ends : (n_frames,) int
        Byte range of every frame of the trajectory.
    files : (n_frames,) int, optional
        File of every frame (a run never crosses files); default one file.
    max_bytes : int
        A run is cut when it would extend more than this past its first frame's start (at least one frame).

    Returns
    -------
    list of (a, b)
        Index ranges into ``frames``: each is read with one contiguous read.
    """
    frames = np.asarray(frames)
    if len(frames) == 0:
        return []
    brk = starts[frames[1:]] != ends[frames[:-1]]
    if files is not None:
        f = files[frames]
        brk |= f[1:] != f[:-1]
    bounds = np.concatenate([[0], np.flatnonzero(brk) + 1, [len(frames)]])
    out = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        a, b = int(a), int(b)
        while a < b:
            lim = starts[frames[a]] + max_bytes
            stop = max(int(np.searchsorted(ends[frames[a:b]], lim, side="right")) + a, a + 1)
            out.append((a, min(stop, b)))
            a = min(stop, b)
    return out
