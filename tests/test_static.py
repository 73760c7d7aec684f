"""Static checks of the source tree: pyflakes finds no undefined names, unused imports or variables.

An undefined name only fails when its line runs (an error path, a rare branch), so the test suite alone
cannot catch it; pyflakes reads every line.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TREES = ["trajmodes", "tests", "benchmarks", "examples"]


def test_pyflakes_clean():
    res = subprocess.run([sys.executable, "-m", "pyflakes", *TREES], cwd=ROOT, capture_output=True, text=True)
    report = (res.stdout + res.stderr).strip()
    assert res.returncode == 0 and not report, f"pyflakes:\n{report}"
