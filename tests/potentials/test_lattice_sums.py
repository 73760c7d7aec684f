"""The shared lattice sums of short-ranged potentials (trajmodes.potentials.lattice_sums and
ShortRangePotential) for terms of any order m, with a toy m-body potential of exactly known derivatives:

    f(d_1 .. d_{m-1}) = sum_{l l'} c_{l l'} (d_l . d_l')^2

over every ordered tuple of m - 1 distinct neighbours (atom and image) within a cutoff of each atom (rotationally and
translationally invariant, no symmetry between its slots when c is not). Checked: the toy's own derivatives,
forces, stress, fc2, fc3, static strain derivatives and dD/de, dD/du against finite differences, D(q) against
Phonons of the supercell constants, the sum rules, and the speed of the dynamical matrices on a 16^3 mesh."""
from __future__ import annotations

import itertools
import time

import numpy as np
import pytest

from tests.support import lattice_checks as lc
from tests.support.crystals import FCC, supercell
from trajmodes import Crystal
from trajmodes.lattice.geometry import pairs_within
from trajmodes.potentials.lattice_sums import STRAIN_BASIS, DynamicalBlocks, slot_matrix
from trajmodes.potentials.pair import Morse
from trajmodes.potentials.terms import ShortRangePotential, Terms


class GramToy(ShortRangePotential):
    """f = sum_{l l'} c_{l l'} G_{l l'}^2, G = d d^T, over ordered tuples of m - 1 distinct neighbours."""

    def __init__(self, c, cutoff):
        self.c = np.asarray(c, float)
        self.cutoff = cutoff

    @property
    def m(self):
        return len(self.c) + 1

    def terms(self, crystal, order=3):
        i, j, d, n = pairs_within(crystal.cell, crystal.positions, self.cutoff, return_cells=True)
        atoms, cells, vecs = [], [], []
        for a in range(crystal.n_atoms):
            nb = np.flatnonzero(i == a)
            for tup in itertools.permutations(nb, self.m - 1):
                tup = list(tup)
                atoms.append([a, *j[tup]])
                cells.append([[0, 0, 0], *n[tup]])
                vecs.append(d[tup])
        d = np.array(vecs)
        return [Terms(np.array(atoms), np.array(cells), d, *self.derivatives(d, order))]

    def derivatives(self, d, order=3):
        c, L = self.c, self.m - 1
        N = len(d)
        G = np.einsum("nla,nka->nlk", d, d)
        out = [np.einsum("lk,nlk->n", c, G * G)]
        if order >= 1:
            out.append((4 * np.einsum("lk,nlk,nka->nla", c, G, d)).reshape(N, 3 * L))
        if order >= 2:
            IL, I3 = np.eye(L), np.eye(3)
            A = np.einsum("lk,nka,nkb->nlab", c, d, d)
            H = np.einsum("lm,nlab->nlamb", IL, A) + np.einsum("lm,nlb,nma->nlamb", c, d, d) \
                + np.einsum("lm,nlm,ab->nlamb", c, G, I3)
            out.append(4 * H.reshape(N, 3 * L, 3 * L))
        if order >= 3:
            terms = [("lm,lk,ac,nkb", IL, c), ("lm,lk,bc,nka", IL, c), ("lm,lk,bc,nma", c, IL),
                     ("lm,mk,ac,nlb", c, IL), ("lm,lk,ab,nmc", c, IL), ("lm,mk,ab,nlc", c, IL)]
            T = sum(np.einsum(f"{spec}->nlambkc", x, y, I3, d) for spec, x, y in terms)
            out.append(4 * T.reshape(N, 3 * L, 3 * L, 3 * L))
        return out + [None] * (3 - order)


def zincblende(a=5.65):
    return Crystal(FCC / 3.615 * a, np.array([[0, 0, 0], [.25, .25, .25]]) * a, ["Ga", "As"])


def simple_cubic(a=2.5):
    return Crystal(a * np.eye(3), [[0, 0, 0]], ["Ar"])


TRIPLET = GramToy([[1e-3, -4e-4], [-4e-4, 2e-3]], cutoff=2.6)                # nearest neighbours of zincblende
QUAD = GramToy([[1e-3, 2e-4, -3e-4], [2e-4, 5e-4, 1e-4], [-3e-4, 1e-4, 8e-4]], cutoff=2.6)   # simple cubic, 6 nn
SHEAR = [0.012, -0.015, 0.02, 0.025, -0.01, 0.018]


def test_toy_derivatives_are_exact():
    d = np.random.default_rng(0).normal(size=(4, 3, 3))
    h = 1e-5
    for toy in (TRIPLET, QUAD):
        L = toy.m - 1
        dd = d[:, :L].reshape(4, 3 * L)
        vals = toy.derivatives(dd.reshape(4, L, 3))
        for k in range(3):
            fd = np.stack([(toy.derivatives((dd + h * e).reshape(4, L, 3))[k]
                            - toy.derivatives((dd - h * e).reshape(4, L, 3))[k]) / (2 * h)
                           for e in np.eye(3 * L)], axis=-1)
            assert lc.rel(vals[k + 1], fd) < 1e-8


def test_slot_matrix():
    np.testing.assert_array_equal(slot_matrix(3), [[-1, -1], [1, 0], [0, 1]])
    assert STRAIN_BASIS[3, 1, 2] == STRAIN_BASIS[3, 2, 1] == 0.5 and STRAIN_BASIS[0, 0, 0] == 1


@pytest.mark.parametrize("toy,build", [(TRIPLET, lambda: supercell(zincblende(), np.eye(3, dtype=int))),
                                       (QUAD, lambda: supercell(simple_cubic(), 2 * np.eye(3, dtype=int)))],
                         ids=["m3", "m4"])
