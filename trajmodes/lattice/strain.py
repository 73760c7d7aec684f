"""Homogeneous strain in Voigt notation, and a crystal deformed by it.

Voigt strains e = (e_xx, e_yy, e_zz, 2 e_yz, 2 e_xz, 2 e_xy) (engineering shears, so that e . (V sigma) is the work),
deformation gradient F = 1 + eps: cell rows a_i -> F a_i, positions x_k -> F (x_k + u_k).
"""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.crystal import Crystal

__all__ = ["VOIGT", "STRAIN_BASIS", "voigt_tensor", "tensor_voigt", "strain_matrix", "cell_strains", "deformed"]

#: Voigt pairs xx, yy, zz, yz, xz, xy
VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


def _strain_basis() -> np.ndarray:
    E = np.zeros((6, 3, 3))
    for I, (a, b) in enumerate(VOIGT):
        E[I, a, b] = E[I, b, a] = 1.0 if a == b else 0.5
    return E


#: d eps / d e_I for the Voigt strains: (6, 3, 3), symmetric
STRAIN_BASIS = _strain_basis()


def voigt_tensor(v, shear: float = 1.0) -> np.ndarray:
    """The symmetric tensor (3, 3) of a Voigt 6-vector: t_ii = v_I, t_ij = t_ji = shear v_I. ``shear`` 1/2 for a strain
    (engineering shears), 1 for a stress or a gradient dE/de (whose shear entries are already dE/d eps_ij)."""
    v = np.asarray(v, dtype=float).reshape(6)
    t = np.zeros((3, 3))
    for I, (i, j) in enumerate(VOIGT):
        t[i, j] = t[j, i] = v[I] * (1.0 if i == j else shear)
    return t


def tensor_voigt(t, shear: float = 1.0) -> np.ndarray:
    """The Voigt 6-vector of a symmetric tensor (3, 3), the inverse of :func:`voigt_tensor` with the same ``shear``."""
    t = np.asarray(t, dtype=float)
    return np.array([t[i, j] / (1.0 if i == j else shear) for i, j in VOIGT])


def strain_matrix(e) -> np.ndarray:
    """The symmetric strain tensor eps (3, 3) of the Voigt strains e (6,)."""
    return voigt_tensor(e, 0.5)


def cell_strains(cells, reference_cell) -> np.ndarray:
    """The Voigt strains (n, 6) that take ``reference_cell`` to each of ``cells`` (rows a, b, c in Å), to first order.

    Cell rows a_i -> F a_i give cells = reference F^T; e is the Voigt vector of the symmetric part of F - 1 (a
    rotation, antisymmetric to first order, is dropped)."""
    H = np.asarray(cells, dtype=float).reshape(-1, 3, 3)
    Ft = np.linalg.solve(np.asarray(reference_cell, dtype=float)[None], H)
    eps = 0.5 * (Ft + Ft.transpose(0, 2, 1)) - np.eye(3)
    i, j = np.array(VOIGT).T
    return eps[:, i, j] * np.where(i == j, 1.0, 2.0)


def deformed(crystal: Crystal, strain=None, internal=None) -> Crystal:
    """``crystal`` with its atoms displaced by ``internal`` (n, 3) Å, then strained by the Voigt ``strain`` (6,):
    x_k -> (1 + eps) (x_k + u_k), cell rows a_i -> (1 + eps) a_i."""
    F = np.eye(3) + (0.0 if strain is None else strain_matrix(strain))
    x = crystal.positions + (0.0 if internal is None else np.asarray(internal, float).reshape(-1, 3))
    return Crystal(crystal.cell @ F.T, x @ F.T, crystal.species, crystal.masses)
