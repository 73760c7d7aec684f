"""A LAMMPS data file in units lj given to ``trajmodes glass`` without ``--units lj`` is refused with advice that names
``--units lj`` (and ``--lj-scales``): where the file says so (LAMMPS' ``write_data`` writes ``units = lj`` on its first
line) before it is read; where it does not (LAMMPS before 2021 wrote no units there), because its cell, read as A, is
denser than any solid. Before, the refusal was about the potential's cutoff and the cell's size, and the warning
about the masses of 1 amu advised correcting the Masses.

The files are written as LAMMPS' ``write_data`` writes them (22 Jul 2025 and 29 Oct 2020): fcc at reduced density
0.8442, 3 x 3 x 3 cells (108 atoms), Masses ``1 1``, ``Atoms # atomic`` with image flags.
"""
from __future__ import annotations

import numpy as np
import pytest

from trajmodes.cli import main

COMMON = ["--species", "Ar", "--potential", "lj/cut:0.01032,3.405,7.0", "--temperatures", "300"]


def _write_data(path, header: str) -> None:
    a = (4 / 0.8442) ** (1 / 3)
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    x = np.array([(np.array([i, j, k]) + b) * a for k in range(3) for j in range(3) for i in range(3) for b in basis])
    x += np.random.default_rng(123).uniform(-0.02, 0.02, x.shape)
    L = float(3 * a)
    img = np.floor(x / L).astype(int)
    x -= img * L
    lines = [header, "", f"{len(x)} atoms", "1 atom types", "", f"0 {L!r} xlo xhi", f"0 {L!r} ylo yhi",
             f"0 {L!r} zlo zhi", "", "Masses", "", "1 1", "", "Atoms # atomic", ""]
    lines += [f"{n + 1} 1 {float(p[0])!r} {float(p[1])!r} {float(p[2])!r} {i[0]} {i[1]} {i[2]}"
              for n, (p, i) in enumerate(zip(x, img))]
    path.write_text("\n".join(lines) + "\n")


def test_a_data_file_that_says_units_lj_is_refused_naming_units_lj(tmp_path, capsys):
    path = tmp_path / "lj.data"
    _write_data(path, "LAMMPS data file via write_data, version 22 Jul 2025, timestep = 0, units = lj")
    assert main(["glass", str(path), *COMMON, "-o", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err
    assert f"{path}, line 1: LAMMPS wrote this data file in units lj" in err and "read in units metal" in err
    assert "--units lj with --lj-scales SIGMA,EPSILON,MASS" in err and "cutoff" not in err


@pytest.mark.parametrize("units", [None, "metal"])
def test_a_data_file_in_lj_units_that_does_not_say_so_is_refused_naming_units_lj(tmp_path, capsys, units):
    path = tmp_path / "lj.data"
    _write_data(path, "LAMMPS data file via write_data, version 29 Oct 2020, timestep = 0")
    args = ["--units", units] if units else []
    assert main(["glass", str(path), *COMMON, *args, "-o", str(tmp_path / "out")]) != 0
    err = capsys.readouterr().err
    assert f"{path}: 108 atoms in" in err and "denser than any solid" in err
    assert "--units lj with --lj-scales SIGMA,EPSILON,MASS" in err and "cutoff" not in err
