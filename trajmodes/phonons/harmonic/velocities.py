"""Group velocities and the velocity operator (analytic, from the gradient of the dynamical matrix), and sound
velocities."""
from __future__ import annotations

import numpy as np

from trajmodes.phonons.harmonic.degeneracy import degenerate_basis, diagonalize_degenerate
from trajmodes.phonons.harmonic.dynamical import DynamicalMatrix, frequencies_from_eigenvalues
from trajmodes.units import THZ

__all__ = ["group_velocities", "degenerate_velocities", "velocity_operator", "VELOCITY_OPERATORS",
           "symmetrize_velocities", "sound_velocities"]


def group_velocities(dm: DynamicalMatrix, qpoints, degeneracy_tol: float = 1e-4, cutoff_frequency: float = 1e-4,
                     direction=(1.0, 2.0, 3.0), operations=None) -> np.ndarray:
    """Group velocities v = d nu / d q_cart (= d omega / d k), shape (nq, 3n, 3), in THz * Å.

    See :meth:`trajmodes.Phonons.group_velocities` for the parameters; ``operations``, the point group on
    reduced q, switches on :func:`symmetrize_velocities`.
    """
    q = np.atleast_2d(np.asarray(qpoints, dtype=float))
    d = np.asarray(direction, dtype=float)
    d = d / np.linalg.norm(d)
    out = np.empty((len(q), dm.n_branches, 3))
    for s in range(0, len(q), dm.chunk):
        D, dD = dm.with_derivative(q[s:s + dm.chunk])
        w, e = np.linalg.eigh(D)
        out[s:s + len(w)] = degenerate_velocities(frequencies_from_eigenvalues(w), e, dD, d, degeneracy_tol,
                                                  cutoff_frequency)
    if operations is not None:
        out = symmetrize_velocities(out, q, operations, dm.force_constants.primitive.reciprocal_cell)
    return out


def symmetrize_velocities(v, qpoints, operations, reciprocal_cell, tol: float = 1e-5) -> np.ndarray:
    """Velocities (nq, nb, 3) averaged over the little group of each q: (1/|G_q|) sum_r r_cart v.

    ``operations`` (n, 3, 3) act on reduced q (:func:`trajmodes.lattice.symmetry.reciprocal_rotations`); an
    operation belongs to G_q when it leaves q - rint(q) unchanged within ``tol`` (not merely up to a
    reciprocal lattice vector: phonopy's ``GroupVelocity`` with symmetry). Cartesian form r_cart = B r B^-1,
    B the reciprocal vectors as columns. The average restores the little group's symmetry to the
    velocities of degenerate modes, whose basis :func:`degenerate_velocities` fixes by one direction.
    """
    q = np.atleast_2d(np.asarray(qpoints, dtype=float))
    ops = np.unique(np.rint(np.asarray(operations, dtype=float)).reshape(-1, 3, 3), axis=0)
    B = np.asarray(reciprocal_cell, dtype=float).T
    rc = np.einsum("ij,ojk,kl->oil", B, ops, np.linalg.inv(B))                       # (n, 3, 3)
    qb = q - np.rint(q)
    keep = (np.abs(qb[:, None, :] - np.einsum("oab,qb->qoa", ops, qb)) < tol).all(axis=-1)   # (nq, n)
    return np.einsum("qo,oab,qsb->qsa", keep, rc, v, optimize=True) / keep.sum(axis=1)[:, None, None]


def degenerate_velocities(f, e, dD, d, degeneracy_tol, cutoff_frequency) -> np.ndarray:
    """Velocities (nq, nb, 3) in THz*A from frequencies (ascending, THz), eigenvectors and dD/dq (nq, 3, nb, nb).

    v_s = <e_s| dD/dq |e_s> THZ^2 / (2 nu_s); within a degenerate subspace (chained gaps below
    ``degeneracy_tol``) the modes are those that diagonalise dD/dq along the unit vector ``d``
    (:func:`trajmodes.phonons.harmonic.degeneracy.diagonalize_degenerate`). Modes with
    nu <= ``cutoff_frequency`` get zero.
    """
    M = np.einsum("qas,qxab,qbt->qxst", e.conj(), dD, e, optimize=True)    # (nq, 3, nb, nb)
    v = diagonalize_degenerate(M, f, degeneracy_tol, direction=d)            # (nq, nb, 3)
    with np.errstate(divide="ignore", invalid="ignore"):
        v *= (THZ ** 2 / (2 * f))[:, :, None]
    v[f <= cutoff_frequency] = 0.0
    return v


#: the two velocity operators of :func:`velocity_operator`
VELOCITY_OPERATORS = ("simoncelli", "matrix")


