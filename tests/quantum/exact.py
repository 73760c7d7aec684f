"""A non-cubic, two-species harmonic crystal with made-up but stable force constants: wurtzite GaN-like (hexagonal,
Ga and N) on a 3 x 3 x 2 supercell of 72 atoms, every pair within :data:`CUTOFF` joined by a spring.

The pair (i, j) at distance r along e gets the block -k(r) [e e^T + ALPHA (1 - e e^T)] (a longitudinal spring k and a
transverse one ALPHA k), k(r) = K0[species pair] exp(-DECAY (r - r_1)); the self blocks are minus the sum of the others
(the acoustic sum rule). The potential energy is 1/2 sum_pairs k [(e.du)^2 + ALPHA |du_perp|^2] >= 0, zero only for a
uniform translation of a connected network: every other mode is stable. The constants depend only on the species
pair and the distance, so they have the full space group of the crystal and lie in the span of the fit's symmetry
basis at any pair cutoff above :data:`CUTOFF` (and below half the supercell).
"""
from __future__ import annotations

import functools

import numpy as np

from trajmodes import ForceConstants
from trajmodes.lattice import prototype

#: the pairs joined by springs, A (first neighbours at 1.95 A, the second shell at 3.11-3.19 A; half the shortest
#: supercell vector is 4.8 A)
CUTOFF = 3.5
#: eV/A^2 at the first-neighbour distance, per species pair
K0 = {("Ga", "N"): 9.0, ("Ga", "Ga"): 2.5, ("N", "N"): 1.5}
DECAY = 1.2
ALPHA = 0.25
SUPERCELL = np.diag([3, 3, 2])


@functools.lru_cache(maxsize=None)
def wurtzite() -> ForceConstants:
    """The crystal's full (72, 72, 3, 3) constants on its supercell (cached: treat as read-only)."""
    prim = prototype("wurtzite", ("Ga", "N"), a=3.19, c=5.19, u=0.377)
    sc = prim.supercell(SUPERCELL)
    pos, cell, sp = np.asarray(sc.positions), np.asarray(sc.cell), list(sc.species)
    N = len(pos)
    d = pos[None, :, :] - pos[:, None, :]
    frac = d @ np.linalg.inv(cell)
    d = (frac - np.rint(frac)) @ cell                                     # minimum image (well inside half the cell)
    r = np.linalg.norm(d, axis=-1)
    r1 = r[r > 0.1].min()
    k0 = np.array([[K0[tuple(sorted((a, b)))] for b in sp] for a in sp])
    k = np.where((r > 0.1) & (r < CUTOFF), k0 * np.exp(-DECAY * (r - r1)), 0.0)
    e = d / np.where(r > 0, r, 1.0)[..., None]
    ee = e[..., :, None] * e[..., None, :]
    phi = -k[..., None, None] * (ee + ALPHA * (np.eye(3) - ee))
    phi[np.arange(N), np.arange(N)] = -phi.sum(axis=1)
    return ForceConstants(phi, sc)
