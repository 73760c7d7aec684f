"""Space-group symmetrisation of force constants (with the sum rule), against phonopy's."""
import numpy as np
import pytest

from trajmodes import Crystal, ForceConstants, Phonons
from tests.support.crystals import FCC, NONDIAG, supercell
from tests.support.crystals import diamond_si
from tests.support.morse import morse_fc

phonopy = pytest.importorskip("phonopy")

SI_POT = dict(D0=2.0, alpha=1.5, r0=2.35, cutoff=9.0)
CU = Crystal(FCC, [[0, 0, 0]], ["Cu"])


def _fc(prim, S, seed=1, **pot):
    sc = supercell(prim, S, shuffle_seed=seed)
    return ForceConstants(morse_fc(sc, **pot), sc, prim)


@pytest.fixture(scope="module", params=["Cu-444", "Cu-nondiag", "Si-333"])
def clean(request):
    return {"Cu-444": lambda: _fc(CU, np.diag([4, 4, 4])),
            "Cu-nondiag": lambda: _fc(CU, NONDIAG),
            "Si-333": lambda: _fc(diamond_si(), np.diag([3, 3, 3]), **SI_POT)}[request.param]()


def _noisy(fc, seed=0, compact=False):
    rng = np.random.default_rng(seed)
    a = fc.compact() if compact else fc.fc2
    return ForceConstants(a + rng.normal(0, 1e-3, a.shape), fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s)


def test_operations(clean):
    ops = clean.operations()
    assert len(ops.rotations) == 48
    assert np.abs(np.einsum("oab,ocb->oac", ops.rotations, ops.rotations) - np.eye(3)).max() < 1e-12
    # every permutation is one-to-one and moves positions as the operation says (mod the supercell)
    sc, pos = clean.supercell, clean.supercell.positions
    for R, p in zip(ops.rotations[::7], ops.perm[::7]):
        assert len(np.unique(p)) == len(p)
        d = (pos[p] - pos[p[clean.p2s[0]]]) - (pos - pos[clean.p2s[0]]) @ R.T
        f = d @ np.linalg.inv(sc.cell)
        assert np.abs(f - np.rint(f)).max() < 1e-9
    # a supercell that breaks the cubic symmetry keeps only the operations of its own lattice
    assert len(_fc(CU, np.diag([1, 1, 2]), nimg=2).operations().rotations) < 48


def test_symmetric_constants_unchanged(clean):
    assert clean.symmetry_violation() < 1e-12
    s = clean.symmetrize()
    assert s.layout == "full" and np.abs(s.fc2 - clean.fc2).max() < 1e-12


@pytest.mark.parametrize("compact", [False, True])
def test_noise_is_projected_out(clean, compact):
    noisy = _noisy(clean, compact=compact)
    assert noisy.symmetry_violation() > 1e-3
    s = noisy.symmetrize()
    assert s.layout == noisy.layout
    assert s.symmetry_violation() < 1e-12 and s.asr_violation() < 1e-12
    full = s.full()
    assert np.abs(full - full.transpose(1, 0, 3, 2)).max() < 1e-12
    ref = clean.compact() if compact else clean.fc2
    # closer to the clean constants: by ~1/sqrt(orbit size), the lattice translations adding to it in full
    assert np.linalg.norm(s.fc2 - ref) < (0.5 if compact else 0.1) * np.linalg.norm(noisy.fc2 - ref)
    # a projection: idempotent
    assert np.abs(s.symmetrize().fc2 - s.fc2).max() < 1e-12


def test_degeneracies_at_X_and_L():
    clean = _fc(CU, np.diag([4, 4, 4]))
    q = np.array([[0.5, 0, 0.5], [0.5, 0.5, 0.5]])                       # X, L
    f0 = Phonons(_noisy(clean)).frequencies(q)
    assert np.abs(f0[:, 1] - f0[:, 0]).min() > 1e-4                   # noise lifts the degeneracy
    f = Phonons(_noisy(clean).symmetrize()).frequencies(q)
    assert np.abs(f[:, 1] - f[:, 0]).max() < 1e-10
    assert np.abs(f - Phonons(clean).frequencies(q)).max() < 0.05


def test_same_as_phonopy_space_group_average():
    """phonopy's average over the supercell's space group (lattice translations included), then our
    sum-rule projection, is our result: the definitions agree (phonopy's alone does not impose the sum rule)."""
    from phonopy.harmonic.force_constants import symmetrize_force_constants_by_space_group
    from tests.support.phonopy_cases import phonopy_case
    fc, ph = phonopy_case(diamond_si(), np.diag([3, 3, 3]), **SI_POT)
    noisy = _noisy(fc, seed=4)
    a = np.array(noisy.fc2, order="C")
    symmetrize_force_constants_by_space_group(a, np.asarray(ph.supercell.cell), ph.symmetry)
    theirs = ForceConstants(a, fc.supercell, fc.primitive, smap=fc.smap, p2s=fc.p2s)
    assert theirs.symmetry_violation() < 1e-12
    assert np.abs(theirs.symmetrize_asr().fc2 - noisy.symmetrize().fc2).max() < 1e-12


def test_noisy_reference_and_born():
    """An MD-like reference (atoms 0.01 A off their sites) with symprec above the noise; Born
    charges and the dielectric tensor are averaged too."""
    prim = diamond_si()
    sc0 = supercell(prim, np.diag([2, 2, 2]), shuffle_seed=3)
    rng = np.random.default_rng(2)
    sc = Crystal(sc0.cell, sc0.positions + rng.normal(0, 0.01, sc0.positions.shape), sc0.species)
    born = np.array([np.eye(3), -np.eye(3)]) * 0.1 + rng.normal(0, 1e-2, (2, 3, 3))
    eps = np.eye(3) * 12 + rng.normal(0, 1e-2, (3, 3))
    with pytest.warns(UserWarning) as noted:     # the noise of the charge sum and of eps^T corrected, with a note
        fc = ForceConstants(morse_fc(sc0, **SI_POT, nimg=2) + rng.normal(0, 1e-3, (16, 16, 3, 3)), sc,
                            symprec=0.1, born=born, epsilon=eps)
    assert {"charge-neutrality", "not symmetric"} <= {w for r in noted for w in ("charge-neutrality", "not symmetric")
                                                      if w in str(r.message)}
    s = fc.symmetrize(symprec=0.1)
    assert s.symmetry_violation(symprec=0.1) < 1e-12 and s.asr_violation() < 1e-12
    assert np.abs(s.epsilon - np.eye(3) * np.trace(s.epsilon) / 3).max() < 1e-12
    assert np.abs(s.born - np.eye(3) * np.trace(s.born, axis1=1, axis2=2)[:, None, None] / 3).max() < 1e-12
