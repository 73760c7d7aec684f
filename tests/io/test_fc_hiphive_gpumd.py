"""hiPhive potentials (.fcp) and force-constant files (.fcs), GPUMD force-constant files, and the files hiPhive writes
for phonopy, phono3py and ShengBTE.

Oracles: hiPhive's own ``get_force_constants`` on the same supercell (a potential made by hiPhive from the analytic
Morse constants of two-species zincblende, see tests/io/test_fc_formats.py), hiPhive's own readers and writers, and
phonopy's frequencies of the same constants (1e-8 THz). GPUMD files: exact round trips, hiPhive's GPUMD writer read
back (hiPhive merges blocks within 1e-10), and the clusters hiPhive writes for the same constants.
"""
from __future__ import annotations

import shutil
import sys
import warnings

import numpy as np
import pytest

from tests.forceconstants.test_fc3_io import pair_fc23
from tests.io.test_fc_formats import (ZB, _ase, _case, _full_fc3, _with_born, assert_edit_is_refused, differences,
                                      matched)
from tests.support.crystals import NONDIAG, supercell
from trajmodes import ForceConstants, Phonons
from trajmodes.cli import main
from trajmodes.errors import ForceConstantsFormatError
from trajmodes.io.forceconstants.phonopy import crystal_from_phonopy, phonopy_atoms
from trajmodes.units import THZ

hiphive = pytest.importorskip("hiphive")
phonopy = pytest.importorskip("phonopy")


@pytest.fixture(scope="module")
def fcp_file(tmp_path_factory):
    """A hiPhive force-constant potential of zincblende (nearest-neighbour Morse, orders 2 and 3), its parameters
    extracted by hiPhive from the analytic constants on the 2 x 2 x 2 supercell; and those constants on 3 x 3 x 3."""
    from hiphive.input_output.logging_tools import set_config
    from hiphive.utilities import extract_parameters
    set_config(level=40)
    fc = _case("gaas_diag")
    small = supercell(fc.primitive, 2 * np.eye(3, dtype=int))
    fc2, fc3 = pair_fc23(small, **ZB)
    cs = hiphive.ClusterSpace(_ase(fc.primitive), [3.0, 3.0])
    fcs = hiphive.ForceConstants.from_arrays(_ase(small), fc2_array=fc2, fc3_array=fc3)
    fcp = hiphive.ForceConstantPotential(cs, extract_parameters(fcs, cs))
    path = tmp_path_factory.mktemp("fcp") / "gaas.fcp"
    fcp.write(str(path))
    return path, fc


def phonopy_frequencies(fc2: np.ndarray, primitive, S, q) -> np.ndarray:
    """phonopy's frequencies (THz, trajmodes' factor) of full fc2 on phonopy's own supercell of ``S``."""
    ph = phonopy.Phonopy(phonopy_atoms(primitive), supercell_matrix=np.asarray(S).T, primitive_matrix=np.eye(3))
    ph.force_constants = fc2
    out = []
    for x in q:
        ph.dynamical_matrix.run(x)
        ev = np.linalg.eigvalsh(ph.dynamical_matrix.dynamical_matrix)
        out.append(np.sign(ev) * np.sqrt(np.abs(ev)) * THZ)
    return np.array(out)


def phonopy_supercell(primitive, S):
    return crystal_from_phonopy(phonopy.Phonopy(phonopy_atoms(primitive), supercell_matrix=np.asarray(S).T,
                                                primitive_matrix=np.eye(3)).supercell)


Q = np.random.default_rng(8).random((20, 3)) - 0.5


