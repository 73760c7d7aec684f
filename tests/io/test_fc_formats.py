"""Force constants in other codes' files: TDEP (infile.forceconstant, infile.forceconstant_thirdorder,
infile.ucposcar, infile.ssposcar) and ShengBTE (FORCE_CONSTANTS_2ND, FORCE_CONSTANTS_3RD, POSCAR, SPOSCAR).

Oracles: the analytic Morse fc2 and fc3 of ``tests/forceconstants/test_fc3_io.py`` on shuffled supercells (a
non-diagonal one and a two-species crystal); exact round trips through every format, atoms matched by position;
hiPhive's own ShengBTE reader and writer; phonopy's dynamical matrix against a TDEP-style lattice sum written out
here from TDEP's documented file layout; phonopy reading our FORCE_CONSTANTS_2ND.
"""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest

from tests.forceconstants.test_fc3_io import pair_fc23
from tests.support.crystals import FCC, NONDIAG, supercell
from tests.support.paths import EXAMPLES
from trajmodes import Crystal, ForceConstants, Phonons
from trajmodes.errors import ForceConstantsFormatError
from trajmodes.units import THZ

ZB = dict(D0=2.0, alpha=1.5, r0=2.30, cutoff=2.6, nimg=1)       # zincblende nearest neighbours only
A_GAAS = 5.431


def zincblende() -> Crystal:
    return Crystal(FCC / 3.615 * A_GAAS, np.array([[0, 0, 0], [.25, .25, .25]]) * A_GAAS, ["Ga", "As"])


def _case(name: str) -> ForceConstants:
    if name == "cu_nondiag":            # fcc Cu, conventional 2x2x2 = non-diagonal on the primitive cell, shuffled
        prim = Crystal(FCC, [[0, 0, 0]], ["Cu"])
        sc = supercell(prim, NONDIAG, shuffle_seed=5)
        fc2, fc3 = pair_fc23(sc)
    elif name == "gaas_diag":           # two species, 3x3x3 primitive cells, shuffled
        prim = zincblende()
        sc = supercell(prim, 3 * np.eye(3, dtype=int), shuffle_seed=7)
        fc2, fc3 = pair_fc23(sc, **ZB)
    else:                               # two species on the non-diagonal supercell
        prim = zincblende()
        sc = supercell(prim, NONDIAG, shuffle_seed=11)
        fc2, fc3 = pair_fc23(sc, **ZB)
    assert np.abs(fc3).max() > 1.0
    return ForceConstants(fc2, sc, prim, fc3=fc3)


CASES = ["cu_nondiag", "gaas_diag", "gaas_nondiag"]


@pytest.fixture(scope="module", params=CASES)
def case(request):
    return request.param, _case(request.param)


def matched(a: ForceConstants, b: ForceConstants) -> np.ndarray:
    """perm[i_b] = the atom of ``a`` at the site of atom ``i_b`` of ``b`` (positions modulo the supercell)."""
    inv = np.linalg.inv(a.supercell.cell)
    d = (b.supercell.positions[:, None] - a.supercell.positions[None]) @ inv
    d -= np.rint(d)
    dist = np.linalg.norm(d @ a.supercell.cell, axis=-1)
    perm = dist.argmin(axis=1)
    assert dist.min(axis=1).max() < 1e-8 and len(set(perm)) == len(perm)
    assert np.abs(a.supercell.cell - b.supercell.cell).max() < 1e-12
    assert np.array_equal(a.supercell.species[perm], b.supercell.species)
    assert np.allclose(a.supercell.masses[perm], b.supercell.masses, rtol=1e-12)
    return perm


def differences(a: ForceConstants, b: ForceConstants) -> tuple[float, float]:
    """Largest |fc2_b - fc2_a| and |fc3_b - fc3_a| (eV/A^2, eV/A^3) on matched atoms (fc3: rows of b's p2s)."""
    perm = matched(a, b)
    d2 = float(np.abs(a.full()[np.ix_(perm, perm)] - b.full()).max())
    if b.fc3 is None:
        return d2, 0.0
    ia = perm[b.p2s]
    d3 = 0.0
    for k in range(b.n_prim):
        cols = a.compact_columns(ia[k], perm)
        d3 = max(d3, float(np.abs(a.fc3[a.smap.atom[ia[k]]][np.ix_(cols, cols)] - b.fc3[k]).max()))
    return d2, d3


def round_trip(fc: ForceConstants, fmt: str, folder) -> ForceConstants:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                  # ShengBTE's non-diagonal warning, phonopy's own
        if fmt == "tdep":
            fc.write(folder, "tdep", source="test")
            return ForceConstants.read(folder, "tdep")
        if fmt == "shengbte":
            fc.write(folder, "shengbte", source="test")
            return ForceConstants.read(folder, "shengbte")
        if fmt == "phono3py":
            fc.write(folder, "phono3py")
            return ForceConstants.read(folder, "phono3py")
        if fmt == "phonopy":
            fc.write(folder, "phonopy")
            return ForceConstants.read(folder, "phonopy")
        fc.write(folder / "fc.nc")
        return ForceConstants.read(folder / "fc.nc")


def fc2_only(fc: ForceConstants) -> ForceConstants:
    return ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s)


