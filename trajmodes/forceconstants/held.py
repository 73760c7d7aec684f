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
    """Second-order constants of a supercell that is a multiple of ``supercell``, folded onto ``supercell``.

    The constant between atoms i and j of a periodic supercell is the sum over every periodic image of j;
    when the lattice of ``fc2.supercell`` is a sublattice of that of ``supercell`` (phono3py's ``--dim-fc2``:
    fc2 on 4x4x4, fc3 on 2x2x2), ``Phi_small[i, j] = sum_{j' = j mod small lattice} Phi_big[i', j']`` is exact
    (i' the big-supercell atom at the position of i). Both supercells must share the Cartesian frame and the
    origin of their atoms (as phonopy and phono3py build them from one unit cell).

    Parameters
    ----------
    fc2 : ForceConstants
        On the larger (or the same) supercell, eV/A^2.
    supercell : Crystal
        The supercell to fold onto (ideal positions, Angstrom).
    p2s : array_like of int (n_prim,)
        The rows of the compact layout wanted (atoms of ``supercell``).

    Returns
    -------
    ndarray (n_prim, N, 3, 3)
        Compact layout on ``supercell``, eV/A^2.

    Raises
    ------
    ValueError
        If the larger supercell's lattice is not made of lattice vectors of ``supercell``, or an atom of one has
        no counterpart in the other.
    """
    big, small = fc2.supercell, supercell
    tol = 1e-3
    m = np.asarray(big.cell, float) @ np.linalg.inv(np.asarray(small.cell, float))
    if np.abs(m - np.rint(m)).max() > 1e-4:
        raise ValueError("the given fc2's supercell is not a multiple of the fitted supercell (its lattice vectors "
                         f"in the fitted supercell's basis are {np.round(m, 4).tolist()}): fc2 cannot be folded onto it")
    Xb, Xs = np.asarray(big.positions, float), np.asarray(small.positions, float)
    inv_s = np.linalg.inv(np.asarray(small.cell, float))
    d = (Xb[:, None, :] - Xs[None, :, :]) @ inv_s                          # (N_big, N_small, 3)
    match = np.all(np.abs(d - np.rint(d)) < tol / np.linalg.norm(small.cell, axis=1), axis=-1)
    if not np.all(match.sum(axis=1) == 1):
        raise ValueError("an atom of the given fc2's supercell has no atom of the fitted supercell at its position "
                         "(modulo the fitted supercell's lattice): the two supercells must share their origin and axes")
    to_small = np.argmax(match, axis=1)                                   # big atom -> small atom
    rows = np.array([np.flatnonzero(to_small == i)[0] for i in np.asarray(p2s, dtype=np.int64)])   # i' of each i
    cols = fc2.compact_columns(rows[:, None], np.arange(big.n_atoms)[None, :])
    blocks = fc2.compact()[fc2.smap.atom[rows][:, None], cols]            # Phi_big[i', j'] (n_prim, N_big, 3, 3)
    out = np.zeros((len(rows), small.n_atoms, 3, 3))
    for k in range(len(rows)):
        np.add.at(out[k], to_small, blocks[k])
    return out


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
