"""The pair cutoff of the second order from the data: the fits at every smaller cutoff from the normal equations of
one pass at the largest, with their scores and paired bootstrap resamples.

Nested models. The second-order constants within a cutoff r obey the same space-group and acoustic-sum-rule
conditions as those within any larger cutoff R, and are the constants within R whose blocks beyond r vanish. So the
model of cutoff r is a linear subspace of the model of cutoff R: p_R = T_r p_r, with T_r an orthonormal basis of the
null space of the rows of the expansion E (parameters -> Cartesian blocks) that belong to pairs beyond r. Its normal
equations are T_r' G T_r and T_r' b, whatever parameters the sum rule eliminated (the acoustic sum rule fixes the
self term by the pairs, so a smaller model is not always a subset of the larger one's free parameters: which of them
the pivoted QR of :func:`~trajmodes.forceconstants.clusters.build_basis` eliminates depends on the cutoff). One pass
over the frames at the largest cutoff therefore gives the fit, the R^2, the cross-validation error and the block
bootstrap of every smaller cutoff by P x P algebra (:func:`scan_cutoffs`); the estimator narrows itself to a chosen
cutoff the same way (:meth:`~trajmodes.forceconstants.fit.EffectiveForceConstants.refit` with ``cutoff2=``).

The candidate cutoffs are the neighbour shells: one row per distance at which pairs of the supercell's crystal occur,
the cutoff of a row half-way between its shell and the next (so that a crystal strained a little keeps its shells).
Which row to use is chosen from the frequencies of each row (:mod:`trajmodes.phonons.harmonic.convergence`), which need the
dynamical matrix, a layer above this one.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from trajmodes.forceconstants.design import NormalBlocks
from trajmodes.forceconstants.solve import fit_params, scores
from trajmodes.forceconstants.uncertainty import (blocking_curve, blocking_plateau, resample_counts, scaled_samples,
                                                  segment_influence)
from trajmodes.lattice.geometry import shortest_lattice_vector, shortest_vectors

__all__ = ["SHELL_TOL", "MAX_ROWS", "largest_cutoff", "entry_distances", "shell_radii", "shell_cutoffs", "nested_map",
           "embedding", "project_blocks", "CutoffScan", "scan_cutoffs"]

#: pair distances closer than this (A) are one shell
SHELL_TOL = 1e-3
#: at most this many rows (shells) are scanned by default; with more shells, every k-th from the longest
MAX_ROWS = 32
#: how far below half the shortest supercell vector the largest cutoff stays (A): pairs at that distance have two
#: equally short images
IMAGE_MARGIN = 1e-3


def largest_cutoff(cell) -> float:
    """The largest pair cutoff (Å) a supercell allows without two images of a pair: just below half its shortest
    lattice vector (the radius of the sphere inscribed in its Wigner-Seitz cell), TDEP's default."""
    return 0.5 * shortest_lattice_vector(np.asarray(cell, float)) - IMAGE_MARGIN


def entry_distances(basis, supercell) -> np.ndarray:
    """The pair distance (Å) of every entry ``(k, j)`` of an order-2 basis: |r_j - r_p2s[k]|, shortest image, on the
    ideal ``supercell`` the basis was built on."""
    x = np.asarray(supercell.positions, float)
    i = np.asarray(basis.p2s)[basis.sites[:, 0]]
    return np.linalg.norm(shortest_vectors(x[basis.sites[:, 1]] - x[i], supercell.cell), axis=-1)


def shell_radii(distances, tol: float = SHELL_TOL) -> np.ndarray:
    """The distinct non-zero pair distances (Å), ascending (distances within ``tol`` of each other are one shell)."""
    d = np.sort(np.asarray(distances, float))
    d = d[d > tol]
    if d.size == 0:
        return d
    start = np.concatenate([[True], np.diff(d) > tol])
    return d[start]


def shell_cutoffs(shells, limit: float) -> np.ndarray:
    """The cutoff of each shell's row: half-way to the next shell, at most ``limit`` (Å)."""
    shells = np.asarray(shells, float)
    nxt = np.concatenate([shells[1:], [np.inf]])
    return np.minimum(0.5 * (shells + nxt), float(limit))


def nested_map(basis, distances, cutoff: float) -> np.ndarray:
    """T (P, P_r), orthonormal columns: the parameters of ``basis`` whose blocks vanish for every pair beyond
    ``cutoff`` (Å) are T p_r. ``distances``: :func:`entry_distances`."""
    far = np.flatnonzero(np.asarray(distances) > cutoff + SHELL_TOL)
    P = basis.n_params
    if far.size == 0:
        return np.eye(P)
    dim = 9
    rows = (far[:, None] * dim + np.arange(dim)).ravel()
    Ef = basis.E[rows]
    M = (Ef.T @ Ef).toarray() if hasattr(Ef, "toarray") else Ef.T @ Ef
    w, V = np.linalg.eigh(M)
    scale = max(float(w[-1]), 1e-300)
    return V[:, w <= 1e-10 * scale]