# -------------------------------------------------------------------------------------------- exact round trips
@pytest.mark.parametrize("fmt", ["tdep", "shengbte", "phono3py", "phonopy", "netcdf"])
def test_round_trip_is_exact(case, fmt, tmp_path):
    """fc2 and fc3 come back to round-off through every format, on the same supercell, atom for atom."""
    pytest.importorskip("phono3py") if fmt == "phono3py" else None
    name, fc = case
    fc = fc2_only(fc) if fmt == "phonopy" else fc
    back = round_trip(fc, fmt, tmp_path)
    d2, d3 = differences(fc, back)
    assert d2 <= 1e-14 * np.abs(fc.fc2).max(), (name, fmt, d2)
    assert (back.fc3 is None) == (fc.fc3 is None)
    if fc.fc3 is not None:
        assert d3 <= 1e-14 * np.abs(fc.fc3).max(), (name, fmt, d3)
    assert np.array_equal(back.smap.matrix, fc.smap.matrix) or fmt in ("phonopy", "phono3py")
    assert np.abs(back.primitive.cell - fc.primitive.cell).max() < 1e-12      # the same unit cell, not another basis
    if fmt in ("tdep", "netcdf") or (fmt == "shengbte" and "nondiag" in name):
        assert np.array_equal(matched(fc, back), np.arange(fc.n_atoms))       # atom order kept


def test_text_formats_are_bit_exact(case, tmp_path):
    """17 significant digits: TDEP and ShengBTE text gives the very same numbers back, and the supercell too."""
    _, fc = case
    for fmt in ("tdep", "shengbte"):
        back = round_trip(fc, fmt, tmp_path / fmt)
        perm = matched(fc, back)
        # TDEP files hold the compact rows (the other rows follow by translation), ShengBTE's the full array as it is
        ref = fc.full_from_compact(fc.compact()) if fmt == "tdep" else fc.full()
        assert np.array_equal(ref[np.ix_(perm, perm)], back.full())
        assert differences(fc, back)[1] == 0.0                       # fc3: every constant, bit for bit
        assert np.abs(back.supercell.positions - fc.supercell.positions[perm]).max() < 1e-12


def test_shengbte_supercell_order(tmp_path):
    """A diagonal supercell is written in ShengBTE's order: atom 1 + ix + na (iy + nb (iz + nc k)) is unit-cell
    atom k in cell (ix, iy, iz), as ShengBTE's reader assumes; the POSCAR and SPOSCAR also parse with ASE."""
    ase_io = pytest.importorskip("ase.io")
    fc = _case("gaas_diag")
    fc.write(tmp_path, "shengbte", source="the test")
    uc, ss = ase_io.read(tmp_path / "POSCAR", format="vasp"), ase_io.read(tmp_path / "SPOSCAR", format="vasp")
    assert list(uc.get_chemical_symbols()) == ["Ga", "As"]
    frac = ss.get_scaled_positions(wrap=False) * 3
    n = np.arange(len(ss))
    k, cell = n // 27, np.stack([n % 3, (n // 3) % 3, (n // 9) % 3], axis=1)
    assert np.abs(frac - uc.get_scaled_positions(wrap=False)[k] - cell).max() < 1e-12
    assert "written by trajmodes" in (tmp_path / "POSCAR").read_text().splitlines()[0]
    first = (tmp_path / "FORCE_CONSTANTS_3RD").read_text().splitlines()[:2]
    assert first[0].strip().isdigit() and first[1] == ""                  # hiPhive: an integer, then a blank


def test_non_diagonal_shengbte_warns(tmp_path):
    with pytest.warns(UserWarning, match="not diagonal: ShengBTE's scell cannot describe it"):
        _case("cu_nondiag").write(tmp_path, "shengbte")


# ------------------------------------------------------------------------------------------------------ hiPhive
def _ase(c: Crystal):
    from ase import Atoms
    return Atoms(symbols=list(c.species), positions=c.positions, cell=c.cell, pbc=True)


