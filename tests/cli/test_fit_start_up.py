"""``trajmodes fit`` of a LAMMPS dump imports neither MDAnalysis nor scipy.stats: each cost about a second of serial
start-up, which more cores cannot shorten (the serial share in docs/benchmarks.md). MDAnalysis came with the table of
standard masses and ``open_source``'s check for a Universe; scipy.stats with the normal quantile of the cutoff
convergence table (``scipy.special.ndtri`` gives the same number)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data"

CHILD = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
from trajmodes.cli import main
rc = main(["fit", sys.argv[1], "--cutoff2", "3.0", "--species", "Cu", "--md-timestep", "0.001", "-o", sys.argv[2]])
print(json.dumps(dict(rc=rc, heavy=sorted(m for m in ("MDAnalysis", "scipy.stats") if m in sys.modules))))
"""


def test_fit_imports_no_mdanalysis_and_no_scipy_stats(tmp_path):
    out = subprocess.run([sys.executable, "-c", CHILD, str(DATA / "cu32_xu.lammpstrj"), str(tmp_path / "fit")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r == dict(rc=0, heavy=[])
    assert (tmp_path / "fit" / "fc.nc").is_file()


def test_the_convergence_quantile_is_the_normal_one():
    stats = pytest.importorskip("scipy.stats")
    from scipy.special import ndtri
    for p in (0.025, 0.05 / 154, 1e-9):
        assert -ndtri(p) == stats.norm.isf(p)
