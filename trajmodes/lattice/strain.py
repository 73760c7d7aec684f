"""Homogeneous strain in Voigt notation, and a crystal deformed by it.

Voigt strains e = (e_xx, e_yy, e_zz, 2 e_yz, 2 e_xz, 2 e_xy) (engineering shears, so that e . (V sigma) is the work),
deformation gradient F = 1 + eps: cell rows a_i -> F a_i, positions x_k -> F (x_k + u_k).
"""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.crystal import Crystal

__all__ = ["VOIGT", "STRAIN_BASIS", "strain_matrix", "deformed"]

#: Voigt pairs xx, yy, zz, yz, xz, xy
VOIGT = ((0, 0), (1, 1), (2, 2), (1, 2), (0, 2), (0, 1))


def _strain_basis() -> np.ndarray:
    E = np.zeros((6, 3, 3))
    for I, (a, b) in enumerate(VOIGT):
        E[I, a, b] = E[I, b, a] = 1.0 if a == b else 0.5
    return E


#: d eps / d e_I for the Voigt strains: (6, 3, 3), symmetric
STRAIN_BASIS = _strain_basis()


def strain_matrix(e) -> np.ndarray:
    """The symmetric strain tensor eps (3, 3) of the Voigt strains e (6,)."""
    return np.einsum("I,Iab->ab", np.asarray(e, dtype=float).reshape(6), STRAIN_BASIS)


def deformed(crystal: Crystal, strain=None, internal=None) -> Crystal:
    """``crystal`` with its atoms displaced by ``internal`` (n, 3) A, then strained by the Voigt ``strain`` (6,):
    x_k -> (1 + eps) (x_k + u_k), cell rows a_i -> (1 + eps) a_i."""
    F = np.eye(3) + (0.0 if strain is None else strain_matrix(strain))
    x = crystal.positions + (0.0 if internal is None else np.asarray(internal, float).reshape(-1, 3))
    return Crystal(crystal.cell @ F.T, x @ F.T, crystal.species, crystal.masses)
