"""Degenerate phonon branches: groups of modes at one q whose frequencies lie within a tolerance (chained),
and averages over them. A quantity of one mode inside a degenerate subspace depends on the arbitrary basis
of eigenvectors chosen there; its average over the subspace does not."""
from __future__ import annotations

import numpy as np

__all__ = ["degenerate_groups", "degenerate_labels", "degenerate_averager", "degenerate_average"]


def degenerate_groups(nu, tol: float) -> list[list[int]]:
    """Groups of branch indices with chained |nu_i - nu_j| < ``tol`` (THz) at one q (``nu`` sorted or not)."""
    nu = np.asarray(nu, dtype=float)
    order = np.argsort(nu, kind="stable")
    groups, cur = [], [int(order[0])]
    for a, b in zip(order[:-1], order[1:]):
        if abs(nu[b] - nu[a]) < tol:
            cur.append(int(b))
        else:
            groups.append(cur)
            cur = [int(b)]
    groups.append(cur)
    return groups


def degenerate_labels(freqs, tol: float = 1e-4) -> np.ndarray:
    """Label of each branch's degenerate group, (nq, nb) int, for frequencies (nq, nb) ascending at every q:
    branches with chained gaps below ``tol`` (THz) share a label."""
    f = np.atleast_2d(np.asarray(freqs, dtype=float))
    start = np.ones(f.shape, dtype=bool)
    start[:, 1:] = np.diff(f, axis=1) >= tol
    return np.cumsum(start, axis=1) - 1


def degenerate_averager(freqs, tol: float = 1e-4) -> np.ndarray:
    """Matrices M (nq, nb, nb) with (M v)_i the mean of v over the degenerate group of branch i, for frequencies
    (nq, nb) ascending at every q."""
    lab = degenerate_labels(freqs, tol)
    same = (lab[:, :, None] == lab[:, None, :]).astype(float)
    return same / same.sum(axis=2, keepdims=True)


def degenerate_average(values, freqs, tol: float = 1e-4) -> np.ndarray:
    """``values`` (..., nq, nb) averaged over the degenerate groups of ``freqs`` (nq, nb, ascending)."""
    return np.einsum("qij,...qj->...qi", degenerate_averager(freqs, tol), np.asarray(values, dtype=float))
