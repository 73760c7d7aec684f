"""Elastic constants and sound velocities from harmonic force constants (long-wavelength method).

Born & Huang's method of long waves. With Phi_R(k, k') the supercell constants summed over the
Wigner-Seitz images (multiplicity-weighted, as the dynamical matrix uses them) and x = r_k'R - r_k the
Cartesian bond vector, the long-wavelength expansion of the acoustic branches gives, per unit volume V
of the primitive cell (eV/Å³),

    A_ab,cd = (1/V) [ -1/2 sum_{k k' R} Phi_ab x_c x_d  -  sum Gamma_{k m, a c} S0^+_{k m, k' n} Gamma_{k' n, b d} ]

symmetrised in (c, d), where Gamma_{k m, a c} = sum_{k' R} Phi_ma(k; k'R) x_c is the force on atom k under
homogeneous strain and S0 = sum_R Phi_R the Gamma-point matrix (pseudo-inverse on the optical subspace).
The second term is the internal relaxation of a multi-atom basis (zero for a one-atom basis and for
centrosymmetric sites). The acoustic Christoffel matrix is rho v^2(n) = A_ab,cd n_c n_d and the elastic
constants follow from Huang's relation

    C_acbd = A_ab,cd + A_bc,ad - A_bd,ac,

which reproduces the Christoffel matrix exactly. C has the full Voigt symmetry only when Huang's
conditions A_ab,cd = A_cd,ab hold (a stress-free reference); :func:`huang_residual` measures that, and
:func:`elastic_constants` returns the Voigt-symmetrised C. Units: 1 eV/Å³ = 160.2176634 GPa;
v^2 in eV/amu = 9.6485332e7 m²/s². The non-analytic (polar) part is not included.
"""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.strain import VOIGT
from trajmodes.units import AMU_KG, EV_A3_GPA, EV_J

__all__ = ["bracket_tensor", "elastic_constants", "christoffel_velocities", "density",
           "huang_residual", "full_tensor", "VOIGT"]

#: eV/A^3 in GPa
#: sqrt(eV/amu) in m/s
_V_MS = np.sqrt(EV_J / AMU_KG)


def density(crystal) -> float:
    """Mass density in amu/Å³ (x 1.66053907 for g/cm³)."""
    return float(crystal.masses.sum() / crystal.volume)


def bracket_tensor(force_constants, relaxed: bool = True) -> np.ndarray:
    """The long-wave tensor A_ab,cd (3, 3, 3, 3) in eV/Å³, symmetric in (c, d); see the module notes.

    Parameters
    ----------
    force_constants : ForceConstants
        Harmonic, eV/Å².
    relaxed : bool
        Include the internal-relaxation term (multi-atom bases).
    """
    from trajmodes.phonons.harmonic.phonons import Phonons
    fc = force_constants
    kk, jj, kp, weight, x = Phonons(fc, nac=False).image_pairs()                  # x: (npair, 3) A
    phi = fc.compact()[kk, jj] * weight[:, None, None]                            # (npair, 3, 3)
    n = fc.n_prim
    V = fc.primitive.volume
    A = -0.5 * np.einsum("pab,pc,pd->abcd", phi, x, x)
    if relaxed and n > 1:
        S0 = np.zeros((n, n, 3, 3))
        np.add.at(S0, (kk, kp), phi)
        S0 = S0.transpose(0, 2, 1, 3).reshape(3 * n, 3 * n)
        G = np.zeros((n, 3, 3, 3))
        np.add.at(G, kk, np.einsum("pma,pc->pmac", phi, x))
        G = G.reshape(3 * n, 3, 3)
        S0p = np.linalg.pinv(0.5 * (S0 + S0.T), rcond=1e-10)                      # translations projected out
        A -= np.einsum("iac,ij,jbd->abcd", G, S0p, G)
    A = 0.5 * (A + A.transpose(0, 1, 3, 2))
    return A / V


def full_tensor(A: np.ndarray) -> np.ndarray:
    """Huang's C_acbd = A_ab,cd + A_bc,ad - A_bd,ac (3, 3, 3, 3), not yet Voigt-symmetrised."""
    return (A.transpose(0, 2, 1, 3)                       # C[a,c,b,d] = A[a,b,c,d]
            + np.einsum("bcad->acbd", A) - np.einsum("bdac->acbd", A))


def huang_residual(force_constants, relaxed: bool = True) -> float:
    """max |A_ab,cd - A_cd,ab| / max |A| (dimensionless) of the harmonic ``force_constants`` (eV/Å²): zero for a
    stress-free reference (Huang's conditions)."""
    A = bracket_tensor(force_constants, relaxed)
    return float(np.abs(A - A.transpose(2, 3, 0, 1)).max() / np.abs(A).max())


def elastic_constants(force_constants, relaxed: bool = True) -> np.ndarray:
    """Elastic constants (6, 6) in Voigt notation, GPa, from the force constants by the long-wave method.

    Parameters
    ----------
    force_constants : ForceConstants
        Harmonic, eV/Å².
    relaxed : bool
        With the internal-relaxation correction (relaxed-ion constants; True) or clamped-ion (False).

    Notes
    -----
    The tensor of Huang's relation, symmetrised over (ij), (kl) and (ij)<->(kl); see the module notes.
    """
    C = full_tensor(bracket_tensor(force_constants, relaxed))
    C = 0.5 * (C + C.transpose(1, 0, 2, 3))
    C = 0.5 * (C + C.transpose(0, 1, 3, 2))
    C = 0.5 * (C + C.transpose(2, 3, 0, 1))
    out = np.empty((6, 6))
    for I, (i, j) in enumerate(VOIGT):
        for J, (k, l) in enumerate(VOIGT):
            out[I, J] = C[i, j, k, l]
    return out * EV_A3_GPA


def christoffel_velocities(C_voigt, rho: float, directions) -> np.ndarray:
    """Sound velocities (ndir, 3) in m/s, ascending, from the Christoffel equation rho v^2 = eig(C_ijkl n_j n_l).

    Parameters
    ----------
    C_voigt : (6, 6) GPa
    rho : float
        Density in amu/Å³ (:func:`density`).
    directions : (ndir, 3) or (3,)
        Cartesian propagation directions (normalised here).
    """
    C = np.empty((3, 3, 3, 3))
    for I, (i, j) in enumerate(VOIGT):
        for J, (k, l) in enumerate(VOIGT):
            for a, b in {(i, j), (j, i)}:
                for c, d in {(k, l), (l, k)}:
                    C[a, b, c, d] = C_voigt[I, J]
    n = np.atleast_2d(np.asarray(directions, dtype=float))
    n = n / np.linalg.norm(n, axis=1, keepdims=True)
    L = np.einsum("ijkl,qj,ql->qik", C / EV_A3_GPA, n, n)
    ev = np.linalg.eigvalsh(L) / rho                                     # eV/amu
    return np.sign(ev) * np.sqrt(np.abs(ev)) * _V_MS
