"""Ctrl-C (SIGINT) and SIGTERM honoured within about a second by every command.

Two levels:

* :func:`signals` turns the first SIGINT or SIGTERM into :class:`Interrupted` in the main thread, which Python raises
  as soon as that thread runs Python again: at once while it waits for Dask (threaded or distributed: the wait is a
  lock or a socket, both interrupted by signals), between the tasks of the synchronous scheduler, or when a numpy or
  C call that released the interpreter returns. The command then removes its staged files (:class:`StagedOutputs
  <trajmodes.io.filesystem.StagedOutputs>`), keeps the finished ones it moved into place early, prints one line and exits
  at once (:func:`exit_now`), without waiting for Dask's worker threads to finish their chunks.
* :func:`supervise` runs the command in a child process (a fork, before any thread or heavy import) and waits for it.
  A C call that holds the interpreter (spglib's symmetry search of a large supercell ran over 60 s) lets no Python
  code run in that process, handler included; the parent is never in one. It passes the signal on, gives the child
  :data:`GRACE` seconds to stop by itself, and otherwise kills it, removes its staging folders (which the child
  reported through a pipe, with the files it kept) and prints the same line.

Exit status 130 after SIGINT and 143 after SIGTERM (128 + the signal's number, as a shell reports them).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import threading
import time

__all__ = ["Interrupted", "signals", "supervise", "message", "exit_now", "GRACE"]

#: seconds the child is given to stop by itself after a signal before :func:`supervise` kills it
GRACE = 1.0

#: the signals a command honours, with the words its message uses
_WORDS = {signal.SIGINT: "interrupted by SIGINT (Ctrl-C)", signal.SIGTERM: "interrupted by SIGTERM (terminated)"}

#: the write end of the pipe to the supervising parent, in a supervised child (None otherwise)
_REPORT_FD: int | None = None


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM, raised in the main thread by the handler of :func:`signals`: a KeyboardInterrupt, so that
    no ``except Exception`` takes it for an error and the libraries that clean up after Ctrl-C do so for SIGTERM too
    (dask.distributed cancels the computation the main thread waits for)."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = int(signum)

    @property
    def status(self) -> int:
        """The exit status: 128 + the signal's number (130 SIGINT, 143 SIGTERM)."""
        return 128 + self.signum


def message(signum: int, kept=(), how: str = "") -> str:
    """The one line an interrupted command prints: the signal, ``how`` it stopped (optional), and the outputs
    ``kept`` (finished before the signal and moved into place), or that none was written."""
    head = f"trajmodes: {_WORDS.get(signum, signal.Signals(signum).name)}{how}"
    if kept:
        names = ", ".join(os.path.relpath(k) if not os.path.relpath(k).startswith("..") else k for k in kept)
        return f"{head}: kept {names} (finished before the signal); no other output written"
    return f"{head}: kept nothing (no output finished before the signal); no output written"


@contextlib.contextmanager
def signals():
    """SIGINT and SIGTERM raise :class:`Interrupted` in the main thread inside the block; a second signal while the
    first is handled is ignored (Ctrl-C reaches both a supervised child and its parent, which passes it on too).
    Signals that were ignored when the block began (a background job of a shell without job control ignores SIGINT)
    stay ignored; outside the main thread nothing is installed. Yields the list the signal numbers received go to."""
    got: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield got
        return

    def handler(signum, frame):
        if got:
            return
        got.append(signum)
        raise Interrupted(signum)
    old = {}
    for s in _WORDS:
        if signal.getsignal(s) is not signal.SIG_IGN:
            old[s] = signal.signal(s, handler)
    try:
        yield got
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def report(what: str, path: str) -> None:
    """Tell the supervising parent (if any) about a staging folder (``what`` = "stage") or a kept output ("kept"),
    so that it can clean up and say what was kept when it has to kill this process."""
    if _REPORT_FD is not None:
        try:
            os.write(_REPORT_FD, f"{what}\t{os.path.abspath(path)}\n".encode())
        except OSError:
            pass


def exit_now(status: int) -> None:
    """Flush stdout and stderr and end the process with ``status`` at once: Dask's worker threads may be in the middle
    of a chunk (seconds), and a normal exit would wait for them."""
    for f in (sys.stdout, sys.stderr):
        try:
            f.flush()
        except Exception:
            pass
    os._exit(status)


def supervise(run) -> int:
    """Run ``run()`` (returns an exit status) in a forked child and return its status; on SIGINT or SIGTERM pass the
    signal on, wait up to :data:`GRACE` s, then kill the child, remove its staging folders and print
    :func:`message`. Without ``os.fork`` (Windows), or when threads already run (a fork would copy their locks),
    ``run()`` runs in this process."""
    global _REPORT_FD
    if not hasattr(os, "fork") or threading.active_count() > 1:
        return run()
    read_fd, write_fd = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    pid = os.fork()
    if pid == 0:                                               # the child: the command itself, to its normal exit
        os.close(read_fd)
        _REPORT_FD = write_fd
        sys.exit(run())
    os.close(write_fd)
    os.set_blocking(read_fd, False)
    got: list[int] = []

    def handler(signum, frame):
        if not got:
            got.append((signum, time.monotonic()))
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
    old = {s: signal.signal(s, handler) for s in _WORDS if signal.getsignal(s) is not signal.SIG_IGN}
    killed = False
    try:
        while True:
            done, wstatus = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            if got and not killed and time.monotonic() - got[0][1] > GRACE:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                killed = True
            time.sleep(0.02)
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    reports = _read_all(read_fd)
    os.close(read_fd)
    if not killed:                             # the child's status; killed by another signal: 128 + its number
        if os.WIFSIGNALED(wstatus):
            return 128 + os.WTERMSIG(wstatus)
        return os.WEXITSTATUS(wstatus)
    stages = [p for w, p in reports if w == "stage"]
    kept = [p for w, p in reports if w == "kept"]
    for stage in stages:
        shutil.rmtree(stage, ignore_errors=True)
    signum = got[0][0]
    print(message(signum, kept, how=f", stopped after {GRACE:g} s in a step that could not stop itself"),
          file=sys.stderr, flush=True)
    return 128 + signum


def _read_all(fd: int) -> list[tuple[str, str]]:
    data = b""
    while True:
        try:
            block = os.read(fd, 1 << 16)
        except BlockingIOError:
            break
        if not block:
            break
        data += block
    return [tuple(line.split("\t", 1)) for line in data.decode(errors="replace").splitlines() if "\t" in line]
