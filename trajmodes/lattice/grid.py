"""A Gamma-centred q-mesh with the crystal's point group: irreducible points, their stars, and the triplets
(q, q', q'') with q + q' + q'' = G that three-phonon scattering sums over.

A grid is either a regular mesh n1 x n2 x n3 or, generally, the q-points commensurate with a supercell
matrix S (``supercell.cell = S @ primitive.cell``): the q with S q integral, |det S| of them. A supercell
that is not a diagonal multiple of the primitive cell (the conventional cubic cells of fcc and diamond
crystals, which most molecular dynamics runs use) gives a generalised regular grid: with the Smith normal form
L S R = D (:func:`trajmodes.lattice.supercell.smith_normal_form`) every commensurate q = R D^-1 g for one
integer address g in the box d1 x d2 x d3 (the addresses the mode projection's FFT uses), and adding d_i to g_i
adds a reciprocal lattice vector to q. A regular mesh is the case S = diag(n), R = 1.

Grid points are numbered as in :func:`trajmodes.lattice.qpoints.mesh_addresses` over the address box (first
index fastest: ``i0 + n0 (i1 + n1 i2)``); reduced q without 2 pi, components in [0, 1). The point-group
operations act on reduced q as q' = R^-T q (:func:`trajmodes.lattice.symmetry.reciprocal_rotations`), time
reversal (q -> -q) included by default, and on addresses as D R^-1 (R^-T) R D^-1. The triplets at a q are reduced by the little group of q and by the exchange of q' and q''
(every quantity summed over them is symmetric in the two), as in Togo, Chaput and Tanaka, Phys. Rev. B 91,
094306 (2015), Sec. III.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trajmodes.lattice.qpoints import mesh_addresses, mesh_index, parse_mesh
from trajmodes.lattice.supercell import smith_normal_form
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
        The reciprocal lattice vector G = q + q' + q'' (reduced) with q, q', q'' the reduced vectors of the grid
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
    """A Gamma-centred grid of the primitive reciprocal cell with the crystal's point group.

    Parameters
    ----------
    mesh : int, (3,) int, or (3, 3) int
        Points along each reciprocal vector (a regular mesh; one int n is n x n x n), or a supercell matrix S
        (``supercell.cell = S @ primitive.cell``, e.g. ``SupercellMap.matrix`` of a molecular dynamics cell):
        the grid of the |det S| q-points commensurate with that supercell.
    rotations : (n_ops, 3, 3) int, optional
        Space-group rotations in fractional coordinates of the primitive cell (spglib's,
        ``Crystal.rotations``); None: no symmetry but time reversal.
    time_reversal : bool
        Also q -> -q (true for any crystal without a magnetic field).

    Raises
    ------
    ValueError
        If an operation does not map the grid onto itself (a mesh that breaks the lattice's symmetry,
        e.g. unequal divisions along cubic axes, or a supercell of lower symmetry than the crystal).
    """

    def __init__(self, mesh, rotations=None, time_reversal: bool = True):
        m = parse_mesh(mesh)
        if m.shape == (3, 3) and not np.array_equal(m, np.diag(np.diag(m))):
            self.matrix = m.astype(np.int64)
            L, D, R = smith_normal_form(self.matrix)
            self.mesh = np.diag(D).astype(np.int64)                                    # the address box
            self._R = R.astype(float)
            self.steps = L.astype(np.int64)
        else:
            self.mesh = np.asarray(np.diag(m) if m.shape == (3, 3) else m, dtype=np.int64)
            if (self.mesh < 1).any():
                raise ValueError(f"a mesh needs at least one point along each axis, not {self.mesh.tolist()}")
            self.matrix = np.diag(self.mesh)
            self._R = np.eye(3)
            self.steps = np.eye(3, dtype=np.int64)
        n = self.mesh
        #: reduced q = basis @ address (R D^-1); ``steps`` (L): a step in the microzone basis (S^-1 = R D^-1 L)
        #: as an address step
        self.basis = self._R / n[None, :]
        self.addresses = mesh_addresses(n)                                           # (N, 3)
        rot = np.eye(3, dtype=int)[None] if rotations is None else np.asarray(rotations)
        ops = reciprocal_rotations(rot, time_reversal)                                 # on reduced q
        # an operation on addresses: g' = D R^-1 W R D^-1 g, which must be integral
        A = np.linalg.inv(self.basis)[None] @ ops @ self.basis[None]
        if np.abs(A - np.rint(A)).max() > 1e-8:
            what = f"mesh {n.tolist()}" if self.is_regular else f"supercell {self.matrix.tolist()}"
            raise ValueError(f"the {what} breaks the crystal's point group: give a mesh with equal "
                             "divisions along symmetry-equivalent axes (or a supercell with the crystal's symmetry)")
        self.operations = np.rint(A).astype(np.int64)                                 # (n_ops, 3, 3)
        # where every operation sends every point: (n_ops, N)
        self.rotated = self.index(np.einsum("oab,nb->ona", self.operations, self.addresses))
        self.star_of = self.rotated.min(axis=0)               # the smallest index of each point's star
        irr, inv, cnt = np.unique(self.star_of, return_inverse=True, return_counts=True)
        self.irreducible = irr                                #: grid indices of the irreducible points
        self.weights = cnt                                    #: size of every point's star
        self.irreducible_of = inv.reshape(-1)                 #: position in ``irreducible`` of each point
        self.qpoints = self._reduced(self.addresses)          #: reduced q of every point, (N, 3), in [0, 1)

    @property
    def is_regular(self) -> bool:
        """True for a regular mesh (a diagonal supercell matrix)."""
        return bool(np.array_equal(self._R, np.eye(3)))

    @property
    def n_points(self) -> int:
        return int(np.prod(self.mesh))

    def _reduced(self, addresses) -> np.ndarray:
        """Reduced q of integer addresses, components in [0, 1), rounded to the grid's exact rationals."""
        a = np.asarray(addresses, dtype=np.int64)
        if self.is_regular:
            return np.mod(a, self.mesh) / self.mesh
        det = int(np.prod(self.mesh))                       # q det S is integral for every commensurate q
        k = np.rint((a @ self.basis.T) * det).astype(np.int64)
        return np.mod(k, det) / det

    def addresses_of(self, qpoints, tol: float = 1e-6) -> np.ndarray:
        """Integer addresses (n, 3) of reduced q-points (n, 3) of the grid.

        Raises
        ------
        ValueError
            If a q-point is not on the grid (not commensurate with its supercell).
        """
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        a = q @ np.linalg.inv(self.basis).T
        off = np.abs(a - np.rint(a)).max(axis=1) > tol
        if off.any():
            what = f"the {self.mesh.tolist()} mesh" if self.is_regular else \
                f"the grid of the supercell {self.matrix.tolist()}"
            raise ValueError(f"q = {q[off][0].tolist()} is not on {what}: three-phonon sums are taken on the grid, "
                             "so ask for q-points of it (or choose a grid that contains them)")
        return np.rint(a).astype(np.int64)

    def microzone(self, reciprocal_cell) -> np.ndarray:
        """The Cartesian edges (rows, 1/Å) of the grid's cell, the microzone the tetrahedra are cut from: the
        columns of S^-1 (reduced) times the reciprocal cell (rows b1, b2, b3), b_i / n_i for a regular mesh.
        A step n in this basis is the address step ``steps @ n`` (Togo, Shinohara and Tanaka, J. Phys.:
        Condens. Matter 35, 353001 (2023), generalised regular grids)."""
        return np.linalg.inv(self.matrix.astype(float)).T @ np.asarray(reciprocal_cell, dtype=float)

    def index(self, addresses) -> np.ndarray:
        """Grid index of integer addresses (..., 3), taken modulo the address box."""
        return mesh_index(addresses, self.mesh)

    def little_group(self, q: int) -> np.ndarray:
        """The operations (as address matrices, (m, 3, 3)) that leave grid point ``q`` where it is."""
        return self.operations[self.rotated[:, q] == q]

    def triplets(self, q: int, reduce: bool = True) -> Triplets:
        """Triplets (q, q', q'') with q'' = -q - q' over the whole grid, reduced by symmetry.

        With ``reduce`` one q' stands for its orbit under the little group of q and the exchange
        q' <-> q''; its weight is the orbit's size. Without, every q' of the grid is a triplet of weight 1.
        """
        q = int(q)
        a = self.addresses
        q2 = self.index(-a[q][None, :] - a)                                          # (N,)
        if reduce:
            lg = self.little_group(q)
            im = self.index(np.einsum("oab,nb->ona", lg, a))                          # (m, N)
            key = np.minimum(im.min(axis=0), q2[im].min(axis=0))                      # orbit with the exchange
            q1, w = np.unique(key, return_counts=True)
        else:
            q1, w = np.arange(self.n_points), np.ones(self.n_points, dtype=np.int64)
        q2 = q2[q1]
        qp = self.qpoints
        G = np.rint(qp[q][None, :] + qp[q1] + qp[q2]).astype(np.int64)              # exact: sums are integral
        return Triplets(q, q1, q2, w, G)
