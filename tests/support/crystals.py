"""Crystals the tests share: fcc Cu and diamond Si primitive cells, a non-diagonal supercell matrix, and a
brute-force supercell builder (atoms optionally shuffled)."""
import itertools

import numpy as np

from trajmodes import Crystal

A_CU = 3.615
FCC = np.array([[0, .5, .5], [.5, 0, .5], [.5, .5, 0]]) * A_CU
NONDIAG = 2 * np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]])


def supercell(prim: Crystal, S, shuffle_seed=None) -> Crystal:
    """Supercell S @ prim.cell built by brute force (atoms in arbitrary order if shuffle_seed)."""
    S = np.asarray(S)
    A = S @ prim.cell
    g = np.array(list(itertools.product(range(-8, 9), repeat=3)))
    pts = (g @ prim.cell)[:, None, :] + prim.positions[None]        # (nL, n, 3)
    f = pts @ np.linalg.inv(A)
    inside = np.all((f > -1e-9) & (f < 1 - 1e-9), axis=-1)
    li, ki = np.nonzero(inside)
    pos = pts[li, ki]
    order = np.argsort(ki, kind="stable") if shuffle_seed is None else \
        np.random.default_rng(shuffle_seed).permutation(len(ki))
    return Crystal(A, pos[order], prim.species[ki[order]], prim.masses[ki[order]])


def diamond_si() -> Crystal:
    a = 5.431
    return Crystal(FCC / 3.615 * a, np.array([[0, 0, 0], [.25, .25, .25]]) * a, ["Si", "Si"])


CU = Crystal(FCC, [[0, 0, 0]], ["Cu"])
MORSE_SI = dict(D0=2.0, alpha=1.5, r0=2.35)
