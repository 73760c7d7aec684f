"""Damaged and awkward force-constant files: every case ends in a clear error (what is wrong, which file, which line
or block, what to do) or in a correct result, never in silently wrong constants.

- counts that disagree with the blocks that follow them (TDEP's second, third and fourth order, ShengBTE's second
  order, GPUMD's files): a count one short used to drop the last triplet or quartet without a word;
- ABINIT derivative databases (DDB): cut, damaged, with counts that disagree, empty, or not a DDB at all.

The TDEP files are TDEP's own (tests/data/tdep_thermal_conductivity/tdep_run, rock-salt MgO, two atoms per cell),
the DDB is TDEP's ``dump_dynamical_matrices`` output (tests/data/tdep_dump_dynamical_matrices).
"""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

from tests.forceconstants.test_fc3_io import pair_fc23
from tests.support.crystals import FCC, NONDIAG, supercell
from tests.support.paths import DATA
from trajmodes import Crystal, ForceConstants
from trajmodes.errors import ForceConstantsFormatError

RUN = DATA / "tdep_thermal_conductivity" / "tdep_run"
#: file: (lines of one block, what a block is called, the first atom's count line, 0-based)
TDEP = {"infile.forceconstant": (5, "neighbour"), "infile.forceconstant_thirdorder": (15, "triplet"),
        "infile.forceconstant_fourthorder": (35, "quartet")}


def _count_lines(rows: list[str], rec: int, n_atoms: int = 2) -> list[int]:
    """0-based indices of the per-atom count lines of a TDEP force-constant file (TDEP writes no blank lines)."""
    out, i = [], 2
    for _ in range(n_atoms):
        out.append(i)
        i += 1 + rec * int(rows[i].split()[0])
    return out + [i]                     # and the line after the last atom's blocks


