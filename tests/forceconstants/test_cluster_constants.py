"""Force constants of any order held as their clusters (ClusterConstants: fc3 as its triplets, fc4 as its quartets), and
``ForceConstants(fc3=..., fc4=...)`` as a public input: every form a user may give, every wrong one refused naming the
argument and what to give.

Oracles: the dense compact array indexed with numpy (orders 3 and 4, small N); the forces of a Morse crystal's analytic
fourth derivatives (tests.support.morse), which do not depend on the primitive cell the constants are written on; the
crystal's own space group, which leaves those derivatives unchanged.
"""
import copy
import pickle

import numpy as np
import pytest

from tests.forceconstants.test_fc3_sparse import _random_fc3, _rocksalt
from tests.support.crystals import supercell
from tests.support.morse import pair_fc4
from trajmodes import Crystal, ForceConstants
from trajmodes.forceconstants import cluster_constants
from trajmodes.forceconstants.cluster_constants import ClusterConstants


@pytest.fixture(scope="module")
def rocksalt():
    prim = _rocksalt()
    return prim, supercell(prim, 2 * np.eye(3, dtype=int))


def _random_fc4(n, N, per_atom, seed):
    """A compact fc4 (n, N, N, N, 3, 3, 3, 3) eV/A^4, zero but at ``per_atom`` random quartets per primitive atom."""
    rng = np.random.default_rng(seed)
    fc4 = np.zeros((n, N, N, N, 3, 3, 3, 3))
    for k in range(n):
        j, l, m = (rng.choice(N, per_atom, replace=False) for _ in range(3))
        fc4[k, j, l, m] = rng.standard_normal((per_atom, 3, 3, 3, 3))
    return fc4


@pytest.mark.parametrize("order", [3, 4])
def test_one_class_holds_every_order(order):
    """The same code at orders 3 and 4: the dense array comes back bit for bit (-0.0 kept), ``at`` and ``row`` read
    the listed clusters (zeros elsewhere), clusters given out of order are sorted, a repeated one is refused naming it
    and ``summed`` adds its blocks; equality, copies and pickles keep the constants, which are unhashable (their
    arrays are)."""
    dense = (_random_fc3 if order == 3 else _random_fc4)(2, 6, 4, seed=order)
    dense[(1,) + (5,) * (order - 1) + (2,) * order] = -0.0
    c = ClusterConstants.from_dense(dense)
    assert c.order == order and len(c) == 9 and c.dense(2).tobytes() == dense.tobytes()
    assert not c.at([[0] + [3] * (order - 1)]).any() or (c.sites[:, 1:] == 3).all(axis=1).any()
    assert np.array_equal(c.at(c.sites), c.blocks) and np.array_equal(c.sites, np.argwhere(
        np.any(dense.view(np.uint64) != 0, axis=tuple(range(order, 2 * order)))))
    back = ClusterConstants(c.sites[::-1], c.blocks[::-1], 6)
    assert back == c and back is not c and not back != c
    for twin in (copy.deepcopy(c), pickle.loads(pickle.dumps(c))):
        assert twin == c and twin.blocks is not c.blocks
    assert ClusterConstants(c.sites, 2 * c.blocks, 6) != c and ClusterConstants(c.sites, c.blocks, 7) != c
    with pytest.raises(TypeError, match="unhashable"):
        hash(c)
    one = np.arange(3 ** order, dtype=float).reshape((1,) + (3,) * order)
    twice = [[0] + [1] * (order - 1)] * 2
    name = {3: "triplet", 4: "quartet"}[order]
    with pytest.raises(ValueError, match=rf"the {name} \(0, 1{', 1' * (order - 2)}\) is listed more than once"):
        ClusterConstants(twice, np.concatenate([one, one]), 6)
    summed = ClusterConstants.summed(twice + [[0] * order], np.concatenate([one, one, one]), 6)
    assert len(summed) == 2 and np.array_equal(summed.at(twice[:1]), 2 * one)


def test_rows_are_those_the_dense_scan_finds():
    """``row(k)`` gives the supercell atoms and blocks of primitive atom k's nonzero clusters in the order
    ``np.nonzero`` of the dense row finds them, at orders 3 and 4."""
    for order, make in ((3, _random_fc3), (4, _random_fc4)):
        dense = make(2, 6, 5, seed=10 + order)
        c = ClusterConstants.from_dense(dense)
        for k in range(2):
            *atoms, blocks = c.row(k)
            at = np.nonzero(np.any(dense[k] != 0, axis=tuple(range(order - 1, 2 * order - 1))))
            assert all(np.array_equal(a, b) for a, b in zip(atoms, at)) and np.array_equal(blocks, dense[k][at])


