"""Mode Grueneisen parameters from fc3: agreement with phono3py on force constants fitted to the shipped
LAMMPS runs (Si, Cu) and on a low-symmetry Morse crystal with internal relaxation; exact scaling; and a
finite-difference oracle gamma = -(V / omega) d omega / dV on a Morse crystal strained by +-eta."""
import shutil

import numpy as np
import pytest

from tests.support.crystals import CU, supercell
from tests.support.morse import morse_fc, pair_fc3
from tests.support.paths import EXAMPLES
import trajmodes
from trajmodes import Crystal, ForceConstants, Phonons
from trajmodes.lattice.qpoints import mesh_qpoints
from trajmodes.phonons.anharmonic.gruneisen import internal_strain, mean_image_vectors, mode_gruneisen

FITS = {"si": dict(cutoff2=6.0, cutoff3=4.0), "cu": dict(cutoff2=5.0, cutoff3=3.0)}
RNG_Q = np.random.default_rng(7).random((6, 3)) - 0.5
SPECIAL = np.array([[0, 0, 0], [0.5, 0, 0], [0.5, 0.5, 0], [0.5, 0.25, 0.75], [0.375, 0.375, 0.75],
                    [1e-3, 0, 0]])


def with_fc3(fc: ForceConstants, fc3) -> ForceConstants:
    return ForceConstants(fc.fc2, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s, fc3=fc3)


@pytest.fixture(scope="module", params=sorted(FITS))
def fitted(request, tmp_path_factory):
    """Force constants with fc3 fitted to the shipped MD run (Stillinger-Weber Si, EAM Cu), read from a
    private copy (the reader writes an index beside the dump)."""
    name = request.param
    d = tmp_path_factory.mktemp(f"md_{name}")
    for ext in (".lammpstrj.gz", ".data"):
        shutil.copy2(EXAMPLES / "md" / f"{name}_300K{ext}", d)
    traj = trajmodes.read(d / f"{name}_300K.lammpstrj.gz", reference=d / f"{name}_300K.data")
    fc = trajmodes.EffectiveForceConstants(mode="sequential", **FITS[name]).fit(traj).force_constants_
    return name, fc, Phonons(fc)


def phono3py_gruneisen(fc: ForceConstants, qpoints) -> np.ndarray:
    """Trace / 3 of phono3py's mode Grueneisen tensors on the same fc2 and fc3 (nq, 3n).

    phono3py's ``Gruneisen`` reads only the rows p2s of a full fc3; handing it a full array that is zero
    elsewhere (pages never touched, so never allocated) skips its expansion of the compact layout, which
    takes seconds and gigabytes."""
    phonopy_atoms = pytest.importorskip("phonopy.structure.atoms")
    cells = pytest.importorskip("phonopy.structure.cells")
    gruneisen = pytest.importorskip("phono3py.phonon3.gruneisen")
    sc = fc.supercell
    atoms = phonopy_atoms.PhonopyAtoms(cell=sc.cell, positions=sc.positions, masses=sc.masses,
                                       numbers=np.ones(sc.n_atoms, dtype=int))
    prim = cells.Primitive(atoms, np.linalg.inv(fc.smap.matrix).T)
    assert np.array_equal(prim.p2s_map, fc.p2s)
    full = np.zeros((sc.n_atoms,) + fc.fc3.shape[1:])
    full[fc.p2s] = fc.fc3
    g = gruneisen.Gruneisen(fc.compact(), full, atoms, prim)
    g.set_qpoints(np.asarray(qpoints, dtype=float))
    g.run()
    return np.einsum("qsii->qs", g.gruneisen_parameters) / 3


def assert_close(ours, ref, rtol=1e-6, atol=1e-8):
    diff = np.abs(ours - ref)
    assert (diff <= np.maximum(rtol * np.abs(ref), atol)).all(), \
        f"max |diff| {diff.max():.3g}, max rel {(diff / np.maximum(np.abs(ref), atol)).max():.3g}"


