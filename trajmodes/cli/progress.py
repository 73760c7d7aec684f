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
    computation has run ``minimum`` seconds (short ones print nothing), and never two lines less than ``interval``
    seconds apart, over all the computations it watches (a step made of many computations, such as the waves of
    S(q, omega) or of the mode spectra, prints a line every ``interval`` seconds, not ten per computation)."""

    def __init__(self, minimum: float = 1.0, out=None, step: float = 0.1, interval: float = 0.0):
        super().__init__()
        self.minimum, self.step, self.interval = float(minimum), float(step), float(interval)
        self.out = sys.stderr if out is None else out
        self._last = -float("inf")                   # when the last line was written (default_timer)

    def _write(self, line: str) -> None:
        now = default_timer()
        if now - self._last >= self.interval:
            self.out.write(line)
            self.out.flush()
            self._last = now

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
            self._write(f"progress: {100 * frac:3.0f} % of {total} tasks ({elapsed:.1f} s)\n")
            self._shown = True
            self._next = (int(frac / self.step) + 1) * self.step

    def _finish(self, dsk, state, errored):
        elapsed = default_timer() - self._t0
        if self._shown and not errored and self._next <= 1.0:           # 100 % not written yet
            self._write(f"progress: done in {elapsed:.1f} s\n")


def progress(minimum: float = 1.0, out=None, interval: float = 0.0):
    """The progress display for every Dask computation longer than ``minimum`` seconds: Dask's bar on a terminal,
    :class:`LineProgress` lines when ``out`` (default stderr) is redirected, at most one every ``interval`` seconds."""
    from dask.diagnostics import ProgressBar
    out = sys.stderr if out is None else out
    tty = bool(getattr(out, "isatty", lambda: False)())
    return (ProgressBar(minimum=minimum, out=out) if tty else
            LineProgress(minimum=minimum, out=out, interval=interval))