@pytest.mark.parametrize("name", ["cu_nondiag", "gaas_diag"])
def test_hiphive_reads_our_fc3(name, tmp_path):
    hiphive = pytest.importorskip("hiphive")
    import ase.io
    fc = _case(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc.write(tmp_path, "shengbte")
    fcs = hiphive.ForceConstants.read_shengBTE(_ase(fc.supercell), str(tmp_path / "FORCE_CONSTANTS_3RD"),
                                               ase.io.read(tmp_path / "POSCAR"))
    assert np.abs(fcs.get_fc_array(order=3)[fc.p2s] - fc.fc3).max() < 1e-13 * np.abs(fc.fc3).max()


def _full_fc3(fc: ForceConstants) -> np.ndarray:
    """(N, N, N, 3, 3, 3) by lattice translation of the compact rows."""
    N = fc.n_atoms
    out = np.empty((N, N, N, 3, 3, 3))
    for i in range(N):
        cols = fc.compact_columns(i, np.arange(N))
        out[i] = fc.fc3[fc.smap.atom[i]][np.ix_(cols, cols)]
    return out


def test_we_read_hiphives_fc3(tmp_path):
    """hiPhive's FORCE_CONSTANTS_3RD (10 decimals) read onto our supercell gives the same fc3."""
    hiphive = pytest.importorskip("hiphive")
    import ase.io
    fc = _case("cu_nondiag")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc2_only(fc).write(tmp_path, "shengbte")
    fcs = hiphive.ForceConstants.from_arrays(_ase(fc.supercell), fc2_array=fc.full(), fc3_array=_full_fc3(fc))
    fcs.write_to_shengBTE(str(tmp_path / "FORCE_CONSTANTS_3RD"), ase.io.read(tmp_path / "POSCAR"))
    back = ForceConstants.read(tmp_path, "shengbte")
    d2, d3 = differences(fc, back)
    assert d2 == 0.0 and d3 < 1e-9, (d2, d3)


# ----------------------------------------------------------------------------------------------- frequencies
def tdep_frequencies(folder, q: np.ndarray) -> np.ndarray:
    """Frequencies (THz) from infile.ucposcar + infile.forceconstant by TDEP's own lattice sum over the listed
    pairs, D_ab(q) = sum_pairs Phi e^{i 2 pi q.(R + r_b - r_a)} / sqrt(m_a m_b), parsed here from the layout."""
    from trajmodes.io.forceconstants.text import read_poscar
    uc = read_poscar(folder / "infile.ucposcar", wrap=True)
    rows = [ln.split() for ln in (folder / "infile.forceconstant").read_text().splitlines() if ln.strip()]
    n, p = int(rows[0][0]), 2
    f = uc.scaled_positions
    D = np.zeros((len(q), 3 * n, 3 * n), complex)
    for a in range(n):
        count, p = int(rows[p][0]), p + 1
        for _ in range(count):
            b = int(rows[p][0]) - 1
            R = np.array(rows[p + 1][:3], float)
            block = np.array([r[:3] for r in rows[p + 2:p + 5]], float)
            phase = np.exp(2j * np.pi * (q @ (R + f[b] - f[a])))
            m = np.sqrt(uc.masses[a] * uc.masses[b])
            D[:, 3 * a:3 * a + 3, 3 * b:3 * b + 3] += phase[:, None, None] * block / m
            p += 5
    ev = np.linalg.eigvalsh(D)
    return np.sign(ev) * np.sqrt(np.abs(ev)) * THZ


def phonopy_frequencies(folder, q: np.ndarray) -> np.ndarray:
    """Frequencies (THz, the same conversion factor) from phonopy's own dynamical matrix of phonopy files."""
    phonopy = pytest.importorskip("phonopy")
    ph = phonopy.load(str(folder / "phonopy_params.yaml"), force_constants_filename=str(folder / "FORCE_CONSTANTS"),
                      is_nac=False, symmetrize_fc=False, log_level=0)
    out = []
    for x in q:
        ph.dynamical_matrix.run(x)
        ev = np.linalg.eigvalsh(ph.dynamical_matrix.dynamical_matrix)
        out.append(np.sign(ev) * np.sqrt(np.abs(ev)) * THZ)
    return np.array(out)


def _random_fc(prim: Crystal, S, seed: int) -> ForceConstants:
    """Random constants on every pair of a small supercell (so pairs at the Wigner-Seitz boundary, shared by
    several images, are not zero), symmetrised under the space group."""
    sc = supercell(prim, S)
    rng = np.random.default_rng(seed)
    fc = ForceConstants(rng.normal(size=(sc.n_atoms, sc.n_atoms, 3, 3)), sc, prim)
    fc = fc.symmetrize()
    return ForceConstants(fc.fc2 + 4 * np.eye(3) * (np.arange(sc.n_atoms)[:, None] == np.arange(sc.n_atoms)[None])
                          [:, :, None, None], sc, prim).symmetrize()


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cu_eam", "gaas_random", "cu_random_nondiag"])
def test_tdep_frequencies_equal_phonopy(name, tmp_path):
    """At 30 general q the frequencies of the TDEP files (TDEP's lattice sum; and trajmodes reading them) equal
    phonopy's from the phonopy files of the same constants, to 1e-8 THz: the Wigner-Seitz weights are right."""
    pytest.importorskip("phonopy")
    if name == "cu_eam":
        fc = ForceConstants.read(EXAMPLES / "fc" / "cu_eam", "phonopy")
    elif name == "gaas_random":
        fc = _random_fc(zincblende(), 2 * np.eye(3, dtype=int), 1)
    else:
        fc = _random_fc(Crystal(FCC, [[0, 0, 0]], ["Cu"]), NONDIAG // 2, 2)
    fc.write(tmp_path / "phonopy", "phonopy")
    fc.write(tmp_path / "tdep", "tdep")
    q = np.random.default_rng(4).random((30, 3)) - 0.5
    ref = phonopy_frequencies(tmp_path / "phonopy", q)
    assert np.abs(tdep_frequencies(tmp_path / "tdep", q) - ref).max() < 1e-8
    assert np.abs(Phonons(ForceConstants.read(tmp_path / "tdep", "tdep")).frequencies(q) - ref).max() < 1e-8


def test_phonopy_reads_our_force_constants_2nd(tmp_path):
    """FORCE_CONSTANTS_2ND is phonopy's full FORCE_CONSTANTS for the POSCAR and the diagonal supercell; and
    phonopy's compact FORCE_CONSTANTS, put in its place, is read back the same."""
    phonopy = pytest.importorskip("phonopy")
    fc = fc2_only(_case("gaas_diag"))
    fc.write(tmp_path, "shengbte")
    ph = phonopy.load(unitcell_filename=str(tmp_path / "POSCAR"), supercell_matrix=[3, 3, 3], primitive_matrix=None,
                      force_constants_filename=str(tmp_path / "FORCE_CONSTANTS_2ND"), is_nac=False,
                      symmetrize_fc=False, log_level=0)
    ph.masses = fc.primitive.masses                  # phonopy's own mass table differs in the 7th digit for As
    q = np.random.default_rng(5).random((10, 3))
    ours = Phonons(fc).frequencies(q)
    ph.run_qpoints(q)
    assert np.abs(ph.qpoints.frequencies - ours).max() < 1e-8
    fc.write(tmp_path / "ph", "phonopy")
    shutil.copy(tmp_path / "ph" / "FORCE_CONSTANTS", tmp_path / "FORCE_CONSTANTS_2ND")
    back = ForceConstants.read(tmp_path, "shengbte")
    assert back.layout == "compact" and differences(fc, back)[0] < 1e-14 * np.abs(fc.fc2).max()


# ------------------------------------------------------------------------------------------------ TDEP layout
def test_tdep_layout(tmp_path):
    """TDEP's layout: atoms per cell, cutoff, pairs per atom (self-pair first), partner, lattice vector, block;
    the polar flag 0; provenance on the first lines; POSCARs that ASE reads the same."""
    ase_io = pytest.importorskip("ase.io")
    fc = _case("gaas_diag")
    fc.write(tmp_path, "tdep", source="made/by/test.nc")
    rows = (tmp_path / "infile.forceconstant").read_text().splitlines()
    assert rows[0].split()[0] == "2" and "trajmodes" in rows[0] and "test.nc" in rows[0]
    assert 2.35 < float(rows[1].split()[0]) < 2.36                    # nearest neighbours only: a sqrt(3) / 4
    assert rows[2].split()[0] == "5"                                   # self + 4 neighbours
    assert rows[3].split()[0] == "1" and [float(x) for x in rows[4].split()] == [0, 0, 0]
    assert rows[-1].split()[0] == "0"
    rows3 = (tmp_path / "infile.forceconstant_thirdorder").read_text().splitlines()
    assert rows3[0].split()[0] == "2" and "trajmodes" in rows3[0]
    uc = ase_io.read(tmp_path / "infile.ucposcar", format="vasp")
    assert np.abs(uc.cell[:] - fc.primitive.cell).max() < 1e-14
    assert uc.get_chemical_symbols() == ["Ga", "As"]
    ss = ase_io.read(tmp_path / "infile.ssposcar", format="vasp")
    d = ss.get_scaled_positions() - fc.supercell.positions @ np.linalg.inv(fc.supercell.cell)
    assert np.abs(d - np.rint(d)).max() < 1e-12 and ss.get_chemical_symbols() == list(fc.supercell.species)
    assert "test.nc" in (tmp_path / "infile.ucposcar").read_text().splitlines()[0]


def _fortran_style(text: str) -> str:
    """Numbers as gfortran's list-directed output writes them (E+000 exponents, no leading zero padding), and
    TDEP's 'site: N' notes after POSCAR positions."""
    out = []
    for ln in text.splitlines():
        toks = ln.split()
        if len(toks) >= 3 and all(t.replace("e", "").replace(".", "").replace("-", "").replace("+", "").isdigit()
                                  for t in toks[:3]) and any("e" in t or "." in t for t in toks[:3]):
            toks = [f"{float(t):.16E}".replace("E+0", "E+00").replace("E-0", "E-00") for t in toks[:3]] + toks[3:]
            ln = "   " + "   ".join(toks)
        out.append(ln)
    return "\n".join(out) + "\n"


def test_reads_fortran_formatted_files(tmp_path):
    """TDEP's own files: Fortran exponents, comments after numbers, 'direct coordinates', 'site: N' notes."""
    fc = _case("cu_nondiag")
    fc.write(tmp_path / "a", "tdep")
    (tmp_path / "b").mkdir()
    for name in ("infile.forceconstant", "infile.forceconstant_thirdorder", "infile.ssposcar", "infile.ucposcar"):
        text = _fortran_style((tmp_path / "a" / name).read_text())
        if name.endswith("poscar"):
            text = text.replace("Direct", "direct coordinates")
            lines = text.splitlines()
            lines[8:] = [f"{ln} site: {i + 1}" for i, ln in enumerate(lines[8:])]
            text = "\n".join(lines) + "\n"
        (tmp_path / "b" / name.replace("infile.", "outfile.") if "forceconstant" in name
         else tmp_path / "b" / name).write_text(text)
    assert "E-00" in (tmp_path / "b" / "outfile.forceconstant").read_text()
    d2, d3 = differences(fc, ForceConstants.read(tmp_path / "b", "tdep"))
    assert d2 < 1e-14 * np.abs(fc.fc2).max() and d3 < 1e-14 * np.abs(fc.fc3).max()


def test_tdep_onto_a_given_supercell(tmp_path):
    """Without infile.ssposcar the constants go onto the supercell asked for (folded by its periodicity)."""
    fc = _case("gaas_diag")
    fc.write(tmp_path, "tdep")
    (tmp_path / "infile.ssposcar").unlink()
    with pytest.raises(FileNotFoundError, match="no infile.ssposcar"):
        ForceConstants.read(tmp_path, "tdep")
    back = ForceConstants.read(tmp_path, "tdep", supercell=3)
    d2, d3 = differences(fc, back)
    assert d2 < 1e-14 * np.abs(fc.fc2).max() and d3 < 1e-14 * np.abs(fc.fc3).max()
    sheng = tmp_path / "sheng"
    fc.write(sheng, "shengbte")
    (sheng / "SPOSCAR").unlink()
    back = ForceConstants.read(sheng, "shengbte", supercell=[3, 3, 3])
    assert differences(fc, back) == (0.0, 0.0)


# ------------------------------------------------------------------------------------------------- refusals
def _with_born(fc: ForceConstants) -> ForceConstants:
    born = np.array([np.eye(3) * 2.0, -np.eye(3) * 2.0])[:fc.n_prim]
    return ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s, born=born,
                          epsilon=np.eye(3) * 10, fc3=fc.fc3)


def test_tdep_files_keep_the_born_charges(tmp_path):
    """TDEP's polar files hold short-range constants with the charges (the dipole-dipole part taken out by Ewald
    summation): written from full constants with Born charges, they read back with the same charges and
    dielectric tensor."""
    fc = _with_born(_case("gaas_diag"))
    fc.write(tmp_path, "tdep")
    back = ForceConstants.read(tmp_path, "tdep")
    assert back.short_range and np.allclose(back.born, fc.born) and np.allclose(back.epsilon, fc.epsilon)


# -------------------------------------------------------------------------------- ShengBTE CONTROL: Born charges
#: Born charges that are neither symmetric nor isotropic (a transposed or permuted read shows), summing to zero
ZSTAR = np.array([[[2.1, 0.3, 0.1], [-0.2, 1.9, -0.1], [0.05, 0.4, 2.0]]])
ZSTAR = np.concatenate([ZSTAR, -ZSTAR])
EPS_ANISO = np.array([[10.0, 0.5, 0.0], [0.5, 11.0, 0.2], [0.0, 0.2, 12.0]])


def _polar(born=ZSTAR, epsilon=EPS_ANISO, name: str = "gaas_diag") -> ForceConstants:
    fc = _case(name)
    return ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s, born=born, epsilon=epsilon,
                          fc3=fc.fc3)


