"""Three-phonon linewidths through phono3py's files, both ways.

Oracles: phono3py itself. (a) trajmodes writes the analytic Morse fc2 and fc3 of a two-species crystal (zincblende
on a diagonal and on a non-diagonal supercell, atoms shuffled) with ``write(folder, "phono3py")``; phono3py loads
them with its own reader and its imaginary self-energies at five q and two temperatures equal those of phono3py given
the same analytic constants in memory, evaluated on phono3py's own supercell (so the atom reordering is checked
independently), to 1e-8 relative; trajmodes' ``Anharmonic`` on the files read back equals them to 1e-6 relative (the
tolerance of the phono3py comparisons of tests/phonons/test_anharmonic.py; the two codes differ at 2e-7 here).
phono3py reads no ShengBTE files: their fc2 goes through phonopy's FORCE_CONSTANTS reader and their fc3 through
hiPhive's ShengBTE reader into phono3py, with the same result. (b) fc2.hdf5 and fc3.hdf5 that phono3py makes itself from a displacement
dataset (forces of the Stillinger-Weber potential of trajmodes.potentials, non-diagonal supercell, full and compact
layouts) are read by trajmodes: phonopy's frequencies to 1e-8 THz, phono3py's widths through trajmodes' files to
1e-8 relative and trajmodes' own widths to 1e-6.
"""
from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.forceconstants.test_fc3_io import pair_fc23
from tests.io.test_fc_formats import ZB, _case
from tests.support.crystals import FCC, NONDIAG
from trajmodes import Crystal, ForceConstants, Phonons
from trajmodes.units import THZ

phono3py = pytest.importorskip("phono3py")

MESH, SIGMA, T = 6, 0.1, [300.0, 800.0]
#: q on the 6 x 6 x 6 mesh: Gamma, the zone boundary and general points
Q = np.array([[0, 0, 0], [1, 0, 0], [2, 1, 0], [3, 3, 0], [2, 3, 1]]) / MESH


def _in_memory(primitive: Crystal, S, constants):
    """phono3py on ``primitive`` and the supercell matrix ``S``, with ``constants(its supercell)`` = (fc2, fc3)
    full arrays set in memory (compact rows of phono3py's p2s_map)."""
    from trajmodes.io.forceconstants.phonopy import crystal_from_phonopy, phonopy_atoms
    ph3 = phono3py.Phono3py(phonopy_atoms(primitive), supercell_matrix=np.asarray(S).T, primitive_matrix=np.eye(3),
                            log_level=0)
    fc2, fc3 = constants(crystal_from_phonopy(ph3.supercell))
    p2s = ph3.primitive.p2s_map
    ph3.fc2, ph3.fc3 = fc2[p2s], fc3[p2s]
    return ph3


def _loaded(folder):
    return phono3py.load(str(folder / "phono3py_params.yaml"), fc2_filename=str(folder / "fc2.hdf5"),
                         fc3_filename=str(folder / "fc3.hdf5"), symmetrize_fc=False, produce_fc=False, log_level=0)


def gammas(ph3, q=Q) -> np.ndarray:
    """phono3py's imaginary self-energies Gamma (THz) at the bands, (temperature, q, band)."""
    ph3.mesh_numbers = [MESH] * 3
    ph3.sigmas = [SIGMA]
    ph3.init_phph_interaction()
    gps = [int(ph3.grid.get_indices_from_addresses(np.rint(x * MESH).astype(int))) for x in q]
    return np.asarray(ph3.run_imag_self_energy(gps, T, frequency_points_at_bands=True).gammas)[0]


def assert_same(g, ref, rtol):
    """Widths equal to ``rtol`` relative where they are above 1e-6 THz, to 1e-12 THz below."""
    big = ref > 1e-6
    assert big.sum() > 20
    assert (np.abs(g - ref)[big] / ref[big]).max() < rtol, (np.abs(g - ref)[big] / ref[big]).max()
    assert np.abs(g - ref)[~big].max(initial=0.0) < 1e-12


