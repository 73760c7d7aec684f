"""Symmetry of crystals (spglib): point-group operations on q, the space group of a supercell as atom
permutations, and positions made exactly symmetric."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trajmodes.lattice.spglib_calls import SYMPREC

if TYPE_CHECKING:
    from trajmodes.lattice.crystal import Crystal
    from trajmodes.lattice.supercell import SupercellMap

__all__ = ["reciprocal_rotations", "cartesian_rotations", "site_images", "SupercellOperations",
           "supercell_group", "supercell_operations", "symmetrize_sites", "SiteOrbits", "site_orbits"]

def reciprocal_rotations(rotations, time_reversal: bool = True) -> np.ndarray:
    """The point-group operations on reduced q: R^-T for every distinct rotation R of the fractional
    coordinates (x' = R x keeps q.x when q' = R^-T q), and their negatives (q -> -q) with ``time_reversal``.

    Returns
    -------
    ndarray of float, shape (n_ops, 3, 3) (2 n_ops with time reversal)
    """
    rot = np.unique(np.rint(np.asarray(rotations, float)).astype(int).reshape(-1, 3, 3), axis=0)
    mats = np.linalg.inv(rot).transpose(0, 2, 1)
    return np.concatenate([mats, -mats]) if time_reversal else mats


def cartesian_rotations(rotations, cell) -> np.ndarray:
    """Rotations W (n, 3, 3) of fractional coordinates of ``cell`` (rows a, b, c; spglib's) as Cartesian ones,
    R = A^T W A^-T, (n, 3, 3); orthogonal up to the round-off of ``cell``."""
    A = np.asarray(cell, dtype=float)
    return np.einsum("ji,ojk,kl->oil", A, np.asarray(rotations, dtype=float), np.linalg.inv(A).T)


@dataclass(frozen=True)
class SupercellOperations:
    """Space-group operations of a supercell modulo its lattice translations.

    Attributes
    ----------
    rotations : ndarray, (nops, 3, 3)
        Cartesian rotations R (orthogonal): the operation takes a displacement u to R u.
    perm : ndarray of int, (nops, N)
        Supercell atom that each operation moves every atom onto.
    prim_perm : ndarray of int, (nops, n_prim)
        The same for the primitive atoms.
    fractional : ndarray of int, (nops, 3, 3)
        The rotations in fractional coordinates of the primitive cell (spglib's).
    """

    rotations: np.ndarray
    perm: np.ndarray
    prim_perm: np.ndarray
    fractional: np.ndarray


def site_images(crystal: Crystal, rotations, translations):
    """Where each operation x -> W x + w (fractional) sends every atom of ``crystal``: the atom k' of the same species
    nearest to the image (n_ops, n), the lattice translation t with W x_k + w = x_k' + t (n_ops, n, 3) and the
    distance in Å of the image from that site (n_ops, n; 0 for an exact symmetry)."""
    pf = crystal.scaled_positions
    y = np.einsum("oab,kb->oka", np.asarray(rotations), pf) + np.asarray(translations, dtype=float)[:, None, :]
    d = y[:, :, None, :] - pf[None, None, :, :]                          # (nops, n, n', 3)
    shift = np.rint(d)
    dist = np.linalg.norm((d - shift) @ crystal.cell, axis=-1)
    types = crystal.types
    dist = np.where(types[:, None] == types[None, :], dist, np.inf)
    kp = np.argmin(dist, axis=-1)                                        # (nops, n)
    o, k = np.indices(kp.shape)
    return kp, shift[o, k, kp].astype(np.int64), dist[o, k, kp]


def supercell_group(primitive: Crystal, matrix, symprec: float = SYMPREC) -> tuple[np.ndarray, np.ndarray]:
    """The operations x -> W x + w (fractional, primitive basis; spglib on ``primitive``) whose rotation maps the
    supercell lattice ``matrix @ primitive.cell`` onto itself (S W^T S^-1 integer): the space group of the
    supercell modulo its lattice translations, (n_ops, 3, 3) int and (n_ops, 3)."""
    ds = primitive.symmetry(symprec)
    W = np.asarray(ds.rotations, dtype=np.int64)
    w = np.asarray(ds.translations, dtype=float)
    S = np.asarray(matrix, dtype=float)
    M = np.einsum("ij,ojk,kl->oil", S, W.transpose(0, 2, 1), np.linalg.inv(S))
    keep = np.abs(M - np.rint(M)).max(axis=(1, 2)) < 1e-6
    return W[keep], w[keep]


def supercell_operations(primitive: Crystal, smap: SupercellMap, symprec: float = SYMPREC) -> SupercellOperations:
    """Operations of ``primitive``'s space group that are symmetries of the supercell ``smap`` describes.

    An operation x -> W x + w (fractional, primitive basis) is kept when W maps the supercell lattice
    onto itself (S W^T S^-1 integer); it moves primitive atom k to the site of atom k' (matched
    periodically, same species and mass, within ``symprec`` Å) and supercell atom (k, L) to
    (k', W L + t_k), reduced into the supercell. Vectorised: no loop over atoms.

    Raises
    ------
    ValueError
        If an atom has no image within ``symprec``.
    """
    W, w = supercell_group(primitive, smap.matrix, symprec)
    P = primitive.cell
    kp, tk, dist = site_images(primitive, W, w)
    if dist.max() > symprec:
        raise ValueError(f"an atom has no symmetry image within symprec={symprec} A")
    atom, L = smap.atom, smap.lattice
    newL = np.einsum("oab,nb->ona", W, L) + tk[:, atom]                  # (nops, N, 3)
    perm = smap.index(kp[:, atom], newL)
    hit = np.zeros(perm.shape, dtype=bool)
    hit[np.arange(len(perm))[:, None], perm] = True
    if not hit.all():
        raise ValueError("a symmetry operation is not a permutation of the supercell")
    U, _, Vt = np.linalg.svd(cartesian_rotations(W, P))
    return SupercellOperations(U @ Vt, perm, kp, W)


def symmetrize_sites(cell: np.ndarray, positions: np.ndarray, rotations, translations) -> np.ndarray:
    """Positions made exactly invariant under a space group (the group average of each site).

    Parameters
    ----------
    cell : (3, 3) rows a, b, c in Å.
    positions : (N, 3) Cartesian A, already periodic under the lattice translations of the group.
    rotations, translations : the operations in fractional coordinates of ``cell`` (spglib's);
        one representative per distinct rotation is used (the translations are already exact).

    Returns
    -------
    (N, 3) Cartesian positions in Å.
    """
    frac = positions @ np.linalg.inv(cell)
    rot = np.asarray(rotations)
    _, first = np.unique(rot.reshape(len(rot), -1), axis=0, return_index=True)
    acc = np.zeros_like(frac)
    for g in first:
        y = frac @ rot[g].T + translations[g]                      # image of every atom under g
        d = y[:, None, :] - frac[None, :, :]
        d -= np.rint(d)
        j = np.argmin(np.linalg.norm(d @ cell, axis=-1), axis=1)    # the site atom i is sent to
        if len(np.unique(j)) != len(j):
            raise ValueError("the symmetry operations do not permute the atoms; the reference is too far "
                             "from a crystal for symprec")
        acc[j] += frac[j] + d[np.arange(len(j)), j]
    return (acc / len(first)) @ cell


@dataclass(frozen=True)
class SiteOrbits:
    """The atoms of a crystal grouped into orbits of its space group (symmetry-equivalent atoms), each atom with the
    label of its orbit (:func:`site_orbits`).

    Attributes
    ----------
    first : ndarray of int (n_atoms,)
        The first atom of each atom's orbit: atoms with the same value are equivalent.
    wyckoff : ndarray of str (n_atoms,)
        The Wyckoff position of each atom: multiplicity (in the conventional cell) and letter, ``"2b"``.
    labels : ndarray of str (n_atoms,)
        The orbit's label: the species where the species has one orbit (``"Ga"``), else species and Wyckoff position
        (``"O (4f)"``, ``"O (8j)"``; ``"O (4e, 1)"``, ``"O (4e, 2)"`` for two orbits on one Wyckoff letter), as
        phonopy's projected DOS groups them.
    """

    first: np.ndarray
    wyckoff: np.ndarray
    labels: np.ndarray

    @property
    def groups(self) -> list:
        """(label, atom indices) of every orbit, in the order of their first atoms."""
        return [(str(self.labels[k]), np.flatnonzero(self.first == k)) for k in dict.fromkeys(self.first.tolist())]


def site_orbits(crystal: "Crystal", symprec: float = SYMPREC) -> SiteOrbits:
    """The orbits of the atoms of ``crystal`` under its space group (spglib's ``crystallographic_orbits``, which unlike
    its ``equivalent_atoms`` use the whole space group also for a supercell, and its Wyckoff letters, at ``symprec``
    A), labelled by species, and by Wyckoff position where a species has several orbits.

    Raises
    ------
    ValueError
        When spglib finds no symmetry (:meth:`~trajmodes.lattice.crystal.Crystal.symmetry`).
    """
    ds = crystal.symmetry(symprec)
    eq = np.asarray(ds.crystallographic_orbits)   # the whole space group's (equivalent_atoms: the cell's own ops)
    n = len(eq)
    first = np.array([int(np.flatnonzero(eq == e)[0]) for e in eq])
    size = np.bincount(first, minlength=n)[first]
    per_std = len(ds.std_types) / n                       # conventional-cell atoms per atom of the crystal
    wyckoff = np.array([f"{int(round(m * per_std))}{w}" for m, w in zip(size, ds.wyckoffs)])
    species = np.asarray(crystal.species).astype(str)
    labels = species.astype(object)
    for sp in dict.fromkeys(species.tolist()):
        orbits = list(dict.fromkeys(first[species == sp].tolist()))
        if len(orbits) == 1:
            continue
        letters = [str(wyckoff[k]) for k in orbits]
        for k, w in zip(orbits, letters):
            same = [o for o, v in zip(orbits, letters) if v == w]
            labels[first == k] = f"{sp} ({w})" if len(same) == 1 else f"{sp} ({w}, {same.index(k) + 1})"
    return SiteOrbits(first, wyckoff, labels.astype(str))