DIRECTIONS = [[1, 0, 0], [1, 1, 0], [0.3, -0.1, 0.7], [0, 0, 1]]


def test_shengbte_control_carries_born_charges(tmp_path):
    """CONTROL holds born(E, u, k) = Z[k, E, u] (ShengBTE contracts q with the first index) and epsilon(:, j): charges
    that break every symmetry come back bit for bit, line by line in that convention."""
    fc = _polar()
    fc.write(tmp_path, "shengbte", source="polar.nc")
    text = (tmp_path / "CONTROL").read_text()
    assert "born(:,1,1)=2.1 -0.2 0.05," in text and "born(:,2,2)=-0.3 -1.9 -0.4," in text
    assert "epsilon(:,3)=0.0 0.2 12.0," in text
    assert "nonanalytic=.TRUE." in text and "scell(:)=3 3 3" in text and "ngrid(:)=3 3 3" in text
    assert "polar.nc" in text.splitlines()[0]
    back = ForceConstants.read(tmp_path, "shengbte")
    assert np.array_equal(back.born, fc.born) and np.array_equal(back.epsilon, fc.epsilon)
    assert differences(fc, back) == (0.0, 0.0)


def test_shengbte_lo_to_frequencies_are_phonopys(tmp_path):
    """The LO-TO frequencies at Gamma along four directions, and near Gamma, of the constants read back through
    CONTROL equal phonopy's of the original constants with its own non-analytic corrections (Gonze-Lee, and Wang et
    al.'s that ShengBTE uses), to 1e-8 THz for the optical branches at Gamma (the acoustic zeros are square roots of
    round-off: 1e-6) and 1e-6 THz near it. Charges allowed by the zincblende symmetry (phonopy symmetrises others)."""
    phonopy = pytest.importorskip("phonopy")
    from trajmodes.units import NAC_FACTOR
    born, eps = np.array([2.2 * np.eye(3), -2.2 * np.eye(3)]), 9.5 * np.eye(3)
    fc = _polar(born, eps)
    fc.write(tmp_path / "sheng", "shengbte")
    back = ForceConstants.read(tmp_path / "sheng", "shengbte")
    fc.write(tmp_path / "ph", "phonopy")
    ph = phonopy.load(str(tmp_path / "ph" / "phonopy_params.yaml"), log_level=0,
                      force_constants_filename=str(tmp_path / "ph" / "FORCE_CONSTANTS"))
    tol = np.array([1e-6] * 3 + [1e-8] * 3)
    for method in ("gonze", "wang"):
        ph.nac_params = {"born": born, "dielectric": eps, "factor": NAC_FACTOR, "method": method}
        p = Phonons(back, nac=method)
        for d in DIRECTIONS:
            ph.run_qpoints([[0, 0, 0]], nac_q_direction=d)
            assert (np.abs(p.frequencies([0, 0, 0], q_direction=d)[0] - ph.qpoints.frequencies[0]) < tol).all()
        q = np.array([[0.02, 0, 0], [0.01, 0.02, -0.01], [0.3, 0.1, 0.2]])
        ph.run_qpoints(q)
        assert np.abs(p.frequencies(q) - ph.qpoints.frequencies).max() < 1e-6
    lo_to = Phonons(back).frequencies([0, 0, 0], q_direction=[1, 0, 0])[0]
    assert lo_to[5] - lo_to[4] > 0.3                                          # a real splitting