def trajmodes_gammas(fc: ForceConstants, q=Q) -> np.ndarray:
    from trajmodes.phonons.anharmonic.anharmonic import Anharmonic
    return Anharmonic(fc, MESH, T, smearing=SIGMA).linewidths(q)["gamma"].values


# ---------------------------------------------------------------------------- (a) trajmodes writes, phono3py reads
@pytest.mark.parametrize("name", ["gaas_nondiag", pytest.param("gaas_diag", marks=pytest.mark.slow)])
def test_phono3py_widths_from_our_files(name, tmp_path):
    fc = _case(name)
    ref = gammas(_in_memory(fc.primitive, fc.smap.matrix, lambda sc: pair_fc23(sc, **ZB)))
    fc.write(tmp_path, "phono3py")
    assert_same(gammas(_loaded(tmp_path)), ref, 1e-8)
    back = ForceConstants.read(tmp_path, "phono3py")
    assert_same(trajmodes_gammas(back), ref, 1e-6)


@pytest.mark.slow
def test_phono3py_widths_from_our_shengbte_files(tmp_path):
    """phono3py has no ShengBTE reader: FORCE_CONSTANTS_2ND through phonopy's (ShengBTE's atom order is phonopy's
    for a diagonal supercell) and FORCE_CONSTANTS_3RD through hiPhive's, both onto phono3py's supercell."""
    hiphive = pytest.importorskip("hiphive")
    import ase.io
    from phonopy.file_IO import parse_FORCE_CONSTANTS
    from tests.io.test_fc_formats import _ase
    from trajmodes.io.forceconstants.phonopy import crystal_from_phonopy
    fc = _case("gaas_diag")
    ph3 = _in_memory(fc.primitive, fc.smap.matrix, lambda sc: pair_fc23(sc, **ZB))
    ref = gammas(ph3)
    fc.write(tmp_path, "shengbte")
    sc = crystal_from_phonopy(ph3.supercell)
    spos = ase.io.read(tmp_path / "SPOSCAR", format="vasp")
    d = spos.get_scaled_positions() - sc.scaled_positions
    assert np.abs(d - np.rint(d)).max() < 1e-12                                       # the same atom order
    fc2 = parse_FORCE_CONSTANTS(str(tmp_path / "FORCE_CONSTANTS_2ND"))
    fc3 = hiphive.ForceConstants.read_shengBTE(_ase(sc), str(tmp_path / "FORCE_CONSTANTS_3RD"),
                                               ase.io.read(tmp_path / "POSCAR")).get_fc_array(order=3)
    p2s = ph3.primitive.p2s_map
    ph3.fc2, ph3.fc3 = fc2[p2s], fc3[p2s]
    assert_same(gammas(ph3), ref, 1e-8)
    assert_same(trajmodes_gammas(ForceConstants.read(tmp_path, "shengbte")), ref, 1e-6)


# ---------------------------------------------------------------------------- (b) phono3py writes, trajmodes reads
def _stillinger_weber_si(compact: bool):
    """phono3py's fc2 and fc3 of Stillinger-Weber Si (Stillinger and Weber, Phys. Rev. B 31, 5262 (1985)) from its
    own displacement dataset, forces from trajmodes.potentials, on the conventional 2 x 2 x 2 cube (non-diagonal on
    the primitive cell)."""
    from trajmodes.io.forceconstants.phonopy import crystal_from_phonopy, phonopy_atoms
    from trajmodes.potentials.threebody import StillingerWeber
    sw = StillingerWeber({("Si", "Si", "Si"): [2.1683, 2.0951, 1.80, 21.0, 1.20, -1 / 3, 7.049556277, 0.6022245584,
                                                4.0, 0.0, 0.0]})
    a = 5.431
    prim = Crystal(FCC / 3.615 * a, np.array([[0, 0, 0], [.25, .25, .25]]) * a, ["Si", "Si"])
    ph3 = phono3py.Phono3py(phonopy_atoms(prim), supercell_matrix=NONDIAG.T, primitive_matrix=np.eye(3), log_level=0)
    ph3.generate_displacements(distance=0.03)
    ph3.forces = np.array([sw.energy_forces(crystal_from_phonopy(s)).forces for s in ph3.supercells_with_displacements])
    ph3.produce_fc3(is_compact_fc=compact)
    ph3.produce_fc2(is_compact_fc=compact)
    return ph3


