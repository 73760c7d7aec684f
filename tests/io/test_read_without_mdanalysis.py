"""Reading a LAMMPS dump does not import MDAnalysis: importing the package (about a second) was serial start-up of
every streaming command (``fit``, ``project``, ``sqw``), from two places: ``open_source`` asking whether its source is
a Universe, and the table of standard masses (``trajmodes.lattice.elements``), which now reads MDAnalysis' table file
alone. The masses are those of MDAnalysis' table as before."""
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
import trajmodes
from trajmodes.lattice.elements import masses_of
t = trajmodes.read(sys.argv[1], species="Cu", md_timestep=0.001)
print(json.dumps(dict(atoms=int(t.n_atoms), cu=float(masses_of(["Cu"])[0]), mdanalysis="MDAnalysis" in sys.modules)))
"""


def test_reading_a_dump_and_its_masses_imports_no_mdanalysis():
    out = subprocess.run([sys.executable, "-c", CHILD, str(DATA / "cu32_xu.lammpstrj")], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["atoms"] == 32 and r["cu"] == pytest.approx(63.546)
    assert r["mdanalysis"] is False


def test_the_mass_table_is_mdanalysis_own():
    pytest.importorskip("MDAnalysis")
    from MDAnalysis.guesser.tables import masses
    from trajmodes.lattice.elements import mass_of
    table = {k.capitalize(): float(v) for k, v in masses.items() if v > 0}
    assert len(table) > 100 and all(mass_of(k) == v for k, v in table.items())
