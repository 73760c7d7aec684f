"""LAMMPS data files (``write_data``) as reference structures."""
from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

import trajmodes
from trajmodes.io import read_structure
from trajmodes.io.trajectories.lammps_data import read_data

A = 3.615


def _fcc(n: int) -> np.ndarray:
    basis = np.array([[0, 0, 0], [0.5, 0.5, 0], [0.5, 0, 0.5], [0, 0.5, 0.5]])
    cells = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)])
    return ((cells[:, None, :] + basis[None]).reshape(-1, 3)) * A


def _sorted_rows(p):
    return p[np.lexsort(np.round(p, 6).T[::-1])]


def test_cu32_data(data_dir):
    s = read_data(data_dir / "cu32.data")
    assert s.n_atoms == 32
    assert np.array_equal(s.cell, np.diag([7.23, 7.23, 7.23]))
    assert np.array_equal(s.origin, np.zeros(3))
    assert s.species.tolist() == ["Cu"] * 32
    assert np.array_equal(s.masses, np.full(32, 63.55))
    assert np.array_equal(s.positions[:5], [[0, 0, 0], [1.8075, 1.8075, 0], [1.8075, 0, 1.8075],
                                             [0, 1.8075, 1.8075], [3.615, 0, 0]])
    # the ideal 2x2x2 fcc lattice, every site once
    np.testing.assert_allclose(_sorted_rows(s.positions), _sorted_rows(_fcc(2)), atol=1e-12)
    assert s.volume == pytest.approx(7.23 ** 3)


def test_triclinic_data_applies_image_flags(data_dir):
    s = read_data(data_dir / "cu32_triclinic.data")
    cell = np.array([[10.224764055957476, 0, 0], [5.1123820279787395, 8.854905420161188, 0],
                     [2.5561910139893698, 1.4758175700268645, 4.174242446240993]])
    assert np.array_equal(s.cell, cell)
    # atom 3: "12.780955069946845 10.33072299018805 4.174242446240992 0 -1 -1"
    raw = np.array([12.780955069946845, 10.33072299018805, 4.174242446240992])
    np.testing.assert_allclose(s.positions[2], raw + np.array([0, -1, -1]) @ cell, atol=1e-14)
    # a perfect crystal: every nearest-neighbour distance is a / sqrt(2)
    d = s.positions[:, None] - s.positions[None]
    frac = d @ np.linalg.inv(cell)
    d = (frac - np.round(frac)) @ cell
    r = np.sqrt((d ** 2).sum(-1)) + np.eye(32) * 99
    np.testing.assert_allclose(r.min(axis=1), A / np.sqrt(2), rtol=1e-12)


def test_general_triclinic_data(data_dir):
    g = read_data(data_dir / "cu32_general_triclinic.data")
    r = read_data(data_dir / "cu32_triclinic.data")
    np.testing.assert_allclose(g.cell, [[0, 7.23, 7.23], [7.23, 0, 7.23], [3.615, 3.615, 0]], atol=1e-14)
    assert np.array_equal(g.origin, np.zeros(3))
    R = np.linalg.solve(r.cell, g.cell)
    np.testing.assert_allclose(R @ R.T, np.eye(3), atol=1e-14)
    # same atoms, same ids: general = restricted @ R modulo the lattice
    d = (r.positions @ R - g.positions) @ np.linalg.inv(g.cell)
    np.testing.assert_allclose(d - np.round(d), 0, atol=1e-12)


@pytest.mark.parametrize("name, n, edge, element, mass", [("cu_fcc_4x4x4", 256, 14.46, "Cu", 63.55),
                                                         ("si_diamond_3x3x3", 216, 16.293, "Si", 28.0855)])
def test_example_data(examples_dir, name, n, edge, element, mass):
    s = read_data(examples_dir / f"{name}.data")
    assert s.n_atoms == n
    np.testing.assert_allclose(s.cell, np.eye(3) * edge, rtol=1e-12)
    assert set(s.species.tolist()) == {element}
    np.testing.assert_allclose(s.masses, mass)
    frac = s.scaled_positions
    assert (frac >= -1e-12).all() and (frac < 1).all()


def test_read_structure_dispatches_to_data(data_dir):
    s = read_structure(data_dir / "cu32.data")
    assert np.array_equal(s.positions, read_data(data_dir / "cu32.data").positions)


def _write_data(path, rows, *, style="atomic", header_extra="", masses="1 63.55 # Cu\n2 196.97\n", n=None,
                box="0 10 xlo xhi\n0 11 ylo yhi\n0 12 zlo zhi\n"):
    n = len(rows) if n is None else n
    text = (f"LAMMPS data file\n\n{n} atoms\n2 atom types\n\n{box}{header_extra}\nMasses\n\n{masses}\n"
            f"Atoms # {style}\n\n" + "\n".join(rows) + "\n")
    Path(path).write_text(text)
    return path