def _write_like_phono3py(ph3, folder) -> None:
    """The files phono3py's command line writes: the yaml (with the dataset) and fc2.hdf5 / fc3.hdf5."""
    from phono3py.file_IO import write_fc2_to_hdf5, write_fc3_to_hdf5
    folder.mkdir(parents=True, exist_ok=True)
    ph3.save(str(folder / "phono3py_params.yaml"))
    p2s = ph3.primitive.p2s_map
    write_fc2_to_hdf5(ph3.fc2, filename=str(folder / "fc2.hdf5"), p2s_map=p2s, physical_unit="eV/angstrom^2")
    write_fc3_to_hdf5(ph3.fc3, filename=str(folder / "fc3.hdf5"), p2s_map=p2s)


def phonopy_frequencies(dynmat, q) -> np.ndarray:
    """Frequencies (THz, trajmodes' conversion factor) of phonopy's dynamical matrix."""
    out = []
    for x in q:
        dynmat.run(x)
        ev = np.linalg.eigvalsh(dynmat.dynamical_matrix)
        out.append(np.sign(ev) * np.sqrt(np.abs(ev)) * THZ)
    return np.array(out)


@pytest.mark.slow
@pytest.mark.parametrize("compact", [False, True])
def test_we_read_phono3pys_own_files(compact, tmp_path):
    ph3 = _stillinger_weber_si(compact)
    assert ph3.fc3.shape[0] == (2 if compact else 64)
    _write_like_phono3py(ph3, tmp_path / "phono3py")
    back = ForceConstants.read(tmp_path / "phono3py", "phono3py")
    q = np.random.default_rng(3).random((30, 3)) - 0.5
    ref = gammas(ph3)                                    # phono3py on its own constants
    f3 = phonopy_frequencies(ph3.dynamical_matrix, q)
    assert np.abs(Phonons(back).frequencies(q) - f3).max() < 1e-8
    back.write(tmp_path / "again", "phono3py")
    assert_same(gammas(_loaded(tmp_path / "again")), ref, 1e-8)
    assert_same(trajmodes_gammas(back), ref, 1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # reading them warns of nothing
        ForceConstants.read(tmp_path / "phono3py", "phono3py")


def test_files_in_the_working_directory_are_never_taken(tmp_path, monkeypatch):
    """phono3py.load takes fc3.hdf5, FORCES_FC3 and BORN from the current directory when they are not named: a
    folder without third order, read from a directory holding another crystal's files, must come back with exactly
    its own constants (no fc3, no Born charges)."""
    own = _case("cu_nondiag")
    alone = ForceConstants(own.fc2, own.supercell, own.primitive)               # fc2 only
    alone.write(tmp_path / "own", "phono3py")
    other = _case("gaas_nondiag")
    cwd = tmp_path / "cwd"
    other.write(cwd, "phono3py")                                                      # fc2.hdf5, fc3.hdf5 of GaAs
    (cwd / "FORCES_FC3").write_text("# not a forces file\n1 2 3\n")
    (cwd / "BORN").write_text("1.0\n2 0 0 0 2 0 0 0 2\n1 0 0 0 1 0 0 0 1\n")
    monkeypatch.chdir(cwd)
    back = ForceConstants.read(tmp_path / "own", "phono3py")
    assert back.fc3 is None
    assert back.born is None
    np.testing.assert_allclose(Phonons(back).frequencies(Q), Phonons(alone).frequencies(Q), atol=1e-8)
    with pytest.raises(FileNotFoundError, match="fc3.hdf5"):
        ForceConstants.read(tmp_path / "own", "phono3py", fc3_filename=tmp_path / "own" / "fc3.hdf5")
