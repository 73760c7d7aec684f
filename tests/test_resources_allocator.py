"""The program's allocator setting (resources.return_freed_memory): made on glibc, left alone where the environment
sets glibc's own variables; checked in child processes, so that the test process keeps its allocator."""
import os
import subprocess
import sys
from pathlib import Path

from trajmodes.trajectory import Pass

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHILD = "from trajmodes.resources import return_freed_memory; print(return_freed_memory())"


def _child(**env) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}
    out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, cwd=ROOT, timeout=120,
                         env=dict(clean, **env))
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.strip()


def _glibc() -> bool:
    try:
        return sys.platform.startswith("linux") and bool(os.confstr("CS_GNU_LIBC_VERSION"))
    except (ValueError, OSError, AttributeError):
        return False


@pytest.mark.skipif(not _glibc(), reason="glibc's mallopt")
def test_set_on_glibc_unless_the_environment_sets_it():
    assert _child() == "True"
    assert _child(MALLOC_ARENA_MAX="4") == "False"
    assert _child(MALLOC_MMAP_THRESHOLD_="4194304") == "False"
    assert _child(MALLOC_TRIM_THRESHOLD_="0") == "False"


@pytest.mark.skipif(not _glibc(), reason="glibc's mallopt")
def test_the_program_makes_its_settings_in_the_workers_of_its_cluster(monkeypatch):
    """The workers of the cluster the command line is given (``--workers``, ``--scheduler``) parse its frames: the
    program makes its allocator settings there too, by a worker plugin (those there and those that join), and at the
    command's end hands the memory their heaps keep back to the system."""
    import argparse
    pytest.importorskip("distributed")
    from distributed import default_client
    from trajmodes.cli.options import cluster
    for k in [k for k in os.environ if k.startswith("MALLOC_")]:
        monkeypatch.delenv(k)
    with cluster(argparse.Namespace(workers=1, scheduler=None)):
        client = default_client()
        made = client.run(lambda dask_worker: getattr(dask_worker, "trajmodes_freed_memory", None))
        assert list(made.values()) == [True]
        client.cluster.scale(2)
        client.wait_for_workers(2, timeout=60)
        made = client.run(lambda dask_worker: getattr(dask_worker, "trajmodes_freed_memory", None))
        assert list(made.values()) == [True, True]
        ran, run = [], client.run
        monkeypatch.setattr(client, "run", lambda f, *a, **k: ran.append(f.__name__) or run(f, *a, **k))
    assert ran == ["trim_freed_memory"]


@pytest.mark.skipif(not _glibc(), reason="glibc's mallopt")
def test_a_dask_workers_own_trim_threshold_does_not_count_as_set():
    """Dask's nanny sets ``MALLOC_TRIM_THRESHOLD_`` in every worker (64 kB by default): in a worker that value is not
    the user's, and the settings are made; any other value, or another variable, is kept."""
    import dask
    pytest.importorskip("distributed.config")                     # Dask's defaults for its workers
    value = str((dask.config.get("distributed.nanny.pre-spawn-environ", {}) or {}).get("MALLOC_TRIM_THRESHOLD_"))
    worker = "from trajmodes.resources import return_freed_memory; print(return_freed_memory(dask_worker=True))"
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MALLOC_")}

    def run(**env):
        out = subprocess.run([sys.executable, "-c", worker], capture_output=True, text=True, cwd=ROOT, timeout=120,
                             env=dict(clean, **env))
        return out.stdout.strip()
    assert run(MALLOC_TRIM_THRESHOLD_=value) == "True"
    assert _child(MALLOC_TRIM_THRESHOLD_=value) == "False"
    assert run(MALLOC_TRIM_THRESHOLD_="12345") == "False"
    assert run(MALLOC_TRIM_THRESHOLD_=value, MALLOC_ARENA_MAX="4") == "False"


def test_the_end_of_a_pass_hands_the_freed_memory_back_here_and_in_the_workers(monkeypatch):
    """``Pass.release`` (the end of a fit's pass, of the pass that took a time average) trims this
    process's heaps and, on a cluster, the workers' (a command of two fits held the first's freed memory through the
    second), whether or not frames were held."""
    distributed = pytest.importorskip("distributed")
    import warnings

    import trajmodes
    from trajmodes import resources
    calls = _TRIMS
    calls.clear()
    monkeypatch.setattr(resources, "trim_freed_memory", _count_trim)      # by reference to the workers (in-process)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.read(str(Path(__file__).parent.parent / "examples" / "cu_fcc_300K.lammpstrj.gz"),
                              species=["Cu"])
    Pass(traj).release()
    assert calls == [1]
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cl, \
            distributed.Client(cl):
        Pass(traj).release()
    assert calls == [1, 1, 1]


_TRIMS: list = []


def _count_trim() -> bool:
    _TRIMS.append(1)
    return True


def test_a_fit_hands_its_serial_works_freed_memory_back_before_its_pass(monkeypatch):
    """The temporaries of a fit's serial work (the symmetry search on the reference, the bases and the design kernel:
    0.3 GB at 10^6 atoms) are given back to the system before the pass parses a frame, not held in the heaps through
    it (a series on 2 workers peaked at 4.24 GB with them)."""
    import warnings

    import trajmodes
    from trajmodes import resources
    from trajmodes.forceconstants.fit import EffectiveForceConstants
    from tests.support.dumps import count_parsed_frames
    examples = Path(__file__).parent.parent / "examples"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        traj = trajmodes.read(str(examples / "cu_fcc_300K.lammpstrj.gz"), species=["Cu"],
                              reference=str(examples / "cu_fcc_4x4x4.data"))
    est = EffectiveForceConstants(cutoff2=3.0)
    frames, trims = count_parsed_frames(traj), []
    monkeypatch.setattr(resources, "trim_freed_memory",
                        lambda: trims.append((sum(frames), hasattr(est, "kernel_"))) or True)
    est.fit(traj)
    assert trims[0] == (0, True) and sum(frames) == traj.n_frames, trims