def test_synthetic_styles_and_unsorted_ids(tmp_path):
    pos = np.array([[1.0, 2.0, 3.0], [4.5, 5.5, 6.5], [9.0, 0.5, 11.0]])
    # ids out of order; image flags on the third atom; type 2 guessed as Au from its mass
    atomic = ["3 2 9.0 0.5 11.0 -1 0 1", "1 1 1.0 2.0 3.0 0 0 0", "2 1 4.5 5.5 6.5 0 0 0"]
    s = read_data(_write_data(tmp_path / "a.data", atomic))
    expect = pos.copy()
    expect[2] += [-10, 0, 12]
    assert np.array_equal(s.positions, expect)
    assert s.species.tolist() == ["Cu", "Cu", "Au"]
    np.testing.assert_allclose(s.masses, [63.55, 63.55, 196.97])
    full = ["3 7 2 0.5 9.0 0.5 11.0", "1 7 1 -0.5 1.0 2.0 3.0", "2 7 1 0.0 4.5 5.5 6.5"]
    f = read_data(_write_data(tmp_path / "f.data", full, style="full"))
    assert np.array_equal(f.positions, pos)
    assert f.species.tolist() == ["Cu", "Cu", "Au"]
    charge = ["1 1 0.1 1.0 2.0 3.0", "2 1 0.2 4.5 5.5 6.5", "3 2 0.3 9.0 0.5 11.0"]
    c = read_data(_write_data(tmp_path / "c.data", charge, style="charge"))
    assert np.array_equal(c.positions, pos)
    gz = tmp_path / "c.data.gz"
    gz.write_bytes(gzip.compress((tmp_path / "c.data").read_bytes()))
    assert np.array_equal(read_data(gz).positions, pos)


def test_synthetic_tilted_box_and_species_override(tmp_path):
    p = _write_data(tmp_path / "t.data", ["1 1 1 1 1", "2 2 2 2 2"], header_extra="1.5 -0.5 0.25 xy xz yz\n",
                    box="-1 9 xlo xhi\n-2 9 ylo yhi\n0.5 12.5 zlo zhi\n")
    with pytest.warns(UserWarning, match=r"type 1 is given as Ni \(58.69 amu\), but the file's Masses section "
                                         r"gives it 63.55 amu: the file's mass is used"):
        s = read_data(p, species={1: "Ni", 2: "Al"})       # another element than the file weighs: said, not hidden
    assert np.array_equal(s.cell, [[10, 0, 0], [1.5, 11, 0], [-0.5, 0.25, 12]])
    assert np.array_equal(s.origin, [-1, -2, 0.5])
    assert s.species.tolist() == ["Ni", "Al"]


def test_data_in_real_units_unchanged_lengths(tmp_path):
    p = _write_data(tmp_path / "r.data", ["1 1 1 1 1", "2 2 2 2 2"])
    s, r = read_data(p), read_data(p, units="real")
    assert np.array_equal(s.positions, r.positions) and np.array_equal(s.cell, r.cell)


@pytest.mark.parametrize("case, match", [
    ("no_atoms_line", "atoms"), ("no_box", "box"), ("no_atoms_section", "Atoms"),
    ("short", "header says 3 atoms"), ("bad_token", "Atoms section"), ("style", "not supported")])
def test_broken_data_files(tmp_path, case, match):
    rows = ["1 1 1.0 2.0 3.0", "2 1 4.5 5.5 6.5", "3 2 9.0 0.5 11.0"]
    p = tmp_path / f"{case}.data"
    if case == "no_atoms_line":
        p.write_text("LAMMPS data file\n\n0 10 xlo xhi\n\nAtoms # atomic\n\n1 1 0 0 0\n")
    elif case == "no_box":
        p.write_text("LAMMPS data file\n\n3 atoms\n\nAtoms # atomic\n\n" + "\n".join(rows) + "\n")
    elif case == "no_atoms_section":
        p.write_text("LAMMPS data file\n\n3 atoms\n0 1 xlo xhi\n0 1 ylo yhi\n0 1 zlo zhi\n\nMasses\n\n1 1.0\n")
    elif case == "short":
        _write_data(p, rows[:2], n=3)
    elif case == "bad_token":
        _write_data(p, rows[:2] + ["3 2 9.0 zero 11.0"])
    else:
        _write_data(p, rows, style="ellipsoid")
    with pytest.raises(trajmodes.TrajectoryFormatError, match=match) as err:
        read_data(p)
    assert p.name in str(err.value)
