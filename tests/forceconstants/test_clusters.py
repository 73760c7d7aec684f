"""Cluster orbits and the symmetry-reduced force-constant basis (trajmodes.forceconstants.clusters)."""
import time

import numpy as np
import pytest

from trajmodes import Crystal, ForceConstants
from trajmodes.forceconstants.clusters import build_basis
from tests.support.crystals import CU, MORSE_SI, NONDIAG, diamond_si, supercell
from tests.support.morse import morse_fc, pair_fc3

@pytest.fixture(scope="module")
def si3():
    prim = diamond_si()
    sc = supercell(prim, np.diag([3, 3, 3]), shuffle_seed=2)
    t = time.perf_counter()
    b = build_basis(sc, 3, 5.0, primitive=prim)
    return b, time.perf_counter() - t, sc, prim


def _structure_checks(b):
    s = b.sites
    assert s.shape[1] == b.order and s.dtype.kind == "i"
    assert np.all((s[:, 0] >= 0) & (s[:, 0] < b.n_prim)) and np.all(s[:, 1:] < b.n_atoms)
    keys = np.ravel_multi_index(tuple(s.T), (b.n_prim,) + (b.n_atoms,) * (b.order - 1))
    assert np.all(np.diff(keys) > 0)                                   # sorted, no duplicates
    assert b.E.shape == (len(s) * 3 ** b.order, b.n_params)
    for k in range(b.n_prim):                                          # self terms present
        assert (s[:, 1:] == b.p2s[k]).all(axis=1)[s[:, 0] == k].any()


def test_counts_fcc_second_order():
    sc = supercell(CU, np.diag([5, 5, 5]), shuffle_seed=1)
    b = build_basis(sc, 2, 4.8, primitive=CU)                          # between 3rd (4.43) and 4th (5.11) shell
    assert (b.n_raw, b.n_params) == (10, 9)
    assert len(b.sites) == 1 + 12 + 6 + 24 and b.n_orbits == 4
    _structure_checks(b)
    assert (build_basis(sc, 2, 4.8, primitive=CU, asr=False).n_params) == 10
    # a noisy MD reference: the ideal sites are used, the same basis comes out
    noisy = Crystal(sc.cell, sc.positions + np.random.default_rng(0).normal(0, 0.02, sc.positions.shape), sc.species)
    bn = build_basis(noisy, 2, 4.8, primitive=CU)
    assert np.array_equal(bn.sites, b.sites) and (bn.E != b.E).nnz == 0


def test_counts_diamond_third_order(si3):
    b, dt, _, _ = si3
    assert (b.n_raw, b.n_params) == (95, 82)
    assert dt < 10, f"building the basis took {dt:.2f} s"
    _structure_checks(b)
    s = b.sites
    assert set(map(tuple, s)) == set(map(tuple, s[:, [0, 2, 1]]))      # both orders of j, l


def test_cutoff_too_long():
    sc = supercell(CU, np.diag([4, 4, 4]))                             # shortest lattice vector 10.2 A
    with pytest.raises(ValueError, match="half the shortest supercell lattice vector"):
        build_basis(sc, 2, 5.2, primitive=CU)
    with pytest.raises(ValueError, match="order"):
        build_basis(sc, 5, 3.0, primitive=CU)


@pytest.mark.parametrize("case", ["cu555", "si333", "fcc_nondiag", "fcc_skew"])
def test_morse_fc2_in_span(case):
    if case == "si333":
        prim, S, pot, cut = diamond_si(), np.diag([3, 3, 3]), dict(MORSE_SI, cutoff=4.8), 5.0
    else:
        S, pot, cut = {"cu555": (np.diag([5, 5, 5]), dict(cutoff=4.7), 4.8),
                       "fcc_nondiag": (NONDIAG, dict(cutoff=2.9), 3.0),
                       "fcc_skew": (np.array([[4, 1, 0], [0, 4, 1], [1, 0, 4]]), dict(cutoff=4.0), 4.3)}[case]
        prim = CU
    sc = supercell(prim, S, shuffle_seed=5)
    fc = ForceConstants(morse_fc(sc, **pot, nimg=1), sc, prim)
    b = build_basis(fc, 2, cut)
    assert np.array_equal(b.p2s, fc.p2s)
    if case == "fcc_nondiag":
        assert (b.n_raw, b.n_params) == (4, 3)
    if case == "fcc_skew":                                             # crystal symmetry, not the supercell's
        assert (b.n_raw, b.n_params) == (6, 5)                        # self, 1st (3), 2nd shell (2)
        assert len(fc.operations().rotations) < 48
    p = b.project(fc.compact())
    assert np.abs(b.to_compact(p) - fc.compact()).max() < 1e-10
    assert np.abs(b.project(fc.full()) - p).max() < 1e-10             # full layout accepted too