CONTROL_STYLES = """! written by hand: other layouts ShengBTE's namelist reader takes
&allocations
  nelements=2, natoms=2, ngrid(:)=24 24 24
/
&crystal
  lfactor=0.1, lattvecs(:,1)=0 2.7155 2.7155, lattvecs(:,2)=2.7155 0 2.7155, lattvecs(:,3)=2.7155 2.7155 0
  elements='Ga' 'As'   ! quotes of either kind
  types=1 2
  positions(:,1)=0 0 0, positions(:,2)=0.25 0.25 0.25
  scell(:)=3 3 3
  EPSILON = 10.0 0.5 0.0 0.5 11.0 0.2 0.0 0.2 12.0
  born(:,:,1)=2.1 -0.2 0.05 0.3 1.9 0.4 0.1 -0.1 2.0
  born(1:3,1,2)=-2.1 0.2 -0.05, born(:,2,2)=-0.3 -1.9 -0.4
  born(1,3,2)=-0.1, born(2:,3,2)=2*-0.0
&end
&parameters T=300 /
&flags nonanalytic=.true. /
"""


def test_control_in_other_layouts(tmp_path):
    """Whole-array and section assignments (column-major), repeat counts, comments, '/' ends, upper case."""
    fc = _case("gaas_diag")
    fc.write(tmp_path, "shengbte")
    text = CONTROL_STYLES.replace("born(2:,3,2)=2*-0.0", "born(2:,3,2)=0.1 -2.0")
    (tmp_path / "CONTROL").write_text(text)
    back = ForceConstants.read(tmp_path, "shengbte")
    assert np.array_equal(back.born, ZSTAR) and np.array_equal(back.epsilon, EPS_ANISO)
    (tmp_path / "CONTROL").write_text(text.replace("nonanalytic=.true.", "nonanalytic=.false."))
    assert ForceConstants.read(tmp_path, "shengbte").born is None
    fc.write(tmp_path / "plain", "shengbte")                        # no Born charges: CONTROL without them
    assert "nonanalytic=.FALSE." in (tmp_path / "plain" / "CONTROL").read_text()
    assert ForceConstants.read(tmp_path / "plain", "shengbte").born is None


