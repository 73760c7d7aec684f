"""LAMMPS dumps whose types have no element: masses from the ``mass`` commands of the input beside the dump, and a
``run`` that cannot fit for want of masses fails before it writes anything."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import trajmodes
from tests.support.paths import DATA
from trajmodes.cli import main

DUMP = DATA / "cu32_unsorted.lammpstrj"            # types only (no element column), with forces


def _input(folder, masses: str, units: str = "metal") -> None:
    (folder / "in.cu").write_text(f"units {units}\n{masses}\ntimestep 0.002\n"
                                  "dump d all custom 10 run.lammpstrj id type xu yu zu vx vy vz fx fy fz\nrun 1000\n")


@pytest.mark.parametrize("masses, expected", [("mass 1 63.546", 63.546), ("mass * 12.0\nmass 1 63.5  # Cu", 63.5),
                                              ("mass 1*2 40.0", 40.0)])
def test_masses_from_the_mass_commands_beside_the_dump(tmp_path, masses, expected):
    shutil.copy(DUMP, tmp_path / "run.lammpstrj")
    _input(tmp_path, masses)
    traj = trajmodes.read(tmp_path / "run.lammpstrj")
    assert np.allclose(traj.masses, expected)
    assert traj.source.masses_from.endswith("in.cu")


def test_real_units_masses_are_grams_per_mole(tmp_path):
    shutil.copy(DUMP, tmp_path / "run.lammpstrj")
    _input(tmp_path, "mass 1 63.546", units="real")
    assert np.allclose(trajmodes.read(tmp_path / "run.lammpstrj").masses, 63.546)


def test_no_masses_anywhere_fails_before_writing(tmp_path, capsys):
    shutil.copy(DUMP, tmp_path / "run.lammpstrj")
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "run.lammpstrj"), "--md-timestep", "0.002", "-o", str(out)]) != 0
    err = capsys.readouterr().err
    assert "type(s) 1 have no element" in err and "mass commands" in err
    assert not out.exists()                        # no cache, no summary written before the failure


def test_a_mass_command_for_other_types_gives_none(tmp_path):
    shutil.copy(DUMP, tmp_path / "run.lammpstrj")
    _input(tmp_path, "mass 2 40.0")
    assert trajmodes.read(tmp_path / "run.lammpstrj").masses is None
