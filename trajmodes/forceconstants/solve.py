"""Solving the normal equations of the force-constant fit: per order (sequential, TDEP) or together
(simultaneous), and the scores of a solution (R^2, RMSE, k-fold cross-validation, sigma_A).

Computed from the normal equations, a residual sum of squares is a difference of numbers of the size of f'f, so
RMSEs resolve down to about sqrt(eps) ~ 1.5e-8 of the force scale (R^2 to ~eps).
"""
from __future__ import annotations

import warnings

import numpy as np

from trajmodes.forceconstants.design import NormalBlocks

__all__ = ["solve_normal", "fit_params", "residual_sum", "truncated", "scores"]


def solve_normal(G: np.ndarray, b: np.ndarray, rcond: float | None = None,
                 method: str = "eigh") -> tuple[np.ndarray, float, int]:
    """Least-squares parameters from normal equations G p = b, without regularisation.

    The columns are equilibrated (G -> D G D, D = diag(G)^-1/2) and the symmetric matrix is
    diagonalised; eigenvalues below ``rcond`` times the largest (default ``P * 4 eps``) are dropped,
    so an under-determined system gives the minimum-norm solution (in the equilibrated parameters).
    ``method="cholesky"`` (the cross-validation refits) solves by Cholesky instead, falling back to the
    eigen-decomposition when the factorisation fails; its condition number is then not computed (NaN).

    Returns
    -------
    p : ndarray (P,)
    cond : float
        Condition number of the equilibrated normal matrix (inf when singular).
    rank : int
    """
    from scipy.linalg import eigh
    P = len(b)
    if P == 0:
        return np.zeros(0), 1.0, 0
    d = np.sqrt(np.clip(np.diag(G), 0, None))
    d[d == 0] = 1.0
    Gs = G / d[:, None] / d[None, :]
    if method == "cholesky":
        from scipy.linalg import LinAlgError, cho_factor, cho_solve
        try:
            c = cho_factor(Gs, check_finite=False)
            if np.all(np.abs(np.diag(c[0])) > np.sqrt(P * 4 * np.finfo(float).eps)):
                return cho_solve(c, b / d, check_finite=False) / d, np.nan, P
        except LinAlgError:
            pass
    w, V = eigh(Gs)
    wmax = max(float(w[-1]), 0.0)
    tol = (P * 4 * np.finfo(float).eps if rcond is None else rcond) * wmax
    keep = w > tol
    y = V[:, keep] @ ((V[:, keep].T @ (b / d)) / w[keep]) if keep.any() else np.zeros(P)
    cond = wmax / float(w[0]) if w[0] > 0 else np.inf
    return y / d, cond, int(keep.sum())


def fit_params(G, b, sizes, mode, rcond=None, method="eigh"):
    """Parameters of all orders (concatenated) and per-order (cond, rank) in ``mode``."""
    off = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
    P = int(off[-1])
    p = np.zeros(P)
    info = []
    if mode == "simultaneous" or len(sizes) == 1:
        p[:], cond, rank = solve_normal(G, b, rcond, method)
        if len(sizes) == 1 or method != "eigh":
            return p, [(cond, rank)] * len(sizes)
        s2 = slice(0, sizes[0])
        c2 = solve_normal(G[s2, s2], b[s2], rcond)[1:]
        return p, [c2] + [(cond, rank)] * (len(sizes) - 1)
    for o in range(len(sizes)):
        s = slice(off[o], off[o + 1])
        rhs = b[s] - G[s, :off[o]] @ p[:off[o]]
        p[s], cond, rank = solve_normal(G[s, s], rhs, rcond, method)
        info.append((cond, rank))
    return p, info


def residual_sum(G, b, ff, p) -> float:
    """|f - A p|^2 = f'f - 2 p'A'f + p'A'A p from the normal equations."""
    return float(ff - 2.0 * p @ b + p @ G @ p)