CONTROL_BROKEN = {
    # replace, by, expected line, words
    "natoms": ("natoms=2", "natoms=3", 3, "natoms = 3, but POSCAR has 2 atoms"),
    "species": ("types=1 2", "types=2 1", 8, "its atoms (As Ga) are not those of POSCAR (Ga As)"),
    "incomplete born": ("born(1,3,2)=-0.1, ", "", 14, "born is not given in full"),
    "too many numbers": ("born(:,2,2)=-0.3 -1.9 -0.4", "born(:,2,2)=-0.3 -1.9 -0.4 1.0", 13, "takes 3 numbers, not 4"),
    "index out of range": ("born(1,3,2)", "born(1,4,2)", 14, "an index is outside 1..3"),
    "not a number": ("EPSILON = 10.0", "EPSILON = x10.0", 11, "epsilon holds something that is not a number"),
}


@pytest.mark.parametrize("case_name", list(CONTROL_BROKEN))
def test_broken_control_names_file_and_line(case_name, tmp_path):
    old, new, line, words = CONTROL_BROKEN[case_name]
    _case("gaas_diag").write(tmp_path, "shengbte")
    text = CONTROL_STYLES.replace("born(2:,3,2)=2*-0.0", "born(2:,3,2)=0.1 -2.0")
    assert old in text
    (tmp_path / "CONTROL").write_text(text.replace(old, new))
    with pytest.raises(ForceConstantsFormatError) as err:
        ForceConstants.read(tmp_path, "shengbte")
    msg = str(err.value)
    assert f"{tmp_path / 'CONTROL'}, line {line}: " in msg and words in msg and "\n" not in msg, msg


def test_shengbte_refuses_a_nac_factor_it_cannot_hold(tmp_path):
    fc = _polar()
    odd = ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s, born=fc.born,
                         epsilon=fc.epsilon, nac_factor=27.2)
    with pytest.raises(ValueError, match="no place for the factor 27.2 eV\\*A"):
        odd.write(tmp_path, "shengbte")
    assert not list(tmp_path.iterdir())


# ------------------------------------------------------------------------------------------ TDEP fourth order
def test_tdep_fourth_order_is_read_beside_the_others_and_other_orders_are_refused(tmp_path):
    """A fourth-order file beside the others is read (an empty one: no quartets); a file of an order trajmodes does not
    hold is refused in one line saying what it reads."""
    _case("cu_nondiag").write(tmp_path, "tdep")
    four = tmp_path / "infile.forceconstant_fourthorder"
    four.write_text("1\n 4.0 Realspace cutoff\n 0\n")
    back = ForceConstants.read(four, "tdep")
    assert back.fc3 is not None and back.fc4 is not None and len(back.fc4) == 0
    five = tmp_path / "infile.forceconstant_fifthorder"
    five.write_text("1\n")
    with pytest.raises(ForceConstantsFormatError) as err:
        ForceConstants.read(five, "tdep")
    msg = str(err.value)
    assert msg.startswith(f"{five}: TDEP's fifthorder force constants, which trajmodes does not hold")
    assert "infile.forceconstant_fourthorder" in msg and "\n" not in msg