def embedding(big, small) -> np.ndarray:
    """T (P_big, P_small): the parameters of the order-2 basis ``big`` that give the constants of ``small`` (a basis
    within a shorter cutoff on the same supercell), E_big T = E_small on every entry. Raises ValueError when the
    constants of ``small`` are not all constants of ``big``."""
    N = big.n_atoms
    kb = big.sites[:, 0] * N + big.sites[:, 1]
    ks = small.sites[:, 0] * N + small.sites[:, 1]
    pos = np.searchsorted(kb, ks)
    if np.any(pos >= len(kb)) or not np.array_equal(kb[np.minimum(pos, len(kb) - 1)], ks):
        raise ValueError("the smaller cutoff's pairs are not all pairs of the fitted basis")
    Es = small.E.tocoo()
    rows = pos[Es.row // 9] * 9 + Es.row % 9
    import scipy.sparse as sp
    emb = sp.csr_matrix((Es.data, (rows, Es.col)), shape=(big.E.shape[0], small.n_params))
    EtE = (big.E.T @ big.E).toarray()
    T = np.linalg.solve(EtE, (big.E.T @ emb).toarray())
    resid = abs(big.E @ T - emb).max() if T.size else 0.0
    if resid > 1e-8 * max(1.0, abs(emb).max()):
        raise ValueError(f"the constants of the smaller cutoff are not in the fitted model (off by {resid:.2g}): "
                         "fit again with that cutoff")
    return T


def project_blocks(blocks: NormalBlocks, T: np.ndarray) -> NormalBlocks:
    """The normal equations in the parameters p' of p = T p' (T: (P, P'), P the blocks' parameters)."""
    G = np.einsum("pi,npq,qj->nij", T, blocks.G, T, optimize=True)
    b = blocks.b @ T
    bu = blocks.bu @ T
    kept = {a: getattr(blocks, a) for a in NormalBlocks.ARRAYS if a not in ("G", "b", "bu")}
    return NormalBlocks(G=G, b=b, bu=bu, ids=blocks.ids, **kept)


def _order2(blocks: NormalBlocks, P2: int) -> NormalBlocks:
    """The blocks of the order-2 columns alone."""
    kept = {a: getattr(blocks, a) for a in NormalBlocks.ARRAYS if a not in ("G", "b", "bu")}
    return NormalBlocks(G=blocks.G[:, :P2, :P2], b=blocks.b[:, :P2], bu=blocks.bu[:, :P2], ids=blocks.ids, **kept)


def _solve_many(G: np.ndarray, b: np.ndarray, rcond=None) -> np.ndarray:
    """The solutions of a stack of normal equations G p = b, (n, P, P) and (n, P): one batched solve of the
    equilibrated systems, the ones it cannot do by :func:`~trajmodes.forceconstants.solve.fit_params`."""
    d = np.sqrt(np.clip(np.einsum("nii->ni", G), 0, None))
    d[d == 0] = 1.0
    Gs = G / d[:, :, None] / d[:, None, :]
    try:
        L = np.linalg.cholesky(Gs)
        ok = np.abs(np.einsum("nii->ni", L)).min(axis=1) > np.sqrt(G.shape[-1] * 4 * np.finfo(float).eps)
        if ok.all():
            return np.linalg.solve(Gs, (b / d)[..., None])[..., 0] / d
    except np.linalg.LinAlgError:
        pass
    return np.array([fit_params(G[k], b[k], [G.shape[-1]], "sequential", rcond, "cholesky")[0]
                     for k in range(len(b))])


@dataclass(frozen=True)
class CutoffScan:
    """The second-order fits at every neighbour shell of a fitted run (:func:`scan_cutoffs`).

    Attributes
    ----------
    cutoff : ndarray (n,)
        The cutoff of each row, Å (half-way from its outermost shell to the next, at most the fitted cutoff).
    shell : ndarray (n,)
        The outermost shell each row holds, Å.
    n_params : ndarray (n,) of int
        Free second-order parameters.
    r2, rmse, cv_rmse : ndarray (n,)
        R^2 of the forces, RMSE and k-fold cross-validation RMSE per force component (eV/Å), of the second order
        alone.
    condition_number : ndarray (n,)
        Of each row's equilibrated normal matrix.
    rank : ndarray (n,) of int
        Of each row's normal matrix (below ``n_params``: under-determined).
    params : ndarray (n, P)
        Each row's second-order constants as parameters of the fitted basis (eV/Å²).
    samples : ndarray (n, n_resamples, P)
        The same for every block-bootstrap resample, paired (the same resampled segments in every row), their spread
        scaled by ``blocking_ratio``.
    n_segments : int
        Time segments resampled (for :func:`~trajmodes.forceconstants.uncertainty.bootstrap_std`).
    blocking_ratio : float
        The blocking factor of the largest row (:meth:`~trajmodes.EffectiveForceConstants.bootstrap`).
    """

    cutoff: np.ndarray
    shell: np.ndarray
    n_params: np.ndarray
    r2: np.ndarray
    rmse: np.ndarray
    cv_rmse: np.ndarray
    condition_number: np.ndarray
    rank: np.ndarray
    params: np.ndarray
    samples: np.ndarray
    n_segments: int
    blocking_ratio: float


def scan_cutoffs(fit, n_resamples: int = 100, seed: int | None = 0, cutoffs=None) -> CutoffScan:
    """The second-order fit of ``fit`` (a fitted :class:`~trajmodes.EffectiveForceConstants`) at every neighbour shell
    up to its own cutoff, from its stored normal equations: no pass over the frames.

    Each row is the fit of the second order alone (the sequential fit's; in a simultaneous fit the third order would
    take a part of the forces away from every row alike), with its scores (:func:`~trajmodes.forceconstants.solve.
    scores`: R^2, RMSE, cross-validation RMSE over the fit's folds) and ``n_resamples`` block-bootstrap resamples of
    the time segments, the same resamples in every row, so that the difference of two rows has its own error bar.

    Parameters
    ----------
    fit : EffectiveForceConstants
        Fitted, with a second-order basis (not a held fc2).
    n_resamples : int
        Bootstrap resamples (0: none; then the rows have no error bars).
    seed : int or None
    cutoffs : array_like, optional
        The rows' cutoffs in Å (default every shell of the fitted basis, at most :data:`MAX_ROWS` of them: with more,
        every k-th counted from the longest).

    Returns
    -------
    CutoffScan
    """
    if getattr(fit, "fc2", None) is not None:
        raise ValueError("the second order is held (fc2=), not fitted: there is no pair cutoff to scan")
    basis = fit.bases_[2]
    P = basis.n_params
    dist = entry_distances(basis, fit.supercell_)
    shells = shell_radii(dist)
    limit = float(np.max(dist)) + SHELL_TOL if basis.cutoff is None else float(basis.cutoff)
    if cutoffs is None:
        cut = shell_cutoffs(shells, limit)
        if len(cut) > MAX_ROWS:              # many shells (large cells): every k-th, counted from the longest
            cut = cut[::-1][::-(-len(cut) // MAX_ROWS)][::-1]
    else:
        cut = np.sort(np.asarray(cutoffs, float))
    if len(cut) == 0:
        raise ValueError("no pair beyond the atom itself within the fitted cutoff: nothing to scan")
    outer = np.array([shells[shells <= c + SHELL_TOL].max(initial=0.0) for c in cut])
    folds, segs = _order2(fit.blocks_, P), _order2(fit.segments_, P)
    # the blocking factor of the largest model (as EffectiveForceConstants.bootstrap)
    p_big = fit_params(*folds.total()[:2], [P], "sequential", fit.rcond)[0]
    factor = 1.0
    B = segs.n_blocks
    if B >= 4 and n_resamples:
        nb, berr = blocking_curve(segment_influence(segs, p_big, [P], "sequential"))
        factor = blocking_plateau(nb, berr)[0]
        counts = resample_counts(B, n_resamples, seed).astype(float)
    else:
        counts = None
    n = len(cut)
    out = dict(n_params=np.zeros(n, np.int64), r2=np.zeros(n), rmse=np.zeros(n), cv_rmse=np.zeros(n),
               condition_number=np.zeros(n), rank=np.zeros(n, np.int64))
    params = np.zeros((n, P))
    samples = np.full((n, 0 if counts is None else len(counts), P), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # 0 / 0 of a singular system
        for r, c in enumerate(cut):
            T = nested_map(basis, dist, c)
            pf = project_blocks(folds, T)
            G, b = pf.total()[:2]
            p, info = fit_params(G, b, [T.shape[1]], "sequential", fit.rcond)
            s = scores(pf, p, [T.shape[1]], [2], info, "sequential", fit.rcond, fit.cv)
            out["n_params"][r] = T.shape[1]
            out["rank"][r] = info[0][1]
            for k in ("r2", "rmse", "cv_rmse", "condition_number"):
                out[k][r] = float(s[k].values[0])
            params[r] = T @ p
            if counts is not None:             # the segments projected, then resampled: sums of their P_r x P_r
                ps_ = project_blocks(segs, T)
                ps = _solve_many(np.tensordot(counts, ps_.G, axes=1), counts @ ps_.b, fit.rcond)
                samples[r] = scaled_samples(ps @ T.T, factor, params[r])
    return CutoffScan(cutoff=cut, shell=outer, params=params, samples=samples, n_segments=int(B),
                      blocking_ratio=float(factor), **out)
