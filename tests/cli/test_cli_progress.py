"""Progress of long Dask computations: Dask's bar on a terminal, plain lines (no carriage returns) when redirected."""
from __future__ import annotations

import io
import time

import dask.array as da

from trajmodes.cli.progress import LineProgress, progress


def _slow_sum(n_blocks: int, pause: float) -> float:
    def slow(b):
        time.sleep(pause)
        return b
    return float(da.ones((n_blocks, 4), chunks=(1, 4)).map_blocks(slow).sum().compute(scheduler="threads"))


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_redirected_progress_is_lines_at_every_tenth():
    out = io.StringIO()
    with progress(minimum=0.1, out=out) as bar:
        assert isinstance(bar, LineProgress)
        assert _slow_sum(60, 0.01) == 240.0
    text = out.getvalue()
    assert "\r" not in text
    lines = text.splitlines()
    assert 5 <= len(lines) <= 11 and all(ln.startswith("progress: ") for ln in lines)
    assert lines[-1].startswith("progress: 100 %")
    percents = [int(ln.split()[1]) for ln in lines]
    assert percents == sorted(percents)


def test_short_computations_print_nothing_and_a_terminal_gets_the_bar():
    out = io.StringIO()
    with progress(minimum=5.0, out=out):
        _slow_sum(4, 0.0)
    assert out.getvalue() == ""
    from dask.diagnostics import ProgressBar
    assert isinstance(progress(out=_Terminal()), ProgressBar)


def test_lines_are_throttled_over_many_computations():
    """A step made of many computations (waves) prints at most one line per ``interval``, not ten per computation."""
    out = io.StringIO()
    t0 = time.perf_counter()
    with progress(minimum=0.0, out=out, interval=0.5):
        for _ in range(6):
            _slow_sum(20, 0.01)
    elapsed = time.perf_counter() - t0
    lines = out.getvalue().splitlines()
    assert lines and all(ln.startswith("progress: ") for ln in lines)
    assert len(lines) <= elapsed / 0.5 + 1, (elapsed, lines)
    out = io.StringIO()
    with progress(minimum=0.0, out=out):                     # unthrottled: a line at every tenth of each
        for _ in range(6):
            _slow_sum(20, 0.01)
    assert len(out.getvalue().splitlines()) >= 6 * 5