# -------------------------------------------------------------------------------------------------- .fcp
@pytest.mark.parametrize("S", [3, pytest.param(NONDIAG, marks=pytest.mark.slow)], ids=["diagonal", "non-diagonal"])
def test_fcp_is_hiphives_force_constants(fcp_file, S):
    """ForceConstants.read of a .fcp gives hiPhive's own get_force_constants on the same supercell, bit for bit; its
    frequencies are phonopy's of those constants, and the analytic ones the potential was made from."""
    path, analytic = fcp_file
    fc = ForceConstants.read(path, "hiphive", supercell=S)
    assert fc.fc3 is not None and fc.n_atoms == 54 if np.isscalar(S) else fc.n_atoms == 64
    ref = hiphive.ForceConstantPotential.read(str(path)).get_force_constants(_ase(fc.supercell))
    assert np.array_equal(fc.full(), ref.get_fc_array(order=2))
    assert np.array_equal(fc.fc3, ref.get_fc_array(order=3)[fc.p2s])
    sc = phonopy_supercell(fc.primitive, fc.smap.matrix)
    on_phonopy = hiphive.ForceConstantPotential.read(str(path)).get_force_constants(_ase(sc)).get_fc_array(order=2)
    f = Phonons(fc).frequencies(Q)
    assert np.abs(f - phonopy_frequencies(on_phonopy, fc.primitive, fc.smap.matrix, Q)).max() < 1e-8
    assert np.abs(f - Phonons(analytic).frequencies(Q)).max() < 1e-9
    if np.isscalar(S):
        d2, d3 = differences(analytic, fc)
        assert d2 < 1e-12 * np.abs(analytic.fc2).max() and d3 < 1e-12 * np.abs(analytic.fc3).max()


def test_fcp_refusals(fcp_file, tmp_path, monkeypatch):
    path, _ = fcp_file
    with pytest.raises(ValueError, match="holds no supercell: give the supercell"):
        ForceConstants.read(path, "hiphive")
    with pytest.raises(ValueError, match=r"gaas.fcp: hiPhive cannot put the potential onto the 2-atom supercell .*"
                                         r"give a larger supercell") as err:
        ForceConstants.read(path, "hiphive", supercell=1)
    assert "\n" not in str(err.value)
    (tmp_path / "bad.fcp").write_bytes(b"not a tar archive")
    with pytest.raises(ForceConstantsFormatError, match="bad.fcp: hiPhive cannot read it"):
        ForceConstants.read(tmp_path / "bad.fcp", "hiphive", supercell=3)
    (tmp_path / "bad.fcs").write_bytes(b"not a tar archive")
    with pytest.raises(ForceConstantsFormatError, match="bad.fcs: not a hiPhive file"):
        ForceConstants.read(tmp_path / "bad.fcs")
    monkeypatch.setitem(sys.modules, "hiphive", None)
    with pytest.raises(ImportError, match="needs hiPhive: pip install hiphive"):
        ForceConstants.read(path, "hiphive", supercell=3)


@pytest.mark.slow
def test_fcp_higher_orders_are_left_out_with_a_warning(tmp_path):
    from hiphive.input_output.logging_tools import set_config
    set_config(level=40)
    fc = _case("cu_nondiag")
    cs = hiphive.ClusterSpace(_ase(fc.primitive), [3.0, 3.0, 3.0])
    rng = np.random.default_rng(1)
    hiphive.ForceConstantPotential(cs, rng.normal(size=cs.n_dofs)).write(str(tmp_path / "cu4.fcp"))
    with pytest.warns(UserWarning, match=r"cu4.fcp holds orders \[2, 3, 4\]; .* order 4 is left out"):
        back = ForceConstants.read(tmp_path / "cu4.fcp", "hiphive", supercell=NONDIAG)
    ref = hiphive.ForceConstantPotential.read(str(tmp_path / "cu4.fcp")).get_force_constants(_ase(back.supercell))
    assert np.array_equal(back.fc3, ref.get_fc_array(order=3)[back.p2s])


