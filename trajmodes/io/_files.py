"""File plumbing shared by the text readers: gzip, the cache folder, byte-offset indexes."""
from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np

INDEX_VERSION = 3


def cache_dir() -> Path:
    """Folder for decompressed files and indexes of read-only data (``$TRAJMODES_CACHE``)."""
    d = Path(os.environ.get("TRAJMODES_CACHE", Path.home() / ".cache" / "trajmodes"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _stamp(path: str) -> tuple[int, int]:
    st = os.stat(path)
    return st.st_size, st.st_mtime_ns


def _hashed(path: str, suffix: str) -> Path:
    h = hashlib.sha1(os.path.abspath(path).encode()).hexdigest()[:16]
    return cache_dir() / f"{Path(path).name}.{h}{suffix}"


def atomic_write(target: str | os.PathLike, write) -> None:
    """Call ``write(tmp_path)`` then rename the temporary file onto ``target``.

    A failed or interrupted write leaves no half-written ``target``.
    """
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
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


def is_gzip(path: str) -> bool:
    with open(path, "rb") as f:
        return f.read(2) == b"\x1f\x8b"


def plain_path(path: str) -> str:
    """A path with random access to the file's text.

    Gzip files are decompressed once (streamed) into the cache folder; the copy is
    reused while the original's size and mtime are unchanged.
    """
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
                shutil.copyfileobj(src, dst, 16 << 20)
        try:
            atomic_write(out, write)
        except (OSError, EOFError, gzip.BadGzipFile) as exc:
            from ..errors import TrajectoryFormatError
            raise TrajectoryFormatError(path, f"cannot decompress gzip data ({exc})",
                                        fix="Check that the file is complete, or gunzip it by hand") from None
    return str(out)


def index_path(path: str) -> Path:
    """Where the frame index of ``path`` lives: beside it if writable, else the cache folder."""
    p = Path(path)
    beside = p.with_name(f".{p.name}.tmidx.npz")
    if os.access(p.parent, os.W_OK):
        return beside
    return _hashed(path, ".tmidx.npz")


def load_index(path: str, kind: str) -> dict | None:
    """A saved index of ``path`` if it is still valid (same size and mtime), else None."""
    for ip in (index_path(path), _hashed(path, ".tmidx.npz")):
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
    for ip in (index_path(path), _hashed(path, ".tmidx.npz")):
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
