"""TDEP's ``dump_dynamical_matrices -qg 3 3 3`` test (tests/data/tdep_dump_dynamical_matrices/README.md): the
dynamical matrices of its polar MgO ``infile.forceconstant`` at the four irreducible q of a 3 x 3 x 3 mesh, and
at q = 0 the Born charges and dielectric tensor, in ABINIT's DDB convention (trajmodes.io.forceconstants.ddb), against
its ``outfile.many_dynamical_matrices_DDB``. TDEP's test compares every line of the blocks (indices and values) with
numpy's assert_allclose at rtol 1e-7 and atol 0, so its zeros must be exact."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from trajmodes import ForceConstants, Phonons
from trajmodes.io.forceconstants.ddb import ddb_blocks, read_ddb, write_ddb

DATA = Path(__file__).parent.parent / "data" / "tdep_dump_dynamical_matrices"
#: TDEP's Hartree (eV) and bohr (A), CODATA 2014 (its konstanter.f90)
TDEP_HARTREE_EV, TDEP_BOHR_A = 27.21138602, 0.52917721067
#: valence charges TDEP writes as zion for O and Mg (the DDB stores the electronic part Z - zion of the charges)
ZION = {"O": 6.0, "Mg": 2.0}


@pytest.fixture(scope="module")
def mgo():
    # the constants reach the first neighbours only: any supercell holding them gives D(q) exactly
    return ForceConstants.read(DATA / "infile.forceconstant", "tdep", supercell=4)


def our_blocks(fc, q, **kw):
    pr = fc.primitive
    d = Phonons(fc).dynamical_matrix(q)              # at q = 0 no q_direction: the analytic part, as TDEP writes it
    return ddb_blocks(pr.cell, pr.scaled_positions, pr.masses, q, d, born=fc.born, epsilon=fc.epsilon,
                      zion=[ZION[s] for s in pr.species], **kw)


def test_tdep_ddb_reproduced(mgo):
    ref = read_ddb(DATA / "outfile.many_dynamical_matrices_DDB")
    assert [len(b["values"]) for b in ref] == [81, 36, 36, 36]
    q = np.array([b["q"] for b in ref])
    q = np.rint(q * 3) / 3                            # the 3 x 3 x 3 mesh; the file prints q to 8 digits
    ours = our_blocks(mgo, q, hartree_ev=TDEP_HARTREE_EV, bohr_a=TDEP_BOHR_A)
    for a, b in zip(ours, ref):
        np.testing.assert_array_equal(a["keys"], b["keys"])                    # same lines in the same order
        np.testing.assert_allclose(a["values"].real, b["values"].real, rtol=1e-7, atol=0)   # TDEP's test
        np.testing.assert_allclose(a["values"].imag, b["values"].imag, rtol=1e-7, atol=0)
        assert np.abs(a["values"] - b["values"]).max() < 1e-13                 # measured 1.8e-14 Ha (1.4e-14 rel)


def test_ddb_with_our_constants_within_tdeps_tolerance(mgo):
    """With trajmodes' own CODATA 2018 Hartree and bohr (TDEP's are CODATA 2014) the entries move by 8e-9
    (relative): still within TDEP's rtol 1e-7."""
    ref = read_ddb(DATA / "outfile.many_dynamical_matrices_DDB")
    q = np.rint(np.array([b["q"] for b in ref]) * 3) / 3
    for a, b in zip(our_blocks(mgo, q), ref):
        np.testing.assert_allclose(a["values"].real, b["values"].real, rtol=1e-7, atol=0)
        np.testing.assert_allclose(a["values"].imag, b["values"].imag, rtol=1e-7, atol=0)


def test_ddb_file_round_trip(mgo, tmp_path):
    """The file written has TDEP's blocks line for line (its test's comparison on the data lines), and a header
    with the crystal."""
    ref = read_ddb(DATA / "outfile.many_dynamical_matrices_DDB")
    q = np.rint(np.array([b["q"] for b in ref]) * 3) / 3
    pr = mgo.primitive
    path = tmp_path / "out_DDB"
    write_ddb(path, pr.cell, pr.scaled_positions, pr.species, pr.masses, q, Phonons(mgo).dynamical_matrix(q),
              born=mgo.born, epsilon=mgo.epsilon, zion=[ZION[s] for s in pr.species],
              hartree_ev=TDEP_HARTREE_EV, bohr_a=TDEP_BOHR_A)
    back = read_ddb(path)
    for a, b in zip(back, ref):
        np.testing.assert_allclose(a["q"], b["q"], atol=1e-8)
        np.testing.assert_array_equal(a["keys"], b["keys"])
        np.testing.assert_allclose(a["values"].real, b["values"].real, rtol=1e-7, atol=0)
        np.testing.assert_allclose(a["values"].imag, b["values"].imag, rtol=1e-7, atol=0)
    text = path.read_text()
    assert "natom         2" in text and "Number of data blocks=     4" in text
    assert "nsym        48" in text                                        # rock salt: Fm-3m
    rprim = [ln for ln in text.splitlines() if "rprim" in ln][0]
    assert float(rprim.split()[2].replace("D", "E")) == pytest.approx(2.112879622735 / TDEP_BOHR_A, rel=1e-12)


def test_ddb_phase_convention():
    """Phi_ab(q) = sum_R Phi(0a, Rb) e^{+i 2 pi q.R}: for a one-atom chain with one spring k to each neighbour
    along a_1, E2(1 1, 1 1; q) = a^2 (2 k - 2 k cos 2 pi q) and no imaginary part, whatever the atom's position."""
    a, k = 3.0, 2.0
    cell = np.diag([a, 10.0, 10.0])
    for x in (0.0, 0.3):
        q = np.array([[0.2, 0, 0]])
        d = np.zeros((1, 3, 3), complex)
        d[0, 0, 0] = (2 * k - 2 * k * np.cos(2 * np.pi * 0.2)) / 5.0        # mass 5 amu
        b = ddb_blocks(cell, [[x, 0, 0]], [5.0], q, d, hartree_ev=1.0)[0]
        v = b["values"][(b["keys"] == [1, 1, 1, 1]).all(axis=1)][0]
        assert v == pytest.approx(a ** 2 * (2 * k - 2 * k * np.cos(2 * np.pi * 0.2)), rel=1e-14)
    # two atoms: the position phase of trajmodes' D comes off
    cell = np.diag([a, 10.0, 10.0])
    x = np.array([[0.0, 0, 0], [0.5, 0, 0]])
    q = 0.2
    # spring k between 0 and 1/2 (same cell) and between 1/2 and 1 (next cell): Phi_01(q) = -k (1 + e^{-i 2 pi q})
    phi01 = -k * (1 + np.exp(-2j * np.pi * q))
    d = np.zeros((1, 6, 6), complex)
    d[0, 0, 3] = phi01 * np.exp(2j * np.pi * q * 0.5)                      # trajmodes' phase, unit masses
    d[0, 3, 0] = np.conj(d[0, 0, 3])
    d[0, 0, 0] = d[0, 3, 3] = 2 * k
    b = ddb_blocks(cell, x, [1.0, 1.0], [[q, 0, 0]], d, hartree_ev=1.0)[0]
    v = b["values"][(b["keys"] == [1, 1, 1, 2]).all(axis=1)][0]
    assert v == pytest.approx(a ** 2 * phi01, rel=1e-14)
