"""Damaged and mismatched displacement-force datasets (phono3py's FORCES_FC3 / FORCES_FC2 with their yaml, phonopy's
FORCE_SETS): every case ends in a clear error (what is wrong, which file, which line or supercell, what to do) or in
the right supercells, never in forces reshaped onto another supercell by their row count alone.

Data: phono3py's Si-PBEsol example (tests/data/phono3py_si_pbesol: 111 displaced 64-atom supercells, type-1
FORCES_FC3 with its '# File: k' headers); the type-2 (random-displacement) yaml and phonopy yaml are made here with
phono3py's and phonopy's own generators on the same unit cell.
"""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

from tests.support.paths import DATA
from trajmodes.errors import TrajectoryFormatError
from trajmodes.io.forceconstants.displacement_sets import parse_displacement_dataset

SI = DATA / "phono3py_si_pbesol"
N = 64                                        # atoms of the Si supercell


@pytest.fixture
def si(tmp_path):
    for name in ("phono3py_disp.yaml", "FORCES_FC3", "POSCAR-unitcell"):
        shutil.copy(SI / name, tmp_path / name)
    return tmp_path


def _blocks(rows: list[str]) -> list[tuple[int, int]]:
    """(first line, end) 0-based of every '# File:' block of FORCES_FC3."""
    starts = [i for i, r in enumerate(rows) if r.startswith("# File:")]
    return list(zip(starts, starts[1:] + [len(rows)]))


def _other_crystal_rows(n_sets: int, n_atoms: int, seed: int = 3) -> np.ndarray:
    """Six columns (displacement, force) of another crystal's random-displacement run."""
    rng = np.random.default_rng(seed)
    u = rng.normal(scale=0.03, size=(n_sets * n_atoms, 3))
    return np.concatenate([u, -5.0 * u + rng.normal(scale=0.01, size=u.shape)], axis=1)


