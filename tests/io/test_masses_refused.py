"""Masses that are not positive numbers, or that change during a run, are refused when the file is read, naming the
file, the line (and frame) and the atom or LAMMPS type: a mass of 0 amu used to pass into `trajmodes info` and made
every mode of `trajmodes glass` NaN (exit 0), and a mass column that changed value in frame 3 was not looked at."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

import trajmodes
from tests.support.paths import DATA
from trajmodes.cli import main
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io import open_source, read_structure

EXTXYZ_PROPERTIES = "Properties=species:S:1:pos:R:3:vel:R:3:forces:R:3"


def _data_with_mass(tmp_path, mass: str):
    """cu32.data with the mass of type 1 (line 12 of the file) replaced."""
    text = (DATA / "cu32.data").read_text().splitlines()
    assert text[11] == "1 63.55"
    text[11] = f"1 {mass}"
    path = tmp_path / "cu32.data"
    path.write_text("\n".join(text) + "\n")
    return path


@pytest.mark.parametrize("mass", ["0", "-63.55", "nan"])
def test_a_data_file_mass_that_is_not_positive_is_refused_with_its_line(tmp_path, mass):
    path = _data_with_mass(tmp_path, mass)
    with pytest.raises(TrajectoryFormatError, match=r"cu32.data, line 12: LAMMPS type 1 has mass .* a mass must be a "
                                                    r"positive number"):
        read_structure(path)


def test_glass_refuses_a_zero_mass_instead_of_writing_nan_modes(tmp_path, capsys):
    path = _data_with_mass(tmp_path, "0")
    out = tmp_path / "out"
    assert main(["glass", str(path), "--potential", "lj/cut:0.4,2.3,3.0", "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "cu32.data, line 12: LAMMPS type 1 has mass 0.0 in the Masses section" in err
    assert not out.exists()


def test_a_zero_mass_in_the_data_file_of_the_runs_input_is_no_mass(tmp_path):
    """A dump of types without elements takes its masses from the data file its input reads: a mass of 0 there makes
    them unknown, with the file and line said (not a mass of 0 used)."""
    shutil.copy(DATA / "cu32_unsorted.lammpstrj", tmp_path / "run.lammpstrj")
    _data_with_mass(tmp_path, "0")
    (tmp_path / "in.cu").write_text("units metal\nread_data cu32.data\ntimestep 0.001\n"
                                    "dump d all custom 10 run.lammpstrj id type xu yu zu vx vy vz fx fy fz\nrun 190\n")
    traj = trajmodes.read(tmp_path / "run.lammpstrj")
    assert traj.masses is None
    assert "cu32.data, line 12: LAMMPS type 1 has mass 0.0" in traj.source.masses_problem


def test_a_zero_mass_command_is_no_mass(tmp_path):
    shutil.copy(DATA / "cu32_unsorted.lammpstrj", tmp_path / "run.lammpstrj")
    (tmp_path / "in.cu").write_text("units metal\nmass 1 0.0\ntimestep 0.001\n"
                                    "dump d all custom 10 run.lammpstrj id type xu yu zu vx vy vz fx fy fz\nrun 190\n")
    traj = trajmodes.read(tmp_path / "run.lammpstrj")
    assert traj.masses is None
    assert "the mass commands of" in traj.source.masses_problem and "a mass must be a positive number" in \
        traj.source.masses_problem


def _extxyz_with_masses(tmp_path, mass_of) -> str:
    """tests/data/cu32.extxyz (20 frames of 34 lines) with a masses column: mass_of(frame, atom index)."""
    lines = (DATA / "cu32.extxyz").read_text().splitlines()
    out = []
    for k in range(0, len(lines), 34):
        frame = lines[k:k + 34]
        assert EXTXYZ_PROPERTIES in frame[1]
        out += [frame[0], frame[1].replace(EXTXYZ_PROPERTIES, EXTXYZ_PROPERTIES + ":masses:R:1")]
        out += [f"{row} {mass_of(k // 34, i)!r}" for i, row in enumerate(frame[2:])]
    path = tmp_path / "run.extxyz"
    path.write_text("\n".join(out) + "\n")
    return str(path)


def test_a_zero_mass_in_an_extxyz_masses_column_is_refused(tmp_path, capsys):
    path = _extxyz_with_masses(tmp_path, lambda k, i: 0.0 if i == 4 else 63.55)
    with pytest.raises(TrajectoryFormatError, match=r"run.extxyz, frame 0, line 7: atom 5 \(Cu\) has mass 0.0 in the "
                                                    "masses column"):
        open_source(path)
    assert main(["info", path]) == 2                       # `trajmodes info` used to show it
    assert "frame 0, line 7: atom 5 (Cu) has mass 0.0" in capsys.readouterr().err


def test_an_extxyz_masses_column_that_changes_in_frame_3_is_refused(tmp_path, capsys):
    path = _extxyz_with_masses(tmp_path, lambda k, i: 70.0 if (i == 4 and k >= 3) else 63.55)
    src = open_source(path)
    src.read(np.arange(3))                                  # frames 0-2 hold frame 0's masses
    with pytest.raises(TrajectoryFormatError, match=r"run.extxyz, frame 3, line 109: atom 5 has mass 70.0 in the "
                                                    r"masses column of this frame, but 63.55 in frame 0"):
        src.read(np.arange(src.n_frames))
    assert main(["info", path]) == 2
    assert "frame 3, line 109: atom 5 has mass 70.0" in capsys.readouterr().err


def _dump_with_mass_column(tmp_path, mass_of) -> str:
    """tests/data/cu32_xu.lammpstrj (20 frames of 41 lines) with a mass column: mass_of(frame, atom id)."""
    out, frame = [], -1
    for line in (DATA / "cu32_xu.lammpstrj").read_text().splitlines():
        if line.startswith("ITEM: TIMESTEP"):
            frame += 1
        if line.startswith("ITEM: ATOMS"):
            line += " mass"
        elif not line.startswith("ITEM") and len(line.split()) == 11:
            line += f" {mass_of(frame, int(line.split()[0]))!r}"
        out.append(line)
    path = tmp_path / "run.lammpstrj"
    path.write_text("\n".join(out) + "\n")
    return str(path)


def test_a_zero_mass_in_a_dump_mass_column_is_refused(tmp_path):
    path = _dump_with_mass_column(tmp_path, lambda k, i: 0.0 if i == 5 else 63.55)
    with pytest.raises(TrajectoryFormatError, match=r"run.lammpstrj, frame 0, line 14: atom id 5 has mass 0.0 in the "
                                                    "mass column"):
        open_source(path, md_timestep=0.001)


def test_a_dump_mass_column_that_changes_in_frame_3_is_refused(tmp_path, capsys):
    path = _dump_with_mass_column(tmp_path, lambda k, i: 70.0 if (i == 5 and k >= 3) else 63.55)
    src = open_source(path, md_timestep=0.001)
    assert np.allclose(src.masses, 63.55)
    with pytest.raises(TrajectoryFormatError, match=r"run.lammpstrj, frame 3, line 137: atom id 5 has mass 70.0 in "
                                                    r"the mass column of this frame, but 63.55 in the first frame"):
        src.read(np.arange(src.n_frames))
    assert main(["info", path, "--md-timestep", "0.001"]) == 2
    assert "frame 3, line 137: atom id 5 has mass 70.0" in capsys.readouterr().err