# ------------------------------------------------------------------------------------ one home of the images
@pytest.mark.parametrize("name", CASES)
def test_tdep_pairs_are_the_dynamical_matrix_pairs(name):
    """The pairs and Wigner-Seitz weights the TDEP and ShengBTE writers use are those of trajmodes' dynamical matrix
    (both from trajmodes.lattice.geometry.all_shortest_images)."""
    from trajmodes.io.forceconstants.text import pair_images
    from trajmodes.phonons.harmonic.dynamical import DynamicalMatrix
    fc = _case(name)
    k, j, _, w, vec = pair_images(fc)
    k2, j2, _, w2, vec2 = DynamicalMatrix(fc).image_pairs()
    a = np.lexsort((*np.round(vec, 8).T, j, k))
    b = np.lexsort((*np.round(vec2, 8).T, j2, k2))
    assert np.array_equal(k[a], k2[b]) and np.array_equal(j[a], j2[b]) and np.allclose(w[a], w2[b], rtol=1e-14)
    assert np.abs(vec[a] - vec2[b]).max() < 1e-12


@pytest.mark.parametrize("fmt", ["tdep", "shengbte"])
def test_refuses_what_a_poscar_cannot_hold(fmt, tmp_path):
    fc = _case("cu_nondiag")
    pr, sc = fc.primitive, fc.supercell
    heavy = ForceConstants(fc.fc2, Crystal(sc.cell, sc.positions, sc.species, sc.masses * 1.1),
                           Crystal(pr.cell, pr.positions, pr.species, pr.masses * 1.1))
    with pytest.raises(ValueError, match=r"hold no masses .* Cu mass here is 69.9006 amu, not 63.546"):
        heavy.write(tmp_path, fmt)
    labels = ForceConstants(fc.fc2, Crystal(sc.cell, sc.positions, ["1"] * sc.n_atoms, sc.masses),
                            Crystal(pr.cell, pr.positions, ["1"], pr.masses))
    with pytest.raises(ValueError, match="1 is not an element"):
        labels.write(tmp_path, fmt)


# ------------------------------------------------------------------------------------------- broken files
def _edit(path, line: int, new: str | None) -> None:
    """Replace 1-based line ``line`` of ``path`` (None: cut the file before it)."""
    rows = path.read_text().splitlines()
    rows = rows[:line - 1] if new is None else rows[:line - 1] + [new] + rows[line:]
    path.write_text("\n".join(rows) + "\n")


def assert_edit_is_refused(folder, read, case) -> None:
    """Edit the file of ``case`` = (file name, line (-1: the last), new text (None: cut the file there), line the
    message names (-1: the last), words it holds) in ``folder``, then check that ``read(folder)`` refuses it with
    one line naming the file and the line."""
    name, line, new, expect, words = case
    path = folder / name
    n_lines = len(path.read_text().splitlines())
    _edit(path, n_lines if line == -1 else line, new)
    with pytest.raises(ForceConstantsFormatError) as err:
        read(folder)
    msg = str(err.value)
    expect = n_lines if expect == -1 else expect
    assert f"{path}, line {expect}: " in msg and words in msg and "\n" not in msg, msg


TDEP_BROKEN = {
    # file, line, new text (None: cut there), expected line in the message, words
    "cut fc2": ("infile.forceconstant", 40, None, 40, "cut short"),
    "cut fc3": ("infile.forceconstant_thirdorder", 100, None, 100, "cut short"),
    "text in a block": ("infile.forceconstant", 6, "  1.0  abc  2.0", 6, "expected 3 numbers (a 3 x 3 force constant)"),
    "partner out of range": ("infile.forceconstant", 4, "  7   In the unit cell", 4, "from 1 to 1"),
    "fractional lattice vector": ("infile.forceconstant", 5, " 0.5 0.0 0.0", 5, "whole numbers"),
    "nan": ("infile.forceconstant", 7, " nan 0 0", 7, "NaN or infinite"),
    "wrong atom count": ("infile.forceconstant", 1, "  2  How many atoms", 1, "2 atoms per unit cell"),
    "polar": ("infile.forceconstant", -1, "  3   # polar", -1, "polar TDEP force constant"),
    "triplet of another atom": ("infile.forceconstant_thirdorder", 4, "  2", 4, "from 1 to 1"),
    "poscar counts": ("infile.ucposcar", 7, "  x", 7, "the number of atoms of each element"),
    "poscar vasp4": ("infile.ucposcar", 6, "  1", 6, "VASP 4 POSCAR"),
    "poscar element": ("infile.ucposcar", 6, "  Xx", 6, "no standard mass for species Xx"),
}


@pytest.mark.parametrize("case_name", list(TDEP_BROKEN))
def test_broken_tdep_files_name_file_and_line(case_name, tmp_path):
    _case("cu_nondiag").write(tmp_path, "tdep")
    assert_edit_is_refused(tmp_path, lambda p: ForceConstants.read(p, "tdep"), TDEP_BROKEN[case_name])


SHENG_BROKEN = {
    "cut 2nd": ("FORCE_CONSTANTS_2ND", 30, None, 30, "cut short"),
    "bad pair": ("FORCE_CONSTANTS_2ND", 2, "1 x", 2, "expected 2 numbers (the atom pair i j)"),
    "pair out of range": ("FORCE_CONSTANTS_2ND", 2, "1 99", 2, "from 1 to 32"),
    "wrong size": ("FORCE_CONSTANTS_2ND", 1, "  31   31", 1, "31 x 31 atoms"),
    "cut 3rd": ("FORCE_CONSTANTS_3RD", 70, None, 70, "cut short"),
    "R2 off the lattice": ("FORCE_CONSTANTS_3RD", 4, " 0.3 0.0 0.0", 4, "not a lattice vector"),
    "xyz out of range": ("FORCE_CONSTANTS_3RD", 8, "1 1 4  0.5", 8, "from 1 to 3"),
    "xyz twice": ("FORCE_CONSTANTS_3RD", 8, "1 1 1  0.5", 7, "every x, y, z once"),
}


