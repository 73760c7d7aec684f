"""Harmonic lattice dynamics from force constants: dynamical matrix, frequencies, eigenvectors, group
velocities, band structures (:mod:`trajmodes.lattice.paths`), DOS (:mod:`trajmodes.phonons.dos`) and thermodynamics
(:mod:`trajmodes.phonons.thermal`)."""
from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from trajmodes.lattice.geometry import niggli_reduce
from trajmodes.lattice.qpoints import is_gamma
from trajmodes.units import THZ
from trajmodes.forceconstants.model import ForceConstants

__all__ = ["Phonons"]


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
        Largest number of q-points per block (bounds memory: about ``chunk * (nR + 2 (3 n)^2) * 16``
        bytes per thread, nR the lattice vectors in use).
    n_threads : int, optional
        Threads over which blocks of q are spread (dynamical matrices and ``eigh`` release the GIL);
        default ``os.cpu_count()``, never more than the number of blocks. Blocks are made small
        enough for at least two per thread (multiples of 256 q); results come back in order and do
        not depend on the number of threads (bitwise).
    nac : None, bool or {"gonze", "wang"}
        Non-analytic correction for polar crystals from ``fc.born`` and ``fc.epsilon`` (see
        :mod:`trajmodes.phonons.nac`): True or "gonze" is Gonze-Lee (phonopy's default), "wang" Wang et al.
        None (default): on ("gonze") when ``fc`` carries Born charges, else off. False: off.
    nac_factor : float, optional
        e^2 / (4 pi eps0) in eV*A (default ``fc.nac_factor``, else :data:`trajmodes.phonons.nac.NAC_FACTOR`,
        = phonopy's).

    Notes
    -----
    D_kk'(q) = sum_j Phi[p2s_k, j] (1/M) sum_T e^{i 2 pi q.(r_j + T - r_k)} / sqrt(m_k m_k'), the sum over
    the M shortest images r_j + T of atom j (T supercell lattice vectors), as phonopy. q in reduced
    coordinates of the primitive reciprocal lattice, without 2 pi. Precomputed once:
    D(q) = e^{i 2 pi q.(p_k' - p_k)} * sum_R e^{i 2 pi q.R} H_R, R the integer lattice vectors in use.
    The phase is a product of per-axis factors, e^{i 2 pi (q_x R_x + q_y R_y)} e^{i 2 pi q_z R_z}, over
    the few distinct (R_x, R_y) pairs and R_z values (no cos/sin over the whole (nq, nR) table), and
    the sum over R is one real matrix product on the interleaved real/imaginary parts.
    """

    def __init__(self, fc: ForceConstants, tol: float = 1e-5, chunk: int = 4096, nac=None,
                 nac_factor: float | None = None, n_threads: int | None = None):
        from trajmodes.phonons import nac as _nac
        self.fc = fc
        self.tol = float(tol)
        self.chunk = int(chunk)
        self.n_threads = max(1, int(os.cpu_count() or 1) if n_threads is None else int(n_threads))
        if nac is None:
            nac = fc.born is not None
        if nac is True:
            nac = "gonze"
        if nac not in (False, "gonze", "wang"):
            raise ValueError(f"nac must be None, True, False, 'gonze' or 'wang', not {nac!r}")
        if nac and (fc.born is None or fc.epsilon is None):
            raise ValueError("nac needs Born effective charges and the dielectric tensor: "
                             "ForceConstants(..., born=, epsilon=)")
        self.nac = nac or None
        if nac_factor is None:
            nac_factor = getattr(fc, "nac_factor", None)
        self.nac_factor = float(_nac.NAC_FACTOR if nac_factor is None else nac_factor)
        self._gl = None
        self._build()
        if self.nac == "gonze":
            self._gl = _nac.GonzeLee(fc.primitive, fc.born, fc.epsilon, self.nac_factor)
            self._H = self._H - self._scatter(self._gl.supercell_constants(fc))
        self._HT = np.ascontiguousarray(self._H.T)                      # (K, nR) for the lattice sums

    @property
    def n_branches(self) -> int:
        return 3 * self.fc.n_prim

    def _build(self) -> None:
        fc, pr, m = self.fc, self.fc.primitive, self.fc.smap
        n = pr.n_atoms
        P = pr.cell
        pf = pr.scaled_positions                                     # (n, 3) primitive fractional
        # ideal supercell positions in primitive fractional coordinates (shift cancels in differences)
        sf = pf[m.atom] + m.lattice                                  # (N, 3)
        origin = sf[fc.p2s]                                          # (n, 3)
        vec0 = sf[None, :, :] - origin[:, None, :]                   # (n, N, 3)
        A = m.matrix @ P                                             # supercell lattice
        red = niggli_reduce(A)
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
        self._pairs = (ridx, kk, jj, kp, w / np.sqrt(pr.masses[kk] * pr.masses[kp]), len(Ru))
        self._R = Ru.astype(float)                                   # (nR, 3)
        # per-axis phase tables: distinct (R_x, R_y) pairs and R_z values, and where each R finds its own
        xy, ixy = np.unique(Ru[:, :2], axis=0, return_inverse=True)
        ux, ix = np.unique(xy[:, 0], return_inverse=True)
        uy, iy = np.unique(xy[:, 1], return_inverse=True)
        uz, iz = np.unique(Ru[:, 2], return_inverse=True)
        self._axes = (ux.astype(float), ix.reshape(-1), uy.astype(float), iy.reshape(-1),
                      uz.astype(float), ixy.reshape(-1), iz.reshape(-1))
        self._H = self._scatter(fc.compact())
        count = np.zeros((len(Ru), n, n))                            # Wigner-Seitz weights (Wang NAC)
        np.add.at(count, (ridx, kk, kp), w)
        self._count = count.reshape(len(Ru), n * n)
        self._countT = np.ascontiguousarray(self._count.T)
        self._dpos = pf[None, :, :] - pf[:, None, :]                 # (n, n, 3)
        self._Rcart = self._R @ P                                    # (nR, 3) A
        self._dpos_cart = self._dpos @ P                             # (n, n, 3) A
        self.multiplicities = mult

    def image_pairs(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """The atom pairs the dynamical matrix sums over, each periodic image of equal (shortest) length once.

        Returns
        -------
        k, j, kp : ndarray of int (n_pairs,)
            Primitive atom ``k`` (row of the compact force constants), supercell atom ``j`` (column) and its
            primitive atom ``kp``.
        weight : ndarray (n_pairs,)
            1 / (number of equally short images of the pair): a pair shared by m images contributes 1/m each.
        vectors : ndarray (n_pairs, 3)
            The image vector r_j + R - r_k in Angstrom.
        """
        ridx, kk, jj, kp, w, _ = self._pairs
        m = self.fc.primitive.masses
        return kk, jj, kp, w * np.sqrt(m[kk] * m[kp]), self._Rcart[ridx] + self._dpos_cart[kk, kp]

    def _phase(self, q: np.ndarray) -> np.ndarray:
        """e^{i 2 pi q.R}, shape (nR, nq) complex, from per-axis factors (R integer)."""
        ux, ix, uy, iy, uz, ixy, iz = self._axes
        e = lambda u, x: np.exp(2j * np.pi * np.multiply.outer(u, x))   # (n_distinct, nq)
        exy = e(ux, q[:, 0])[ix]
        exy *= e(uy, q[:, 1])[iy]
        out = exy[ixy]
        out *= e(uz, q[:, 2])[iz]
        return out

    @staticmethod
    def _lattice_sum(MT: np.ndarray, phase: np.ndarray) -> np.ndarray:
        """sum_R phase[R, q] M[R, :] for real M given as MT (K, nR): (nq, K) complex.

        One real product on the interleaved real/imaginary parts of the phase (no copies, no
        complex arithmetic on the real table)."""
        nq = phase.shape[1]
        return (MT @ phase.view(float)).view(complex).reshape(len(MT), nq).T

    def _blocks(self, nq: int) -> tuple[list[slice], int]:
        """Blocks of q (at least two per thread where there are enough q, multiples of 256 q, at most
        ``chunk`` rounded down to a multiple of 256, 256 at least) and the thread count."""
        # multiples of 256 q, so that every q sits at the same offset modulo the BLAS tiles whatever
        # the number of threads: the results are then bitwise the same
        size = min(max(self.chunk // 256, 1), max(1, nq // (2 * 256 * self.n_threads))) * 256
        blocks = [slice(s, min(s + size, nq)) for s in range(0, nq, size)]
        return blocks, min(self.n_threads, len(blocks))

    def _map_blocks(self, fn, nq: int) -> None:
        """Run ``fn(block_slice)`` over the blocks of ``nq`` q-points, in threads where it pays."""
        blocks, nt = self._blocks(nq)
        if nt <= 1:
            for b in blocks:
                fn(b)
            return
        with ThreadPoolExecutor(nt) as ex:
            for _ in ex.map(fn, blocks):        # re-raises the first error
                pass

    def _scatter(self, fc_compact: np.ndarray) -> np.ndarray:
        """H_R (nR, n*3*n*3): mass- and multiplicity-weighted constants summed per lattice vector R."""
        ridx, kk, jj, kp, w, nR = self._pairs
        n = self.fc.n_prim
        H = np.zeros((nR, n, n, 3, 3))
        np.add.at(H, (ridx, kk, kp), fc_compact[kk, jj] * w[:, None, None])
        return np.ascontiguousarray(H.transpose(0, 1, 3, 2, 4).reshape(nR, -1))

    def _directions(self, q: np.ndarray, q_direction):
        """Cartesian q-direction per q-point (nq, 3), or None."""
        if q_direction is None:
            return None
        d = np.asarray(q_direction, dtype=float)
        return np.broadcast_to(d.reshape(-1, 3), q.shape) @ self.fc.primitive.reciprocal_cell

    def _nac_block(self, qs: np.ndarray, dirs) -> np.ndarray:
        """Non-analytic part of D for a block of q, (nq, n, 3, n, 3), mass-weighted, eV/(A^2 amu)."""
        from trajmodes.phonons import nac as _nac
        n, pr = self.fc.n_prim, self.fc.primitive
        qc = qs @ pr.reciprocal_cell
        if self.nac == "gonze":
            C = self._gl.matrix(qc, dirs)
        else:
            at_gamma = np.linalg.norm(qc, axis=1) < _nac.Q_ZERO
            qv = qc.copy()
            if dirs is not None:
                qv[at_gamma] = dirs[at_gamma]
            else:
                qv[at_gamma] = 0.0
            C = _nac.charge_term(qv, self.fc.born, self.fc.epsilon,
                                 self.nac_factor * 4 * np.pi / pr.volume) / self.fc.smap.n_cells
            W = self._lattice_sum(self._countT, self._phase(qs)).reshape(len(qs), n, n)
            W *= np.exp(2j * np.pi * np.einsum("qx,klx->qkl", qs, self._dpos))
            C = C * W[:, :, None, :, None]
        m = 1 / np.sqrt(pr.masses)
        return C * (m[:, None, None, None] * m[None, None, :, None])

    def dynamical_matrix(self, qpoints, q_direction=None) -> np.ndarray:
        """Dynamical matrices, shape (nq, 3n, 3n) complex, in eV/(A^2 amu); Hermitian.

        Parameters
        ----------
        qpoints : array_like, shape (nq, 3) or (3,)
            Reduced coordinates of the primitive reciprocal lattice (no 2 pi).
        q_direction : array_like, shape (3,) or (nq, 3), optional
            With the non-analytic correction: the direction (reduced, primitive reciprocal basis)
            along which q -> 0 is approached, used only at q = 0 (phonopy's ``q_direction``): gives
            the LO-TO split limit. Without it q = 0 has the analytic (TO) matrix.
        """
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        dirs = self._directions(q, q_direction) if self.nac else None
        out = np.empty((len(q), self.n_branches, self.n_branches), dtype=complex)

        def block(b):
            out[b] = self._dynmat_block(q[b], None if dirs is None else dirs[b])
        self._map_blocks(block, len(q))
        return out

    def _dynmat_block(self, qs: np.ndarray, dirs) -> np.ndarray:
        """D for one block of q (reduced), ``dirs`` Cartesian q-directions or None: (nq, 3n, 3n)."""
        n = self.fc.n_prim
        D = self._lattice_sum(self._HT, self._phase(qs)).reshape(len(qs), n, 3, n, 3)
        ph = np.exp(2j * np.pi * np.einsum("qx,klx->qkl", qs, self._dpos))
        D *= ph[:, :, None, :, None]
        if self.nac:
            D += self._nac_block(qs, dirs)
        D = D.reshape(len(qs), 3 * n, 3 * n)
        return 0.5 * (D + D.conj().transpose(0, 2, 1))

    def _dynmat_derivative(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """D(q) (nq, 3n, 3n) and its Cartesian gradient dD/dq (nq, 3, 3n, 3n) for one block of q.

        The gradient is with respect to Cartesian q in 1/A without 2 pi (q_cart = q_red @ rec), as
        phonopy's ``DerivativeOfDynamicalMatrix``: each term of the sum gains i 2 pi (r_k'R - r_k),
        units eV/(A^2 amu) * A.
        """
        n, nq = self.fc.n_prim, len(q)
        e = self._phase(q)                                               # (nR, nq)
        # the phase and its three R-weighted copies side by side: one product for D and dD
        cs = np.concatenate([e, e * self._Rcart[:, 0:1], e * self._Rcart[:, 1:2], e * self._Rcart[:, 2:3]], axis=1)
        S = self._lattice_sum(self._HT, cs).reshape(4, nq, n, 3, n, 3)
        S0 = S[0]
        S1 = S[1:]                                                       # (3, nq, n, 3, n, 3)
        ph = np.exp(2j * np.pi * np.einsum("qx,klx->qkl", q, self._dpos))[:, :, None, :, None]
        D = (S0 * ph).reshape(nq, 3 * n, 3 * n)
        dpc = self._dpos_cart.transpose(2, 0, 1)[:, None, :, None, :, None]   # (3, 1, n, 1, n, 1)
        dD = 2j * np.pi * (S1 + dpc * S0[None]) * ph[None]
        dD = dD.reshape(3, nq, 3 * n, 3 * n).transpose(1, 0, 2, 3)
        if self.nac:
            # the non-analytic part by central differences (step h, 1/A), smooth away from q = 0
            h = 1e-5
            D = D + self._nac_block(q, None).reshape(nq, 3 * n, 3 * n)
            inv = self.fc.primitive.cell.T                                  # q_red = q_cart @ cell.T
            for x in range(3):
                dq = h * inv[x]
                diff = self._nac_block(q + dq, None) - self._nac_block(q - dq, None)
                dD[:, x] += diff.reshape(nq, 3 * n, 3 * n) / (2 * h)
        D = 0.5 * (D + D.conj().transpose(0, 2, 1))
        dD = 0.5 * (dD + dD.conj().transpose(0, 1, 3, 2))
        return D, dD

    def dynamical_matrix_derivative(self, qpoints) -> np.ndarray:
        """Gradient of the dynamical matrix with respect to Cartesian q, shape (nq, 3, 3n, 3n) complex.

        Parameters
        ----------
        qpoints : array_like, shape (nq, 3) or (3,)
            Reduced coordinates of the primitive reciprocal lattice (no 2 pi).

        Returns
        -------
        ndarray
            dD/dq_cart in eV/(A^2 amu) * A, q_cart in 1/A without 2 pi (phonopy's convention);
            axis 1 is the Cartesian direction x, y, z.
        """
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        n3 = self.n_branches
        out = np.empty((len(q), 3, n3, n3), dtype=complex)
        for s in range(0, len(q), self.chunk):
            out[s:s + self.chunk] = self._dynmat_derivative(q[s:s + self.chunk])[1]
        return out

    def group_velocities(self, qpoints, degeneracy_tol: float = 1e-4, cutoff_frequency: float = 1e-4,
                         direction=(1.0, 2.0, 3.0)) -> np.ndarray:
        """Group velocities v = d nu / d q_cart (= d omega / d k), shape (nq, 3n, 3), in THz * A.

        Analytic: v_s = <e_s| dD/dq |e_s> THZ^2 / (2 nu_s), from the exact gradient of the same
        Wigner-Seitz-weighted sum as :meth:`dynamical_matrix`. 1 THz*A = 100 m/s. With the
        non-analytic correction its part of dD/dq is a central difference (step 1e-5 1/A); at q = 0
        the correction is left out (the analytic limit).

        Parameters
        ----------
        qpoints : array_like, shape (nq, 3) or (3,)
            Reduced coordinates of the primitive reciprocal lattice (no 2 pi).
        degeneracy_tol : float
            Branches closer than this (THz, chained) form one degenerate subspace.  Within it the
            modes are those that diagonalise dD/dq along ``direction`` (the one-sided limit along
            that direction), then each Cartesian component is the diagonal element: phonopy's
            ``GroupVelocity`` without symmetrisation.
        cutoff_frequency : float
            Modes with nu <= this (THz), imaginary ones included, get zero velocity (as phonopy).
        direction : array_like, shape (3,)
            Cartesian direction that lifts degeneracies (phonopy's default (1, 2, 3)).

        Returns
        -------
        ndarray, shape (nq, 3n, 3)
            Cartesian components, branches in the order of :meth:`frequencies`.
        """
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        d = np.asarray(direction, dtype=float)
        d = d / np.linalg.norm(d)
        out = np.empty((len(q), self.n_branches, 3))
        for s in range(0, len(q), self.chunk):
            D, dD = self._dynmat_derivative(q[s:s + self.chunk])
            w, e = np.linalg.eigh(D)
            out[s:s + len(w)] = self._velocities(self._to_thz(w), e, dD, d, degeneracy_tol,
                                                 cutoff_frequency)
        return out

    @staticmethod
    def _velocities(f, e, dD, d, degeneracy_tol, cutoff_frequency) -> np.ndarray:
        """(nq, nb, 3) from frequencies (ascending), eigenvectors and dD/dq (nq, 3, nb, nb)."""
        nq, nb = f.shape
        M = np.einsum("qas,qxab,qbt->qxst", e.conj(), dD, e, optimize=True)    # (nq, 3, nb, nb)
        v = np.einsum("qxss->qsx", M).real.copy()
        # degenerate subspaces (ascending frequencies: chained gaps below the tolerance)
        start = np.ones((nq, nb), dtype=bool)
        start[:, 1:] = np.diff(f, axis=1) >= degeneracy_tol
        qi, b0 = np.nonzero(start)
        size = np.diff(np.append(np.flatnonzero(start.reshape(-1)), nq * nb))
        for g in np.unique(size[size > 1]):          # one batched eigh per subspace size
            sel = size == g
            qg, bg = qi[sel], b0[sel][:, None] + np.arange(g)                     # (m,), (m, g)
            sub = M[qg[:, None, None], :, bg[:, :, None], bg[:, None, :]]         # (m, g, g, 3)
            _, U = np.linalg.eigh(sub @ d)
            rot = np.einsum("mis,mijx,mjs->msx", U.conj(), sub, U).real
            v[qg[:, None], bg] = rot
        with np.errstate(divide="ignore", invalid="ignore"):
            v *= (THZ ** 2 / (2 * f))[:, :, None]
        v[f <= cutoff_frequency] = 0.0
        return v

    def sound_velocities(self, directions, dq: float = 2e-3) -> np.ndarray:
        """Sound velocities: slopes of the three acoustic branches at q -> 0 along each direction.

        v = nu(q) / |q| (q without 2 pi, so nu/q = omega/k) at |q| = dq and 2 dq (Cartesian, 1/A), then
        Richardson-extrapolated to q = 0 (v(q) = v0 + a q^2 + ...): error O(dq^4).

        Parameters
        ----------
        directions : array_like, (ndir, 3) or (3,)
            Cartesian propagation directions (need not be normalised).
        dq : float
            Step in 1/A (no 2 pi); small against the zone (~0.3 1/A) but well above round-off.

        Returns
        -------
        ndarray, (ndir, 3)
            m/s (divide by 1000 for km/s), ascending per direction (two transverse, then longitudinal
            in isotropic cases); imaginary slopes negative. With the non-analytic correction the
            branches are those of the full D(q) (the three lowest at small q).
        """
        n = np.atleast_2d(np.asarray(directions, dtype=float))
        n = n / np.linalg.norm(n, axis=1, keepdims=True)
        cell_T = self.fc.primitive.cell.T                               # q_red = q_cart @ cell.T
        v = [np.sort(self.frequencies((h * n) @ cell_T)[:, :3], axis=1) / h for h in (dq, 2 * dq)]
        return (4 * v[0] - v[1]) / 3 * 100.0                            # THz*A -> m/s

    @staticmethod
    def _to_thz(eig: np.ndarray) -> np.ndarray:
        return np.sign(eig) * np.sqrt(np.abs(eig)) * THZ

    def frequencies(self, qpoints, q_direction=None) -> np.ndarray:
        """Phonon frequencies nu in THz, shape (nq, 3n), ascending; imaginary modes as negative numbers.

        ``q_direction``: see :meth:`dynamical_matrix` (LO-TO limit at q = 0 with the NAC)."""
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        dirs = _per_q(q_direction, len(q))
        out = np.empty((len(q), self.n_branches))
        cdirs = self._directions(q, dirs) if self.nac and dirs is not None else None

        def block(b):
            out[b] = self._to_thz(np.linalg.eigvalsh(self._dynmat_block(q[b], None if cdirs is None else cdirs[b])))
        self._map_blocks(block, len(q))
        return out

    def eigenvectors(self, qpoints, q_direction=None) -> np.ndarray:
        """Mode eigenvectors, shape (nq, 3n, 3n) complex; column s is mode s (phonopy convention),
        row 3k + a is atom k, direction a; in the order of :meth:`frequencies`."""
        return self.frequencies_and_eigenvectors(qpoints, q_direction)[1]

    def band_structure(self, path=None, npoints: int = 51, labels=None, with_group_velocities: bool = False,
                       symprec: float = 1e-3):
        """Frequencies along a path through the Brillouin zone.

        Parameters
        ----------
        path : None, str, array_like (n, 3) or list of array_like
            None: the default high-symmetry path of the Bravais lattice (tabulated for cF, cI, cP, hP,
            tP, oP; other lattices fall back to lines from Gamma to zone-face centres, with a warning).
            A string of special-point letters of that table, pieces separated by ``|`` (``"GXU|KGL"``).
            Otherwise connected pieces of reduced q-points (primitive reciprocal basis, no 2 pi);
            a single (n, 3) array is one piece.
        npoints : int
            Points per segment including both ends (joints repeated, as phonopy).
        labels : list of str or list of list of str, optional
            Labels of the path's nodes (flat, or one list per piece); default from the table, else none.
        with_group_velocities : bool
            Add ``group_velocity`` (q, branch, cartesian) in THz*A.
        symprec : float
            spglib tolerance (A) for finding the lattice.

        Returns
        -------
        xarray.Dataset
            ``frequency`` (q, branch) in THz (imaginary negative); coordinates ``distance`` (q), the
            cumulative path length in 1/A without 2 pi (phonopy's), ``qpoint`` (q, reduced),
            ``segment`` (q) and ``label`` (q: '' except at segment ends); attrs ``tick_distance`` and
            ``tick_labels`` (labels at the same distance merged as "U|K").
        """
        import xarray as xr
        from trajmodes.lattice import paths as bands
        pieces, lab = self._path_pieces(path, symprec)
        if labels is not None:
            flat = [x for piece in labels for x in piece] if not isinstance(labels[0], str) else list(labels)
            if len(flat) != sum(len(p) for p in pieces):
                raise ValueError(f"{len(flat)} labels for {sum(len(p) for p in pieces)} path nodes")
            it = iter(flat)
            lab = [[next(it) for _ in p] for p in pieces]
        cell = self.fc.primitive
        q, dist, seg, nodes = bands.sample_path(pieces, npoints, cell.reciprocal_cell)
        label = np.full(len(q), "", dtype=object)
        if lab is not None:
            for idx, p, i in nodes:
                label[idx] = lab[p][i]
        ticks_d, ticks_l = [], []
        for idx, p, i in nodes:
            if ticks_d and abs(dist[idx] - ticks_d[-1]) < 1e-12:
                if label[idx] != ticks_l[-1]:
                    ticks_l[-1] = f"{ticks_l[-1]}|{label[idx]}"
            else:
                ticks_d.append(float(dist[idx]))
                ticks_l.append(str(label[idx]))
        coords = dict(distance=("q", dist, {"units": "1/Angstrom", "long_name": "path length (no 2 pi)"}),
                      qpoint=(("q", "reduced"), q, {"units": "reduced (primitive reciprocal, no 2 pi)"}),
                      segment=("q", seg), label=("q", label.astype(str)),
                      branch=np.arange(self.n_branches))
        qdir = None
        if self.nac:               # Gamma on a segment: the limit along the segment (as phonopy)
            ends = np.flatnonzero(np.diff(np.append(seg, -1)) != 0)
            starts = np.concatenate([[0], ends[:-1] + 1])
            qdir = (q[ends] - q[starts])[np.searchsorted(ends, np.arange(len(q)))]
        data = dict(frequency=(("q", "branch"), self.frequencies(q, qdir),
                               {"units": "THz", "long_name": "phonon frequency (imaginary negative)"}))
        if with_group_velocities:
            data["group_velocity"] = (("q", "branch", "cartesian"), self.group_velocities(q),
                                      {"units": "THz*Angstrom", "long_name": "group velocity d nu / d q"})
            coords["cartesian"] = ["x", "y", "z"]
        return xr.Dataset(data, coords=coords, attrs=dict(tick_distance=ticks_d, tick_labels=ticks_l,
                                                            npoints=int(npoints)))

    def mesh(self, mesh, projections: bool = False):
        """Frequencies on a Gamma-centred mesh (phonopy's order, first index fastest).

        Returns
        -------
        q : (N, 3) reduced; freqs : (N, 3n) THz; proj : (N, 3n, n) |e|^2 summed over x, y, z per
        primitive atom (only with ``projections``, else None).
        """
        from trajmodes.lattice.qpoints import mesh_qpoints
        q = mesh_qpoints(mesh)
        if not projections:
            return q, self.frequencies(q), None
        n = self.fc.n_prim
        f = np.empty((len(q), 3 * n))
        pr = np.empty((len(q), 3 * n, n))
        for s in range(0, len(q), self.chunk):
            f[s:s + self.chunk], e = self.frequencies_and_eigenvectors(q[s:s + self.chunk])
            pr[s:s + self.chunk] = (np.abs(e) ** 2).reshape(len(e), n, 3, 3 * n).sum(axis=2).transpose(0, 2, 1)
        return q, f, pr

    def dos(self, mesh=(20, 20, 20), method: str = "tetrahedron", sigma: float | None = None,
            frequencies=None, projected: bool = True):
        """Phonon density of states, total and projected on the primitive atoms.

        Parameters
        ----------
        mesh : (3,) int
            Gamma-centred mesh of the primitive reciprocal cell (no symmetry reduction).
        method : {"tetrahedron", "gaussian"}
            Linear tetrahedron method (phonopy's) or Gaussian smearing.
        sigma : float, optional
            Gaussian standard deviation in THz; default (max - min) / 100 of the mesh frequencies
            (phonopy's). Also sets the default frequency range.
        frequencies : array_like, optional
            Where to evaluate (THz); default phonopy's: min - 10 sigma .. max + 10 sigma, 201 points.
        projected : bool
            Also the DOS projected on every primitive atom (|e|^2 weights); they sum to the total.

        Returns
        -------
        xarray.Dataset
            ``total`` (frequency) and ``projected`` (atom, frequency), states per THz per primitive cell
            (the total integrates to 3n); attrs ``method``, ``mesh``, ``sigma`` (THz, gaussian).
        """
        import xarray as xr
        from trajmodes.phonons import dos as _dos
        if method not in ("tetrahedron", "gaussian"):
            raise ValueError(f"method must be 'tetrahedron' or 'gaussian', not {method!r}")
        mesh = np.asarray(mesh, dtype=int).reshape(3)
        _, f, pr = self.mesh(mesh, projections=projected)
        points, s = _dos.frequency_points(f, sigma)
        if frequencies is not None:
            points = np.atleast_1d(np.asarray(frequencies, dtype=float))
        if method == "tetrahedron":
            vert, central = _dos.tetrahedra(mesh, self.fc.primitive.reciprocal_cell)
            total, proj = _dos.tetrahedron_dos(f, vert, central, points, pr)
        else:
            total, proj = _dos.gaussian_dos(f, points, s, pr)
        unit = {"units": "1/THz", "long_name": "states per THz per primitive cell"}
        data = dict(total=("frequency", total, unit))
        if projected:
            data["projected"] = (("atom", "frequency"), proj, unit)
        attrs = dict(method=method, mesh=mesh.tolist())
        if method == "gaussian":
            attrs["sigma"] = s
        return xr.Dataset(data, coords=dict(frequency=("frequency", points, {"units": "THz"}),
                                            atom=np.arange(self.fc.n_prim),
                                            species=("atom", self.fc.primitive.species.astype(str))),
                          attrs=attrs)

    def thermal_properties(self, temperatures, mesh=(20, 20, 20), classical: bool = False,
                           cutoff_frequency: float = 0.0):
        """Harmonic thermodynamics per primitive cell over temperatures, from a Gamma-centred mesh.

        Parameters
        ----------
        temperatures : array_like, K
        mesh : (3,) int
            Gamma-centred mesh (no symmetry reduction).
        classical : bool
            Classical oscillators (equipartition: Cv = k_B per mode, no zero-point energy).
        cutoff_frequency : float
            Modes with nu <= this (THz), imaginary ones included, are left out. The three acoustic
            modes at Gamma are always left out (phonopy's ``exclude_gamma_acoustic=True``).

        Returns
        -------
        xarray.Dataset over ``temperature`` (K): ``free_energy``, ``internal_energy`` (kJ/mol of
        primitive cells, phonopy's unit) and ``free_energy_eV``, ``internal_energy_eV`` (eV per
        primitive cell); ``entropy``, ``heat_capacity`` (Cv) in J/(K mol); ``zero_point_energy``
        (kJ/mol, scalar; attr ``eV``). CODATA 2018 constants (see :mod:`trajmodes.phonons.thermal`).
        """
        import xarray as xr
        from trajmodes.phonons.thermal import harmonic_thermodynamics
        from trajmodes.units import EV_KJMOL
        T = np.atleast_1d(np.asarray(temperatures, dtype=float))
        q, f, _ = self.mesh(mesh)
        gamma = np.flatnonzero(is_gamma(q))
        for g in gamma:                                      # acoustic modes at Gamma: exactly zero
            f[g, np.argsort(np.abs(f[g]), kind="stable")[:3]] = 0.0
        r = harmonic_thermodynamics(f, T, classical=classical, cutoff_frequency=cutoff_frequency)
        kj, jk = {"units": "kJ/mol"}, {"units": "J/(K mol)"}
        data = dict(free_energy=("temperature", r["free_energy"] * EV_KJMOL, kj),
                    internal_energy=("temperature", r["internal_energy"] * EV_KJMOL, kj),
                    free_energy_eV=("temperature", r["free_energy"], {"units": "eV"}),
                    internal_energy_eV=("temperature", r["internal_energy"], {"units": "eV"}),
                    entropy=("temperature", r["entropy"] * EV_KJMOL * 1000, jk),
                    heat_capacity=("temperature", r["heat_capacity"] * EV_KJMOL * 1000, jk),
                    zero_point_energy=((), r["zero_point_energy"] * EV_KJMOL,
                                       {"units": "kJ/mol", "eV": r["zero_point_energy"]}))
        return xr.Dataset(data, coords=dict(temperature=("temperature", T, {"units": "K"})),
                          attrs=dict(mesh=np.asarray(mesh, dtype=int).tolist(), classical=int(classical),
                                     per="primitive cell"))

    def _path_pieces(self, path, symprec):
        from trajmodes.lattice import paths as bands
        if path is None:
            return bands.default_path(self.fc.primitive, symprec)
        if isinstance(path, str):
            pieces, labels = bands.special_points(self.fc.primitive, symprec), []
            out = []
            for chunk in path.replace(",", "|").split("|"):
                names = list(chunk.strip().replace("Γ", "G"))
                unknown = [c for c in names if c not in pieces]
                if unknown:
                    raise ValueError(f"unknown special points {unknown}; known: {sorted(pieces)}")
                out.append(np.array([pieces[c] for c in names]))
                labels.append([bands.PRETTY_LABELS.get(c, c) for c in names])
            return out, labels
        arr = np.asarray(path, dtype=object)
        if arr.ndim == 2 and arr.shape[1] == 3 and np.isscalar(arr[0, 0]):
            return [np.asarray(path, dtype=float)], None
        return [np.asarray(p, dtype=float).reshape(-1, 3) for p in path], None

    def frequencies_and_eigenvectors(self, qpoints, q_direction=None) -> tuple[np.ndarray, np.ndarray]:
        """Both at once: (nq, 3n) THz and (nq, 3n, 3n) complex."""
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        dirs = _per_q(q_direction, len(q))
        f = np.empty((len(q), self.n_branches))
        e = np.empty((len(q), self.n_branches, self.n_branches), dtype=complex)
        cdirs = self._directions(q, dirs) if self.nac and dirs is not None else None

        def block(b):
            w, e[b] = np.linalg.eigh(self._dynmat_block(q[b], None if cdirs is None else cdirs[b]))
            f[b] = self._to_thz(w)
        self._map_blocks(block, len(q))
        return f, e


def _per_q(q_direction, nq: int):
    """q_direction as (nq, 3) or None."""
    if q_direction is None:
        return None
    return np.broadcast_to(np.asarray(q_direction, dtype=float).reshape(-1, 3), (nq, 3))
