"""Smith normal form of small integer matrices: the cell grid of a supercell of any shape.

For a supercell matrix S (``supercell.cell = S @ primitive.cell``) the primitive lattice vectors n
(integer rows) modulo the supercell lattice (rows of S) form the finite group Z^3 / Z^3 S.  With the
Smith normal form ``L @ S @ R = D`` (L, R unimodular, D diagonal) the map ``m = (n @ R) mod diag(D)``
is an isomorphism onto the grid Z_d1 x Z_d2 x Z_d3, and for a commensurate q (``S @ q`` integer) the
phase is ``exp(2 pi i q.n) = exp(2 pi i sum_j m_j g_j / d_j)`` with ``g = (L @ S @ q) mod d``: a
discrete Fourier transform on the grid, also for non-diagonal supercells (fcc conventional cells,
for instance, are not diagonal on the primitive cell).
"""
from __future__ import annotations

import numpy as np

__all__ = ["smith_normal_form"]


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
