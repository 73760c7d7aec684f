"""Harmonic lattice dynamics from force constants: dynamical matrix, frequencies, eigenvectors."""
from __future__ import annotations

import itertools
import numpy as np

from .crystal import quiet_spglib
from .force_constants import ForceConstants

__all__ = ["Phonons", "THZ"]

#: nu [THz] = THZ * sqrt(lambda), lambda an eigenvalue of D in eV/(A^2 amu): the DESIGN.md value
#: 15.633302 to full precision as phonopy defines it (its physical constants), so that frequencies
#: agree with phonopy's to round-off.  CODATA 2018 would give 15.6333042 (1.2e-7 relative more).
THZ = 15.633302300230191

_CANDIDATES = np.array(list(itertools.product(range(-2, 3), repeat=3)), dtype=float)   # (125, 3)


class Phonons:
    """Harmonic phonons of the crystal described by force constants.

    Parameters
    ----------
    fc : ForceConstants
        Carries the supercell, the primitive cell and the supercell map.
    tol : float
        Length tolerance in Angstrom for equally short supercell images (Wigner-Seitz treatment).
    chunk : int
        q-points per block (bounds memory; about ``chunk * (3 n)^2 * 16`` bytes).

    Notes
    -----
    D_kk'(q) = sum_j Phi[p2s_k, j] (1/M) sum_T e^{i 2 pi q.(r_j + T - r_k)} / sqrt(m_k m_k'), the sum over
    the M shortest images r_j + T of atom j (T supercell lattice vectors), as phonopy. q in reduced
    coordinates of the primitive reciprocal lattice, without 2 pi. Precomputed once:
    D(q) = e^{i 2 pi q.(p_k' - p_k)} * sum_R e^{i 2 pi q.R} H_R, R the integer lattice vectors in use.
    """

    def __init__(self, fc: ForceConstants, tol: float = 1e-5, chunk: int = 4096):
        self.fc = fc
        self.tol = float(tol)
        self.chunk = int(chunk)
        self._build()

    @property
    def n_branches(self) -> int:
        return 3 * self.fc.n_prim

    def _build(self) -> None:
        import spglib
        fc, pr, m = self.fc, self.fc.primitive, self.fc.smap
        n = pr.n_atoms
        P = pr.cell
        pf = pr.scaled_positions                                     # (n, 3) primitive fractional
        # ideal supercell positions in primitive fractional coordinates (shift cancels in differences)
        sf = pf[m.atom] + m.lattice                                  # (N, 3)
        origin = sf[fc.p2s]                                          # (n, 3)
        vec0 = sf[None, :, :] - origin[:, None, :]                   # (n, N, 3)
        A = m.matrix @ P                                             # supercell lattice
        with quiet_spglib():
            red = spglib.niggli_reduce(A, eps=1e-5)
        red = A if red is None else np.asarray(red)
        Bf = red @ np.linalg.inv(P)                                  # reduced supercell basis, prim frac
        x = vec0 @ np.linalg.inv(Bf)
        x -= np.rint(x)
        cand = x[:, :, None, :] + _CANDIDATES[None, None]            # (n, N, 125, 3) reduced coords
        length = np.linalg.norm(cand @ red, axis=-1)
        keep = length <= length.min(axis=-1, keepdims=True) + self.tol
        mult = keep.sum(axis=-1)                                     # (n, N)
        kk, jj, cc = np.nonzero(keep)
        images = cand[kk, jj, cc] @ Bf                               # prim frac image vectors
        kp = m.atom[jj]
        R = np.rint(images - (pf[kp] - pf[kk])).astype(np.int64)
        Ru, ridx = np.unique(R, axis=0, return_inverse=True)
        ridx = ridx.reshape(-1)
        w = 1.0 / mult[kk, jj]
        phi = fc.compact()[kk, jj] * (w / np.sqrt(pr.masses[kk] * pr.masses[kp]))[:, None, None]
        H = np.zeros((len(Ru), n, n, 3, 3))
        np.add.at(H, (ridx, kk, kp), phi)
        self._R = Ru.astype(float)                                   # (nR, 3)
        self._H = np.ascontiguousarray(H.transpose(0, 1, 3, 2, 4).reshape(len(Ru), -1))
        self._dpos = pf[None, :, :] - pf[:, None, :]                 # (n, n, 3)
        self.multiplicities = mult

    def dynamical_matrix(self, qpoints) -> np.ndarray:
        """Dynamical matrices, shape (nq, 3n, 3n) complex, in eV/(A^2 amu); Hermitian.

        Parameters
        ----------
        qpoints : array_like, shape (nq, 3) or (3,)
            Reduced coordinates of the primitive reciprocal lattice (no 2 pi).
        """
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        n = self.fc.n_prim
        out = np.empty((len(q), 3 * n, 3 * n), dtype=complex)
        for s in range(0, len(q), self.chunk):
            qs = q[s:s + self.chunk]
            arg = 2 * np.pi * (qs @ self._R.T)
            D = (np.cos(arg) @ self._H + 1j * (np.sin(arg) @ self._H)).reshape(len(qs), n, 3, n, 3)
            ph = np.exp(2j * np.pi * np.einsum("qx,klx->qkl", qs, self._dpos))
            D *= ph[:, :, None, :, None]
            D = D.reshape(len(qs), 3 * n, 3 * n)
            out[s:s + len(qs)] = 0.5 * (D + D.conj().transpose(0, 2, 1))
        return out

    @staticmethod
    def _to_thz(eig: np.ndarray) -> np.ndarray:
        return np.sign(eig) * np.sqrt(np.abs(eig)) * THZ

    def frequencies(self, qpoints) -> np.ndarray:
        """Phonon frequencies nu in THz, shape (nq, 3n), ascending; imaginary modes as negative numbers."""
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        out = np.empty((len(q), self.n_branches))
        for s in range(0, len(q), self.chunk):
            out[s:s + self.chunk] = self._to_thz(np.linalg.eigvalsh(self.dynamical_matrix(q[s:s + self.chunk])))
        return out

    def eigenvectors(self, qpoints) -> np.ndarray:
        """Mode eigenvectors, shape (nq, 3n, 3n) complex; column s is mode s (phonopy convention),
        row 3k + a is atom k, direction a; in the order of :meth:`frequencies`."""
        return self.frequencies_and_eigenvectors(qpoints)[1]

    def frequencies_and_eigenvectors(self, qpoints) -> tuple[np.ndarray, np.ndarray]:
        """Both at once: (nq, 3n) THz and (nq, 3n, 3n) complex."""
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        f = np.empty((len(q), self.n_branches))
        e = np.empty((len(q), self.n_branches, self.n_branches), dtype=complex)
        for s in range(0, len(q), self.chunk):
            w, v = np.linalg.eigh(self.dynamical_matrix(q[s:s + self.chunk]))
            f[s:s + len(w)] = self._to_thz(w)
            e[s:s + len(w)] = v
        return f, e
