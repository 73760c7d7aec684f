"""Polar TDEP force-constant files: read (TDEP's MgO dispersion reference), write, round trip, and the conversion
between TDEP's short-range convention and phonopy's full supercell constants (tests/data/tdep_mgo/README.md)."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from trajmodes import ForceConstants, Phonons
from trajmodes.errors import ForceConstantsFormatError
from trajmodes.io.forceconstants.tdep_polar import TDEP_BOHR_A, read_lotosplitting
from trajmodes.lattice.crystal import Crystal
from trajmodes.lattice.qpoints import commensurate_qpoints, first_zone
from trajmodes.units import THZ

MGO = Path(__file__).parent.parent / "data" / "tdep_mgo"
#: TDEP's masses (its own table) and THz factor: its dispersion is compared in its own constants
TDEP_MASS = {"O": 15.99940492713, "Mg": 24.305051612313}
TDEP_THZ = 15.6333043


def with_masses(fc: ForceConstants, masses: dict) -> ForceConstants:
    pr, sc = fc.primitive, fc.supercell
    pr = Crystal(pr.cell, pr.positions, pr.species, [masses[s] for s in pr.species])
    sc = Crystal(sc.cell, sc.positions, sc.species, [masses[s] for s in sc.species])
    return ForceConstants(fc.fc2, sc, pr, smap=fc.smap, p2s=fc.p2s, born=fc.born, epsilon=fc.epsilon,
                          nac_factor=fc.nac_factor, short_range=fc.short_range, ewald_lambda=fc.ewald_lambda)


def tdep_path(rec: np.ndarray):
    """TDEP's default FCC path of the reference (GM-X, X-U, K-GM, GM-L, 100 points each), its directions and the
    path length (1/bohr, no 2 pi) TDEP writes in the first column."""
    G, X, U, K, L = ([0, 0, 0], [0.5, 0, 0.5], [0.625, 0.25, 0.625], [0.375, 0.375, 0.75], [0.5, 0.5, 0.5])
    q, d = [], []
    for a, b in ((G, X), (X, U), (K, G), (G, L)):
        a, b = np.array(a, float), np.array(b, float)
        q += [a + (b - a) * i / 99 for i in range(100)]
        d += [b - a] * 100
    q = np.array(q)
    step = np.linalg.norm(np.diff(q, axis=0) @ rec, axis=1) * TDEP_BOHR_A
    step[np.arange(99, len(q) - 1, 100)] = 0.0                        # no length between two segments
    return q, np.array(d), np.concatenate([[0.0], np.cumsum(step)])


def test_polar_file_gives_tdeps_dispersion():
    """TDEP's phonon_dispersion_relations test: frequencies of its polar infile.forceconstant (LO-TO along the path
    at Gamma) within its tolerance (rtol 1e-7); the acoustic modes at Gamma, zero there, within 1e-6 THz."""
    fc = ForceConstants.read(MGO / "infile.forceconstant", "tdep")
    assert fc.short_range and fc.ewald_lambda * TDEP_BOHR_A == pytest.approx(0.67637716421034555, rel=1e-15)
    fc = with_masses(fc, TDEP_MASS)
    ref = np.loadtxt(MGO / "outfile.dispersion_relations")
    q, d, x = tdep_path(fc.primitive.reciprocal_cell)
    np.testing.assert_allclose(x, ref[:, 0], atol=1e-12)                # the same q-points
    nu = Phonons(fc).frequencies(q, q_direction=d) * (TDEP_THZ / THZ)
    zero = np.abs(ref[:, 1:]) < 1e-3
    np.testing.assert_allclose(nu[~zero], ref[:, 1:][~zero], rtol=1e-7)  # measured 2.4e-10
    assert np.abs(nu[zero]).max() < 1e-6                               # measured 3.6e-7 THz


def test_polar_file_round_trip(tmp_path):
    fc = ForceConstants.read(MGO / "infile.forceconstant", "tdep")
    fc.write(tmp_path, "tdep")
    assert (tmp_path / "infile.lotosplitting").exists()
    back = ForceConstants.read(tmp_path, "tdep")
    assert back.short_range and back.ewald_lambda == pytest.approx(fc.ewald_lambda, rel=1e-15)
    assert np.abs(back.full() - fc.full()).max() < 1e-13
    np.testing.assert_array_equal(back.born, fc.born)
    np.testing.assert_array_equal(back.epsilon, fc.epsilon)
    born, eps = read_lotosplitting(tmp_path / "infile.lotosplitting", 2)
    np.testing.assert_array_equal(born, fc.born)
    q = np.random.default_rng(0).random((50, 3))
    assert np.abs(Phonons(back).frequencies(q) - Phonons(fc).frequencies(q)).max() < 1e-10
    # the irreducible Born charges written: one value, as TDEP's own file
    text = (tmp_path / "infile.forceconstant").read_text()
    assert "1  # number of irreducible components" in text


@pytest.mark.slow
def test_tdep_to_phonopy_and_back(tmp_path):
    """Short-range + dipole part on the supercell = full constants: phonopy's files of a polar TDEP file give its
    frequencies at every commensurate q (1e-8 THz; measured 3e-14), and elsewhere differ only by the interpolation
    of the difference of the two Ewald parameters' real-space parts (measured 3e-7 THz for MgO); back to TDEP the
    constants are the same."""
    fc = ForceConstants.read(MGO / "infile.forceconstant", "tdep")
    fc.write(tmp_path / "ph", "phonopy")
    full = ForceConstants.read(tmp_path / "ph", "phonopy")
    assert full.born is not None and not full.short_range
    pr = fc.primitive
    qc = first_zone(commensurate_qpoints(fc.smap.matrix, centred=False), pr.reciprocal_cell)[1:]
    a, b = Phonons(fc), Phonons(full)
    assert np.abs(a.frequencies(qc) - b.frequencies(qc)).max() < 1e-8
    q = first_zone(np.random.default_rng(1).random((100, 3)), pr.reciprocal_cell)
    assert np.abs(a.frequencies(q) - b.frequencies(q)).max() < 1e-6
    # without NAC both are the full supercell constants interpolated
    assert np.abs(Phonons(fc, nac=False).frequencies(q) - Phonons(full, nac=False).frequencies(q)).max() < 1e-8
    full.write(tmp_path / "td", "tdep")
    again = ForceConstants.read(tmp_path / "td", "tdep")
    # phonopy's BORN holds e^2/(4 pi eps0) to 7 digits: the dipole part comes back to that
    assert np.abs(again.compact() - fc.compact()).max() < 1e-6


def test_convert_fc_cli_polar_tdep(tmp_path):
    from trajmodes.cli import main
    src = tmp_path / "src"
    shutil.copytree(MGO, src, ignore=shutil.ignore_patterns("*.hdf5", "outfile.*"))
    assert main(["convert-fc", str(src), "--to", "phonopy", "-o", str(tmp_path / "ph")]) == 0
    assert (tmp_path / "ph" / "BORN").exists()


def test_polar_file_errors(tmp_path):
    src = (MGO / "infile.forceconstant").read_text()
    for f in ("infile.ucposcar", "infile.ssposcar"):
        shutil.copy(MGO / f, tmp_path / f)
    bad = tmp_path / "infile.forceconstant"
    bad.write_text(src.replace("           3 # This is a forceconstant", "           2 # This is a forceconstant"))
    with pytest.raises(ForceConstantsFormatError, match="correction type 2"):
        ForceConstants.read(bad, "tdep")
    bad.write_text(src.replace("       1.967110000000 # irrep", "       1.900000000000 # irrep").replace(
        "     -1.000000000000\n", "     -1.100000000000\n", 1))
    with pytest.raises(ForceConstantsFormatError, match="do not add up to zero"):
        ForceConstants.read(bad, "tdep")
    lines = src.splitlines()
    bad.write_text("\n".join(lines[:-10]))
    with pytest.raises(ForceConstantsFormatError, match="cut short"):
        ForceConstants.read(bad, "tdep")