def truncated(p, sizes, o):
    """The parameters ``p`` with every order after the ``o``-th (0-based) set to zero."""
    q = p.copy()
    q[int(np.sum(sizes[:o + 1])):] = 0.0
    return q


def scores(blocks: NormalBlocks, p: np.ndarray, sizes, orders, info, mode: str, rcond=None, cv: str = "blocks",
           cutoff2: float = np.nan, cutoff3: float | None = None, cutoff4: float | None = None):
    """Scores of the parameters ``p`` per order (the model truncated after that order), as an xarray Dataset.

    ``r2`` = 1 - |f - f_model|^2 / |f|^2, ``rmse`` per force component (eV/Å), ``cv_rmse``: k-fold
    cross-validation (each fold fitted in ``mode`` from the other folds' summed blocks, its residual evaluated with
    its own blocks), ``condition_number`` (from ``info``, the (cond, rank) per order of :func:`fit_params`),
    ``n_params``; scalars ``sigma_a`` = sqrt(<(f - f_harm)^2> / <f^2>) with the harmonic part of ``p``,
    ``n_frames`` and ``n_rows``.
    """
    import xarray as xr
    blk = blocks
    G, b, ff, n = blk.total()
    n_frames = int(blk.n_frames.sum())
    sizes = np.asarray(sizes)
    r2, rmse, conds = [], [], []
    for i in range(len(orders)):
        q = truncated(p, sizes, i)
        rss = max(residual_sum(G, b, ff, q), 0.0)
        r2.append(1.0 - rss / ff if ff > 0 else np.nan)
        rmse.append(np.sqrt(rss / n) if n else np.nan)
        conds.append(info[i][0])
    cv_rss = np.zeros(len(orders))
    nf = blk.n_folds
    held = [h for h in range(nf) if blk.n_rows[h] > 0]
    if len(held) > 1:
        for h in held:
            Gt, bt = G - blk.G[h], b - blk.b[h]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)      # 0 / 0 of a singular system
                ph, _ = fit_params(Gt, bt, sizes, mode, rcond, "cholesky")
            for i in range(len(orders)):
                cv_rss[i] += max(residual_sum(blk.G[h], blk.b[h], blk.ff[h], truncated(ph, sizes, i)), 0.0)
        cv_rmse = list(np.sqrt(cv_rss / sum(blk.n_rows[h] for h in held)))
    else:
        cv_rmse = [np.nan] * len(orders)
    harm = truncated(p, sizes, 0)
    sigma_a = float(np.sqrt(max(residual_sum(G, b, ff, harm), 0.0) / ff)) if ff > 0 else np.nan
    return xr.Dataset(
        dict(r2=("order", np.array(r2), {"units": "1", "long_name": "R^2 of the forces"}),
             rmse=("order", np.array(rmse), {"units": "eV/Angstrom", "long_name": "RMSE per force component"}),
             cv_rmse=("order", np.array(cv_rmse, float), {"units": "eV/Angstrom",
                                                     "long_name": f"{nf}-fold cross-validation RMSE"}),
             n_params=("order", sizes.astype(np.int64), {"units": "1"}),
             condition_number=("order", np.array(conds, float),
                               {"units": "1", "long_name": "condition number of the equilibrated "
                                                           "normal matrix solved"}),
             sigma_a=((), sigma_a, {"units": "1", "long_name": "anharmonicity sqrt(<(f-f_harm)^2>/<f^2>)"}),
             n_frames=((), n_frames, {"units": "1"}),
             n_rows=((), n, {"units": "1", "long_name": "force components fitted"})),
        coords=dict(order=("order", np.array(orders))),
        attrs=dict(mode=mode, folds=int(nf), cv=cv, cutoff2=float(cutoff2),
                   cutoff3=np.nan if cutoff3 is None else float(cutoff3),
                   cutoff4=np.nan if cutoff4 is None else float(cutoff4)))
