"""Supercells of a primitive cell: the map of their atoms onto the primitive lattice, and the Smith normal form
of the supercell matrix.

The Smith normal form gives the cell grid of a supercell of any shape. For a supercell matrix S (``supercell.cell = S @ primitive.cell``) the primitive lattice vectors n
(integer rows) modulo the supercell lattice (rows of S) form the finite group Z^3 / Z^3 S.  With the
Smith normal form ``L @ S @ R = D`` (L, R unimodular, D diagonal) the map ``m = (n @ R) mod diag(D)``
is an isomorphism onto the grid Z_d1 x Z_d2 x Z_d3, and for a commensurate q (``S @ q`` integer) the
phase is ``exp(2 pi i q.n) = exp(2 pi i sum_j m_j g_j / d_j)`` with ``g = (L @ S @ q) mod d``: a
discrete Fourier transform on the grid, also for non-diagonal supercells (fcc conventional cells,
for instance, are not diagonal on the primitive cell).
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import cached_property

import numpy as np

__all__ = ["SupercellMap", "smith_normal_form"]


@dataclass(frozen=True)
class SupercellMap:
    """How the atoms of a supercell sit on the lattice of a primitive cell.

    Attributes
    ----------
    matrix : ndarray of int, shape (3, 3)
        Supercell matrix ``S``: ``supercell.cell = S @ primitive.cell`` (rows are lattice vectors).
    atom : ndarray of int, shape (N,)
        For every supercell atom, the index of its primitive atom.
    lattice : ndarray of int, shape (N, 3)
        For every supercell atom, its lattice vector in integer coordinates of the primitive cell.
    distance : ndarray, shape (N,)
        Distance in Å between every supercell atom and its ideal site.
    shift : ndarray, shape (3,)
        Cartesian translation (Å) from the primitive cell's frame to the supercell's:
        ideal position = ``primitive.positions[atom] + lattice @ primitive.cell + shift``.
    """

    matrix: np.ndarray
    atom: np.ndarray
    lattice: np.ndarray
    distance: np.ndarray
    shift: np.ndarray = field(default_factory=lambda: np.zeros(3))

    def __getstate__(self) -> dict:
        """The fields only: the tables found from them and kept on the map (the site lookup, the dynamical matrix's
        image pairs) are remade where needed instead of travelling with every pickle (Dask graphs on a cluster)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @property
    def n_cells(self) -> int:
        """Number of primitive cells in the supercell, ``|det S|``."""
        return int(round(abs(np.linalg.det(self.matrix))))

    def reduce(self, lattice: np.ndarray) -> np.ndarray:
        """Integer lattice vectors (primitive coordinates) brought back into the supercell.

        Two vectors that differ by a supercell lattice vector give the same result.
        """
        det = self.n_cells
        adj = np.rint(np.linalg.inv(self.matrix) * det).astype(np.int64)   # S^-1 * det, integer
        f = np.mod(np.asarray(lattice, dtype=np.int64) @ adj, det)          # frac in supercell * det
        return (f @ self.matrix) // det

    @cached_property
    def _grid(self) -> tuple[np.ndarray, np.ndarray]:
        """``(R, d)`` of the Smith normal form ``L @ S @ R = D``, ``d = diag(D)``: lattice vector n lies in the cell
        ``(n @ R) mod d`` of the grid Z_d1 x Z_d2 x Z_d3 (the module's docstring)."""
        _, D, R = smith_normal_form(self.matrix)
        return R, np.diag(D).copy()

    def keys(self, atom: np.ndarray, lattice: np.ndarray) -> np.ndarray:
        """One integer per site (primitive atom, lattice vector reduced into the supercell): equal keys, equal
        supercell atom. Dense: ``atom * n_cells`` plus the lattice vector's cell on the Smith normal form's grid."""
        R, d = self._grid
        L = np.asarray(lattice, dtype=np.int64)
        # (L @ R) mod d, column by column: elementwise products, faster than an integer matmul over (n, 3) rows
        m = [np.mod(L[..., 0] * R[0, j] + L[..., 1] * R[1, j] + L[..., 2] * R[2, j], d[j]) for j in range(3)]
        return ((np.asarray(atom, dtype=np.int64) * d[0] + m[0]) * d[1] + m[1]) * d[2] + m[2]

    @cached_property
    def _lookup(self) -> np.ndarray:
        """The supercell atom of every key (:meth:`keys`), -1 for a site no atom holds; where two atoms hold one
        site, the first. A table of (primitive atoms x cells) entries read directly: no search over sorted keys
        (at 10^6 atoms the fit's partner tables, 13 x 10^6 sites, took 0.3 s to search)."""
        keys = self.keys(self.atom, self.lattice)
        table = np.full((int(self.atom.max()) + 1 if len(self.atom) else 0) * self.n_cells, -1, dtype=np.int64)
        table[keys[::-1]] = np.arange(len(keys) - 1, -1, -1)
        return table

    @property
    def one_to_one(self) -> bool:
        """Whether no two atoms sit on the same site (primitive atom, lattice vector modulo the supercell)."""
        return int(np.count_nonzero(self._lookup >= 0)) == len(self.atom)

    def index(self, atom: np.ndarray, lattice: np.ndarray) -> np.ndarray:
        """Supercell atom index of primitive atom ``atom`` translated by ``lattice`` (any shapes that broadcast).

        Raises
        ------
        KeyError
            If a requested site is not in the supercell.
        """
        atom, lattice = np.asarray(atom), np.asarray(lattice)
        keys = self.keys(atom, lattice)
        table = self._lookup
        if keys.size and (int(keys.max()) >= len(table) or int(keys.min()) < 0):
            raise KeyError("site not present in the supercell")
        out = table[keys]
        if np.any(out < 0):
            raise KeyError("site not present in the supercell")
        return out


