"""Static checks of the source tree with pyflakes (test extra).

An undefined name only fails when its line runs (an error path, a rare branch), so the test suite alone
cannot catch it; pyflakes reads every line. Undefined names are bugs; unused imports and variables are
kept out as well, in a separate test so that one kind of report never hides the other.
"""
from __future__ import annotations

import subprocess
import sys

import pytest
from tests.support.paths import ROOT

TREES = ["trajmodes", "tests", "benchmarks", "examples"]
UNDEFINED = ("undefined name", "undefined local variable", "may be undefined")


@pytest.fixture(scope="module")
def pyflakes_report() -> list[str]:
    res = subprocess.run([sys.executable, "-m", "pyflakes", *TREES], cwd=ROOT, capture_output=True, text=True)
    if res.returncode not in (0, 1) or "No module named pyflakes" in res.stderr:
        pytest.fail(f"pyflakes did not run (install the test extra: pip install -e '.[test]'):\n{res.stderr}")
    return [ln for ln in (res.stdout + res.stderr).splitlines() if ln.strip()]


def test_no_undefined_names(pyflakes_report):
    bad = [ln for ln in pyflakes_report if any(k in ln for k in UNDEFINED)]
    assert not bad, "pyflakes finds names used but never defined:\n" + "\n".join(bad)


def test_no_other_pyflakes_reports(pyflakes_report):
    rest = [ln for ln in pyflakes_report if not any(k in ln for k in UNDEFINED)]
    assert not rest, "pyflakes:\n" + "\n".join(rest)
