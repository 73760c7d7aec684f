"""Shared fixtures: private copies of the real test data, and a private cache folder.

The readers write frame indexes beside the files they read and decompress gzip files into
``$TRAJMODES_CACHE``; the tests work on copies in temporary folders so that neither the
repository nor the user's cache is touched, and so that every session starts without indexes.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.support.paths import DATA, EXAMPLES
# CI (TRAJMODES_REQUIRE_TEST_EXTRA=1): a package of the test extra missing fails the session and the tests that skip for it
from tests.support import require_extra as _require_extra
pytest_make_collect_report = _require_extra.pytest_make_collect_report
pytest_runtest_makereport = _require_extra.pytest_runtest_makereport
pytest_terminal_summary = _require_extra.pytest_terminal_summary
# under --dist loadfile the slowest files start first (the README's command), not last for having few tests
from tests.support import slow_first as _slow_first
pytest_collection_modifyitems = _slow_first.pytest_collection_modifyitems
pytest_configure_node = _slow_first.pytest_configure_node


def pytest_configure(config):
    _require_extra.pytest_configure(config)
    _slow_first.pytest_configure(config)


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Point ``TRAJMODES_CACHE`` at a temporary folder for the whole session."""
    old = os.environ.get("TRAJMODES_CACHE")
    os.environ["TRAJMODES_CACHE"] = str(tmp_path_factory.mktemp("trajmodes-cache"))
    yield
    if old is None:
        os.environ.pop("TRAJMODES_CACHE", None)
    else:
        os.environ["TRAJMODES_CACHE"] = old


def pytest_sessionfinish(session):
    """The long LAMMPS runs (tests/support/long_md.py) are made once per session and shared between modules and test
    workers; their dumps (100+ MB each; pytest keeps the last 3 sessions' temporary folders) are deleted when the
    session ends: by the process that started the workers, after them (a worker's end is not the session's)."""
    if hasattr(session.config, "workerinput"):
        return
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    from tests.support.long_md import LONG_RUNS
    for f in factory.getbasetemp().glob(f"{LONG_RUNS}*/*.lammpstrj*"):
        f.unlink()


@pytest.fixture(scope="module", autouse=True)
def _no_dask_client_left_behind():
    """A test file that leaves a dask.distributed Client as the default (its cluster closed or closing) would send
    the next file's computations on this worker to it, where they wait forever: closed at the end of each file,
    after the file's own fixtures."""
    yield
    import sys
    if "distributed" not in sys.modules:
        return
    from distributed import default_client
    try:
        client = default_client()
    except ValueError:                      # no default client: nothing left behind
        return
    try:
        client.close(timeout=10)
    except Exception:                       # a dead scheduler: the client is dropped as the default all the same
        pass
    from distributed.client import _set_global_client
    _set_global_client(None)


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    """A private copy of tests/data."""
    d = tmp_path_factory.mktemp("data")
    for p in DATA.iterdir():
        if p.is_file() and not p.name.startswith("."):
            shutil.copy2(p, d / p.name)
    return d


@pytest.fixture(scope="session")
def examples_dir(tmp_path_factory) -> Path:
    """A private copy of the example trajectories and data files."""
    d = tmp_path_factory.mktemp("examples")
    for p in EXAMPLES.iterdir():
        if p.suffix in (".gz", ".data"):
            shutil.copy2(p, d / p.name)
    return d


@pytest.fixture(scope="session")
def cu_eam_phonons():
    """Harmonic phonons of the real fcc Cu EAM force constants shipped in examples/fc/cu_eam (phonopy finite
    displacements with LAMMPS forces); read-only, shared by the whole session."""
    import trajmodes
    return trajmodes.Phonons(trajmodes.ForceConstants.read(EXAMPLES / "fc" / "cu_eam", "phonopy"))


def _fit_md(tmp_path_factory, name: str, cutoff2: float, cutoff3: float):
    import trajmodes
    d = tmp_path_factory.mktemp(f"md-{name}")
    for suffix in (".lammpstrj.gz", ".data"):
        shutil.copy2(EXAMPLES / "md" / f"{name}{suffix}", d / f"{name}{suffix}")
    traj = trajmodes.read(d / f"{name}.lammpstrj.gz", reference=d / f"{name}.data")
    return trajmodes.EffectiveForceConstants(cutoff2=cutoff2, cutoff3=cutoff3,
                                             mode="sequential").fit(traj).force_constants_


@pytest.fixture(scope="session")
def si_fc3(tmp_path_factory):
    """Effective fc2 + fc3 of diamond Si (Stillinger-Weber) at 300 K, fitted to the shipped LAMMPS run."""
    return _fit_md(tmp_path_factory, "si_300K", 6.0, 4.0)


@pytest.fixture(scope="session")
def cu_fc3(tmp_path_factory):
    """Effective fc2 + fc3 of fcc Cu (Mishin EAM) at 300 K, fitted to the shipped LAMMPS run."""
    return _fit_md(tmp_path_factory, "cu_300K", 5.0, 3.0)