@pytest.mark.parametrize("case_name", list(SHENG_BROKEN))
def test_broken_shengbte_files_name_file_and_line(case_name, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _case("cu_nondiag").write(tmp_path, "shengbte")
    assert_edit_is_refused(tmp_path, lambda p: ForceConstants.read(p, "shengbte"), SHENG_BROKEN[case_name])


def test_missing_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="no infile.forceconstant"):
        ForceConstants.read(tmp_path, "tdep")
    with pytest.raises(FileNotFoundError, match="no FORCE_CONSTANTS_2ND"):
        ForceConstants.read(tmp_path, "shengbte")
    (tmp_path / "infile.forceconstant").write_text("1\n")
    with pytest.raises(FileNotFoundError, match="no infile.ucposcar"):
        ForceConstants.read(tmp_path, "tdep")
    (tmp_path / "FORCE_CONSTANTS_2ND").write_text("1\n")
    with pytest.raises(FileNotFoundError, match="no POSCAR"):
        ForceConstants.read(tmp_path, "shengbte")


def test_phonopy_yaml_without_constants_takes_nothing_from_the_working_directory(tmp_path, monkeypatch):
    """phonopy.load takes FORCE_CONSTANTS or FORCE_SETS from the current directory when neither a file is named
    nor the yaml holds constants or forces: a yaml alone, read from a directory holding another crystal's
    FORCE_CONSTANTS, is refused instead of being given that crystal's constants."""
    from trajmodes.errors import ForceConstantsFormatError
    fc = _case("cu_nondiag")
    fc.write(tmp_path / "own", "phonopy")
    (tmp_path / "own" / "FORCE_CONSTANTS").unlink()
    cwd = tmp_path / "cwd"
    fc.write(cwd, "phonopy")                                          # a FORCE_CONSTANTS that phonopy would find
    monkeypatch.chdir(cwd)
    with pytest.raises(ForceConstantsFormatError, match="no force constants in it"):
        ForceConstants.read(tmp_path / "own", "phonopy")


def test_shengbte_third_order_count_must_match_its_blocks(tmp_path):
    """A FORCE_CONSTANTS_3RD whose first line announces fewer blocks than follow lost the extra blocks silently;
    it is refused, naming the first line left over."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _case("cu_nondiag").write(tmp_path, "shengbte")
    path = tmp_path / "FORCE_CONSTANTS_3RD"
    lines = path.read_text().splitlines()
    nb = int(lines[0])
    lines[0] = str(nb - 1)
    path.write_text("\n".join(lines) + "\n")
    numbered = [i for i, ln in enumerate(lines, start=1) if ln.strip()]
    first_left = numbered[1 + 31 * (nb - 1)]
    with pytest.raises(ForceConstantsFormatError) as err:
        ForceConstants.read(tmp_path, "shengbte")
    msg = str(err.value)
    assert f"{path}, line {first_left}: " in msg and f"the {nb - 1} blocks" in msg and "\n" not in msg, msg


def test_a_polar_tdep_file_cut_short_is_named_polar(tmp_path):
    """A polar flag with nothing after it is a polar file cut short: the message names the correction type and what
    is missing (before polar files were read, a valid one was called damaged)."""
    _case("cu_nondiag").write(tmp_path, "tdep")
    path = tmp_path / "infile.forceconstant"
    lines = path.read_text().splitlines()
    lines[-1] = "  3   # polar"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(ForceConstantsFormatError) as err:
        ForceConstants.read(tmp_path, "tdep")
    msg = str(err.value)
    assert "a polar TDEP force constant (correction type 3) ends at its correction type" in msg
    assert "the dielectric tensor, the Ewald parameter and the Born charges that must follow are missing" in msg


@pytest.mark.parametrize("fmt", ["tdep", "shengbte", "phonopy", "phono3py", "netcdf"])
def test_one_reader_for_every_format(fmt, tmp_path):
    """ForceConstants.read finds the format from the file names (or takes it given) and reads what the format's own
    reader reads; the commands and workflows.load_force_constants go through it."""
    import warnings
    from trajmodes.workflows import load_force_constants
    fc = _case("cu_nondiag")
    if fmt == "phonopy":
        fc = ForceConstants(fc.fc2, fc.supercell, fc.primitive)
    target = tmp_path / ("fc.nc" if fmt == "netcdf" else fmt)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fc.write(target, None if fmt == "netcdf" else fmt)            # fc.nc: the name says netcdf
    q = [[0, 0, 0], [0.5, 0, 0], [0.25, 0.1, 0.3]]
    ref = Phonons(fc).frequencies(q)
    for back in (ForceConstants.read(target), ForceConstants.read(target, format=fmt), load_force_constants(target)):
        np.testing.assert_allclose(Phonons(back).frequencies(q), ref, atol=1e-6)     # sqrt of round-off at Gamma
    with pytest.raises(ValueError, match="format must be one of"):
        ForceConstants.read(target, format="vasp")
