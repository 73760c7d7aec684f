"""LAMMPS dumps whose types have no element: masses from the ``mass`` commands of the input beside the dump, and a
``run`` that cannot fit for want of masses fails before it writes anything."""
from __future__ import annotations

import re
import shutil

import numpy as np
import pytest

import trajmodes
from tests.support.paths import DATA
from trajmodes.cli import main

DUMP = DATA / "cu32_unsorted.lammpstrj"            # types only (no element column), with forces


def _input(folder, masses: str, units: str = "metal") -> None:
    (folder / "in.cu").write_text(f"units {units}\n{masses}\ntimestep 0.001\n"
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
    assert main(["run", str(tmp_path / "run.lammpstrj"), "--md-timestep", "0.001", "-o", str(out)]) != 0
    err = capsys.readouterr().err
    assert "type(s) 1 have no element" in err and "mass commands" in err
    assert not out.exists()                        # no cache, no summary written before the failure


def test_a_mass_command_for_other_types_gives_none(tmp_path):
    shutil.copy(DUMP, tmp_path / "run.lammpstrj")
    _input(tmp_path, "mass 2 40.0")
    traj = trajmodes.read(tmp_path / "run.lammpstrj")
    assert traj.masses is None
    assert "LAMMPS type 1 are unknown: it has no mass in the mass commands of" in traj.source.masses_problem


# -- masses from the data file the input's read_data names (a run whose input has no mass commands) --------------

def _two_types(dump, folder):
    """The Cu dump with the atoms of even id made type 2 (two species, as wurtzite GaN's Ga and N)."""
    lines = dump.read_text().splitlines()
    out, atoms = [], False
    for line in lines:
        words = line.split()
        if line.startswith("ITEM:"):
            atoms = line.startswith("ITEM: ATOMS")
        elif atoms and int(words[0]) % 2 == 0:
            words[1] = "2"
            line = " ".join(words)
        out.append(line)
    (folder / "run.lammpstrj").write_text("\n".join(out) + "\n")


def _data_file(path, masses: str) -> None:
    """A LAMMPS data file whose Masses section is ``masses`` (the atoms are not what is read here)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("LAMMPS data file via write_data\n\n2 atoms\n2 atom types\n\n0 7.23 xlo xhi\n0 7.23 ylo yhi\n"
                    f"0 7.23 zlo zhi\n\nMasses\n\n{masses}\n\nAtoms # atomic\n\n1 1 0 0 0\n2 2 1 1 1\n")


def _run_input(folder, commands: str) -> None:
    (folder / "gan.in").write_text(f"units metal\natom_style atomic\n{commands}\npair_style tersoff\n"
                                   "pair_coeff * * GaN.tersoff Ga N\ntimestep 0.001\n"
                                   "dump d all custom 10 run.lammpstrj id type xu yu zu vx vy vz fx fy fz\nrun 1000\n")


def test_masses_and_elements_from_the_data_file_read_data_names(tmp_path):
    """No mass commands: the Masses section of the data file the input reads (its name relative to the input's
    folder) gives the masses, the elements follow from them, and the reader says where they came from."""
    _two_types(DUMP, tmp_path)
    _data_file(tmp_path / "data" / "gan_0K.data", "1 69.723\n2 14.007")
    _run_input(tmp_path, "read_data data/gan_0K.data")
    traj = trajmodes.read(tmp_path / "run.lammpstrj")
    assert traj.species.tolist() == ["Ga" if i % 2 else "N" for i in traj.source.ids]
    assert np.allclose(traj.masses, np.where(traj.source.ids % 2, 69.723, 14.007))
    said = traj.source.masses_from
    assert "Masses section of" in said and said.count("gan_0K.data") == 1 and "gan.in" in said


def test_a_mass_command_replaces_the_data_files_mass_as_in_lammps(tmp_path):
    """A mass command comes after read_data and wins, as in LAMMPS; where the two differ the reader says so, naming
    both files; the element named in the data file's comment is taken for the types whose mass it gives."""
    _two_types(DUMP, tmp_path)
    _data_file(tmp_path / "gan_0K.data", "1 69.0 # Ga\n2 14.007 # N")
    _run_input(tmp_path, "read_data gan_0K.data\nmass 1 69.723")
    traj = trajmodes.read(tmp_path / "run.lammpstrj")
    assert sorted(set(traj.species.tolist())) == ["Ga", "N"]
    assert np.allclose(sorted(set(traj.masses.tolist())), [14.007, 69.723])
    said = traj.source.masses_from
    assert said.startswith("the Masses section of") and "the mass commands of" in said
    assert re.search(r"mass commands of .*gan\.in give LAMMPS type 1 69\.723, the Masses section of .*gan_0K\.data "
                     r"69: the mass commands are used", said)


def test_a_missing_data_file_is_named_with_what_to_do(tmp_path, capsys):
    """The data file the input reads is not where it says: the reader names the input, the file and where it was
    looked for, and what to give; info prints it, and fit stops with it before it computes or writes anything."""
    _two_types(DUMP, tmp_path)
    _run_input(tmp_path, "read_data gan_0K.data")
    traj = trajmodes.read(tmp_path / "run.lammpstrj")
    assert traj.masses is None
    assert re.search(r"run\.lammpstrj: the masses of LAMMPS types 1, 2 are unknown: .*gan\.in reads them from the "
                     r"data file gan_0K\.data \(read_data\), which is not at .*gan_0K\.data.*put the data file where "
                     r"the input names it, or .*--species .*--masses", traj.source.masses_problem)
    assert main(["info", str(tmp_path / "run.lammpstrj"), "--md-timestep", "0.001"]) == 0
    assert "masses:     unknown (" in capsys.readouterr().out
    out = tmp_path / "out"
    assert main(["fit", str(tmp_path / "run.lammpstrj"), "-o", str(out)]) != 0
    err = " ".join(capsys.readouterr().err.split())
    assert "gan_0K.data (read_data), which is not at" in err and "--species" in err
    assert not out.exists()


def test_a_type_the_data_file_lacks_is_named(tmp_path):
    _two_types(DUMP, tmp_path)
    _data_file(tmp_path / "gan_0K.data", "1 69.723")
    _run_input(tmp_path, "read_data gan_0K.data")
    traj = trajmodes.read(tmp_path / "run.lammpstrj")
    assert traj.masses is None
    assert re.search(r"LAMMPS type 2 are unknown: it has no mass in the mass commands of .*gan\.in nor in the Masses "
                     r"section of .*gan_0K\.data", traj.source.masses_problem)


def test_a_broken_masses_line_is_named(tmp_path):
    _two_types(DUMP, tmp_path)
    _data_file(tmp_path / "gan_0K.data", "1 69.723\n2 heavy")
    _run_input(tmp_path, "read_data gan_0K.data")
    traj = trajmodes.read(tmp_path / "run.lammpstrj")
    assert traj.masses is None
    assert re.search(r"gan_0K\.data, which .*gan\.in reads \(read_data\), cannot be read \(.*line 13.*'2 heavy'",
                     traj.source.masses_problem)


def test_a_log_beside_the_dump_names_the_data_file(tmp_path):
    """The log echoes the input's commands (read_data among them) and prints "read_data CPU = ..." after it: the data
    file is the one the command names, relative to the log's folder."""
    _two_types(DUMP, tmp_path)
    _data_file(tmp_path / "gan_0K.data", "1 69.723\n2 14.007")
    (tmp_path / "log.lammps").write_text(
        "LAMMPS (22 Jul 2025)\nunits metal\nread_data gan_0K.data\nReading data file ...\n  2 atoms\n"
        "  read_data CPU = 0.001 seconds\npair_style tersoff\ntimestep 0.001\n"
        "dump d all custom 10 run.lammpstrj id type xu yu zu vx vy vz fx fy fz\nrun 1000\n")
    traj = trajmodes.read(tmp_path / "run.lammpstrj")
    assert sorted(set(traj.species.tolist())) == ["Ga", "N"]
    assert "gan_0K.data (read_data in" in traj.source.masses_from and "log.lammps" in traj.source.masses_from


@pytest.mark.filterwarnings("ignore:the error of the fit still grows")        # 20 frames: short for its error bars
def test_info_and_fit_say_where_the_masses_came_from(tmp_path, capsys):
    _two_types(DUMP, tmp_path)
    _data_file(tmp_path / "gan_0K.data", "1 69.723\n2 14.007")
    _run_input(tmp_path, "read_data gan_0K.data")
    assert main(["info", str(tmp_path / "run.lammpstrj")]) == 0
    text = capsys.readouterr().out
    assert "atoms:      32: Ga x 16, N x 16" in text
    assert "masses:     Ga 69.7230 amu, N 14.0070 amu (from the Masses section of" in text and "gan.in" in text
    assert main(["fit", str(tmp_path / "run.lammpstrj"), "--cutoff2", "3", "-o", str(tmp_path / "fit")]) == 0
    text = capsys.readouterr().out
    assert "masses of run.lammpstrj: Ga 69.7230 amu, N 14.0070 amu (from the Masses section of" in text
