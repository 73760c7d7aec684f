"""The serial-share accounting of ``benchmarks/bench_scaling.py --serial-share``: what it counts as the parallel part
of a stage (the tasks a scheduler spreads over the cores) and as its wall time (the process the user waits for).

``trajmodes`` runs its command in a forked child (``trajmodes.cli.interrupt.supervise``): the child prints the record
of its tasks, the parent one of its wait. The first line alone (the old accounting) missed the child's interpreter
shutdown; and the tasks of Dask's synchronous scheduler (``project``'s peak fits), which run one after another in the
caller at any number of cores, were counted as parallel."""
from __future__ import annotations

import json
import os
import sys

import numpy as np
import pytest

from benchmarks.bench_scaling import combined, serial_of, timed

#: a stage as trajmodes runs one, supervised: a threaded task, a synchronous task, serial work, a slow shutdown
#: (each 0.4 s of sleep)
STAGE = r"""
import atexit, time
import dask
from trajmodes.cli.interrupt import supervise

def run():
    atexit.register(time.sleep, 0.4)                                   # the child's interpreter shutdown
    dask.compute(dask.delayed(time.sleep, pure=False)(0.4), scheduler="threads")
    dask.compute(dask.delayed(time.sleep, pure=False)(0.4), scheduler="sync")
    time.sleep(0.4)                                                     # serial work outside Dask
    return 0

if __name__ == "__main__":
    raise SystemExit(supervise(run))
"""


def line(**record) -> str:
    return "SERIAL-SHARE " + json.dumps(record)


def test_combined_takes_the_parents_wall_time_and_the_childs_tasks():
    out = "\n".join(["progress ...", line(wall_s=11.6, task_s=0.59, tasks=72, inline_s=0.5, inline_tasks=4,
                                          ahead_s=0.25, rc=0),
                     "wrote ...", line(wall_s=12.5, task_s=0.0, tasks=0, inline_s=0.0, inline_tasks=0, ahead_s=0.0,
                                       rc=3)])
    r = combined(out)
    assert r == dict(wall_s=12.5, task_s=0.59, tasks=72, inline_s=0.5, inline_tasks=4, ahead_s=0.25, rc=3,
                     processes=2)
    assert serial_of(r) == pytest.approx(1.0 - (0.59 + 0.25) / 12.5)    # reading ahead counts with the tasks


def test_combined_refuses_output_without_a_record():
    with pytest.raises(ValueError, match="no SERIAL-SHARE line"):
        combined("Traceback (most recent call last): ...")


@pytest.mark.skipif(not hasattr(os, "fork") or not hasattr(os, "sched_getaffinity"),
                    reason="supervise forks and the run is pinned by CPU affinity (Linux)")
def test_a_supervised_stage_is_timed_as_the_user_waits_and_synchronous_tasks_are_serial(tmp_path):
    (tmp_path / "stage_under_test.py").write_text(STAGE)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path)] + sys.path))
    r = timed(["stage_under_test"], "stage", env=env)
    assert r["rc"] == 0 and r["processes"] == 2                         # the child's record and the parent's
    assert (r["tasks"], r["inline_tasks"]) == (1, 1)                    # the synchronous task apart
    assert r["task_s"] >= 0.4 and r["inline_s"] >= 0.4
    # four disjoint sleeps of 0.4 s: the threaded task, the synchronous one, the serial work and the child's shutdown,
    # which only the parent's wall time holds
    assert r["wall_s"] >= r["task_s"] + r["inline_s"] + 0.8


#: a stage whose serial work has a read-ahead thread beside it (as ``Pass.reading_ahead``'s), burning 0.4 s of CPU
AHEAD = r"""
import threading, time

def burn(seconds):
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass

def main():
    ahead = threading.Thread(target=burn, args=(0.4,), name="trajmodes-read-ahead")
    other = threading.Thread(target=burn, args=(0.2,), name="someone-else")     # not the pass's reading
    ahead.start(); other.start(); ahead.join(); other.join()
    time.sleep(0.3)                                                   # serial work
    return 0

if __name__ == "__main__":
    raise SystemExit(main())
"""


@pytest.mark.skipif(not hasattr(os, "sched_getaffinity"), reason="the run is pinned by CPU affinity (Linux)")
def test_the_read_ahead_threads_cpu_counts_with_the_tasks(tmp_path):
    (tmp_path / "ahead_under_test.py").write_text(AHEAD)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path)] + sys.path))
    r = timed(["ahead_under_test"], "stage", env=env)
    assert r["rc"] == 0 and r["tasks"] == 0
    assert 0.38 <= r["ahead_s"] < 0.55                                  # the read-ahead thread's CPU, not the other's
    # on one core the three run one after another: 0.9 s at least, of which only the read-ahead is the pass's work
    assert r["wall_s"] >= 0.85 and serial_of(r) == pytest.approx(1.0 - r["ahead_s"] / r["wall_s"])


def test_the_timed_thread_name_is_the_one_reading_ahead_runs_under(tmp_path, monkeypatch):
    """The benchmark finds the read-ahead thread by its name: a rename in ``Pass.reading_ahead`` must show here."""
    import threading
    started = []
    start = threading.Thread.start

    def recorded(self):
        started.append(self.name)
        start(self)
    monkeypatch.setattr(threading.Thread, "start", recorded)

    import trajmodes
    from trajmodes.trajectory.passes import Pass
    frames = 6
    pos = np.random.default_rng(0).normal(0.0, 0.01, (frames, 4, 3)) + np.array(
        [[0, 0, 0], [1.8, 1.8, 0], [1.8, 0, 1.8], [0, 1.8, 1.8]])
    path = tmp_path / "run.xyz"
    with open(path, "w") as fh:
        for f in range(frames):
            fh.write(f'4\nLattice="3.6 0 0 0 3.6 0 0 0 3.6" Properties=species:S:1:pos:R:3 Time={f * 0.01}\n')
            fh.writelines(f"Cu {x:.6f} {y:.6f} {z:.6f}\n" for x, y, z in pos[f])
    traj = trajmodes.read(str(path), chunk_frames=2)
    reading = traj.read_pass()
    assert isinstance(reading, Pass)
    with reading.reading_ahead():
        pass
    assert "trajmodes-read-ahead" in started
