"""A second order held fixed while the third is fitted (phono3py's separate fc2 and fc3 datasets, ``--dim-fc2``): the
held fc2's parameters on the fitted supercell, the third order's solve around them and its cross-validation."""

from __future__ import annotations

import warnings

import numpy as np

from trajmodes.forceconstants.solve import residual_sum, solve_normal


def held_params(fc2, basis, supercell, p2s) -> np.ndarray:
    """Order-2 parameters of the held ``fc2`` (:class:`~trajmodes.forceconstants.model.ForceConstants`, on its own
    supercell) on the fitted ``supercell`` (folded, then projected onto ``basis``, the basis of every pair; exact for
    constants with the supercell's symmetry and the sum rule), in eV/Å². Warns when the held constants are not
    symmetric: their symmetric, sum-rule form is held."""
    folded = fc2.folded_fc2(supercell, p2s)
    p2 = basis.project(folded)
    err = np.abs(basis.to_compact(p2) - folded).max()
    if err > 1e-6 * max(np.abs(folded).max(), 1e-300) + 1e-8:
        warnings.warn(f"the held fc2 differs from its symmetric, sum-rule form by up to {err:.3g} eV/A^2 "
                      "(symmetrise it first: ForceConstants.symmetrized()); the symmetric form is held",
                      UserWarning, stacklevel=5)
    return p2


def solve_held(G, b, p2, rcond):
    """Parameters with order 2 held at ``p2`` (its ``n2`` parameters first): p3 = G33^-1 (b3 - G32 p2), from the normal
    equations ``G`` p = ``b``; with the conditioning of each order ((nan, n2) for the held one)."""
    n2 = len(p2)
    p3, cond, rank = solve_normal(G[n2:, n2:], b[n2:] - G[n2:, :n2] @ p2, rcond)
    return np.concatenate([p2, p3]), [(np.nan, n2), (cond, rank)]


def held_cv_rmse(blocks, p, n2, rcond) -> np.ndarray | None:
    """Cross-validation RMSE (eV/Å, of the model to order 2 and to order 3) with order 2 held at ``p[:n2]``: each
    fold's third order fitted from the other folds' normal equations ``blocks``; None with fewer than two folds with
    rows."""
    G, b, _, _ = blocks.total()
    held = [h for h in range(blocks.n_folds) if blocks.n_rows[h] > 0]
    if len(held) < 2:
        return None
    rss = np.zeros(2)
    p2 = p[:n2]
    for h in held:
        Gt, bt = G - blocks.G[h], b - blocks.b[h]
        p3 = solve_normal(Gt[n2:, n2:], bt[n2:] - Gt[n2:, :n2] @ p2, rcond, "cholesky")[0]
        q = np.concatenate([p2, p3])
        rss[0] += max(residual_sum(blocks.G[h], blocks.b[h], blocks.ff[h], np.concatenate([p2, 0 * p3])), 0.0)
        rss[1] += max(residual_sum(blocks.G[h], blocks.b[h], blocks.ff[h], q), 0.0)
    return np.sqrt(rss / sum(blocks.n_rows[h] for h in held))
