"""A Gamma-centred q-mesh with the crystal's point group: irreducible points, their stars, and the triplets
(q, q', q'') with q + q' + q'' = G that three-phonon scattering sums over.

Grid points are numbered as in :func:`trajmodes.lattice.qpoints.mesh_addresses` (first index fastest:
``i0 + n0 (i1 + n1 i2)``), reduced q = address / mesh without 2 pi. The point-group operations act on reduced
q as q' = R^-T q (:func:`trajmodes.lattice.symmetry.reciprocal_rotations`), time reversal (q -> -q) included
by default. The triplets at a q are reduced by the little group of q and by the exchange of q' and q''
(every quantity summed over them is symmetric in the two), as in Togo, Chaput and Tanaka, Phys. Rev. B 91,
094306 (2015), Sec. III.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trajmodes.lattice.qpoints import mesh_addresses, mesh_index
from trajmodes.lattice.symmetry import reciprocal_rotations

__all__ = ["Grid", "Triplets"]


@dataclass(frozen=True)
class Triplets:
    """The q-point triplets (q, q', q'') at one grid point q, reduced by symmetry.

    Attributes
    ----------
    q : int
        Grid index of q.
    q1, q2 : ndarray of int, (n_triplets,)
        Grid indices of q' and q'' = -q - q' (mod the mesh).
    weights : ndarray of int, (n_triplets,)
        How many of the mesh's q' each triplet stands for; they sum to the number of grid points.
    shift : ndarray of int, (n_triplets, 3)
        The reciprocal lattice vector G = q + q' + q'' with q, q', q'' the reduced vectors of the grid
        points as numbered (components in [0, 1)); zero for normal processes.
    """

    q: int
    q1: np.ndarray
    q2: np.ndarray
    weights: np.ndarray
    shift: np.ndarray

    def __len__(self) -> int:
        return len(self.q1)


class Grid:
    """A Gamma-centred mesh of the primitive reciprocal cell with the crystal's point group.

    Parameters
    ----------
    mesh : (3,) int
        Points along each reciprocal vector.
    rotations : (n_ops, 3, 3) int, optional
        Space-group rotations in fractional coordinates of the primitive cell (spglib's,
        ``Crystal.rotations``); None: no symmetry but time reversal.
    time_reversal : bool
        Also q -> -q (true for any crystal without a magnetic field).

    Raises
    ------
    ValueError
        If an operation does not map the mesh onto itself (a mesh that breaks the lattice's symmetry,
        e.g. unequal divisions along cubic axes).
    """

    def __init__(self, mesh, rotations=None, time_reversal: bool = True):
        self.mesh = np.asarray(mesh, dtype=np.int64).reshape(3)
        if (self.mesh < 1).any():
            raise ValueError(f"a mesh needs at least one point along each axis, not {self.mesh.tolist()}")
        n = self.mesh
        self.addresses = mesh_addresses(n)                                           # (N, 3)
        rot = np.eye(3, dtype=int)[None] if rotations is None else np.asarray(rotations)
        ops = reciprocal_rotations(rot, time_reversal)                                 # on reduced q
        # an operation on addresses: a' = mesh * R (a / mesh), which must be integral
        A = ops * n[None, :, None] / n[None, None, :]
        if np.abs(A - np.rint(A)).max() > 1e-8:
            raise ValueError(f"the mesh {n.tolist()} breaks the crystal's point group: give a mesh with equal "
                             "divisions along symmetry-equivalent axes")
        self.operations = np.rint(A).astype(np.int64)                                 # (n_ops, 3, 3)
        # where every operation sends every point: (n_ops, N)
        self.rotated = self.index(np.einsum("oab,nb->ona", self.operations, self.addresses))
        self.star_of = self.rotated.min(axis=0)               # the smallest index of each point's star
        irr, inv, cnt = np.unique(self.star_of, return_inverse=True, return_counts=True)
        self.irreducible = irr                                #: grid indices of the irreducible points
        self.weights = cnt                                    #: size of every point's star
        self.irreducible_of = inv.reshape(-1)                 #: position in ``irreducible`` of each point

    @property
    def n_points(self) -> int:
        return int(np.prod(self.mesh))

    @property
    def qpoints(self) -> np.ndarray:
        """Reduced q of every grid point, (N, 3), components in [0, 1)."""
        return self.addresses / self.mesh

    def index(self, addresses) -> np.ndarray:
        """Grid index of integer addresses (..., 3), taken modulo the mesh."""
        return mesh_index(addresses, self.mesh)

    def little_group(self, q: int) -> np.ndarray:
        """The operations (as address matrices, (m, 3, 3)) that leave grid point ``q`` where it is."""
        return self.operations[self.rotated[:, q] == q]

    def triplets(self, q: int, reduce: bool = True) -> Triplets:
        """Triplets (q, q', q'') with q'' = -q - q' over the whole mesh, reduced by symmetry.

        With ``reduce`` one q' stands for its orbit under the little group of q and the exchange
        q' <-> q''; its weight is the orbit's size. Without, every q' of the mesh is a triplet of weight 1.
        """
        q = int(q)
        a, n = self.addresses, self.mesh
        q2 = self.index(-a[q][None, :] - a)                                          # (N,)
        if reduce:
            lg = self.little_group(q)
            im = self.index(np.einsum("oab,nb->ona", lg, a))                          # (m, N)
            key = np.minimum(im.min(axis=0), q2[im].min(axis=0))                      # orbit with the exchange
            q1, w = np.unique(key, return_counts=True)
        else:
            q1, w = np.arange(self.n_points), np.ones(self.n_points, dtype=np.int64)
        q2 = q2[q1]
        G = (a[q][None, :] + a[q1] + a[q2]) // n                                      # exact: sums are multiples
        return Triplets(q, q1, q2, w, G)
