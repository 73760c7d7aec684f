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

import pytest

from benchmarks.bench_scaling import combined, timed

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
    out = "\n".join(["progress ...", line(wall_s=11.6, task_s=0.59, tasks=72, inline_s=0.5, inline_tasks=4, rc=0),
                     "wrote ...", line(wall_s=12.5, task_s=0.0, tasks=0, inline_s=0.0, inline_tasks=0, rc=3)])
    r = combined(out)
    assert r == dict(wall_s=12.5, task_s=0.59, tasks=72, inline_s=0.5, inline_tasks=4, rc=3, processes=2)


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