@pytest.mark.parametrize("fc3, message", [
    ("dense-wrong-shape", r"fc3 has shape \(2, 16, 16, 3, 3\); give ClusterConstants, a tuple \(sites \(T, 3\), "
                          r"blocks \(T, 3, 3, 3\)\), or the dense compact array \(2, 16, 16, 3, 3, 3\)"),
    ("blocks-too-few", r"fc3: blocks has shape \(9, 3, 3, 3\); 10 clusters of 3 atoms .* take blocks of shape "
                       r"\(10, 3, 3, 3\)"),
    ("sites-two-columns", r"fc3: sites has shape \(10, 2\); the order-3 constants take 3 atoms per cluster"),
    ("sites-out-of-range", r"fc3: the triplet \(0, 1, 16\) \(row 0 of sites\) names an atom outside the supercell: "
                           r"give the primitive atom \(0 to n_prim - 1\) first, then supercell atoms 0 to 15"),
    ("sites-negative", r"fc3: the triplet \(0, -1, 2\) \(row 0 of sites\) names an atom outside the supercell"),
    ("sites-non-integral", r"fc3: sites must hold atom indices \(integers\), not float64 values such as 1.5"),
    ("nan", r"fc3: the order-3 force constants hold NaN or infinite values \(the block of the triplet \(0, 1, 2\)\)"),
    ("duplicate", r"fc3: the triplet \(0, 1, 2\) is listed more than once: give each triplet of the order-3 "
                  r"constants once"),
    ("supercell-atom-first", r"fc3 names primitive atom 8 first in a cluster \(sites\[:, 0\]\), the primitive cell "
                             r"has 2 atoms: the first site is the primitive atom \(0 to 1, supercell atom p2s\[k\]\)"),
    ("other-supercell", r"fc3 is for a 54-atom supercell, these constants' supercell has 16 atoms: give fc3 on the "
                        r"supercell of fc2"),
    ("fourth-order", r"fc3 takes constants of order 3, not 4"),
    ("three-items", r"fc3 as a tuple is \(sites, blocks\), not 3 items"),
    ("file-name", r"fc3 must be ClusterConstants, .*; not str"),
])
def test_wrong_fc3_is_refused_naming_the_argument(rocksalt, fc3, message):
    """Every wrong fc3 a user may give by hand is refused before any work with a message that names the argument,
    what is wrong and what to give: never numpy's reshape error, never silently truncated indices."""
    prim, sc = rocksalt
    N = sc.n_atoms
    c = ClusterConstants.from_dense(_random_fc3(2, N, 5, seed=2))
    one = np.ones((1, 3, 3, 3))
    given = {
        "dense-wrong-shape": np.zeros((2, N, N, 3, 3)),
        "blocks-too-few": (c.sites, c.blocks[:-1]),
        "sites-two-columns": (c.sites[:, :2], c.blocks),
        "sites-out-of-range": ([[0, 1, N]], one),
        "sites-negative": ([[0, -1, 2]], one),
        "sites-non-integral": ([[0, 1.5, 2]], one),
        "nan": ([[0, 1, 2]], np.full((1, 3, 3, 3), np.nan)),
        "duplicate": ([[0, 1, 2], [0, 1, 2]], np.ones((2, 3, 3, 3))),
        "supercell-atom-first": ([[8, 1, 2]], one),
        "other-supercell": ClusterConstants([[0, 1, 2]], one, 54),
        "fourth-order": ClusterConstants([[0, 1, 2, 3]], np.ones((1, 3, 3, 3, 3)), N),
        "three-items": (c.sites, c.blocks, N),
        "file-name": "fc3.hdf5",
    }[fc3]
    with pytest.raises(ValueError, match=message):
        ForceConstants(np.zeros((2, N, 3, 3)), sc, prim, fc3=given)


def test_every_right_form_of_fc3_gives_the_same_constants(rocksalt, tmp_path):
    """fc3 as the dense compact or full array, as ClusterConstants, as (sites, blocks) arrays or lists, with integral
    float sites, with each block flattened (T, 27): the same triplets. No triplets at all (T = 0, also as empty lists)
    are constants whose fc3 is zero, written to fc.nc and read back as such."""
    prim, sc = rocksalt
    N = sc.n_atoms
    fc2 = np.zeros((2, N, 3, 3))
    dense = _random_fc3(2, N, 5, seed=2)
    c = ClusterConstants.from_dense(dense)
    ref = ForceConstants(fc2, sc, prim, fc3=dense).fc3_sparse
    full = np.zeros((N,) + dense.shape[1:])
    ref_fc = ForceConstants(fc2, sc, prim, fc3=c)
    full[ref_fc.p2s] = dense
    for form in (c, (c.sites, c.blocks), (c.sites.tolist(), c.blocks.tolist()), (c.sites.astype(float), c.blocks),
                 (c.sites, c.blocks.reshape(-1, 27)), full):
        assert ForceConstants(fc2, sc, prim, fc3=form).fc3_sparse == ref
    for empty in ((np.zeros((0, 3), int), np.zeros((0, 3, 3, 3))), ([], [])):
        fc = ForceConstants(fc2, sc, prim, fc3=empty)
        assert len(fc.fc3_sparse) == 0 and fc.fc3.shape == (2, N, N, 3, 3, 3) and not fc.fc3.any()
        fc.write(tmp_path / "empty.nc")
        back = ForceConstants.read(tmp_path / "empty.nc")
        assert back.fc3_sparse == fc.fc3_sparse


