"""Progress of the Dask computations of a command: a bar on a terminal, plain lines elsewhere.

On a terminal the bar redraws itself with carriage returns (Dask's :class:`~dask.diagnostics.ProgressBar`). Redirected
to a file or a pipe (a batch job's log), carriage returns pile up into one unreadable line, so there the progress is a
new line at every tenth of the work instead.
"""
from __future__ import annotations

import sys
from timeit import default_timer

from dask.callbacks import Callback

__all__ = ["progress", "LineProgress"]


class LineProgress(Callback):
    """Dask callback writing ``progress: 40 % of N tasks (12.3 s)`` lines at every ``step`` of the work, once the
    computation has run ``minimum`` seconds (short ones print nothing)."""

    def __init__(self, minimum: float = 1.0, out=None, step: float = 0.1):
        super().__init__()
        self.minimum, self.step = float(minimum), float(step)
        self.out = sys.stderr if out is None else out

    def _start(self, dsk):
        self._t0 = default_timer()
        self._next = self.step
        self._shown = False

    def _posttask(self, key, result, dsk, state, worker_id):
        done = len(state["finished"])
        total = done + len(state["ready"]) + len(state["waiting"]) + len(state["running"])
        elapsed = default_timer() - self._t0
        if total and elapsed >= self.minimum and done / total >= self._next:
            frac = done / total
            self.out.write(f"progress: {100 * frac:3.0f} % of {total} tasks ({elapsed:.1f} s)\n")
            self.out.flush()
            self._shown = True
            self._next = (int(frac / self.step) + 1) * self.step

    def _finish(self, dsk, state, errored):
        elapsed = default_timer() - self._t0
        if self._shown and not errored and self._next <= 1.0:           # 100 % not written yet
            self.out.write(f"progress: done in {elapsed:.1f} s\n")
            self.out.flush()


def progress(minimum: float = 1.0, out=None):
    """The progress display for every Dask computation longer than ``minimum`` seconds: Dask's bar on a terminal,
    :class:`LineProgress` lines when ``out`` (default stderr) is redirected."""
    from dask.diagnostics import ProgressBar
    out = sys.stderr if out is None else out
    tty = bool(getattr(out, "isatty", lambda: False)())
    return ProgressBar(minimum=minimum, out=out) if tty else LineProgress(minimum=minimum, out=out)