@pytest.mark.slow
def test_equal_to_phono3py_fitted(fitted):
    """Arbitrary q, special points (degenerate subspaces, Gamma, near Gamma) and a 4x4x4 mesh."""
    name, fc, ph = fitted
    q = np.concatenate([RNG_Q, SPECIAL, mesh_qpoints([4, 4, 4])])
    ours = mode_gruneisen(ph, fc, q, degeneracy_tol=0.0)
    ref = phono3py_gruneisen(fc, q)
    f = ph.frequencies(q)
    assert (f[:, 3:] > 1.0).all() and np.abs(ref).max() > 0.5              # no cutoff in play off Gamma
    assert_close(ours, ref)
    # symmetry degeneracies (Gamma, X, L, ...) give equal parameters in any basis: the default tolerance
    # changes only near-degenerate modes (near Gamma), and keeps their sums over each subspace
    default = mode_gruneisen(ph, fc, q)
    near = np.abs(default - ours) > 1e-8
    assert near.sum() <= 3 and (not near.any() or np.allclose(q[near.any(axis=1)], [1e-3, 0, 0]))
    np.testing.assert_allclose(default.sum(axis=1), ours.sum(axis=1), rtol=1e-12, atol=1e-12)
    # plausible: Cu's about 2 throughout, Si's TA branches negative towards the zone boundary
    if name == "cu":
        assert 1.0 < ours[:6].min() and ours.max() < 3.0
    else:
        assert ours.min() < 0 and 0.5 < ours[:6, -1].min()


# -- Morse crystals --------------------------------------------------------------------------------------

MORSE = dict(D0=0.3429, alpha=1.3588, r0=2.866)
#: fcc as a conventional 3x3x3 supercell (108 atoms): three neighbour shells (cutoff 4.7 A) lie well inside
#: its Wigner-Seitz cell, so every pair has one shortest image and the lattice sums are exact
CONV3 = 3 * np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]])


def morse_crystal(prim: Crystal, S, scale=1.0, cutoff=4.7, nimg=1) -> ForceConstants:
    """fc2 and fc3 of the Morse pair potential on the supercell S of ``prim`` uniformly scaled by ``scale``."""
    p = Crystal(prim.cell * scale, prim.positions * scale, prim.species, prim.masses)
    sc = supercell(p, S)
    return ForceConstants(morse_fc(sc, cutoff=cutoff, nimg=nimg, **MORSE), sc, p,
                          fc3=pair_fc3(sc, p, cutoff=cutoff, nimg=nimg, **MORSE))


@pytest.fixture(scope="module")
def fcc():
    fc = morse_crystal(CU, CONV3)
    return fc, Phonons(fc)


def test_finite_difference_of_strained_lattice(fcc):
    """gamma = -d ln nu / (3 d eta) by central differences over the fcc Morse lattices scaled by 1 +- eta,
    at fixed reduced q (an error of order eta^2)."""
    fc, ph = fcc
    q = np.random.default_rng(3).random((8, 3)) - 0.5
    g = mode_gruneisen(ph, fc, q)
    eta = 1e-4
    nu = [Phonons(morse_crystal(CU, CONV3, 1 + s * eta)).frequencies(q) for s in (1, -1)]
    fd = -(np.log(nu[0]) - np.log(nu[1])) / (6 * eta)
    assert np.abs(g).min() > 0.5
    np.testing.assert_allclose(g, fd, rtol=1e-6)