def velocity_operator(f, e, dD, direction=(1.0, 2.0, 3.0), degeneracy_tol: float = 1e-4,
                      cutoff_frequency: float = 1e-4, definition: str = "simoncelli") -> np.ndarray:
    """The velocity operator between the branches of every q, (nq, 3, nb, nb) complex, THz Å (= 100 m/s).

    Two definitions, which share the diagonal (the group velocities, :func:`degenerate_velocities`) and differ off it
    by the factor 2 sqrt(nu_s nu_s') / (nu_s + nu_s') (1 for degenerate pairs, < 1 otherwise):

    - ``"simoncelli"``: the gradient of the square root of the dynamical matrix, V = d sqrt(D) / dq, the velocity
      operator of the Wigner transport equation (M. Simoncelli, N. Marzari and F. Mauri, Nat. Phys. 15, 809 (2019);
      Phys. Rev. X 12, 041011 (2022)). In the eigenbasis, since dD = sqrt(D) dV + dV sqrt(D),
      V_ss' = <e_s| dD/dq |e_s'> THZ^2 / (nu_s + nu_s') exactly (no finite differences of sqrt(D)).
    - ``"matrix"``: V_ss' = <e_s| dD/dq |e_s'> THZ^2 / (2 sqrt(nu_s nu_s')), the group-velocity matrix of P. B. Allen
      and J. L. Feldman, Phys. Rev. B 48, 12581 (1993), which phono3py's built-in inter-band variants (``--tt
      smm19``, ``njc23``, ``ibdb19``) take.

    The phases are those of the dynamical matrix with the atom positions in the Bloch phase (phonopy's), the convention
    under which the coherences' conductivity does not depend on the choice of the unit cell (Simoncelli et al. 2022).
    Hermitian in s, s'. Inside every degenerate subspace (chained gaps below ``degeneracy_tol``, THz) the basis is
    the one that diagonalises dD/dq along the Cartesian unit vector ``direction``
    (:func:`trajmodes.phonons.harmonic.degeneracy.degenerate_basis`; phonopy's and phono3py's choice, with their (1, 2,
    3)), so that the diagonal is the group velocity and the matrix is fixed, up to a phase per branch, whatever basis
    ``e`` has there. Rows and columns of modes with nu <= ``cutoff_frequency`` are zero.

    Parameters
    ----------
    f : (nq, nb) THz, ascending
    e : (nq, nb, nb) complex, eigenvectors as columns (:meth:`trajmodes.Phonons.frequencies_and_eigenvectors`)
    dD : (nq, 3, nb, nb) complex, dD/dq_cart in eV/(Å² amu) Å (:meth:`trajmodes.Phonons.dynamical_matrix_derivative`)
    direction : (3,) Cartesian
    definition : {"simoncelli", "matrix"}
    """
    if definition not in VELOCITY_OPERATORS:
        raise ValueError(f"definition must be one of {VELOCITY_OPERATORS}, not {definition!r}")
    d = np.asarray(direction, dtype=float)
    d = d / np.linalg.norm(d)
    f = np.asarray(f, dtype=float)
    M = np.einsum("qas,qxab,qbt->qxst", e.conj(), dD, e, optimize=True)    # (nq, 3, nb, nb)
    U = degenerate_basis(M, f, degeneracy_tol, direction=d)
    V = np.einsum("qas,qxab,qbt->qxst", U.conj(), M, U, optimize=True)
    V = 0.5 * (V + V.conj().transpose(0, 1, 3, 2))
    on = f > cutoff_frequency
    fp = np.where(on, f, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        if definition == "simoncelli":
            scale = THZ ** 2 / (fp[:, :, None] + fp[:, None, :])
        else:
            scale = THZ ** 2 / (2 * np.sqrt(fp[:, :, None] * fp[:, None, :]))
    scale = np.where(on[:, :, None] & on[:, None, :], scale, 0.0)
    return V * scale[:, None]


def sound_velocities(frequencies, cell: np.ndarray, directions, dq: float = 2e-3) -> np.ndarray:
    """Slopes of the three acoustic branches at q -> 0 along each direction, m/s, (ndir, 3) ascending.

    v = nu(q) / |q| (q without 2 pi, so nu/q = omega/k) at |q| = dq and 2 dq (Cartesian, 1/Å), then
    Richardson-extrapolated to q = 0 (v(q) = v0 + a q^2 + ...): error O(dq^4). ``frequencies`` maps reduced
    q-points (nq, 3) to frequencies (nq, nb) in THz (:meth:`trajmodes.Phonons.frequencies`), ``cell`` is the
    primitive cell (rows, Å).
    """
    n = np.atleast_2d(np.asarray(directions, dtype=float))
    n = n / np.linalg.norm(n, axis=1, keepdims=True)
    cell_T = np.asarray(cell).T                                      # q_red = q_cart @ cell.T
    v = [np.sort(frequencies((h * n) @ cell_T)[:, :3], axis=1) / h for h in (dq, 2 * dq)]
    return (4 * v[0] - v[1]) / 3 * 100.0                            # THz*A -> m/s
