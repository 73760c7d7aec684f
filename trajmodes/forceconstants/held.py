"""Second-order constants held fixed while the third order is fitted (phono3py's ``--dim-fc2``: fc2 from a separate,
often larger, supercell): :func:`fold_fc2` puts them on the fitted supercell, and :class:`HeldFC2` (a base of
:class:`~trajmodes.forceconstants.fit.EffectiveForceConstants`) solves, and cross-validates, the third order with them.
"""
from __future__ import annotations

import warnings

import numpy as np

from trajmodes.forceconstants.model import ForceConstants
from trajmodes.forceconstants.solve import residual_sum, solve_normal
from trajmodes.lattice.crystal import Crystal

__all__ = ["fold_fc2", "HeldFC2"]


def fold_fc2(fc2: ForceConstants, supercell: Crystal, p2s) -> np.ndarray:
    """Second-order constants of a supercell that is a multiple of ``supercell``, folded onto ``supercell``:
    :meth:`ForceConstants.folded_fc2 <trajmodes.forceconstants.model.ForceConstants.folded_fc2>` of ``fc2`` (where
    the sum over periodic images, the parameters, the result (compact, eV/A^2) and the errors are explained), which
    the readers of phono3py's ``--dim-fc2`` files call too. ``fc2`` lies on the larger (or the same) supercell.
    """
    return fc2.folded_fc2(supercell, p2s)


class HeldFC2:
    """The fit with its order 2 held at the estimator's ``fc2`` setting (on the estimator's ``bases_``,
    ``supercell_``, ``p2s_``, ``blocks_``, ``rcond``)."""

    def _held_params(self) -> np.ndarray:
        """Order-2 parameters of the held :attr:`fc2` on the fitted supercell (folded, then projected onto the
        basis of every pair; exact for constants with the supercell's symmetry and the sum rule)."""
        if getattr(self, "_held_p2", None) is None or self._held_p2[0] is not self.bases_[2]:
            folded = fold_fc2(self.fc2, self.supercell_, self.p2s_)
            p2 = self.bases_[2].project(folded)
            err = np.abs(self.bases_[2].to_compact(p2) - folded).max()
            if err > 1e-6 * max(np.abs(folded).max(), 1e-300) + 1e-8:
                warnings.warn(f"the held fc2 differs from its symmetric, sum-rule form by up to {err:.3g} eV/A^2 "
                              "(symmetrise it first: ForceConstants.symmetrized()); the symmetric form is held",
                              UserWarning, stacklevel=4)
            self._held_p2 = (self.bases_[2], p2)
        return self._held_p2[1]

    def _solve_held(self, G, b, sizes):
        """Parameters with order 2 held at the given fc2: p3 = G33^-1 (b3 - G32 p2)."""
        n2 = int(sizes[0])
        p2 = self._held_params()
        p3, cond, rank = solve_normal(G[n2:, n2:], b[n2:] - G[n2:, :n2] @ p2, self.rcond)
        return np.concatenate([p2, p3]), [(np.nan, n2), (cond, rank)]

    def _held_cv(self, p, sizes) -> None:
        """Cross-validation RMSE with order 2 held: each fold's third order from the other folds."""
        blk = self.blocks_
        n2 = int(sizes[0])
        G, b, _, _ = blk.total()
        held = [h for h in range(blk.n_folds) if blk.n_rows[h] > 0]
        if len(held) < 2:
            return
        rss = np.zeros(2)
        p2 = p[:n2]
        for h in held:
            Gt, bt = G - blk.G[h], b - blk.b[h]
            p3 = solve_normal(Gt[n2:, n2:], bt[n2:] - Gt[n2:, :n2] @ p2, self.rcond, "cholesky")[0]
            q = np.concatenate([p2, p3])
            rss[0] += max(residual_sum(blk.G[h], blk.b[h], blk.ff[h], np.concatenate([p2, 0 * p3])), 0.0)
            rss[1] += max(residual_sum(blk.G[h], blk.b[h], blk.ff[h], q), 0.0)
        self.scores_["cv_rmse"].values[:] = np.sqrt(rss / sum(blk.n_rows[h] for h in held))

    @property
    def fixed_fc2_(self) -> ForceConstants | None:
        """The fc2 held fixed (as given, on its own supercell), or None."""
        return self.fc2
