"""Third-order constants held as their triplets (ClusterConstants, ForceConstants.fc3_sparse): the dense compact array
(n_prim, N, N, 3, 3, 3) is built only where a caller asks for ``fc.fc3``.

Oracles: the dense route of the earlier storage, written out here (the compact array indexed with numpy), at small N;
at a few thousand atoms, tracemalloc's peak against the dense array's size (numpy reports its allocations to
tracemalloc, np.zeros included, whether or not the pages are touched).
"""

import tracemalloc

import numpy as np
import pytest

from trajmodes import Crystal, ForceConstants
from trajmodes.forceconstants.cluster_constants import ClusterConstants
from tests.support.crystals import FCC, supercell

A_NACL = 5.64


def _rocksalt():
    return Crystal(FCC / 3.615 * A_NACL, [[0, 0, 0], [A_NACL / 2, 0, 0]], ["Na", "Cl"])


def _random_fc3(n, N, n_triplets, seed):
    """A compact fc3 (n, N, N, 3, 3, 3) eV/A^3, zero but at ``n_triplets`` random triplets per primitive atom."""
    rng = np.random.default_rng(seed)
    fc3 = np.zeros((n, N, N, 3, 3, 3))
    for k in range(n):
        j, l = rng.choice(N, n_triplets, replace=False), rng.choice(N, n_triplets, replace=False)
        fc3[k, j, l] = rng.standard_normal((n_triplets, 3, 3, 3))
    return fc3


def test_cubic_constants_give_the_dense_array_back_bit_for_bit():
    """from_dense -> dense is the identity bit for bit (-0.0 kept as a triplet); ``at`` reads listed triplets and
    zeros; triplets given out of order are sorted, a triplet given twice is refused naming it."""
    fc3 = _random_fc3(2, 6, 4, seed=1)
    fc3[1, 5, 5, 2, 1, 0] = -0.0
    c = ClusterConstants.from_dense(fc3)
    assert len(c) == 9 and c.dense(2).tobytes() == fc3.tobytes()
    assert np.signbit(c.dense(2)[1, 5, 5, 2, 1, 0])
    empty = np.argwhere(~np.any(fc3 != 0, axis=(3, 4, 5)))[:3]
    assert np.array_equal(c.at(c.sites), c.blocks) and not c.at(empty).any()
    back = ClusterConstants(c.sites[::-1], c.blocks[::-1], 6)
    assert np.array_equal(back.sites, c.sites) and np.array_equal(back.blocks, c.blocks)
    none = ClusterConstants.from_dense(np.zeros((1, 6, 6, 3, 3, 3)))            # constants whose fc3 is all zeros
    assert len(none) == 0 and len(none.nonzero()) == 0 and not none.at([[0, 1, 2]]).any()
    assert none.dense(1).shape == (1, 6, 6, 3, 3, 3) and not none.dense(1).any()
    with pytest.raises(ValueError, match=r"triplet \(0, 1, 2\) is listed more than once"):
        ClusterConstants([[0, 1, 2], [0, 1, 2]], np.ones((2, 3, 3, 3)), 6)
    with pytest.raises(ValueError, match="NaN or infinite"):
        ClusterConstants([[0, 1, 2]], np.full((1, 3, 3, 3), np.nan), 6)


def test_sparse_and_dense_fc3_give_the_same_constants_files_and_copies(tmp_path):
    """At small N the triplets do what the dense array did: ``fc.fc3`` is the array given, read-only; fc.nc written
    from the triplets holds the triplets and blocks the dense route wrote and reads back the same; ``on_primitive`` (the
    atoms in another order, another basis) and the copies of ``symmetrize`` / ``with_convention`` carry the third
    order as the dense indexing of the earlier code does."""
    prim = _rocksalt()
    sc = supercell(prim, 2 * np.eye(3, dtype=int))
    n, N = prim.n_atoms, sc.n_atoms
    fc3 = _random_fc3(n, N, 5, seed=2)
    dense = ForceConstants(np.zeros((n, N, 3, 3)), sc, prim, fc3=fc3)
    sparse = ForceConstants(np.zeros((n, N, 3, 3)), sc, prim, fc3=ClusterConstants.from_dense(fc3))
    for fc in (dense, sparse):
        assert fc.fc3.tobytes() == fc3.tobytes() and not fc.fc3.flags.writeable
        assert len(fc.fc3_sparse) == 2 * 5
    sparse.write(tmp_path / "fc.nc")
    back = ForceConstants.read(tmp_path / "fc.nc")
    assert np.array_equal(back.fc3_sparse.sites, np.argwhere(np.any(fc3 != 0, axis=(3, 4, 5))))
    assert back.fc3.tobytes() == fc3.tobytes()
    assert sparse.symmetrize().fc3.tobytes() == fc3.tobytes()
    assert sparse._with(sparse.fc2).fc3 is sparse.fc3                  # the copy shares the dense array it built

    other = Crystal(np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]]) @ prim.cell, prim.positions[::-1], ["Cl", "Na"])
    moved = sparse.on_primitive(other)
    p2s = moved.p2s
    old = sparse.smap.atom[p2s]
    j = sparse.compact_columns(p2s[:, None, None], np.arange(N)[None, :, None])
    k = sparse.compact_columns(p2s[:, None, None], np.arange(N)[None, None, :])
    expected = fc3[old[:, None, None], j, k]                          # the earlier dense route
    assert not np.array_equal(old, np.arange(n))                      # the rows did move
    assert moved.fc3.tobytes() == expected.tobytes()