def test_pair_fc3_helper_is_the_derivative_of_fc2():
    prim = diamond_si()
    sc = supercell(prim, np.diag([2, 2, 2]))
    pot = dict(MORSE_SI, cutoff=4.0)
    fc3 = pair_fc3(sc, prim, **pot, nimg=2)
    fc = ForceConstants(np.zeros((2, sc.n_atoms, 3, 3)), sc, prim)
    h = 1e-4
    near = np.argsort(-np.abs(fc3).max(axis=(0, 1, 3, 4, 5)))
    near = near[~np.isin(near, fc.p2s)][0]                            # some neighbour of a row atom
    assert np.abs(fc3[:, :, near]).max() > 1.0
    for l, c in ((fc.p2s[0], 2), (near, 0), (fc.p2s[1], 1)):
        def fc2(step):
            pos = sc.positions.copy()
            pos[l, c] += step
            return morse_fc(Crystal(sc.cell, pos, sc.species), **pot, nimg=2)[fc.p2s]
        num = (fc2(h) - fc2(-h)) / (2 * h)
        assert np.abs(num - fc3[:, :, l, :, :, c]).max() < 1e-6


def test_pair_fc3_in_span(si3):
    b, _, sc, prim = si3
    fc3 = pair_fc3(sc, prim, **MORSE_SI, cutoff=4.8)                   # 3 shells: 2.35, 3.84, 4.50 A
    assert np.abs(fc3).max() > 1.0
    assert np.abs(fc3.sum(axis=2)).max() < 1e-10                       # the helper obeys the sum rule
    p = b.project(fc3)
    assert np.abs(b.to_compact(p) - fc3).max() < 1e-10


def _compact_images(fc, C, ops, order):
    """R^T..R^T C[g(i), g(j)(, g(l))] R..R for every operation g, rows i = p2s: (nops, compact shape)."""
    rows = ops.perm[:, fc.p2s]                                         # (nops, n)
    cj = fc.compact_columns(rows[:, :, None], ops.perm[:, None, :])    # (nops, n, N)
    R = ops.rotations
    a = fc.smap.atom[rows]
    if order == 2:
        X = C[a[:, :, None], cj]
        return np.einsum("oba,oknbc,ocd->oknad", R, X, R, optimize=True)
    X = C[a[:, :, None, None], cj[:, :, :, None], cj[:, :, None, :]]
    return np.einsum("oda,oeb,ofc,oknmdef->oknmabc", R, R, R, X, optimize=True)


@pytest.mark.parametrize("order,S,cut", [(2, np.diag([3, 3, 3]), 5.0), (3, np.diag([3, 3, 3]), 5.0),
                                         (2, NONDIAG, 3.0), (3, NONDIAG, 3.0)])
def test_random_params_symmetric(order, S, cut, si3):
    rng = np.random.default_rng(order)
    if order == 3 and S is not NONDIAG:
        b, _, sc, prim = si3
    else:
        prim = diamond_si() if S is not NONDIAG else CU
        sc = supercell(prim, S, shuffle_seed=7)
        b = build_basis(sc, order, cut, primitive=prim)
    fc = ForceConstants(np.zeros((prim.n_atoms, sc.n_atoms, 3, 3)), sc, prim)
    C = b.to_compact(rng.normal(size=b.n_params))
    assert np.abs(C).max() > 0.1
    assert np.abs(C.sum(axis=order - 1)).max() < 1e-12                # sum rule over the last atom
    ops = fc.operations()
    assert np.abs(_compact_images(fc, C, ops, order) - C[None]).max() < 1e-12
    # index-permutation symmetry: i <-> j (through a lattice translation), and j <-> l
    N = sc.n_atoms
    j = np.arange(N)
    a, pi = fc.smap.atom[j], fc.compact_columns(j[None, :], fc.p2s[:, None])   # column of p2s[k] seen from j
    if order == 2:
        swapped = C[a[None, :], pi].transpose(0, 1, 3, 2)
        assert np.abs(swapped - C).max() < 1e-12
    else:
        assert np.abs(C - C.transpose(0, 2, 1, 3, 5, 4)).max() < 1e-12
        cl = fc.compact_columns(j[:, None], j[None, :])                # (j, l) -> column of l seen from j
        swapped = C[a[None, :, None], pi[:, :, None], cl[None]].transpose(0, 1, 2, 4, 3, 5)
        assert np.abs(swapped - C).max() < 1e-12
    # a projection: parameters come back
    p = rng.normal(size=b.n_params)
    assert np.abs(b.project(b.to_compact(p)) - p).max() < 1e-10