def test_scaling_and_zero_fc3(fcc):
    """gamma is linear in fc3: 2.5 fc3 gives 2.5 gamma, -fc3 gives -gamma, fc3 = 0 gives zero."""
    fc, ph = fcc
    q = np.concatenate([RNG_Q, SPECIAL])
    g = mode_gruneisen(ph, fc, q)
    assert np.abs(g).max() > 0.5
    np.testing.assert_allclose(mode_gruneisen(ph, with_fc3(fc, 2.5 * fc.fc3), q), 2.5 * g, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(mode_gruneisen(ph, with_fc3(fc, -fc.fc3), q), -g, rtol=1e-9, atol=1e-12)
    assert np.all(mode_gruneisen(ph, with_fc3(fc, np.zeros_like(fc.fc3)), q) == 0.0)


def test_gamma_point_and_cutoff(fcc):
    """The acoustic branches at Gamma and at reciprocal lattice vectors are zero (phono3py returns round-off
    noise divided by a vanishing omega^2 at the latter); a cutoff above every frequency zeroes everything;
    a single q-point (3,) is accepted."""
    fc, ph = fcc
    g = mode_gruneisen(ph, fc, [[0, 0, 0], [1, -1, 0], [0, 0, 2]])
    assert np.all(g == 0.0)                                                    # one atom: acoustic only
    assert np.all(mode_gruneisen(ph, fc, RNG_Q, cutoff_frequency=100.0) == 0.0)
    np.testing.assert_array_equal(mode_gruneisen(ph, fc, RNG_Q[0]), mode_gruneisen(ph, fc, RNG_Q[:1]))


def test_errors(fcc):
    fc, ph = fcc
    with pytest.raises(ValueError, match="third-order"):
        mode_gruneisen(ph, with_fc3(fc, None), RNG_Q)
    other = Phonons(ForceConstants(np.zeros((1, 8, 3, 3)), supercell(CU, 2 * np.eye(3, dtype=int)), CU))
    with pytest.raises(ValueError, match="different supercells"):
        mode_gruneisen(other, fc, RNG_Q)


def test_degenerate_subspaces_equal_to_phono3py(fcc):
    """At X, L and along Lambda and Delta the transverse branches are degenerate by symmetry: the parameters
    (eigenvalues within each subspace) equal phono3py's diagonal elements in its own basis."""
    fc, ph = fcc
    q = np.array([[0.5, 0, 0.5], [0.25, 0.25, 0.25], [0.5, 0.5, 0.5], [0.2, 0, 0.2]])
    nu = ph.frequencies(q)
    assert (np.abs(np.diff(nu, axis=1)) < 1e-8).any(axis=1).all()
    assert_close(mode_gruneisen(ph, fc, q), phono3py_gruneisen(fc, q))
    q = np.concatenate([RNG_Q, mesh_qpoints([3, 3, 3])])
    assert_close(mode_gruneisen(ph, fc, q), phono3py_gruneisen(fc, q))


def test_internal_strain_equal_to_phono3py():
    """Two unlike atoms in a triclinic cell (Morse, not at equilibrium): a hydrostatic strain relaxes the
    sublattices (X non-zero, symmetric in no way), and the parameters still agree with phono3py."""
    cell = np.array([[2.9, 0.1, 0.2], [0.3, 3.1, -0.1], [0.2, 0.4, 3.3]])
    prim = Crystal(cell, np.array([[0, 0, 0], [0.47, 0.41, 0.55]]) @ cell, ["A", "B"], masses=[20.0, 63.5])
    fc = morse_crystal(prim, 3 * np.eye(3, dtype=int), cutoff=4.5, nimg=2)
    ph = Phonons(fc)
    X = internal_strain(ph)
    assert X.shape == (2, 3, 3, 3) and np.abs(np.einsum("kacc->ka", X)).max() > 0.05
    # the relaxation cancels the strain-induced forces on the sublattices (translations aside)
    force = np.einsum("kjab,kjc->kabc", fc.compact(), mean_image_vectors(ph))
    relax = np.einsum("kjab,jbcd->kacd", fc.compact(), X[fc.smap.atom])
    residual = force + relax
    assert np.abs(residual - residual.mean(axis=0)).max() < 1e-10 * np.abs(force).max()
    q = np.concatenate([RNG_Q, SPECIAL[1:5]])
    ours, ref = mode_gruneisen(ph, fc, q), phono3py_gruneisen(fc, q)
    live = ph.frequencies(q) > 1e-4
    assert live.mean() > 0.5
    assert_close(ours[live], ref[live])
    assert np.all(ours[~live] == 0.0)


def test_from_the_triplets_without_a_dense_fc3(fcc, monkeypatch):
    """The volume derivative sums over the triplets of ``fc3_sparse``: the dense (n_prim, N, N, 3, 3, 3) array is
    never built (it is 3.5 GB for one primitive atom of a 4,000-atom supercell), and the parameters are those of
    the same constants read dense before."""
    from trajmodes.forceconstants.cluster_constants import ClusterConstants
    fc, ph = fcc
    q = np.concatenate([RNG_Q, SPECIAL])
    g = mode_gruneisen(ph, fc, q)
    fresh = with_fc3(fc, fc.fc3_sparse)

    def dense(self, n_prim, what=None):
        raise AssertionError("mode_gruneisen built the dense fc3")

    monkeypatch.setattr(ClusterConstants, "dense", dense)
    np.testing.assert_array_equal(mode_gruneisen(ph, fresh, q), g)
    assert np.abs(g).max() > 0.5
