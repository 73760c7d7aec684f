"""Phonons against phonopy on the same force constants (off-grid q, non-diagonal supercells)."""
import numpy as np
import pytest

from trajmodes import ForceConstants, Phonons
from tests.support.phonopy_cases import CASES, phonopy_case

phonopy = pytest.importorskip("phonopy")


def _projectors(f, e, tol=1e-4):
    """Projector onto each mode's degenerate subspace, (nq, nb, nb, nb)."""
    same = np.abs(f[:, :, None] - f[:, None, :]) < tol                   # (nq, s, s')
    pp = np.einsum("qas,qbs->qsab", e, e.conj())
    return np.einsum("qst,qtab->qsab", same.astype(float), pp)


@pytest.mark.parametrize("name", list(CASES))
def test_against_phonopy(name):
    prim, S, pot = CASES[name]
    fc, ph = phonopy_case(prim, S, **pot)
    p = Phonons(fc)
    rng = np.random.default_rng(7)
    q = np.concatenate([[[0, 0, 0], [0.5, 0.5, 0.5], [0.5, 0, 0.5]], rng.random((300, 3)) - 0.5])
    f, e = p.frequencies_and_eigenvectors(q)
    ph.run_qpoints(q, with_eigenvectors=True)
    fp, ep = ph.qpoints.frequencies, ph.qpoints.eigenvectors
    # round-off: 1e-9 THz for finite modes; acoustic zeros at Gamma are sqrt(round-off) ~ 1e-8 THz
    tol = np.where(np.abs(fp) < 1e-3, 1e-6, 1e-9)
    assert (np.abs(f - fp) < tol).all()
    assert np.abs(_projectors(f, e) - _projectors(fp, ep)).max() < 1e-6
    assert (np.abs(p.frequencies(q) - f) < tol).all()
    assert np.abs(_projectors(f[:5], p.eigenvectors(q[:5])) - _projectors(f[:5], e[:5])).max() < 1e-9
    # three zero modes at Gamma, the rest away from zero
    assert np.abs(f[0, :3]).max() < 1e-5 and (len(f[0]) == 3 or np.abs(f[0, 3:]).min() > 0.1)
    D = p.dynamical_matrix(q[:10])
    assert np.allclose(D, D.conj().transpose(0, 2, 1))


def test_default_primitive_equivalent_by_symmetry():
    """spglib's primitive basis may differ from the input's by a lattice symmetry: q in its own basis."""
    prim, S, pot = CASES["Cu-nondiag"]
    fc, ph = phonopy_case(prim, S, **pot)
    auto = ForceConstants(fc.fc2, fc.supercell)
    B = np.rint(auto.primitive.cell @ np.linalg.inv(prim.cell))          # auto = B @ prim
    assert np.allclose(B @ prim.cell, auto.primitive.cell)
    q = np.random.default_rng(3).random((40, 3))
    # the same Cartesian q: q_auto = B q_prim
    assert np.abs(Phonons(auto).frequencies(q @ B.T) - Phonons(fc).frequencies(q)).max() < 1e-9


def test_compact_layout_and_imaginary_sign():
    prim, S, pot = CASES["Si-333"]
    fc, ph = phonopy_case(prim, S, **pot)
    c = ForceConstants(fc.compact(), fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s)
    q = np.random.default_rng(1).random((50, 3))
    assert np.abs(Phonons(c).frequencies(q) - Phonons(fc).frequencies(q)).max() < 1e-9
    # this pair potential leaves diamond unstable: imaginary modes come out negative, as phonopy's
    ph.run_qpoints(q)
    f = Phonons(c).frequencies(q)
    assert f.min() < -1 and np.abs(f - ph.qpoints.frequencies).max() < 1e-6


def test_threads_bitwise_and_per_axis_phase():
    """Blocks spread over threads give the same bits whatever the thread count; the per-axis phase
    product equals e^{i 2 pi q.R} computed directly."""
    prim, S, pot = CASES["Si-333"]
    fc, _ = phonopy_case(prim, S, **pot)
    q = np.random.default_rng(4).random((1500, 3)) - 0.5
    runs = [Phonons(fc, n_threads=t, chunk=c) for t, c in ((1, 4096), (2, 4096), (3, 512), (8, 256))]
    f0, e0 = runs[0].frequencies_and_eigenvectors(q)
    fv0 = runs[0].frequencies(q)                       # eigvalsh: the same to round-off, not bitwise
    assert len(runs[2].dm.blocks(len(q))[0]) >= 2 * 2
    for p in runs[1:]:
        f, e = p.frequencies_and_eigenvectors(q)
        assert np.array_equal(f, f0) and np.array_equal(e, e0) and np.array_equal(p.frequencies(q), fv0)
    p = runs[0]
    assert np.abs(p.dm.phase(q) - np.exp(2j * np.pi * p.dm.R @ q.T)).max() < 1e-13