def _refused(yaml, forces=None, line: int | None = None, *words, **kw) -> str:
    with pytest.raises(TrajectoryFormatError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        parse_displacement_dataset(yaml, forces, **kw)
    msg = str(err.value)
    assert "\n" not in msg, msg
    if line is not None:
        assert f", line {line}: " in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    return msg


# ----------------------------------------------------------------------------- type-1 FORCES_FC3 and its headers
def _edit_fc3(rows: list[str], kind: str) -> tuple[list[str], int, list[str]]:
    """A damaged FORCES_FC3: the rows, the 1-based line the message names, words it holds."""
    b = _blocks(rows)
    if kind == "another crystal's blocks (32 rows each)":
        out = [r for s, e in b for r in rows[s:s + (e - s) - 32]]          # the headers and 32 of 64 rows
        return out, 1, ["supercell 1 ('# File: 1') holds 32 force rows", f"has {N} atoms"]
    if kind == "a block missing":
        s, e = b[56]
        return rows[:s] + rows[e:], b[55][0] + 1, ["the forces of supercell 57 of the 111", "no '# File: 57' block"]
    if kind == "rows moved between blocks (same total)":
        s, e = b[4]
        moved = rows[e - 1]
        out = rows[:e - 1] + rows[e:b[5][1]] + [moved] + rows[b[5][1]:]
        return out, s + 1, ["supercell 5 ('# File: 5') holds 63 force rows"]
    if kind == "two blocks swapped (same rows)":
        (s1, e1), (s2, e2) = b[1], b[2]
        return rows[:s1] + rows[s2:e2] + rows[s1:e1] + rows[e2:], s1 + 1, ["supercell 2 ('# File: 3') displaces",
                                                                            "does not belong to that yaml"]
    if kind == "nan":
        s, _ = b[3]
        return rows[:s + 10] + ["   nan   0.0   0.0"] + rows[s + 11:], s + 11, ["NaN or infinite"]
    if kind == "a token missing":
        s, _ = b[3]
        return rows[:s + 10] + ["   0.1   0.0"] + rows[s + 11:], s + 11, ["expected 3 numbers (a force), found 2"]
    if kind == "text for a number":
        s, _ = b[3]
        return rows[:s + 10] + ["   0.1   x   0.0"] + rows[s + 11:], s + 11, ["expected 3 numbers (a force)"]
    if kind == "no headers, one supercell short":
        out = [r for r in rows if not r.startswith("#")][:-N]
        return out, len(out), [f"{110 * N} force rows", f"111 displaced supercells of {N} atoms", f"need {111 * N}"]
    raise KeyError(kind)


FC3_KINDS = ["another crystal's blocks (32 rows each)", "a block missing", "rows moved between blocks (same total)",
             "two blocks swapped (same rows)", "nan", "a token missing", "text for a number",
             "no headers, one supercell short"]


@pytest.mark.parametrize("kind", FC3_KINDS)
def test_type1_forces_fc3_checked_against_the_yaml(si, kind):
    """Each of these was read as data (forces moved to the wrong supercells, NaN kept) or refused without a line;
    now the '# File: k' blocks are checked against the yaml's supercells: their number, natom rows each, and the
    displaced atoms of their headers."""
    path = si / "FORCES_FC3"
    rows, line, words = _edit_fc3(path.read_text().splitlines(), kind)
    path.write_text("\n".join(rows) + "\n")
    msg = _refused(si / "phono3py_disp.yaml", None, line, *words)
    assert str(path) in msg, msg


# ----------------------------------------------------------------------------- type-2 (six columns)
@pytest.fixture
def random_yaml(tmp_path):
    """phono3py_disp.yaml of two random-displacement supercells of the Si 2x2x2 cell (type 2: displacements only)."""
    phono3py = pytest.importorskip("phono3py")
    from phonopy.interface.vasp import read_vasp
    ph3 = phono3py.Phono3py(read_vasp(str(SI / "POSCAR-unitcell")), supercell_matrix=[2, 2, 2],
                            primitive_matrix="F", log_level=0)
    ph3.generate_displacements(number_of_snapshots=2, random_seed=1, distance=0.03)
    folder = tmp_path / "rd"
    folder.mkdir()
    ph3.save(str(folder / "phono3py_disp.yaml"))
    return folder / "phono3py_disp.yaml", np.asarray(ph3.dataset["displacements"])


def test_six_columns_of_another_crystal_beside_a_type1_yaml(si):
    """The case reported: a six-column FORCES_FC3 of a 32-atom run (128 rows) was read as two supercells of 64."""
    np.savetxt(si / "FORCES_FC3", _other_crystal_rows(4, 32), fmt="%15.8f")
    _refused(si / "phono3py_disp.yaml", None, None, "128 rows (2 displaced supercells of 64 atoms)",
             "phono3py_disp.yaml lists 111 displaced supercells (7104 rows)", "does not belong to that yaml")


@pytest.mark.parametrize("rows", ["another crystal", "other displacements", "a supercell too many", "not whole"])
def test_six_columns_beside_a_random_displacement_yaml(random_yaml, rows):
    yaml, u = random_yaml
    f = -5.0 * u
    table = {"another crystal": (_other_crystal_rows(4, 32), None, ["supercell 1 of 2", "displaced by"]),
             "other displacements": (np.concatenate([u[::-1], f], axis=-1).reshape(-1, 6), None, ["supercell 1 of 2"]),
             "a supercell too many": (np.concatenate([np.concatenate([u, u[:1]]), np.concatenate([f, f[:1]])],
                                                     axis=-1).reshape(-1, 6), None,
                                      ["3 displaced supercells", "lists 2"]),
             "not whole": (np.concatenate([u, f], axis=-1).reshape(-1, 6)[:-5], 2 * N - 5,
                           [f"{2 * N - 5} rows are not a whole number of supercells of {N} atoms"])}
    x, line, words = table[rows]
    np.savetxt(yaml.parent / "FORCES_FC3", x, fmt="%.10f")
    _refused(yaml, None, line, *words)


def test_six_columns_that_match_read_and_a_first_part_too(random_yaml):
    """The yaml's own displacements with their forces read back; forces of only the first supercells too (phonopy's
    rule for type-2 files)."""
    yaml, u = random_yaml
    f = -5.0 * u
    np.savetxt(yaml.parent / "FORCES_FC3", np.concatenate([u, f], axis=-1).reshape(-1, 6), fmt="%.10f")
    data = parse_displacement_dataset(yaml)
    np.testing.assert_allclose(data.displacements, u, atol=1e-10)
    np.testing.assert_allclose(data.forces, f, atol=1e-10)
    np.savetxt(yaml.parent / "FORCES_FC3", np.concatenate([u, f], axis=-1)[:1].reshape(-1, 6), fmt="%.10f")
    assert parse_displacement_dataset(yaml).forces.shape == (1, N, 3)


# ----------------------------------------------------------------------------- phonopy: FORCE_SETS
@pytest.fixture
def phonopy_yaml(tmp_path):
    """phonopy_disp.yaml of the Si 2x2x2 cell (one displacement), made by phonopy."""
    from phonopy import Phonopy
    from phonopy.interface.vasp import read_vasp
    ph = Phonopy(read_vasp(str(SI / "POSCAR-unitcell")), supercell_matrix=np.eye(3) * 2, primitive_matrix="F")
    ph.generate_displacements(distance=0.03)
    folder = tmp_path / "ph"
    folder.mkdir()
    ph.save(str(folder / "phonopy_disp.yaml"))
    return folder / "phonopy_disp.yaml", ph.dataset


def _force_sets(path, natom: int, sets):
    lines = [f"{natom}", f"{len(sets)}"]
    for atom, u, f in sets:
        lines += ["", f"{atom}", "%20.16f %20.16f %20.16f" % tuple(u)] + ["%15.10f %15.10f %15.10f" % tuple(r) for r in f]
    path.write_text("\n".join(lines) + "\n")


def test_force_sets_that_match_read(phonopy_yaml):
    yaml, ds = phonopy_yaml
    d = ds["first_atoms"][0]
    f = np.random.default_rng(0).normal(size=(N, 3))
    _force_sets(yaml.parent / "FORCE_SETS", N, [(d["number"] + 1, d["displacement"], f)])
    data = parse_displacement_dataset(yaml)
    assert data.forces.shape == (1, N, 3) and np.allclose(data.forces[0], f, atol=1e-9)


@pytest.mark.parametrize("kind", ["32 atoms", "count too large", "count too small", "other atom", "nan", "six columns"])
def test_force_sets_checked_against_the_yaml(phonopy_yaml, kind):
    yaml, ds = phonopy_yaml
    d = ds["first_atoms"][0]
    path = yaml.parent / "FORCE_SETS"
    f = np.random.default_rng(0).normal(size=(N, 3))
    one = (d["number"] + 1, d["displacement"], f)
    if kind == "32 atoms":
        _force_sets(path, 32, [(1, d["displacement"], f[:32]), (2, d["displacement"], f[32:])])
        line, words = 1, ["FORCE_SETS of supercells of 32 atoms", f"has {N}"]
    elif kind == "count too large":
        _force_sets(path, N, [one])
        path.write_text(path.read_text().replace("\n1\n", "\n2\n", 1))
        line, words = None, ["announces 2 displaced supercells", "cut short"]
    elif kind == "count too small":
        _force_sets(path, N, [one, one])
        path.write_text(path.read_text().replace("\n2\n", "\n1\n", 1))
        line, words = None, ["announces 1 displaced supercells", "left over"]
    elif kind == "other atom":
        _force_sets(path, N, [(d["number"] + 2, d["displacement"], f)])
        line, words = None, ["supercell 1 of 1", "does not belong to that yaml"]
    elif kind == "nan":
        f = f.copy()
        f[7, 1] = np.nan
        _force_sets(path, N, [(d["number"] + 1, d["displacement"], f)])
        line, words = 13, ["NaN or infinite"]
    else:
        np.savetxt(path, _other_crystal_rows(4, 32), fmt="%15.8f")
        line, words = None, ["2 displaced supercells", "lists 1"]
    _refused(yaml, None, line, *words)


# ----------------------------------------------------------------------------- what the messages name
@pytest.fixture(scope="module")
def with_forces(tmp_path_factory):
    """phono3py_params.yaml of the Si dataset with every supercell's forces in it (written by phono3py), and the
    supercells read from it."""
    phono3py = pytest.importorskip("phono3py")
    ph3 = phono3py.load(str(SI / "phono3py_disp.yaml"), forces_fc3_filename=str(SI / "FORCES_FC3"), produce_fc=False,
                        log_level=0)
    path = tmp_path_factory.mktemp("params") / "phono3py_params.yaml"
    ph3.save(str(path))
    return path, parse_displacement_dataset(path)


def _drop_forces(yaml, ids):
    """The yaml without the forces of the supercells ``ids`` (phono3py's displacement ids)."""
    rows = yaml.read_text().splitlines()
    out, skip = [], False
    for i, r in enumerate(rows):
        if skip and r.lstrip().startswith("- ["):
            continue
        skip = False
        if r.strip() == "forces:" and any(rows[i - 1].strip() == f"displacement_id: {k}" for k in ids):
            skip = True
            continue
        out.append(r)
    yaml.write_text("\n".join(out) + "\n")


@pytest.mark.parametrize("ids", [[57], [2, 3, 111]])
def test_yaml_where_some_supercells_have_no_forces(tmp_path, with_forces, ids):
    """'the dataset has no forces' where 1 of 111 supercells lacked them: now the count and the supercells."""
    src, full = with_forces
    assert full.forces.shape == (111, N, 3)
    yaml = tmp_path / src.name
    shutil.copy(src, yaml)
    _drop_forces(yaml, ids)
    listed = ", ".join(str(i) for i in ids)
    msg = _refused(yaml, None, None, f"{111 - len(ids)} of the 111 displaced supercells have forces",
                   f"supercell{'s' if len(ids) > 1 else ''} {listed}", "Add their forces")
    assert str(yaml) in msg
    shutil.copy(SI / "FORCES_FC3", tmp_path / "FORCES_FC3")             # phono3py's rule: then the forces file
    np.testing.assert_array_equal(parse_displacement_dataset(yaml).forces, full.forces)


def test_missing_files_name_what_is_looked_for(tmp_path):
    with pytest.raises(FileNotFoundError) as err:
        parse_displacement_dataset(tmp_path)
    for name in ("phono3py_disp.yaml", "phono3py.yaml", "phono3py_params.yaml", "phonopy_disp.yaml", "POSCAR"):
        assert name in str(err.value), str(err.value)
    shutil.copy(SI / "phono3py_disp.yaml", tmp_path / "phono3py_disp.yaml")
    with pytest.raises(FileNotFoundError, match=r"no FORCES_FC3 \(or FORCES_FC3.xz, .gz, .lzma, .bz2\) beside it: "
                                                r"give the forces file \(forces=\)"):
        parse_displacement_dataset(tmp_path)


@pytest.mark.parametrize("content", ["not: [yaml", "a: 1\n", ""])
def test_unreadable_yaml_names_the_file(tmp_path, content):
    path = tmp_path / "phono3py_disp.yaml"
    path.write_text(content)
    msg = _refused(path, None, None)
    assert str(path) in msg and ("cannot read it" in msg or "holds no supercell" in msg), msg


def test_phono3py_fc_files_missing_name_the_yamls(tmp_path):
    from trajmodes import ForceConstants
    with pytest.raises(FileNotFoundError) as err:
        ForceConstants.read(tmp_path, "phono3py")
    msg = str(err.value)
    assert all(n in msg for n in ("phono3py_params.yaml", "phono3py.yaml", "phono3py_disp.yaml")), msg


@pytest.mark.parametrize("name", ["disp_fc3.yaml", "disp_fc2.yaml"])
def test_phono3py_1_displacement_yaml_is_named(si, name):
    """phono3py 1's disp_fc3.yaml was taken for a phonopy yaml; it is named, with the file to give instead."""
    (si / name).write_text("natom: 64\nnum_first_displacements: 1\nfirst_atoms:\n- number: 1\n"
                           "  displacement:\n    [ 0.03, 0.0, 0.0 ]\n")
    _refused(si / name, si / "FORCES_FC3", None, "phono3py 1's displacement file", "phono3py_disp.yaml")