def smith_normal_form(matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Smith normal form ``L @ A @ R = D`` of a square integer matrix.

    Parameters
    ----------
    matrix : array_like of int, shape (n, n)
        Non-singular integer matrix (a float matrix must hold integers).

    Returns
    -------
    L, D, R : ndarray of int64, shape (n, n)
        ``L`` and ``R`` unimodular (determinant +-1), ``D`` diagonal with positive entries,
        each dividing the next.

    Raises
    ------
    ValueError
        If the matrix is not square, not integral or singular.
    """
    A0 = np.asarray(matrix)
    if A0.ndim != 2 or A0.shape[0] != A0.shape[1]:
        raise ValueError(f"need a square matrix, not shape {A0.shape}")
    if not np.allclose(A0, np.rint(A0), atol=1e-8):
        raise ValueError(f"the matrix is not integral: {A0.tolist()}")
    A = np.rint(A0).astype(np.int64)
    n = len(A)
    L, R = np.eye(n, dtype=np.int64), np.eye(n, dtype=np.int64)
    for t in range(n):
        while True:
            sub = np.abs(A[t:, t:])
            if not sub.any():
                raise ValueError(f"the matrix is singular: {A0.tolist()}")
            sub = np.where(sub == 0, np.iinfo(np.int64).max, sub)
            i, j = np.unravel_index(np.argmin(sub), sub.shape)
            A[[t, t + i]], L[[t, t + i]] = A[[t + i, t]], L[[t + i, t]]
            A[:, [t, t + j]], R[:, [t, t + j]] = A[:, [t + j, t]], R[:, [t + j, t]]
            p, clean = A[t, t], True
            for r in range(t + 1, n):
                c = A[r, t] // p
                A[r] -= c * A[t]
                L[r] -= c * L[t]
                clean &= A[r, t] == 0
            for s in range(t + 1, n):
                c = A[t, s] // p
                A[:, s] -= c * A[:, t]
                R[:, s] -= c * R[:, t]
                clean &= A[t, s] == 0
            if clean:
                bad = np.argwhere(A[t + 1:, t + 1:] % p != 0)
                if len(bad) == 0:
                    break
                r = t + 1 + bad[0][0]                 # divisibility: fold that row in and repeat
                A[t] += A[r]
                L[t] += L[r]
        if A[t, t] < 0:
            A[t], L[t] = -A[t], -L[t]
    assert np.array_equal(L @ np.rint(A0).astype(np.int64) @ R, A), "Smith normal form failed"
    return L, A, R
