"""Cubic crystals built from their conventional cube: fcc, bcc and L1_2 supercells with their primitive cells, and
the lattice vectors of one-atom fcc and bcc lattices shell by shell."""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.crystal import Crystal

__all__ = ["PRIMITIVE_VECTORS", "CONVENTIONAL_BASIS", "ATOMS_PER_CUBE", "cubic_lattice", "shell_vectors"]

#: primitive lattice vectors (rows) of the one-atom cubic lattices, in units of the cube edge a
PRIMITIVE_VECTORS = {"fcc": np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0]], float) / 2,
                     "bcc": np.array([[-1, 1, 1], [1, -1, 1], [1, 1, -1]], float) / 2}
#: atoms of the conventional cube, fractional (L1_2 A3B: B at the corner)
CONVENTIONAL_BASIS = {"fcc": [[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]],
                      "bcc": [[0, 0, 0], [.5, .5, .5]],
                      "l12": [[0, 0, 0], [0, .5, .5], [.5, 0, .5], [.5, .5, 0]]}
#: atoms per conventional cube of the one-atom lattices
ATOMS_PER_CUBE = {"fcc": 4, "bcc": 2}


def cubic_lattice(structure: str, a: float, n: int, species, masses=None):
    """Supercell of n x n x n conventional cubes and its primitive cell, as (:class:`Crystal`,
    :class:`Crystal`). ``structure``: ``fcc``, ``bcc`` (one species) or ``l12`` (A3B, ``species``
    = (A, B): B at the cube corner). ``masses``: per species (default: the potential's if you pass
    them in, else 1)."""
    structure = structure.lower()
    if structure not in CONVENTIONAL_BASIS:
        raise ValueError(f"structure must be fcc, bcc or l12, not {structure!r}")
    sp = [species] if isinstance(species, str) else list(species)
    if structure == "l12":
        if len(sp) != 2:
            raise ValueError("l12 needs two species (A, B) for A3B")
        basis_sp = [sp[1], sp[0], sp[0], sp[0]]
    else:
        basis_sp = [sp[0]] * len(CONVENTIONAL_BASIS[structure])
    mass_of = dict(zip(sp, masses)) if masses is not None else {s: 1.0 for s in sp}
    basis = np.array(CONVENTIONAL_BASIS[structure], float)
    if structure == "l12":
        pcell, pfrac, psp = a * np.eye(3), basis, basis_sp
    else:
        pcell, pfrac, psp = PRIMITIVE_VECTORS[structure] * a, np.zeros((1, 3)), basis_sp[:1]
    prim = Crystal(pcell, np.asarray(pfrac) @ (np.eye(3) * a if structure == "l12" else pcell), psp,
                   [mass_of[s] for s in psp])
    g = np.array([[i, j, k] for i in range(n) for j in range(n) for k in range(n)], float)
    frac = (g[:, None, :] + basis[None]).reshape(-1, 3)
    ssp = basis_sp * len(g)
    sc = Crystal(a * n * np.eye(3), frac * a, ssp, [mass_of[s] for s in ssp])
    return sc, prim


def shell_vectors(lattice: str, a: float, cutoff: float) -> np.ndarray:
    """All lattice vectors 0 < |R| < cutoff of a one-atom fcc/bcc lattice (Å)."""
    nmax = int(np.ceil(cutoff / a)) + 1
    g = np.array(np.meshgrid(*[np.arange(-2 * nmax, 2 * nmax + 1)] * 3, indexing="ij")).reshape(3, -1).T
    if lattice == "fcc":
        g = g[g.sum(axis=1) % 2 == 0]
    elif lattice == "bcc":
        g = g[(g % 2 == g[:, :1] % 2).all(axis=1)]
    else:
        raise ValueError(f"lattice must be 'fcc' or 'bcc', not {lattice!r}")
    R = g * (a / 2)
    r = np.linalg.norm(R, axis=1)
    return R[(r > 0) & (r < cutoff)]