def test_fc3_of_a_large_supercell_is_built_written_and_read_without_the_dense_array(tmp_path):
    """2744 atoms (fcc 14 x 14 x 14) with 84 triplets: the dense compact fc3 would be 1.6 GB; building the constants
    from their triplets, writing fc.nc and reading it back allocate under 40 MB in all, and what comes back is the
    triplets given."""
    prim = Crystal(FCC, [[0, 0, 0]], ["Cu"])
    sc = prim.supercell(14 * np.eye(3, dtype=int))
    N = sc.n_atoms
    dense_bytes = 216 * N * N
    assert dense_bytes > 1.5e9
    rng = np.random.default_rng(4)
    sites = np.column_stack([np.zeros(84, int), rng.choice(N, 84, replace=False), rng.choice(N, 84, replace=False)])
    blocks = rng.standard_normal((84, 3, 3, 3))
    fc2 = np.zeros((1, N, 3, 3))
    smap = sc.supercell_map(prim)
    tracemalloc.start()
    try:
        fc = ForceConstants(fc2, sc, prim, smap=smap, fc3=(sites, blocks))
        fc.write(tmp_path / "fc.nc")
        back = ForceConstants.read(tmp_path / "fc.nc")
        repr(back)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 40e6 < dense_bytes / 40, f"peak {peak / 1e6:.0f} MB"
    order = np.lexsort(sites.T[::-1])
    assert np.array_equal(back.fc3_sparse.sites, sites[order])
    assert back.fc3_sparse.blocks.tobytes() == blocks[order].tobytes()


def _dense_symmetry_violation(fc: ForceConstants, fc3: np.ndarray):
    """fc3_symmetry_violation of the earlier dense route: every (j, k) of every row, per operation."""
    ops = fc.operations()
    worst, where = 0.0, None
    for g, R in enumerate(ops.rotations):
        rows = ops.perm[g, fc.p2s]
        cols = fc.compact_columns(rows[:, None], ops.perm[g][None, :])
        K = np.kron(np.kron(R, R), R)
        for i in range(len(rows)):
            X = fc3[fc.smap.atom[rows[i]]][cols[i][:, None], cols[i][None, :]]
            diff = np.abs((X.reshape(-1, 27) @ K).reshape(X.shape) - fc3[i])
            at = int(np.argmax(diff))
            if diff.flat[at] > worst:
                worst, where = float(diff.flat[at]), (g, i) + tuple(int(x) for x in np.unravel_index(at, X.shape)[:2])
    return worst, where


def test_fc3_symmetry_violation_from_the_triplets(monkeypatch):
    """The check that refuses another crystal's fc3 reads the triplets, never the dense array, and finds the violation
    and its place (operation, primitive atom, two supercell atoms; the message names them) of the dense route bit for
    bit: for random triplets (far from symmetric), for the same ones made symmetric by the crystal's operations, for
    a single triplet, and (0, None) for all-zero blocks."""
    from tests.forceconstants.test_fc3_io import pair_fc23
    prim = _rocksalt()
    sc = supercell(prim, 2 * np.eye(3, dtype=int))
    n, N = prim.n_atoms, sc.n_atoms
    fc2, morse = pair_fc23(sc, D0=0.3, alpha=1.3, r0=2.82, cutoff=3.5)
    symmetric = ForceConstants(fc2, sc, prim, fc3=morse).fc3
    one = np.zeros_like(symmetric)
    one[1, 3, 7] = np.arange(27.0).reshape(3, 3, 3)
    cases = {"random": _random_fc3(n, N, 5, seed=3), "symmetric": symmetric, "one": one,
             "symmetric + noise": symmetric + 1e-6 * (symmetric != 0) * np.random.default_rng(5).standard_normal(
                 symmetric.shape), "zero": np.zeros_like(symmetric)}
    expected = {name: _dense_symmetry_violation(ForceConstants(fc2, sc, prim, fc3=fc3), fc3)
                for name, fc3 in cases.items()}

    def dense(self, n_prim, what=None):
        raise AssertionError("fc3_symmetry_violation built the dense fc3")

    monkeypatch.setattr(ClusterConstants, "dense", dense)
    for name, fc3 in cases.items():
        fc = ForceConstants(fc2, sc, prim, fc3=ClusterConstants.from_dense(fc3))
        assert fc.fc3_symmetry_violation() == expected[name], name
    assert expected["random"][0] > 1.0 and expected["one"][0] > 1.0 and expected["zero"] == (0.0, None)
    assert expected["symmetric"][0] < 1e-10 * np.abs(symmetric).max() < expected["symmetric + noise"][0]