# -------------------------------------------------------------------------------------------------- .fcs
@pytest.mark.parametrize("name", ["cu_nondiag", pytest.param("gaas_nondiag", marks=pytest.mark.slow)])
def test_fcs_round_trip_through_hiphive(name, tmp_path):
    """write(".fcs") writes with hiPhive's writer every cluster as it is: hiPhive reads the very arrays, and so do we
    (with the masses); a file hiPhive writes from label-symmetric constants (one sorted cluster each) too."""
    fc = _case(name)
    fc.write(tmp_path / "fc.fcs")
    h = hiphive.ForceConstants.read(str(tmp_path / "fc.fcs"))
    assert np.array_equal(h.get_fc_array(order=2), fc.full())
    assert np.array_equal(h.get_fc_array(order=3), _full_fc3(fc))
    back = ForceConstants.read(tmp_path / "fc.fcs")
    assert differences(fc, back) == (0.0, 0.0) and np.array_equal(matched(fc, back), np.arange(fc.n_atoms))
    atoms = _ase(fc.supercell)
    atoms.set_masses(fc.supercell.masses)
    sym = hiphive.ForceConstants.from_arrays(atoms, fc2_array=fc.full(), fc3_array=_full_fc3(fc))
    assert type(sym).__name__ == "SortedForceConstants"
    sym.write(str(tmp_path / "sorted.fcs"))
    d2, d3 = differences(fc, ForceConstants.read(tmp_path / "sorted.fcs"))
    assert d2 < 1e-13 * np.abs(fc.fc2).max() and d3 < 1e-13 * np.abs(fc.fc3).max()
    with pytest.raises(ValueError, match="holds its own supercell"):
        ForceConstants.read(tmp_path / "fc.fcs", supercell=3)


# -------------------------------------------------------------------------------------------------- GPUMD
@pytest.mark.parametrize("name", ["cu_nondiag", "gaas_diag", "gaas_nondiag"])
def test_gpumd_round_trip_and_layout(name, tmp_path):
    """Exact round trip, atom order and masses kept; model.xyz and r0.in as ASE reads them; fcp.txt as GPUMD's
    reader takes it."""
    ase_io = pytest.importorskip("ase.io")
    fc = _case(name)
    fc.write(tmp_path, "gpumd", source="made/by/test.nc")
    back = ForceConstants.read(tmp_path, "gpumd")
    assert differences(fc, back) == (0.0, 0.0) and np.array_equal(matched(fc, back), np.arange(fc.n_atoms))
    assert np.array_equal(back.supercell.masses, fc.supercell.masses)
    assert np.abs(back.primitive.cell - fc.primitive.cell).max() < 1e-14
    at = ase_io.read(tmp_path / "model.xyz", format="extxyz")
    assert np.abs(at.cell[:] - fc.supercell.cell).max() == 0.0 and at.get_chemical_symbols() == list(fc.supercell.species)
    d = at.get_scaled_positions(wrap=False) - fc.supercell.scaled_positions
    assert np.abs(d - np.rint(d)).max() < 1e-12
    assert np.abs(np.loadtxt(tmp_path / "r0.in") - at.positions).max() == 0.0
    words = (tmp_path / "fcp.txt").read_text().split()
    species = list(dict.fromkeys(fc.supercell.species))
    assert words[:2 + len(species)] == ["fcp", str(len(species)), *species]
    assert words[2 + len(species):5 + len(species)] == ["3", "2", str(tmp_path.resolve())]
    assert "test.nc" in (tmp_path / "fcp.txt").read_text().splitlines()[-1]


@pytest.mark.parametrize("name", ["gaas_diag", pytest.param("gaas_nondiag", marks=pytest.mark.slow)])
def test_gpumd_files_are_hiphives(name, tmp_path):
    """hiPhive's GPUMD writer and ours list the same clusters, and each reader reads the other's files: hiPhive's
    (blocks merged within 1e-10) give the constants to 1e-13 and phonopy's frequencies to 1e-8 THz."""
    fc = _case(name)
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    fc.write(ours, "gpumd")
    fcs = hiphive.ForceConstants.from_arrays(_ase(fc.supercell), fc2_array=fc.full(), fc3_array=_full_fc3(fc))
    theirs.mkdir()
    for order in (2, 3):
        fcs.write_to_GPUMD(str(theirs / f"fcs_order{order}.in"), str(theirs / f"clusters_order{order}.in"), order)
        read = lambda folder: sorted(tuple(map(int, ln.split()[:-1]))
                                     for ln in (folder / f"clusters_order{order}.in").read_text().splitlines()[2:])
        assert read(ours) == read(theirs)
    shutil.copy(ours / "model.xyz", theirs)                 # hiPhive writes no structure; GPUMD's model.xyz
    back = ForceConstants.read(theirs, "gpumd", primitive=fc.primitive)
    d2, d3 = differences(fc, back)
    assert d2 < 1e-13 * np.abs(fc.fc2).max() and d3 < 1e-13 * np.abs(fc.fc3).max()
    sc = phonopy_supercell(fc.primitive, fc.smap.matrix)
    perm = matched(back, ForceConstants(np.zeros((sc.n_atoms, sc.n_atoms, 3, 3)), sc, fc.primitive))
    f = phonopy_frequencies(back.full()[np.ix_(perm, perm)], fc.primitive, fc.smap.matrix, Q)
    assert np.abs(Phonons(back).frequencies(Q) - f).max() < 1e-8


