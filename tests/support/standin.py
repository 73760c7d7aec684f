"""Test helpers for the fit: a "no symmetry" stand-in for ``trajmodes.forceconstants.clusters.IFCBasis``, exact
force constants of a Morse pair potential, and synthetic dumps with forces from known constants.

The stand-in has the interface of the real basis (``order, cutoff, n_prim, n_atoms, p2s, sites, E, n_raw,
n_params, n_entries, to_compact, compact_columns, project``) but no space-group symmetry: one parameter per Cartesian component of
every compact block within the cutoff, the acoustic sum rule imposed by construction (the blocks with the
representative atom itself as the last partner are minus the sum of the others), and for the third order
the j <-> l permutation symmetry (needed: forces only see the part of Psi symmetric in j, l).
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from tests.support.dumps import Truth, read_quiet, write_dump
from trajmodes.forceconstants.clusters import IFCBasis
from tests.support.morse import morse_derivatives


def _distances(crystal, a, b):
    """Minimum-image distances between atoms a (n,) and b (m,) of a periodic crystal: (n, m)."""
    d = crystal.positions[np.asarray(b)][None, :, :] - crystal.positions[np.asarray(a)][:, None, :]
    inv = np.linalg.inv(crystal.cell)
    fr = d @ inv
    fr -= np.rint(fr)
    return np.linalg.norm(fr @ crystal.cell, axis=-1)


class StandinBasis:
    def __init__(self, order, cutoff, sites, E, p2s, n_atoms):
        self.order, self.cutoff = order, cutoff
        self.sites = np.asarray(sites, dtype=np.int64)
        self.E = sp.csr_matrix(E)
        self.p2s = np.asarray(p2s, dtype=np.int64)
        self.n_prim, self.n_atoms = len(self.p2s), n_atoms
        self.n_raw = len(self.sites) * 3 ** order
        self.n_params = self.E.shape[1]

    def to_compact(self, params):
        vals = (self.E @ np.asarray(params, float)).reshape((len(self.sites),) + (3,) * self.order)
        shape = (self.n_prim,) + (self.n_atoms,) * (self.order - 1) + (3,) * self.order
        out = np.zeros(shape)
        out[tuple(self.sites.T)] = vals
        return out

    @property
    def n_entries(self) -> int:
        return len(self.sites)

    compact_columns = IFCBasis.compact_columns

    def project(self, fc_compact):
        vals = np.asarray(fc_compact)[tuple(self.sites.T)].reshape(-1)
        return np.linalg.lstsq(self.E.toarray(), vals, rcond=None)[0]


def build_standin(fc, order, cutoff, primitive=None, symprec=1e-3, asr=True):
    """The stand-in basis on the supercell of ForceConstants ``fc`` (its p2s)."""
    sc, p2s, N = fc.supercell, fc.p2s, fc.n_atoms
    allj = np.arange(N)
    sites = []
    if order == 2:
        P = 0
        blocks = {}
        for k, i0 in enumerate(p2s):
            js = allj[_distances(sc, [i0], allj)[0] <= cutoff]
            for j in js:
                if j != i0:
                    blocks[(k, j)] = P + np.arange(9)
                    P += 9
        mats = []
        for k, i0 in enumerate(p2s):
            js = allj[_distances(sc, [i0], allj)[0] <= cutoff]
            self_block = np.zeros((9, P))
            for j in js:
                if j == i0:
                    continue
                m = np.zeros((9, P))
                m[np.arange(9), blocks[(k, j)]] = 1.0
                sites.append((k, j))
                mats.append(m)
                self_block -= m
            sites.append((k, i0))
            mats.append(self_block)
        E = np.concatenate(mats)
        return StandinBasis(2, cutoff, sites, E, p2s, N)
    # third order
    P = 0
    free = []
    for k, i0 in enumerate(p2s):
        nb = allj[_distances(sc, [i0], allj)[0] <= cutoff]
        D = _distances(sc, nb, nb)
        pairs = [(nb[x], nb[y]) for x in range(len(nb)) for y in range(len(nb)) if D[x, y] <= cutoff]
        free.append((k, i0, nb, pairs))
    idx = np.arange(27).reshape(3, 3, 3)
    swap = idx.transpose(0, 2, 1).reshape(-1)          # component (a, c, b) of (a, b, c)
    mats = {}
    for k, i0, nb, pairs in free:
        for j, l in pairs:
            if j == i0 or l == i0 or j > l:
                continue
            if j == l:
                comps = [(a, b, c) for a in range(3) for b in range(3) for c in range(b, 3)]
                m = np.zeros((27, len(comps)))
                for q, (a, b, c) in enumerate(comps):
                    m[idx[a, b, c], q] = 1.0
                    m[idx[a, c, b], q] = 1.0
                mats[(k, j, j)] = (P, m)
                P += len(comps)
            else:
                m = np.eye(27)
                mats[(k, j, l)] = (P, m)
                mats[(k, l, j)] = (P, m[swap])
                P += 27

    def full(key):
        start, m = mats[key]
        out = np.zeros((27, P))
        out[:, start:start + m.shape[1]] = m
        return out

    blocks = {key: full(key) for key in mats}
    for k, i0, nb, pairs in free:
        partners = {}
        for j, l in pairs:
            partners.setdefault(j, []).append(l)
        for j in nb:
            if j == i0:
                continue
            s = -sum(blocks[(k, j, l)] for l in partners[j] if l != i0)
            blocks[(k, j, i0)] = s
            blocks[(k, i0, j)] = s[swap]
        blocks[(k, i0, i0)] = -sum(blocks[(k, i0, l)] for l in partners[i0] if l != i0)
    keys = sorted(blocks)
    E = np.concatenate([blocks[key] for key in keys])
    return StandinBasis(3, cutoff, keys, E, p2s, N)


# ---------------------------------------------------------------------------------------------------
def morse_pair(r, D=0.35, alpha=1.4, r0=2.6):
    """The first three derivatives of the stand-in Morse pair (tests/support/morse.py), with its default parameters."""
    return morse_derivatives(r, D, alpha, r0)


def pair_constants(crystal, cutoff2, cutoff3=None, **morse):
    """Full-layout Phi (N, N, 3, 3) and Psi (N, N, N, 3, 3, 3) of a Morse pair potential, pairs within the
    cutoffs (minimum image; cutoffs below half the cell)."""
    N = crystal.n_atoms
    inv = np.linalg.inv(crystal.cell)
    Phi = np.zeros((N, N, 3, 3))
    Psi = None if cutoff3 is None else np.zeros((N, N, N, 3, 3, 3))
    I = np.eye(3)
    for i in range(N):
        for j in range(i + 1, N):
            d = crystal.positions[j] - crystal.positions[i]
            fr = d @ inv
            d = (fr - np.rint(fr)) @ crystal.cell
            r = np.linalg.norm(d)
            n = d / r
            V1, V2, V3 = morse_pair(r, **morse)
            nn = np.outer(n, n)
            if r <= cutoff2:
                H = V2 * nn + V1 / r * (I - nn)
                Phi[i, j] -= H
                Phi[j, i] -= H
                Phi[i, i] += H
                Phi[j, j] += H
            if Psi is not None and r <= cutoff3:
                T = (V3 - 3 * V2 / r + 3 * V1 / r ** 2) * np.einsum("a,b,c->abc", n, n, n) + \
                    (V2 / r - V1 / r ** 2) * (np.einsum("ab,c->abc", I, n) + np.einsum("bc,a->abc", I, n)
                                              + np.einsum("ca,b->abc", I, n))
                s = {i: -1.0, j: 1.0}
                for x in (i, j):
                    for y in (i, j):
                        for z in (i, j):
                            Psi[x, y, z] += s[x] * s[y] * s[z] * T
    return Phi, Psi


def model_forces(u, Phi, Psi=None):
    f = -np.einsum("ijab,tjb->tia", Phi, u, optimize=True)
    if Psi is not None:
        f -= 0.5 * np.einsum("ijlabc,tjb,tlc->tia", Psi, u, u, optimize=True)
    return f


def fcc(a=3.61, n=2):
    base = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    return _cubic(base, a, n, "Cu")


def diamond(a=5.43, n=2):
    base = np.array([[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]])
    base = np.concatenate([base, base + 0.25])
    return _cubic(base, a, n, "Si")


def _cubic(base, a, n, species):
    from trajmodes import Crystal
    cells = np.array([[x, y, z] for x in range(n) for y in range(n) for z in range(n)])
    frac = (cells[:, None, :] + base[None]).reshape(-1, 3) / n
    cell = np.eye(3) * a * n
    return Crystal(cell, frac @ cell, [species] * len(frac))


def synthetic_dump(path, crystal, n_frames, Phi, Psi=None, sigma=0.07, seed=0):
    """Write a dump of ``n_frames`` random Gaussian displacements with exact model forces (repr digits).

    Returns (path, u (T, N, 3) as the dump's unwrapped coordinates minus the reference, forces)."""
    rng = np.random.default_rng(seed)
    N = crystal.n_atoms
    r0 = crystal.positions
    cell = crystal.cell
    pos = r0[None] + rng.normal(0.0, sigma, (n_frames, N, 3))
    frac = pos @ np.linalg.inv(cell)
    images = np.floor(frac).astype(int)
    frac = frac - images
    cells = np.repeat(cell[None], n_frames, axis=0)
    origins = np.zeros((n_frames, 3))
    truth = Truth(ids=np.arange(1, N + 1), types=np.ones(N, dtype=int), frac=frac, images=images, cells=cells,
                  origins=origins, velocities=np.zeros((n_frames, N, 3)), forces=np.zeros((n_frames, N, 3)),
                  steps=np.arange(n_frames) * 10)
    u = truth.unwrapped() - r0[None]
    truth.forces = model_forces(u, Phi, Psi)
    write_dump(path, truth, ["id", "type", "xu", "yu", "zu", "fx", "fy", "fz"])
    return path, u, truth.forces


def open_dump(path, crystal, chunk_frames=None):
    return read_quiet(str(path), reference=crystal.positions, species=[str(crystal.species[0])],
                      chunk_frames=chunk_frames)