def test_lattice_sums_skip_the_vectors_without_constants():
    """A big supercell with constants to the first shell: the images are found for the 13 atoms the constants reach
    (the atom itself and its 12 neighbours), not the supercell's 216, and D(q), its gradient and the matrices of
    other constants equal the full sums over every pair's images (those of every atom: the third order reaches
    farther)."""
    prim, _, pot = CASES["Cu-444"]
    fc, _ = phonopy_case(prim, np.diag([6, 6, 6]), **dict(pot, cutoff=3.0, nimg=1))
    ph = Phonons(fc)
    dm = ph.dm
    assert len(dm.columns) == len(dm.R) == len(dm.live) == 13
    k, j, _, w, vec = dm.image_pairs()                                   # every atom's images
    assert len(np.unique(j)) == 216 and dm.multiplicities.shape == (1, 216)
    q = np.random.default_rng(7).random((40, 3)) - 0.5
    m = fc.primitive.masses[0]
    qc = q @ np.linalg.inv(fc.primitive.cell).T                        # Cartesian, 1/A
    full = np.einsum("p,pab,qp->qab", w, fc.compact()[k, j], np.exp(2j * np.pi * qc @ vec.T)) / m
    D = dm(q)
    assert np.abs(D - full).max() < 1e-12 * np.abs(full).max()
    # the gradient by central differences of the pruned sums
    h = 1e-6
    dD = dm.derivative(q)
    rec = fc.primitive.cell.T                                  # q_red = q_cart @ cell.T
    for x in range(3):
        num = (dm(q + h * rec[x]) - dm(q - h * rec[x])) / (2 * h)
        assert np.abs(dD[:, x] - num).max() < 1e-5 * np.abs(dD).max()
    # other constants: pruned on their own non-zero vectors; a set with a far pair keeps that vector too
    other = fc.compact().copy()
    far = int(np.argmax(np.linalg.norm(fc.supercell.positions - fc.supercell.positions[0], axis=1)))
    other[0, far] += np.eye(3) * 0.01
    both = dm.of_constants([fc.compact(), other], q)
    assert np.abs(both[:, 0] - D).max() < 1e-12
    ref = ForceConstants(np.asarray(other), fc.supercell, fc.primitive)
    assert np.abs(both[:, 1] - Phonons(ref).dm(q)).max() < 1e-12
    # the same constants given on the atoms they reach only (a big supercell's basis tensors)
    stack = np.array([fc.compact(), other])
    columns = np.flatnonzero(np.any(stack != 0, axis=(0, 1, 3, 4)))
    assert len(columns) == 14
    assert np.abs(dm.of_constants(stack[:, :, columns], q, columns=columns) - both).max() < 1e-12


def test_image_pairs_found_once_per_supercell(monkeypatch):
    """The shortest images of every pair (seconds at 10^5 atoms) are found once per supercell map: the matrices of
    other constants on the same supercell (a fit's cutoff scan, its error bars, its figure) reuse them."""
    from trajmodes.phonons.harmonic import dynamical
    prim, S, pot = CASES["Cu-444"]
    fc, _ = phonopy_case(prim, S, **pot)
    calls = []
    real = dynamical.wigner_seitz_pairs
    monkeypatch.setattr(dynamical, "wigner_seitz_pairs", lambda *a, **k: calls.append(1) or real(*a, **k))
    q = np.random.default_rng(1).random((5, 3))
    ph = Phonons(fc)
    first = ph.frequencies(q)
    scaled = ForceConstants(fc.compact() * 1.1, fc.supercell, fc.primitive, smap=fc.smap)
    ph_scaled = Phonons(scaled)
    again = ph_scaled.frequencies(q)
    assert len(calls) == 1
    # the distinct lattice vectors of the images and their phase tables too (2.5 of 3.5 s at 864,000 atoms)
    assert ph_scaled.dm._axes is ph.dm._axes
    np.testing.assert_array_equal(ph_scaled.dm.R, ph.dm.R)
    np.testing.assert_allclose(again, first * np.sqrt(1.1), rtol=1e-12)


def test_kept_tables_stay_out_of_a_pickled_supercell_map():
    """What a supercell map keeps (its site lookup, the image pairs) is not pickled with it: force constants sent to
    Dask workers carry the map's fields only, and the workers' matrices are the same."""
    import pickle
    prim, S, pot = CASES["Cu-444"]
    fc, _ = phonopy_case(prim, S, **pot)
    q = np.random.default_rng(2).random((4, 3))
    bare = len(pickle.dumps(fc.smap))
    first = Phonons(fc).frequencies(q)
    assert "_image_pairs" in fc.smap.__dict__
    assert len(pickle.dumps(fc.smap)) == bare
    shipped = pickle.loads(pickle.dumps(fc))
    assert "_image_pairs" not in shipped.smap.__dict__
    np.testing.assert_array_equal(Phonons(shipped).frequencies(q), first)