GPUMD_BROKEN = {
    # file, line, new text (None: cut there), expected line, words
    "cut fcs": ("fcs_order2.in", 20, None, 20, "cut short"),
    "component order": ("fcs_order2.in", 3, "0 1 -2.5", 3, "not in the order GPUMD reads them"),
    "component out of range": ("fcs_order3.in", 3, "0 0 3 1.0", 3, "from 0 to 2"),
    "atom out of range": ("clusters_order2.in", 3, "0 64 0", 3, "from 0 to 63"),
    "block out of range": ("clusters_order2.in", 3, "0 1 999", 3, "block indices"),
    "text for a number": ("fcs_order2.in", 4, "0 1 abc", 4, "expected 3 numbers"),
    "model.xyz lattice": ("model.xyz", 2, 'Properties=species:S:1:pos:R:3', 2, "Lattice="),
    "model.xyz columns": ("model.xyz", 5, "Ga 0.0 1.0", 5, "expected 5 columns"),
}


@pytest.mark.parametrize("case_name", list(GPUMD_BROKEN))
def test_broken_gpumd_files_name_file_and_line(case_name, tmp_path):
    _case("gaas_nondiag").write(tmp_path, "gpumd")
    assert_edit_is_refused(tmp_path, lambda p: ForceConstants.read(p, "gpumd"), GPUMD_BROKEN[case_name])


def test_gpumd_needs_every_permutation(tmp_path):
    """GPUMD sums over every permutation of a pair: a list of sorted pairs only is refused."""
    _case("gaas_nondiag").write(tmp_path, "gpumd")
    path = tmp_path / "clusters_order2.in"
    rows = path.read_text().splitlines()
    kept = [r for r in rows[2:] if int(r.split()[0]) <= int(r.split()[1])]
    path.write_text(f"{len(kept)}\n\n" + "\n".join(kept) + "\n")
    with pytest.raises(ForceConstantsFormatError, match=r"clusters_order2.in: the pair \(\d+, \d+\) is listed without "
                                                        "its permutation"):
        ForceConstants.read(tmp_path, "gpumd")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no model.xyz"):
        ForceConstants.read(tmp_path / "empty", "gpumd")