def test_compact_columns_are_the_compact_constants_where_the_basis_reaches():
    """compact_columns gives to_compact of many parameter vectors on the atoms of the basis' sites only (the
    dynamical matrices of a big supercell's basis need not build whole compact arrays): equal on those columns, zero
    on every other column of to_compact, and a third-order basis refuses it."""
    sc = supercell(CU, np.diag([4, 4, 4]))
    b = build_basis(sc, 2, 3.0, primitive=CU)                          # the first shell: 12 neighbours and the atom
    params = np.random.default_rng(2).standard_normal((4, b.n_params))
    sub, columns = b.compact_columns(params)
    assert sub.shape == (4, 1, 13, 3, 3) and np.array_equal(columns, np.unique(b.sites[:, 1]))
    others = np.setdiff1d(np.arange(sc.n_atoms), columns)
    for p, s in zip(params, sub):
        whole = b.to_compact(p)
        np.testing.assert_array_equal(whole[:, columns], s)
        assert not whole[:, others].any()
    with pytest.raises(ValueError, match="second-order"):
        build_basis(sc, 3, 3.0, primitive=CU).compact_columns(np.zeros((1, 1)))


def test_partner_indices_in_blocks_of_atoms(monkeypatch):
    """The supercell atom of every (partner, atom) pair of the design is mapped a block of atoms at a time (300
    partners of 10^6 atoms took 13 GB of lattice vectors and keys at once): the same table whatever the block, each
    partner of an atom sitting at the atom's translation of the partner of the primitive atom."""
    from trajmodes.forceconstants import design
    sc = supercell(CU, np.diag([5, 5, 5]), shuffle_seed=1)
    prim = sc.primitive()
    smap = sc.supercell_map(prim)
    p2s = np.array([int(np.flatnonzero(smap.atom == 0)[0])])
    columns, atoms = np.arange(40), np.flatnonzero(smap.atom == 0)
    whole = design.partner_indices(smap, p2s, 0, columns, atoms)
    monkeypatch.setattr(design, "PARTNER_ELEMENTS", 7)
    np.testing.assert_array_equal(design.partner_indices(smap, p2s, 0, columns, atoms), whole)
    shift = (smap.lattice[atoms] - smap.lattice[p2s[0]]) @ prim.cell
    d = sc.positions[whole] - sc.positions[columns][:, None] - shift[None]
    f = d @ np.linalg.inv(sc.cell)
    assert np.abs((f - np.rint(f)) @ sc.cell).max() < 1e-9


def test_large_sum_rule_systems_are_factored_from_their_distinct_rows(monkeypatch):
    """Above ASR_DENSE_LIMIT the sum-rule conditions are factored from their distinct rows, each weighted by the
    square root of its count (the same Gram matrix), not as one dense matrix (576-atom GaN, fourth order within
    3.2 A: 38,500 conditions, 7,963 distinct; 15 s against 3 s back to back): the same number of parameters and the
    same constants (the same span of the expansion), here on the fourth order of diamond Si within 4.5 A (the error
    model's calibration, 20,562 conditions), which stays below the limit by default."""
    import scipy.sparse as sp
    import trajmodes.forceconstants.clusters as clusters
    prim = diamond_si()
    sc = supercell(prim, 2 * np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]]))
    dense = build_basis(sc, 4, 4.5, primitive=prim)
    monkeypatch.setattr(clusters, "ASR_DENSE_LIMIT", 0)
    merged = build_basis(sc, 4, 4.5, primitive=prim)
    assert merged.n_params == dense.n_params == 90 and np.array_equal(merged.sites, dense.sites)
    A, B = dense.E.toarray(), merged.E.toarray()
    Q = np.linalg.qr(B)[0]
    assert np.linalg.norm(A - Q @ (Q.T @ A)) < 1e-12 * np.linalg.norm(A)
    # the factor of rows repeated (and repeated to round-off): R0'R0 = C'C
    rng = np.random.default_rng(1)
    base = sp.random(40, 30, density=0.1, random_state=2, format="csr")
    C = sp.vstack([base, base[rng.integers(0, 40, 200)] * (1 + 1e-16), sp.csr_matrix((5, 30))]).tocsr()
    R0 = clusters._gram_factor(C)
    G = (C.T @ C).toarray()
    assert R0.shape[0] <= 30 and np.abs(R0.T @ R0 - G).max() < 1e-12 * np.abs(G).max()
    assert clusters._gram_factor(sp.csr_matrix((5, 30))) is None
