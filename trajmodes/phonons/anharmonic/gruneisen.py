"""Mode Grueneisen parameters from second- and third-order force constants.

The mode Grueneisen parameter gamma_s(q) = -(V / omega_s) d omega_s / dV measures how a phonon frequency
moves under a uniform (hydrostatic) change of volume. Following Fabian and Allen (Phys. Rev. Lett. 79,
1885 (1997), their expression of gamma through the cubic constants), the change of the dynamical matrix
under a homogeneous deformation is the contraction of the third-order constants with the displacements that
deformation gives every atom, so that the parameters follow from fc2 and fc3 without any strained
calculation. The conventions (image vectors, internal relaxation of the sublattices, sign) are those of
phono3py's mode Grueneisen parameters, to which these agree to round-off.

With the displacement gradient eps_cd (atom M at r_M moves by eps r_M), the strain derivative of the
harmonic constants between primitive atom k (row of the compact layout) and supercell atom j is

    dPhi_ab(k, j) / d eps_cd = sum_M sum_e Psi_abe(k, j, M) [delta_ec r_d(k -> M) + X_ecd(kappa_M)],

r(k -> M) the shortest supercell image vector from k to M, averaged over its equally short images (Å),
kappa_M the primitive atom of M, and X the first-order internal displacements of the sublattices
(:func:`internal_strain`). The volume derivative is the trace, a uniform dilation eps_cd = delta_cd eta
with d ln V = 3 eta. Its dynamical matrix dD(q) is the lattice sum of dPhi with the phases and 1/m weights
of the harmonic one, and

    gamma_s(q) = -<e_s| dD(q) |e_s> / (6 omega_s^2),

omega_s^2 the eigenvalue of D(q) (eV/(Å² amu)) and e_s its eigenvector; both dD and omega^2 carry the same
units, so gamma is dimensionless.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from trajmodes.lattice.qpoints import is_gamma
from trajmodes.phonons.harmonic.degeneracy import diagonalize_degenerate
from trajmodes.units import THZ

if TYPE_CHECKING:
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.phonons.harmonic.phonons import Phonons

__all__ = ["mode_gruneisen", "internal_strain", "mean_image_vectors"]

#: |q - G| below which (reduced, every component) a q-point counts as Gamma, where the three lowest
#: branches (the acoustic ones) get a zero parameter whatever their frequency (phono3py's 1e-5)
GAMMA_TOL = 1e-5


def mean_image_vectors(phonons: "Phonons") -> np.ndarray:
    """Vectors from every primitive atom k to every supercell atom j, (n_prim, N, 3) in Å.

    Each is the shortest image r_j + R - r_k of :meth:`trajmodes.Phonons.image_pairs`; where several images
    are equally short (the atom lies on the Wigner-Seitz boundary of k) it is their mean.
    """
    k, j, _, w, vec = phonons.image_pairs()
    out = np.zeros((phonons.force_constants.n_prim, phonons.force_constants.n_atoms, 3))
    np.add.at(out, (k, j), w[:, None] * vec)
    return out


def internal_strain(phonons: "Phonons", vectors: np.ndarray | None = None) -> np.ndarray:
    """First-order internal displacements of the sublattices under a homogeneous deformation.

    A displacement gradient eps_cd moves supercell atom M by eps r(k -> M), which leaves a force
    F_a(k) = -sum_M Phi_ab(k, M) eps_bc r_c(k -> M) on every primitive atom k. The sublattices relax by
    u = Phi(Gamma)^+ F, the pseudo-inverse of the harmonic constants at q = 0 taken on the optical modes
    only (the three lowest modes of D(0), rigid translations, are left out). Returned as X with
    u_a(kappa) = X_abc(kappa) eps_bc.

    Parameters
    ----------
    phonons : trajmodes.Phonons
        Harmonic phonons; their force constants (``phonons.force_constants``) and Gamma-point dynamical matrix are used.
    vectors : ndarray (n_prim, N, 3), optional
        :func:`mean_image_vectors` of ``phonons`` when already at hand.

    Returns
    -------
    ndarray, shape (n_prim, 3, 3, 3)
        X in Å per unit strain; zero for one atom per primitive cell.
    """
    fc = phonons.force_constants
    n = fc.n_prim
    r = mean_image_vectors(phonons) if vectors is None else vectors
    force = np.einsum("kjab,kjc->kabc", fc.compact(), r).reshape(3 * n, 9)        # -F per unit strain
    lam, v = np.linalg.eigh(phonons.dynamical_matrix(np.zeros(3))[0].real)
    s = 1 / np.sqrt(np.repeat(fc.primitive.masses, 3))
    v = v[:, 3:] * s[:, None]                                                      # optical, M^-1/2 e
    pinv = (v / lam[3:]) @ v.T                                                     # Phi(Gamma)^+, A^2/eV
    return -(pinv @ force).reshape(n, 3, 3, 3)


def _volume_constants(phonons: "Phonons", force_constants: "ForceConstants") -> np.ndarray:
    """Trace over c = d of dPhi_ab(k, j) / d eps_cd, compact (n_prim, N, 3, 3), eV/Å² (module docstring), summed
    over the triplets (k, j, M) of ``force_constants.fc3_sparse``: no dense fc3."""
    fc = phonons.force_constants
    fc3 = force_constants.fc3_sparse
    r = mean_image_vectors(phonons)
    x = np.einsum("kacc->ka", internal_strain(phonons, r))                         # (n, 3) A
    disp = r + x[fc.smap.atom][None]                                               # (n, N, 3) A per unit eta
    k, j, m = fc3.sites.T
    pair = k * fc.n_atoms + j                                                      # row (k, j) of the result
    out = np.zeros((fc.n_prim * fc.n_atoms, 9))
    for s in range(0, len(pair), 1 << 16):                                         # (chunk, 9) at a time
        c = slice(s, s + (1 << 16))
        part = np.einsum("tabe,te->tab", fc3.blocks[c], disp[k[c], m[c]]).reshape(-1, 9)
        np.add.at(out, pair[c], part)
    return out.reshape(fc.n_prim, fc.n_atoms, 3, 3)


class _LatticeSum:
    """dD(q) of compact constants (n_prim, N, 3, 3) on the image pairs of ``phonons``: the sum of
    :class:`trajmodes.phonons.harmonic.dynamical.DynamicalMatrix`, e^{i 2 pi q.(r_j + R - r_k)} / sqrt(m_k m_k') times
    1 / multiplicity, grouped by lattice vector R."""

    def __init__(self, phonons: "Phonons", constants: np.ndarray):
        fc = phonons.force_constants
        n = fc.n_prim
        k, j, kp, w, vec = phonons.image_pairs()
        pf = fc.primitive.scaled_positions
        self.dpos = pf[None, :, :] - pf[:, None, :]                                # (n, n, 3) reduced
        red = vec @ np.linalg.inv(fc.primitive.cell) - self.dpos[k, kp]
        self.R, ridx = np.unique(np.rint(red).astype(np.int64), axis=0, return_inverse=True)
        m = fc.primitive.masses
        H = np.zeros((len(self.R), n, n, 3, 3))
        np.add.at(H, (ridx.reshape(-1), k, kp), constants[k, j] * (w / np.sqrt(m[k] * m[kp]))[:, None, None])
        self.H = H.transpose(0, 1, 3, 2, 4).reshape(len(self.R), 9 * n * n)
        self.n = n

    def __call__(self, q: np.ndarray) -> np.ndarray:
        n = self.n
        D = (np.exp(2j * np.pi * (q @ self.R.T)) @ self.H).reshape(len(q), n, 3, n, 3)
        D *= np.exp(2j * np.pi * np.einsum("qx,klx->qkl", q, self.dpos))[:, :, None, :, None]
        return D.reshape(len(q), 3 * n, 3 * n)


def _check_same_supercell(phonons: "Phonons", fc: "ForceConstants") -> None:
    h = phonons.force_constants
    if (h.n_atoms != fc.n_atoms or h.n_prim != fc.n_prim or not np.array_equal(h.p2s, fc.p2s)
            or not np.array_equal(h.smap.atom, fc.smap.atom)
            or not np.allclose(h.supercell.positions, fc.supercell.positions, atol=1e-6)):
        raise ValueError("phonons and fc live on different supercells (atoms, order or positions)")


def mode_gruneisen(phonons: "Phonons", force_constants: "ForceConstants", qpoints, degeneracy_tol: float = 1e-4,
                   cutoff_frequency: float = 1e-4) -> np.ndarray:
    """(nq, 3n) dimensionless mode Grueneisen parameters at reduced q-points (nq, 3).

    gamma_s(q) = -(V / omega_s) d omega_s / dV = -<e_s| dD(q) |e_s> / (6 omega_s^2), dD the volume
    derivative of the dynamical matrix from the third-order constants with the sublattices relaxed
    (module docstring; Fabian and Allen, Phys. Rev. Lett. 79, 1885 (1997)). Equal to the trace / 3
    of phono3py's mode Grueneisen tensor.

    Parameters
    ----------
    phonons : trajmodes.Phonons
        Harmonic phonons: frequencies, eigenvectors, image pairs, and the fc2 of the internal relaxation.
    force_constants : trajmodes.ForceConstants
        Carries third-order constants (``fc3_sparse``, the triplets, eV/Å³) on the supercell of
        ``phonons.force_constants``.
    qpoints : array_like, shape (nq, 3) or (3,)
        Reduced coordinates of the primitive reciprocal lattice (no 2 pi).
    degeneracy_tol : float
        Branches closer than this (THz, chained) form one degenerate subspace; there the parameters are the
        eigenvalues of the volume derivative within the subspace (degenerate perturbation theory), in
        ascending order, so that they do not depend on the basis of eigenvectors. Where the subspace is one
        irreducible representation (all symmetry degeneracies) they are equal and agree with phono3py, which
        takes diagonal elements in whatever basis its eigensolver returns. Branches split by less than the
        tolerance without being degenerate (close to Gamma) are mixed, which moves their parameters (by
        1.5e-6 relative for Si at q = (0.001, 0, 0)) but not their sum; 0 takes the diagonal elements in the
        eigenbasis, as phono3py.
    cutoff_frequency : float
        Modes with nu <= this (THz), imaginary ones included, get zero; so do the three lowest branches at
        Gamma (q within 1e-5 of a reciprocal lattice vector), as phono3py. phono3py has no frequency cutoff:
        it returns values for imaginary modes, and diverging ones for acoustic modes near (not at) Gamma.

    Returns
    -------
    ndarray, shape (nq, 3n)
        gamma per q and branch, branches in the order of :meth:`trajmodes.Phonons.frequencies`.
    """
    fc = force_constants
    if fc.fc3_sparse is None:
        raise ValueError("mode Grueneisen parameters need third-order force constants (fc.fc3 is None)")
    _check_same_supercell(phonons, fc)
    q = np.asarray(qpoints, dtype=float).reshape(-1, 3)
    dD_of = _LatticeSum(phonons, _volume_constants(phonons, fc))
    out = np.empty((len(q), phonons.n_branches))
    for s in range(0, len(q), phonons.chunk):
        qb = q[s:s + phonons.chunk]
        f, e = phonons.frequencies_and_eigenvectors(qb)
        dD = dD_of(qb)
        M = e.conj().transpose(0, 2, 1) @ dD @ e
        M = 0.5 * (M + M.conj().transpose(0, 2, 1))                               # (nq, nb, nb) Hermitian
        out[s:s + len(qb)] = _gammas(f, M, degeneracy_tol, cutoff_frequency, is_gamma(qb, GAMMA_TOL))
    return out


def _gammas(f, M, degeneracy_tol, cutoff_frequency, gamma_point) -> np.ndarray:
    """-<e_s|dD|e_s> / (6 omega_s^2) from frequencies (nq, nb) ascending THz and M = e^+ dD e, diagonalised
    within degenerate subspaces (:func:`trajmodes.phonons.harmonic.degeneracy.diagonalize_degenerate`)."""
    d = diagonalize_degenerate(M, f, degeneracy_tol, descending=True)              # gamma ascending
    omega2 = np.sign(f) * (f / THZ) ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        gam = -d / (6 * omega2)
    gam[f <= cutoff_frequency] = 0.0
    gam[gamma_point, :3] = 0.0
    return gam