def _refused(folder, path, line: int, *words) -> str:
    with pytest.raises(ForceConstantsFormatError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ForceConstants.read(folder, "tdep")
    msg = str(err.value)
    assert f"{path}, line {line}: " in msg and "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)
    return msg


@pytest.fixture
def run(tmp_path):
    shutil.copytree(RUN, tmp_path / "run")
    return tmp_path / "run"


# ------------------------------------------------------------------------------- TDEP: counts and the blocks
@pytest.mark.parametrize("delta", [-1, +1, -2, +3])
@pytest.mark.parametrize("atom", [1, 2])
@pytest.mark.parametrize("name", list(TDEP))
def test_tdep_count_that_disagrees_with_its_blocks(run, name, atom, delta):
    """A per-atom count one (or more) short or long is refused, naming the count's line and the atom; before, a
    short count of the last atom dropped its last triplet or quartet silently (the fourth order's forces then
    differ by 0.014 eV/A), and the other cases read the next count as a block ("expected 3 numbers") or the last
    neighbour as TDEP's polar correction type."""
    rec, noun = TDEP[name]
    path = run / name
    rows = path.read_text().splitlines()
    at = _count_lines(rows, rec)[atom - 1]
    count = int(rows[at].split()[0])
    rows[at] = f"{count + delta:11d}               (edited count)"
    path.write_text("\n".join(rows) + "\n")
    msg = _refused(run, path, at + 1, f"the {noun} count of atom {atom}", f"says {count + delta}", "disagrees")
    assert "polar correction type" not in msg and "expected 3 numbers" not in msg, msg


@pytest.mark.parametrize("extra", ["block", "line"])
@pytest.mark.parametrize("name", ["infile.forceconstant_thirdorder", "infile.forceconstant_fourthorder"])
def test_tdep_lines_after_the_last_block(run, name, extra):
    """Content after the blocks the counts announce (a repeated last block, a stray line) is refused at its line."""
    rec, noun = TDEP[name]
    path = run / name
    rows = path.read_text().splitlines()
    n = len(rows)
    rows += rows[-rec:] if extra == "block" else ["   1.0   2.0   3.0"]
    path.write_text("\n".join(rows) + "\n")
    words = [f"the {noun} count of atom 2", "disagrees"] if extra == "block" else ["follow", "count"]
    _refused(run, path, _count_lines(rows, rec)[1] + 1 if extra == "block" else n + 1, *words)


def _non_polar(run) -> list[str]:
    """TDEP's fc2 with its polar section replaced by the non-polar flag 0 (the infile.lotosplitting removed)."""
    path = run / "infile.forceconstant"
    rows = path.read_text().splitlines()
    end = _count_lines(rows, 5)[-1]
    rows = rows[:end] + ["  0   # no Born charges"]
    path.write_text("\n".join(rows) + "\n")
    (run / "infile.lotosplitting").unlink()
    return rows


@pytest.mark.parametrize("atom", [1, 2])
def test_tdep_non_polar_fc2_count_one_short(run, atom):
    """Non-polar: the last neighbour of the last atom used to be taken for a polar correction type."""
    rows = _non_polar(run)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ForceConstants.read(run, "tdep")                                 # the non-polar file itself reads
    at = _count_lines(rows, 5)[atom - 1]
    rows[at] = str(int(rows[at].split()[0]) - 1)
    (run / "infile.forceconstant").write_text("\n".join(rows) + "\n")
    msg = _refused(run, run / "infile.forceconstant", at + 1, f"the neighbour count of atom {atom}", "disagrees")
    assert "polar correction type" not in msg, msg


def test_tdep_non_polar_fc2_lines_after_the_flag(run):
    rows = _non_polar(run)
    (run / "infile.forceconstant").write_text("\n".join(rows + ["   1.0  0.0  0.0"]) + "\n")
    _refused(run, run / "infile.forceconstant", len(rows) + 1, "follow")


def test_tdep_polar_section_lines_after_the_charges(run):
    path = run / "infile.forceconstant"
    rows = path.read_text().splitlines()
    path.write_text("\n".join(rows + ["   1.0  0.0  0.0"]) + "\n")
    _refused(run, path, len(rows) + 1, "follow")


# ------------------------------------------------------------------------------- ShengBTE and GPUMD counts
def _cu() -> ForceConstants:
    prim = Crystal(FCC, [[0, 0, 0]], ["Cu"])
    sc = supercell(prim, NONDIAG, shuffle_seed=5)
    fc2, fc3 = pair_fc23(sc)
    return ForceConstants(fc2, sc, prim, fc3=fc3)




@pytest.mark.parametrize("name", ["FORCE_CONSTANTS_2ND"])
def test_shengbte_lines_after_the_blocks(tmp_path, name):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _cu().write(tmp_path, "shengbte")
    path = tmp_path / name
    rows = path.read_text().splitlines()
    path.write_text("\n".join(rows + rows[-4:]) + "\n")
    with pytest.raises(ForceConstantsFormatError) as err:
        ForceConstants.read(tmp_path, "shengbte")
    assert f"{path}, line {len(rows) + 1}: " in str(err.value) and "follow" in str(err.value), str(err.value)


@pytest.mark.parametrize("name", ["fcs_order2.in", "clusters_order2.in", "fcs_order3.in", "clusters_order3.in"])
def test_gpumd_count_one_short(tmp_path, name):
    """GPUMD's files start with their count; a count one short left the last block or cluster out."""
    _cu().write(tmp_path, "gpumd")
    path = tmp_path / name
    rows = path.read_text().splitlines()
    rows[0] = str(int(rows[0].split()[0]) - 1)
    path.write_text("\n".join(rows) + "\n")
    with pytest.raises(ForceConstantsFormatError) as err:
        ForceConstants.read(tmp_path, "gpumd")
    msg = str(err.value)
    assert str(path) in msg and "line " in msg and "count" in msg, msg


@pytest.mark.parametrize("damage", ["nan", "token missing", "text"])
@pytest.mark.parametrize("where", ["first block", "last block"])
@pytest.mark.parametrize("name", list(TDEP))
def test_tdep_damaged_line_inside_a_block_is_named_not_taken_for_a_count(run, name, where, damage):
    """A damaged number in a block is named at its own line, not diagnosed as a count that disagrees."""
    rec, noun = TDEP[name]
    path = run / name
    rows = path.read_text().splitlines()
    counts = _count_lines(rows, rec)
    at = counts[0] + rec if where == "first block" else counts[-1] - 1       # the last line of a block
    rows[at] = {"nan": "  0.0  nan  0.0", "token missing": "  0.0  0.0", "text": "  0.0  abc  0.0"}[damage]
    path.write_text("\n".join(rows) + "\n")
    msg = _refused(run, path, at + 1, "NaN" if damage == "nan" else "expected 3 numbers")
    assert "disagrees" not in msg, msg


# ------------------------------------------------------------------------------- ABINIT DDB
DDB = DATA / "tdep_dump_dynamical_matrices" / "outfile.many_dynamical_matrices_DDB"
#: 1-based lines of TDEP's DDB: the block count, the four blocks' first lines (81, 36, 36, 36 elements)
NBLOK_LINE, BLOCK_LINES = 148, (150, 234, 273, 312)


def _ddb_edit(tmp_path, edit):
    rows = DDB.read_text().splitlines()
    rows = edit(rows)
    path = tmp_path / "broken_DDB"
    path.write_text("".join(r + "\n" for r in rows))
    return path


def _set(line: int, text: str | None):
    """An edit: line ``line`` (1-based) replaced by ``text`` (None: removed)."""
    return lambda rows: rows[:line - 1] + ([] if text is None else [text]) + rows[line:]


def _drop_token(line: int):
    return lambda rows: rows[:line - 1] + [" ".join(rows[line - 1].split()[:-1])] + rows[line:]


DDB_BROKEN = {
    # name: (edit, line the message names (None: no line), words it holds)
    "cut inside a block": (lambda r: r[:199], 200, ["ends in block 1", "after 48 of its 81 elements", "cut short"]),
    "cut between blocks": (lambda r: r[:272], NBLOK_LINE, ["says 4 blocks", "ends after 2"]),
    "cut in the header": (lambda r: r[:60], 60, ["ends in its header", "cut short"]),
    "token missing": (_drop_token(160), 160, ["expected 6 values (idir1 ipert1 idir2 ipert2 Re Im)"]),
    "nan": (_set(160, "   1   1   1   1  NaN  0.0"), 160, ["NaN or infinite"]),
    "text for a number": (_set(160, "   1   1   1   1  0.1x  0.0"), 160, ["expected two numbers (Re Im)"]),
    "block count one short": (_set(NBLOK_LINE, "Number of data blocks=     3"), BLOCK_LINES[3],
                              ["a block 4 starts here", "says 3 blocks", "disagrees"]),
    "block count one long": (_set(NBLOK_LINE, "Number of data blocks=     5"), NBLOK_LINE,
                             ["says 5 blocks", "ends after 4"]),
    "elements one short": (_set(BLOCK_LINES[0], " 2nd derivatives (non-stat.)  - # elements :      80"),
                           BLOCK_LINES[0], ["announces 80 elements, but more follow", "line 232"]),
    "elements one long": (_set(BLOCK_LINES[1], " 2nd derivatives (non-stat.)  - # elements :      37"),
                          BLOCK_LINES[1], ["announces 37 elements, but 36 follow before the next block"]),
    "elements one long, last block": (_set(BLOCK_LINES[3], " 2nd derivatives (non-stat.)  -      37"), 350,
                                      ["ends in block 4", "after 36 of its 37 elements"]),
    "no qpt line": (_set(BLOCK_LINES[1] + 1, None), BLOCK_LINES[1] + 1, ["block 2", "no 'qpt' line"]),
    "qpt normalisation zero": (_set(BLOCK_LINES[1] + 1, " qpt  0.0  0.0  0.3333   0.0"), BLOCK_LINES[1] + 1,
                               ["normalisation (not zero)"]),
    "direction 4": (_set(160, "   4   1   1   1  0.1  0.0"), 160, ["direction outside 1..3"]),
    "perturbation 0": (_set(160, "   1   0   1   1  0.1  0.0"), 160, ["perturbation outside 1..10"]),
    "no natom": (_set(8, None), None, ["no natom"]),
    "a line that is not a block": (_set(BLOCK_LINES[1] - 1, " some text"), BLOCK_LINES[1] - 1,
                                   ["expected the first line of a block"]),
    "empty": (lambda r: [], None, ["empty", "not an ABINIT derivative database"]),
    "blank": (lambda r: ["", "   "], None, ["empty"]),
    "a POSCAR": (lambda r: (DATA / "tdep_mgo" / "infile.ucposcar").read_text().splitlines(), 1,
                 ["not an ABINIT derivative database (DDB)", "DERIVATIVE DATABASE"]),
}


@pytest.mark.parametrize("case", list(DDB_BROKEN))
def test_broken_ddb_is_refused_naming_file_and_line(tmp_path, case):
    """Each damaged DDB was returned as data (a block cut short, a row without its last value skipped, NaN kept,
    counts ignored) or as an empty list (an empty file, a POSCAR); now each is refused."""
    from trajmodes.io.forceconstants.ddb import read_ddb
    edit, line, words = DDB_BROKEN[case]
    path = _ddb_edit(tmp_path, edit)
    with pytest.raises(ForceConstantsFormatError) as err:
        read_ddb(path)
    msg = str(err.value)
    assert msg.startswith(f"{path}, line {line}: " if line else f"{path}: ") and "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)


def test_binary_ddb_is_refused(tmp_path):
    from trajmodes.io.forceconstants.ddb import read_ddb
    path = tmp_path / "noise_DDB"
    path.write_bytes(np.random.default_rng(1).bytes(4000))
    with pytest.raises(ForceConstantsFormatError, match="not a text file"):
        read_ddb(path)


ABINIT_BLOCKS = [" ", " Total energy                 - # elements :       1",
                 " -0.78446833069335D+01  0.00000000000000D+00", " ",
                 " 1st derivatives              - # elements :       3",
                 "   1   1  0.00000000000000D+00  0.00000000000000D+00",
                 "   2   1  0.00000000000000D+00  0.00000000000000D+00",
                 "   1   5  0.33707688916221D-03  0.00000000000000D+00"]


def test_ddb_with_abinits_other_blocks_and_a_normalised_q(tmp_path):
    """ABINIT's total-energy and first-derivative blocks are counted and left out; a q line's last number divides
    the q-point (ABINIT's normalisation), so ``qpt 0 0 1 3`` is q = (0, 0, 1/3)."""
    from trajmodes.io.forceconstants.ddb import read_ddb
    ref = read_ddb(DDB)
    path = _ddb_edit(tmp_path, lambda r: r[:NBLOK_LINE - 1] + ["Number of data blocks=     6"] + ABINIT_BLOCKS
                     + r[NBLOK_LINE:BLOCK_LINES[1]] + [" qpt  0.0  0.0  1.0  3.0"] + r[BLOCK_LINES[1] + 1:])
    back = read_ddb(path)
    assert len(back) == 4
    for a, b in zip(ref, back):
        np.testing.assert_array_equal(a["keys"], b["keys"])
        np.testing.assert_array_equal(a["values"], b["values"])
        np.testing.assert_allclose(a["q"], b["q"], atol=5e-9)


# ------------------------------------------------------------------------------- phono3py fc2.hdf5 / fc3.hdf5
@pytest.fixture(scope="module")
def phono3py_folders(tmp_path_factory):
    """phono3py's files of fcc Cu (1 atom, 32-atom supercell) and of zincblende GaAs (2 atoms, 3x3x3: 54 atoms)."""
    pytest.importorskip("phono3py")
    from tests.io.test_fc_formats import _case
    root = tmp_path_factory.mktemp("ph3")
    for name, case in (("cu", "cu_nondiag"), ("gaas", "gaas_diag")):
        _case(case).write(root / name, "phono3py")
    return root


def _h5_edit(path, edit):
    import h5py
    with h5py.File(path, "a") as f:
        edit(f)


def _set_dataset(name, value):
    def edit(f):
        del f[name]
        f.create_dataset(name, data=value)
    return edit


PH3_BROKEN = {
    # case: (yaml folder, which file, edit of a copy of it (None: the file as it is), words of the message)
    "fc3 of another crystal": ("cu", "gaas/fc3.hdf5", None, ["constants of shape (2, 54, 54, 3, 3, 3)",
                                                            "has 32 atoms and its primitive cell 1"]),
    "fc2 of another crystal": ("cu", "gaas/fc2.hdf5", None, ["constants of shape (2, 54, 3, 3)", "has 32 atoms"]),
    "fc3 of another crystal, no p2s_map": ("cu", "gaas/fc3.hdf5", lambda f: f.__delitem__("p2s_map"),
                                           ["constants of shape (2, 54, 54, 3, 3, 3)"]),
    "rows of other atoms": ("gaas", "gaas/fc3.hdf5", _set_dataset("p2s_map", np.array([0, 1])),
                            ["its p2s_map [0, 1]", "is not [0, 27]"]),
    "nan": ("gaas", "gaas/fc2.hdf5", lambda f: f["force_constants"].__setitem__((0, 3, 1, 1), np.nan),
            ["NaN or infinite", "[0, 3, 1, 1]"]),
    "no fc3 in it": ("gaas", "gaas/fc3.hdf5", lambda f: f.__delitem__("fc3"), ["no 'fc3' dataset", "p2s_map"]),
}


@pytest.mark.parametrize("case", list(PH3_BROKEN))
def test_phono3py_constants_checked_against_the_yaml(phono3py_folders, tmp_path, case):
    """Constants of another supercell or primitive cell, rows of other atoms and NaN are refused naming the hdf5
    file; before, phono3py's own complaint named all three files and a PRIMITIVE_AXIS, and NaN was read."""
    folder, name, edit, words = PH3_BROKEN[case]
    src = phono3py_folders / name
    path = tmp_path / name.replace("/", "_")
    shutil.copy(src, path)
    if edit is not None:
        _h5_edit(path, edit)
    which = "fc3_filename" if "fc3" in name else "fc2_filename"
    with pytest.raises(ForceConstantsFormatError) as err, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ForceConstants.read(phono3py_folders / folder, "phono3py", **{which: path})
    msg = str(err.value)
    assert msg.startswith(f"{path}: ") and "\n" not in msg, msg
    for w in words:
        assert w in msg, (w, msg)


def test_phono3py_file_that_is_not_hdf5(phono3py_folders, tmp_path):
    path = tmp_path / "fc3.hdf5"
    path.write_text("not hdf5\n")
    with pytest.raises(ForceConstantsFormatError, match="not an HDF5 file"):
        ForceConstants.read(phono3py_folders / "gaas", "phono3py", fc3_filename=path)