def test_refuses_born_charges(tmp_path):
    fc = _with_born(_case("gaas_diag"))
    with pytest.raises(ValueError, match="GPUMD force-constant files have no place for the Born charges"):
        fc.write(tmp_path / "g", "gpumd")
    with pytest.raises(ValueError, match="hiPhive force-constant files have no place for the Born charges"):
        fc.write(tmp_path / "h.fcs")
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------- files hiPhive writes for phonopy, phono3py
@pytest.mark.slow
def test_we_read_what_hiphive_writes_for_phonopy_and_phono3py(fcp_file, tmp_path):
    """A potential put by hiPhive onto phonopy's supercell and written by hiPhive as FORCE_CONSTANTS (text),
    fc2.hdf5 and fc3.hdf5 beside phonopy's and phono3py's yaml (the usual hiPhive workflow): trajmodes reads each, with
    phonopy's frequencies of hiPhive's constants to 1e-8 THz and hiPhive's fc3 bit for bit."""
    phono3py = pytest.importorskip("phono3py")
    path, analytic = fcp_file
    S = NONDIAG
    ph3 = phono3py.Phono3py(phonopy_atoms(analytic.primitive), supercell_matrix=S.T, primitive_matrix=np.eye(3),
                            log_level=0)
    sc = crystal_from_phonopy(ph3.supercell)
    fcs = hiphive.ForceConstantPotential.read(str(path)).get_force_constants(_ase(sc))
    fc2, fc3 = fcs.get_fc_array(order=2), fcs.get_fc_array(order=3)
    ref = phonopy_frequencies(fc2, analytic.primitive, S, Q)
    for name, layout in (("phonopy_text", "FORCE_CONSTANTS"), ("phonopy_hdf5", "fc2.hdf5")):
        d = tmp_path / name
        d.mkdir()
        ph = phonopy.Phonopy(phonopy_atoms(analytic.primitive), supercell_matrix=S.T, primitive_matrix=np.eye(3))
        ph.save(str(d / "phonopy_params.yaml"), settings={"force_constants": False})
        fcs.write_to_phonopy(str(d / layout), format="text" if layout == "FORCE_CONSTANTS" else "hdf5")
        back = ForceConstants.read(d, "phonopy")
        assert np.abs(Phonons(back).frequencies(Q) - ref).max() < 1e-8, name
    d = tmp_path / "phono3py"
    d.mkdir()
    ph3.save(str(d / "phono3py_params.yaml"))
    fcs.write_to_phonopy(str(d / "fc2.hdf5"), format="hdf5")
    fcs.write_to_phono3py(str(d / "fc3.hdf5"))
    back = ForceConstants.read(d, "phono3py")
    assert np.abs(Phonons(back).frequencies(Q) - ref).max() < 1e-8
    assert np.array_equal(back.fc3, fc3[back.p2s]) and np.array_equal(back.full(), fc2)


# -------------------------------------------------------------------------------------------------- convert-fc
def _run(capsys, *argv):
    rc = main(["convert-fc", *map(str, argv)])
    cap = capsys.readouterr()
    return rc, cap.out, cap.err


def test_convert_fc_through_gpumd_and_hiphive(fcp_file, tmp_path, capsys):
    """.fcp --supercell -> gpumd -> hiphive .fcs -> netcdf: hiPhive's constants come back exactly; each step one
    line; Born charges refused for gpumd and hiphive in one line, leaving nothing."""
    path, _ = fcp_file
    steps = [(path, "gpumd", tmp_path / "g", ["--supercell", "3"]), (tmp_path / "g", "hiphive", tmp_path / "h.fcs", []),
             (tmp_path / "h.fcs", "netcdf", tmp_path / "fc.nc", [])]
    for (src, to, dst, extra), fmt in zip(steps, ["hiphive", "gpumd", "hiphive"]):
        rc, out, err = _run(capsys, src, "-o", dst, "--to", to, *extra)
        assert rc == 0, err
        assert len(out.strip().splitlines()) == 1 and out.startswith(f"read {fmt} {src}: fc2") and f"wrote {to} " in out
    assert (tmp_path / "g" / "fcs_order3.in").exists()
    assert (tmp_path / "g" / "fcp.txt").read_text().splitlines()[2] == str(tmp_path / "g")
    ref = ForceConstants.read(path, "hiphive", supercell=3)
    assert differences(ref, ForceConstants.read(tmp_path / "fc.nc")) == (0.0, 0.0)
    rc, out, err = _run(capsys, path, "-o", tmp_path / "x", "--to", "tdep")
    assert rc == 2 and "holds no supercell" in err and "--supercell" in err
    _with_born(_case("gaas_diag")).write(tmp_path / "polar.nc")
    for to, dst in (("gpumd", tmp_path / "pg"), ("hiphive", tmp_path / "ph.fcs")):
        rc, out, err = _run(capsys, tmp_path / "polar.nc", "-o", dst, "--to", to)
        assert rc == 2 and len(err.strip().splitlines()) == 1 and "no place for the Born charges" in err, err
        assert not dst.exists()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rc, out, err = _run(capsys, tmp_path / "g" / "fcs_order2.in", "-o", tmp_path / "t", "--to", "tdep")
    assert rc == 0 and out.startswith("read gpumd")
