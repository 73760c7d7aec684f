"""Optional linear constraints on second-order force constants: rotational invariance and Huang conditions.

Both are linear in the compact constants Phi[k, j, a, b] (k a primitive atom, j a supercell atom,
r_kj the minimum-image vector from k's representative to j, in Å):

- rotational invariance (Born-Huang, first order in an infinitesimal rotation, zero forces at the
  reference): for every k, a, b, c:  sum_j Phi[k, j, a, b] r_kj^c - Phi[k, j, a, c] r_kj^b = 0;
- Huang conditions (no stress in the reference): [ab, cd] = [cd, ab] for all a, b, c, d, with the
  bracket [ab, cd] = -(1 / 2 V) sum_k sum_j Phi[k, j, a, b] r_kj^c r_kj^d.

They are imposed exactly by restricting the parameters to the null space of the constraint matrix,
so the fit, its cross-validation and its scores are unchanged in form.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import scipy.sparse as sp
from scipy.linalg import null_space

from trajmodes.lattice.geometry import minimum_image

KINDS = ("rotational", "huang")


def _entry_vectors(basis, supercell) -> np.ndarray:
    """Minimum-image vectors r_kj (Å) of every order-2 entry (k, j) of ``basis``."""
    pos = supercell.positions
    d = pos[basis.sites[:, 1]] - pos[basis.p2s[basis.sites[:, 0]]]
    return minimum_image(d[None], supercell.cell[None])[0]


def constraint_matrix(basis, supercell, kinds=KINDS) -> np.ndarray:
    """Rows of linear conditions C @ params = 0 on an order-2 :class:`~trajmodes.forceconstants.clusters.IFCBasis`.

    Parameters
    ----------
    basis : IFCBasis of order 2.
    supercell : Crystal the basis was built on (positions in Å).
    kinds : iterable of {"rotational", "huang"}.

    Returns
    -------
    ndarray (n_conditions, n_params), each row scaled to unit norm.
    """
    if basis.order != 2:
        raise ValueError("rotational invariance and Huang conditions are implemented for second order only")
    unknown = set(kinds) - set(KINDS)
    if unknown:
        raise ValueError(f"unknown constraint(s) {sorted(unknown)}: use {', '.join(KINDS)}")
    r = _entry_vectors(basis, supercell)                                   # (n_entries, 3)
    ne, npar = len(r), basis.n_params
    blocks = np.asarray(basis.E.todense()).reshape(ne, 3, 3, npar)         # Phi_e^{ab} per parameter
    k = basis.sites[:, 0]
    rows = []
    if "rotational" in kinds:
        # sum_j Phi^{ab} r^c - Phi^{ac} r^b, per primitive atom k: (n_prim, a, b, c, P)
        t = np.einsum("eabp,ec->eabcp", blocks, r)
        rot = t - t.transpose(0, 1, 3, 2, 4)
        per_k = np.zeros((basis.n_prim, 3, 3, 3, npar))
        np.add.at(per_k, k, rot)
        rows.append(per_k.reshape(-1, npar))
    if "huang" in kinds:
        br = np.einsum("eabp,ec,ed->abcdp", blocks, r, r)                  # bracket times -2V
        rows.append((br - br.transpose(2, 3, 0, 1, 4)).reshape(-1, npar))
    C = np.concatenate(rows) if rows else np.zeros((0, npar))
    norms = np.linalg.norm(C, axis=1)
    keep = norms > 1e-12 * max(norms.max(initial=0.0), 1.0)
    return C[keep] / norms[keep, None]


def constrain(basis, supercell, kinds=KINDS, tol: float = 1e-10):
    """A copy of an order-2 basis whose parameters satisfy the constraints exactly.

    The new parameters are coordinates in the null space of :func:`constraint_matrix`
    (``E_new = E @ N``); ``n_params`` drops by the rank of the conditions.
    """
    C = constraint_matrix(basis, supercell, kinds)
    if len(C) == 0:
        return basis
    N = null_space(C, rcond=tol)
    E = sp.csr_matrix(basis.E @ N)
    E.eliminate_zeros()
    asr_map = None if basis.asr_map is None else sp.csr_matrix(basis.asr_map @ N)     # E = E_raw @ asr_map still
    return dataclasses.replace(basis, E=E, n_params=N.shape[1], asr_map=asr_map)


def residual(fc_compact: np.ndarray, basis, supercell, kinds=KINDS) -> float:
    """Largest violation (eV/Å) of the conditions by compact constants (n_prim, N, 3, 3)."""
    blocks = fc_compact[basis.sites[:, 0], basis.sites[:, 1]]                # (n_entries, 3, 3)
    r = _entry_vectors(basis, supercell)
    out = 0.0
    if "rotational" in kinds:
        t = np.einsum("eab,ec->eabc", blocks, r)
        per_k = np.zeros((basis.n_prim, 3, 3, 3))
        np.add.at(per_k, basis.sites[:, 0], t - t.transpose(0, 1, 3, 2))
        out = max(out, float(np.abs(per_k).max()))
    if "huang" in kinds:
        br = np.einsum("eab,ec,ed->abcd", blocks, r, r)
        out = max(out, float(np.abs(br - br.transpose(2, 3, 0, 1)).max()))
    return out
