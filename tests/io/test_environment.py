"""The environment a user's shell gives: an unwritable home or cache folder, killed writers, failed commands.

Reading must never depend on a writable home folder when it does not need the cache (a plain dump in a writable
folder), must fall back to the system's temporary folder when it does, and must say which folders it tried when
nothing is writable. Writes never leave partial files, and temporaries of killed writers are cleaned up.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from trajmodes.errors import TrajectoryFormatError
from trajmodes.io import filesystem as _files
from trajmodes.io.filesystem import CacheFolderError, StagedOutputs, atomic_write

from tests.support.dumps import read_quiet, small_dump

UNWRITABLE = "/proc/trajmodes-no-such-folder"      # mkdir fails here even for root


@pytest.fixture
def no_home(monkeypatch):
    monkeypatch.delenv("TRAJMODES_CACHE", raising=False)
    monkeypatch.setenv("HOME", UNWRITABLE)


def test_plain_dump_needs_no_cache_folder(tmp_path, no_home, monkeypatch):
    monkeypatch.setattr(_files.tempfile, "gettempdir", lambda: UNWRITABLE)
    p, truth = small_dump(tmp_path / "d.lammpstrj", n_frames=3)
    assert np.array_equal(read_quiet(p).positions.compute(), truth.unwrapped())
    assert (tmp_path / ".d.lammpstrj.tmidx.npz").exists()


def test_gzip_falls_back_to_the_temporary_folder(tmp_path, no_home, monkeypatch):
    tmp = tmp_path / "systmp"
    tmp.mkdir()
    monkeypatch.setattr(_files.tempfile, "gettempdir", lambda: str(tmp))
    p, truth = small_dump(tmp_path / "d.lammpstrj", n_frames=3, gz=True)
    assert np.array_equal(read_quiet(p).positions.compute(), truth.unwrapped())
    assert list(tmp.glob("trajmodes-cache-*/d.lammpstrj*.txt"))


def test_no_writable_cache_names_the_folders(tmp_path, no_home, monkeypatch):
    monkeypatch.setattr(_files.tempfile, "gettempdir", lambda: UNWRITABLE)
    p, _ = small_dump(tmp_path / "d.lammpstrj", n_frames=3, gz=True)
    with pytest.raises(CacheFolderError) as err:
        read_quiet(p)
    msg = str(err.value)
    assert UNWRITABLE in msg and "TRAJMODES_CACHE" in msg and "complete" not in msg


def test_read_only_cache_is_not_blamed_on_the_file(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.mkdir()
    monkeypatch.setenv("TRAJMODES_CACHE", str(cache))
    real = os.access
    monkeypatch.setattr(_files.os, "access", lambda path, mode, *a, **k:
                        False if os.fspath(path) == str(cache) else real(path, mode, *a, **k))
    p, _ = small_dump(tmp_path / "d.lammpstrj", n_frames=3, gz=True)
    with pytest.raises(CacheFolderError) as err:
        read_quiet(p)
    assert "not writable" in str(err.value) and "complete" not in str(err.value)


def test_truncated_gzip_is_blamed_on_the_file(tmp_path):
    p, _ = small_dump(tmp_path / "d.lammpstrj", n_frames=3, gz=True)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(TrajectoryFormatError, match="truncated or damaged"):
        read_quiet(p).positions.compute()


def test_atomic_write_leaves_nothing_on_interrupt(tmp_path):
    target = tmp_path / "out.nc"

    def write(tmp):
        open(tmp, "w").write("half")
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, write)
    assert os.listdir(tmp_path) == []


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_temporaries_of_killed_writers_are_removed(tmp_path):
    dead = _dead_pid()
    stale = tmp_path / f".out.nc.{dead}.abc123.part"
    stale.write_text("left by a writer killed with SIGKILL")
    live = tmp_path / f".out.nc.{os.getpid()}.xyz.part"          # a write in progress in this process
    live.write_text("busy")
    other = tmp_path / f".other.nc.{dead}.abc.part"              # another target's: left for its own writer
    other.write_text("x")
    atomic_write(tmp_path / "out.nc", lambda tmp: open(tmp, "w").write("ok"))
    assert not stale.exists() and live.exists() and other.exists()
    assert (tmp_path / "out.nc").read_text() == "ok"


def test_killed_writer_subprocess(tmp_path):
    """A real writer killed with SIGKILL mid-write leaves a .part; the next write of the target removes it."""
    code = ("import time, sys; from trajmodes.io.filesystem import atomic_write\n"
            "def w(tmp):\n    open(tmp, 'w').write('x' * 1000); print('writing', flush=True); time.sleep(60)\n"
            f"atomic_write({str(tmp_path / 'big.nc')!r}, w)\n")
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(_files.__file__)) + "/..")
    assert proc.stdout.readline().strip() == "writing"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(list(tmp_path.glob(".big.nc.*.part"))) == 1
    atomic_write(tmp_path / "big.nc", lambda tmp: open(tmp, "w").write("done"))
    assert sorted(os.listdir(tmp_path)) == ["big.nc"]


def test_staged_outputs_commit_and_discard(tmp_path):
    target = tmp_path / "new" / "sub" / "a.nc"
    with pytest.raises(RuntimeError):
        with StagedOutputs() as out:
            open(out(target), "w").write("a")
            raise RuntimeError("the command failed half way")
    assert os.listdir(tmp_path) == []                   # no new folder, no staging folder
    with StagedOutputs() as out:
        open(out(target), "w").write("a")
        atomic_write(out(tmp_path / "new" / "b.png"), lambda tmp: open(tmp, "w").write("b"))
        assert not target.exists()                      # nothing in place before the command succeeds
    assert target.read_text() == "a" and (tmp_path / "new" / "b.png").read_text() == "b"
    assert sorted(os.listdir(tmp_path)) == ["new"]


def test_a_kept_output_stays_when_the_rest_is_discarded(tmp_path):
    """StagedOutputs.keep moves one finished file into place at once (its folder made); a later discard removes the
    other staged files and the staging folders, not it; the notify callback hears of each."""
    heard = []
    out = StagedOutputs(notify=lambda what, path: heard.append(what))
    cache, other = tmp_path / "out" / "trajectory.nc", tmp_path / "out" / "summary.nc"
    with open(out(cache), "w") as f:
        f.write("cache")
    assert not cache.exists()
    assert out.keep(cache) == str(cache) and cache.read_text() == "cache"
    assert out(cache) == str(cache)                            # read back from its place
    with open(out(other), "w") as f:
        f.write("half")
    out.discard()
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["out", "trajectory.nc"]
    # staged first beside out/ (not there yet), then in out/, which the kept file made
    assert out.kept == [str(cache)] and heard == ["stage", "kept", "stage"]