def test_forces_stress_fc2_fc3_against_finite_differences(toy, build):
    crystal = lc.strained(lc.displaced(build(), 0.04, seed=1), SHEAR)
    assert lc.forces_error(toy, crystal) < 1e-8
    assert lc.stress_error(toy, crystal) < 1e-7
    assert lc.fc2_error(toy, crystal, atoms=[0, 1]) < 1e-7
    assert lc.fc3_error(toy, crystal, atoms=[0, 1]) < 1e-7
    s = toy.stress(crystal)
    np.testing.assert_allclose(s, s.T, atol=1e-14 * np.abs(s).max())
    fc = toy.force_constants3(crystal, primitive=crystal)
    assert np.abs(fc.fc2.sum(axis=1)).max() < 1e-12 * np.abs(fc.fc2).max()
    assert np.abs(fc.fc3.sum(axis=2)).max() < 1e-12 * np.abs(fc.fc3).max()


@pytest.mark.parametrize("toy,prim", [(TRIPLET, zincblende()), (QUAD, simple_cubic())], ids=["m3", "m4"])
def test_static_and_dynamical_derivatives_against_finite_differences(toy, prim):
    crystal = lc.displaced(lc.strained(prim, SHEAR), 0.04, seed=2)
    g_err, h_err = lc.static_errors(toy, crystal)
    assert g_err < 1e-8 and h_err < 1e-6, (g_err, h_err)
    q = np.array([[0.123, 0.377, -0.31], [0.5, 0.25, 0.0], [0, 0, 0]])
    e_err, u_err = lc.dynamical_errors(toy, crystal, q)
    assert e_err < 1e-7 and u_err < 1e-7, (e_err, u_err)


@pytest.mark.parametrize("toy,prim,n", [(TRIPLET, zincblende(), 3), (QUAD, simple_cubic(), 5)], ids=["m3", "m4"])
def test_dynamical_matrices_match_phonons(toy, prim, n):
    """Interactions reach two neighbour distances (between two neighbours of one atom); the supercells hold them
    inside their Wigner-Seitz cells, so the lattice sums agree at every q."""
    sc = supercell(prim, n * np.eye(3, dtype=int))
    q = np.array([[1 / n, 2 / n, 0], [0.123, 0.377, -0.31], [0, 0, 0], [-0.21, 0.07, 0.44]])
    d_err, w_err = lc.phonons_error(toy, prim, sc, q)
    assert d_err < 1e-12 and w_err < 1e-12, (d_err, w_err)


def test_mixed_orders_add():
    """A list of terms of different orders (pairs and triplets) sums term by term."""
    morse = Morse(0.1, 1.2, 2.4, cutoff=4.2)

    class Both(ShortRangePotential):
        cutoff = 4.2

        def terms(self, crystal, order=3):
            return morse.terms(crystal, order) + TRIPLET.terms(crystal, order)

    crystal = lc.displaced(zincblende(), 0.04, seed=3)
    both = Both()
    assert both.energy(crystal) == pytest.approx(morse.energy(crystal) + TRIPLET.energy(crystal), rel=1e-14)
    q = [[0.1, 0.2, 0.3]]
    found = [p.dynamical_matrices(crystal, q, derivatives=True) for p in (both, morse, TRIPLET)]
    for name in ("matrices", "strain_derivatives", "internal_derivatives"):
        a, b, c = (getattr(f, name) for f in found)
        np.testing.assert_allclose(a, b + c, atol=1e-13 * np.abs(a).max())
    found = [p.static_derivatives(crystal) for p in (both, morse, TRIPLET)]
    for name in ("energy", "gradient", "hessian"):
        a, b, c = (getattr(f, name) for f in found)
        np.testing.assert_allclose(a, b + c, atol=1e-13 * np.abs(a).max())


def test_blocks_translations_and_hermiticity():
    blocks = DynamicalBlocks(TRIPLET.terms(zincblende(), 3), zincblende().masses, derivatives=True)
    T = blocks.translations
    assert blocks.blocks.shape == (len(T), 1 + 6 + 6, 6, 6)
    assert {tuple(t) for t in T} == {tuple(-t) for t in T}                  # every translation with its inverse
    out = blocks.at(np.random.default_rng(0).uniform(-1, 1, (5, 3)))
    np.testing.assert_allclose(out, out.conj().transpose(0, 1, 3, 2), atol=1e-15 * np.abs(out).max())


def test_dynamical_matrices_speed_16_mesh():
    """The quasiharmonic minimiser's call: D(q) with strain and internal derivatives on a 16^3 mesh of a two-atom
    crystal (Morse diamond Si)."""
    a = 5.431
    si = Crystal(FCC / 3.615 * a, np.array([[0, 0, 0], [.25, .25, .25]]) * a, ["Si", "Si"])
    pot = Morse(2.0, 1.5, 2.35, cutoff=4.0)
    q = np.stack(np.meshgrid(*[np.arange(16) / 16] * 3, indexing="ij"), -1).reshape(-1, 3)
    pot.dynamical_matrices(si, q, derivatives=True)
    best = np.inf
    for _ in range(5):
        t = time.perf_counter()
        dm = pot.dynamical_matrices(si, q, derivatives=True)
        D, De, Du = dm.matrices, dm.strain_derivatives, dm.internal_derivatives
        best = min(best, time.perf_counter() - t)
    assert D.shape == (4096, 6, 6) and De.shape == (6, 4096, 6, 6) and Du.shape == (6, 4096, 6, 6)
    assert best < 0.2, best                  # about 10 ms on two cores; generous for loaded machines