def test_fourth_order_is_checked_as_the_third(rocksalt):
    """fc4 goes through the same checks: a negative primitive atom (dropped in silence by the forces before) and a
    repeated quartet are refused; a dense compact fc4 is taken as its quartets."""
    prim, sc = rocksalt
    N = sc.n_atoms
    fc2 = np.zeros((2, N, 3, 3))
    one = np.ones((1, 3, 3, 3, 3))
    with pytest.raises(ValueError, match=r"fc4: the quartet \(-1, 1, 2, 3\) \(row 0 of sites\) names an atom"):
        ForceConstants(fc2, sc, prim, fc4=([[-1, 1, 2, 3]], one))
    with pytest.raises(ValueError, match=r"fc4: the quartet \(0, 1, 2, 3\) is listed more than once"):
        ForceConstants(fc2, sc, prim, fc4=([[0, 1, 2, 3]] * 2, np.concatenate([one, one])))
    dense = np.zeros((2, N, N, N, 3, 3, 3, 3))
    dense[1, 2, 3, 4] = 1.0
    assert ForceConstants(fc2, sc, prim, fc4=dense).fc4 == ClusterConstants([[1, 2, 3, 4]], one, N)


def test_fourth_order_goes_onto_another_primitive_cell_with_its_forces(rocksalt):
    """``on_primitive`` renumbers the quartets as it does the triplets (it refused fc4 before): the forces of a Morse
    crystal's analytic fourth derivatives on every supercell atom are those of the constants on the first cell, to
    round-off, and the crystal's space group leaves the moved constants unchanged as it does the first."""
    prim, sc = rocksalt
    N = sc.n_atoms
    fc = ForceConstants(np.zeros((2, N, 3, 3)), sc, prim, fc4=pair_fc4(sc, prim, D0=0.3, alpha=1.3, r0=2.82,
                                                                        cutoff=3.0))
    other = Crystal(np.array([[1, 1, 0], [0, 1, 0], [0, 0, 1]]) @ prim.cell, prim.positions[::-1], ["Cl", "Na"])
    moved = fc.on_primitive(other)
    assert not np.array_equal(moved.smap.atom[moved.p2s], fc.smap.atom[fc.p2s]) or \
        not np.array_equal(moved.p2s, fc.p2s)
    u = np.random.default_rng(7).normal(scale=0.05, size=(2, N, 3))
    f, g = fc.fc4.forces(u, fc.p2s, fc.smap), moved.fc4.forces(u, moved.p2s, moved.smap)
    assert np.abs(f).max() > 1e-3 and np.abs(f - g).max() < 1e-12 * np.abs(f).max()
    scale = np.abs(fc.fc4.blocks).max()
    assert fc.cluster_symmetry_violation(fc.fc4)[0] < 1e-10 * scale
    assert moved.cluster_symmetry_violation(moved.fc4)[0] < 1e-10 * scale
    noise = np.random.default_rng(8).standard_normal(fc.fc4.blocks.shape)
    noisy = ClusterConstants(fc.fc4.sites, fc.fc4.blocks + 0.1 * scale * noise, N)
    violation, where = fc.cluster_symmetry_violation(noisy)
    assert violation > 0.01 * scale and len(where) == 2 + 3


def test_dense_fc3_of_a_4096_atom_cell_says_its_size_first(monkeypatch):
    """``fc.fc3`` of 4096 atoms (fcc 16 x 16 x 16, one triplet) would be 3.6 GB: with 4 GB available it is refused
    before anything is allocated, naming the array, its size and the triplets to use instead; an array above
    DENSE_WARN_BYTES is built with a warning that says its size."""
    from tests.support.crystals import FCC
    from trajmodes import resources
    prim = Crystal(FCC, [[0, 0, 0]], ["Cu"])
    sc = prim.supercell(16 * np.eye(3, dtype=int))
    N = sc.n_atoms
    fc = ForceConstants(np.zeros((1, N, 3, 3)), sc, prim, fc3=([[0, 1, 2]], np.ones((1, 3, 3, 3))))
    monkeypatch.setattr(resources, "available_memory", lambda: 4 * 10 ** 9)
    with pytest.raises(MemoryError, match=r"the dense fc3 \(ForceConstants.fc3\) \(1, 4096, 4096, 3, 3, 3\) need "
                                          r"about 3.6 GB, more than 50% of the 4.0 GB available: use their 1 "
                                          r"triplets \(sites and blocks"):
        fc.fc3
    prim2 = _rocksalt()
    small = ForceConstants(np.zeros((2, 16, 3, 3)), supercell(prim2, 2 * np.eye(3, dtype=int)), prim2,
                           fc3=([[0, 1, 2]], np.ones((1, 3, 3, 3))))
    monkeypatch.setattr(cluster_constants, "DENSE_WARN_BYTES", 1000)
    with pytest.warns(UserWarning, match=r"building the dense fc3 \(ForceConstants.fc3\) \(2, 16, 16, 3, 3, 3\): "
                                         r"0.000111 GB"):
        assert small.fc3.sum() == 27.0
