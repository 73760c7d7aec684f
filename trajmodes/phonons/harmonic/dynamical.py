"""The dynamical matrix of force constants at any q, and its gradient, as one lattice sum.

D_kk'(q) = sum_j Phi[p2s_k, j] (1/M) sum_T e^{i 2 pi q.(r_j + T - r_k)} / sqrt(m_k m_k'), the sum over the M
shortest images r_j + T of atom j (T supercell lattice vectors; the Wigner-Seitz treatment, as phonopy
computes it). q in reduced coordinates of the primitive reciprocal lattice, without 2 pi. Precomputed once:
D(q) = e^{i 2 pi q.(p_k' - p_k)} * sum_R e^{i 2 pi q.R} H_R, R the integer lattice vectors in use.

The phase carries the atom positions (phonopy's convention): the eigenvectors are then those of phonopy and phono3py,
which the three-phonon interaction (:mod:`trajmodes.phonons.anharmonic.interaction`), the projection of MD displacements
and the quartic sums use with the same phases. The potentials' exact lattice sums
(:meth:`trajmodes.potentials.terms.ShortRangePotential.dynamical_matrices`) put the lattice translations alone in the
phase; the two are U^H D U with U = diag(e^{i 2 pi q.p_k}): the same frequencies, eigenvectors differing by the phase
e^{i 2 pi q.p_k} on atom k.
The phase is a product of per-axis factors, e^{i 2 pi (q_x R_x + q_y R_y)} e^{i 2 pi q_z R_z}, over the few
distinct (R_x, R_y) pairs and R_z values (no cos/sin over the whole (nq, nR) table), and the sum over R is one
real matrix product on the interleaved real/imaginary parts. The non-analytic correction of polar crystals is
a strategy of :mod:`trajmodes.phonons.harmonic.nac`.
"""
from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from trajmodes.forceconstants.model import ForceConstants
from trajmodes.lattice.geometry import wigner_seitz_pairs
from trajmodes.units import THZ

__all__ = ["DynamicalMatrix", "frequencies_from_eigenvalues", "FrequenciesAndEigenvectors", "MeshFrequencies"]


class FrequenciesAndEigenvectors(NamedTuple):
    """The modes at a set of q (:meth:`DynamicalMatrix.frequencies_and_eigenvectors`): a named tuple, as numpy's
    ``eigh`` returns, so ``f, e = ...`` unpacks it and the attributes name its parts.

    Attributes
    ----------
    frequencies : ndarray (nq, 3n)
        THz, ascending at each q (imaginary modes negative).
    eigenvectors : ndarray, complex (nq, 3n, 3n)
        Column s is mode s (phonopy convention), row 3k + a is atom k, direction a.
    """

    frequencies: np.ndarray
    eigenvectors: np.ndarray


@dataclass(frozen=True)
class MeshFrequencies:
    """The phonons of a mesh (:meth:`DynamicalMatrix.mesh_frequencies`).

    Attributes
    ----------
    qpoints : ndarray (N, 3)
        The q-points, reduced coordinates of the primitive reciprocal lattice (no 2 pi).
    frequencies : ndarray (N, 3n)
        Frequency of every branch at each q, THz (imaginary ones negative).
    projections : ndarray (N, 3n, n) or None
        |e|^2 summed over x, y, z per primitive atom (with ``projections=True``).
    """

    qpoints: np.ndarray
    frequencies: np.ndarray
    projections: np.ndarray | None


#: bytes of one block's phase table e^{i 2 pi q.R} (lattice vectors x q-points, complex): the force constants of a
#: big supercell have ~10^5 lattice vectors, for which 4096 q would take 7 GB per thread
PHASE_BYTES = 256 << 20


class DynamicalMatrix:
    """Dynamical matrices D(q) and their Cartesian gradients from force constants, in blocks of q.

    ``force_constants``, ``tol``, ``chunk`` and ``n_threads`` as :class:`trajmodes.Phonons`, which builds this. Blocks
    of q are multiples of 256 q, so results do not depend on the number of threads (bitwise). ``nac``: the non-analytic
    correction (:class:`~trajmodes.phonons.harmonic.nac.GonzeLee` or :class:`~trajmodes.phonons.harmonic.nac.WangNAC`),
    or None.

    Attributes
    ----------
    R : ndarray (nR, 3)
        The supercell's lattice vectors (reduced, primitive) at which some pair has a shortest image.
    live : ndarray of int
        The rows of ``R`` whose constants are not all zero: the lattice sums run over these only (a few hundred of
        the ~10^5 vectors of a big supercell fitted within a cutoff, so D(q) costs the same at any supercell size).
    """

    def __init__(self, force_constants: ForceConstants, tol: float = 1e-5, chunk: int = 4096,
                 n_threads: int | None = None, nac=None):
        self.force_constants = fc = force_constants
        self.tol = float(tol)
        self.chunk = int(chunk)
        self.n_threads = max(1, int(os.cpu_count() or 1) if n_threads is None else int(n_threads))
        self.nac = nac
        self._build()
        if nac is not None:
            dipole = nac.supercell_constants(fc)
            if dipole is not None:            # short-range constants: the dipole part is added back at every q
                self._H = self._H - self._scatter(dipole)
            nac.prepare(self)
        # the lattice sums run over the lattice vectors whose constants are not all zero: the constants of a big
        # supercell fitted within a cutoff reach a few hundred of its ~10^5 vectors
        self.live = live_rows(self._H)
        self._axes_live = phase_axes(self.R[self.live])
        self._HT = np.ascontiguousarray(self._H[self.live].T)           # (K, n_live) for the lattice sums

    @property
    def n_branches(self) -> int:
        return 3 * self.force_constants.n_prim

    def _build(self) -> None:
        fc = self.force_constants
        pr, m = fc.primitive, fc.smap
        P = pr.cell
        pf = pr.scaled_positions                                     # (n, 3) primitive fractional
        compact = fc.compact()
        # the supercell atoms the constants reach (constants fitted within a cutoff reach a few dozen of a big
        # supercell's 10^5-10^6 atoms): their images alone are found (seconds at 864,000 atoms for all of them). The
        # non-analytic part reaches every atom: all of them there
        self.columns = None
        if self.nac is None:
            reach = np.union1d(np.flatnonzero(np.any(compact != 0, axis=(0, 2, 3))), fc.p2s)
            if 2 * len(reach) < len(m.atom):
                self.columns = reach
        # every pair (k, j) at each of its shortest images (ideal positions, primitive fractional: the shift cancels)
        kk, jj, w, mult, Ru, ridx, axes = _image_pairs(m, pf, fc.p2s, P, self.tol, self.columns)
        kp = m.atom[jj]
        self.weights = w                                             # 1 / multiplicity of every image pair
        self.pairs = (ridx, kk, jj, kp, w / np.sqrt(pr.masses[kk] * pr.masses[kp]), len(Ru))
        self.R = Ru.astype(float)                                    # (nR, 3) reduced
        self._axes = axes
        self._H = self._scatter(compact)
        self.dpos = pf[None, :, :] - pf[:, None, :]                  # (n, n, 3) reduced
        self.R_cart = self.R @ P                                     # (nR, 3) A
        self.dpos_cart = self.dpos @ P                               # (n, n, 3) A

    def _all_pairs(self) -> tuple:
        """:func:`_image_pairs` of every supercell atom (the pairs of :attr:`pairs` are those of :attr:`columns`)."""
        fc = self.force_constants
        return _image_pairs(fc.smap, fc.primitive.scaled_positions, fc.p2s, fc.primitive.cell, self.tol)

    @property
    def multiplicities(self) -> np.ndarray:
        """The number of equally short images of every pair (primitive atom, supercell atom), (n, N) int: of every
        supercell atom, also those the constants do not reach (the third order's images reach farther)."""
        return self._all_pairs()[3]

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
            The image vector r_j + R - r_k in Å.
        """
        if self.columns is None:
            ridx, kk, jj, kp, w, _ = self.pairs
            m = self.force_constants.primitive.masses
            return kk, jj, kp, w * np.sqrt(m[kk] * m[kp]), self.R_cart[ridx] + self.dpos_cart[kk, kp]
        kk, jj, w, _, Ru, ridx, _ = self._all_pairs()
        kp = self.force_constants.smap.atom[jj]
        return kk, jj, kp, w, Ru[ridx] @ self.force_constants.primitive.cell + self.dpos_cart[kk, kp]

    def phase(self, q: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """e^{i 2 pi q.R}, shape (nR, nq) complex, from per-axis factors (R integer); with ``rows`` (indices of
        :attr:`R`) for those lattice vectors only, (len(rows), nq)."""
        return _phase(self._axes if rows is None else phase_axes(self.R[rows]), q)

    def live_phase(self, q: np.ndarray) -> np.ndarray:
        """e^{i 2 pi q.R} for the lattice vectors that carry constants (:attr:`live`), (len(live), nq) complex: the
        per-axis tables are made once."""
        return _phase(self._axes_live, q)

    @staticmethod
    def lattice_sum(MT: np.ndarray, phase: np.ndarray) -> np.ndarray:
        """sum_R phase[R, q] M[R, :] for real M given as MT (K, nR): (nq, K) complex.

        One real product on the interleaved real/imaginary parts of the phase (no copies, no
        complex arithmetic on the real table)."""
        nq = phase.shape[1]
        return (MT @ phase.view(float)).view(complex).reshape(len(MT), nq).T

    def blocks(self, nq: int) -> tuple[list[slice], int]:
        """Blocks of q (at least two per thread where there are enough q, multiples of 256 q, at most
        ``chunk`` rounded down to a multiple of 256 and what keeps a block's phase table e^{i 2 pi q.R} (nR x nq
        complex) within :data:`PHASE_BYTES`, 256 at least) and the thread count."""
        # multiples of 256 q, so that every q sits at the same offset modulo the BLAS tiles whatever
        # the number of threads: the results are then bitwise the same. The non-analytic term sums over every R
        rows = len(self.R) if self.nac else len(self.live)
        by_bytes = PHASE_BYTES // (256 * 16 * max(1, rows))
        size = max(1, min(max(self.chunk // 256, 1), max(1, nq // (2 * 256 * self.n_threads)), by_bytes)) * 256
        blocks = [slice(s, min(s + size, nq)) for s in range(0, nq, size)]
        return blocks, min(self.n_threads, len(blocks))

    def map_blocks(self, fn, nq: int) -> None:
        """Run ``fn(block_slice)`` over the blocks of ``nq`` q-points, in threads where it pays."""
        blocks, nt = self.blocks(nq)
        if nt <= 1:
            for b in blocks:
                fn(b)
            return
        with ThreadPoolExecutor(nt) as ex:
            for _ in ex.map(fn, blocks):        # re-raises the first error
                pass

    def _scatter(self, fc_compact: np.ndarray) -> np.ndarray:
        """H_R (nR, n*3*n*3): mass- and multiplicity-weighted constants summed per lattice vector R."""
        ridx, kk, jj, kp, w, nR = self.pairs
        n = self.force_constants.n_prim
        H = np.zeros((nR, n, n, 3, 3))
        np.add.at(H, (ridx, kk, kp), fc_compact[kk, jj] * w[:, None, None])
        return np.ascontiguousarray(H.transpose(0, 1, 3, 2, 4).reshape(nR, -1))

    def directions(self, q: np.ndarray, q_direction):
        """Cartesian q-direction per q-point (nq, 3), or None."""
        if q_direction is None:
            return None
        d = np.asarray(q_direction, dtype=float)
        return np.broadcast_to(d.reshape(-1, 3), q.shape) @ self.force_constants.primitive.reciprocal_cell

    def _nac_block(self, qs: np.ndarray, dirs) -> np.ndarray:
        """Non-analytic part of D for a block of q, (nq, n, 3, n, 3), mass-weighted, eV/(Å² amu)."""
        C = self.nac.term(self, qs, dirs)
        m = 1 / np.sqrt(self.force_constants.primitive.masses)
        return C * (m[:, None, None, None] * m[None, None, :, None])

    def __call__(self, qpoints, q_direction=None) -> np.ndarray:
        """Dynamical matrices, shape (nq, 3n, 3n) complex, in eV/(Å² amu); Hermitian.

        ``qpoints`` (nq, 3) or (3,) reduced; ``q_direction`` the reduced direction of approach to q = 0 with
        the non-analytic correction (see :meth:`trajmodes.Phonons.dynamical_matrix`)."""
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        dirs = self.directions(q, q_direction) if self.nac else None
        out = np.empty((len(q), self.n_branches, self.n_branches), dtype=complex)

        def block(b):
            out[b] = self.block(q[b], None if dirs is None else dirs[b])
        self.map_blocks(block, len(q))
        return out

    def block(self, qs: np.ndarray, dirs) -> np.ndarray:
        """D for one block of q (reduced), ``dirs`` Cartesian q-directions or None: (nq, 3n, 3n)."""
        n = self.force_constants.n_prim
        D = self.lattice_sum(self._HT, self.live_phase(qs)).reshape(len(qs), n, 3, n, 3)
        ph = np.exp(2j * np.pi * np.einsum("qx,klx->qkl", qs, self.dpos))
        D *= ph[:, :, None, :, None]
        if self.nac:
            D += self._nac_block(qs, dirs)
        D = D.reshape(len(qs), 3 * n, 3 * n)
        D += D.conj().transpose(0, 2, 1)                     # in place: one copy of the block, not three
        D *= 0.5
        return D

    def of_constants(self, fc_compacts, qpoints, columns=None) -> np.ndarray:
        """Dynamical matrices of other compact force constants on this crystal and its images, without the
        non-analytic part: (nq, n_sets, 3n, 3n) complex, eV/(Å² amu).

        D(q) is linear in Phi, so the matrices of a linear family of constants (the tensors of a symmetry basis, the
        differences of bootstrap resamples) are those of its members, summed with the same weights; this builds them
        all with one lattice sum, on the image pairs found once, over the lattice vectors where some set has
        constants.

        Parameters
        ----------
        fc_compacts : array_like (n_sets, n, N, 3, 3) or (n_sets, n, C, 3, 3)
            Compact constants (eV/Å²) on the supercell of this matrix's force constants; with ``columns``, on those
            supercell atoms only (:meth:`~trajmodes.forceconstants.clusters.IFCBasis.compact_columns`), zero
            elsewhere.
        qpoints : array_like (nq, 3)
            The q-points, reduced coordinates of the primitive reciprocal lattice (no 2 pi).
        columns : array_like of int (C,), optional
            The supercell atoms of the columns of ``fc_compacts``.
        """
        fcs = np.asarray(fc_compacts, dtype=float)
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        n, k = self.force_constants.n_prim, len(fcs)
        ridx, kk, jj, kp, w, _ = self.pairs
        R = self.R
        n_atoms = len(self.force_constants.smap.atom)
        pos = np.arange(n_atoms) if columns is None else np.full(n_atoms, -1)
        if columns is not None:
            pos[np.asarray(columns, dtype=np.int64)] = np.arange(len(columns))
        if self.columns is not None:
            inside = np.zeros(n_atoms, dtype=bool)
            inside[self.columns] = True
            held = np.arange(n_atoms) if columns is None else np.asarray(columns, dtype=np.int64)
            if np.any(fcs[:, :, ~inside[held]] != 0):
                # these constants reach farther than this matrix's: the pairs of every supercell atom
                kk, jj, w1, _, Ru, ridx, _ = self._all_pairs()
                kp = self.force_constants.smap.atom[jj]
                w, R = w1 / np.sqrt(self.force_constants.primitive.masses[kk] *
                                    self.force_constants.primitive.masses[kp]), Ru.astype(float)
        sel = np.flatnonzero(pos[jj] >= 0)
        rows, local = np.unique(ridx[sel], return_inverse=True)
        H = np.zeros((len(rows), n, n, 3, 3, k))
        vals = fcs[:, kk[sel], pos[jj[sel]]] * w[sel][None, :, None, None]           # (k, pairs, 3, 3)
        np.add.at(H, (local.reshape(-1), kk[sel], kp[sel]), vals.transpose(1, 2, 3, 0))
        H = H.transpose(0, 5, 1, 3, 2, 4).reshape(len(rows), -1)                      # (rows, k n 3 n 3)
        live = live_rows(H)
        D = self.lattice_sum(np.ascontiguousarray(H[live].T), _phase(phase_axes(R[rows[live]]), q))
        D = D.reshape(len(q), k, n, 3, n, 3)
        D *= np.exp(2j * np.pi * np.einsum("qx,klx->qkl", q, self.dpos))[:, None, :, None, :, None]
        D = D.reshape(len(q), k, 3 * n, 3 * n)
        return 0.5 * (D + D.conj().transpose(0, 1, 3, 2))

    def with_derivative(self, q: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """D(q) (nq, 3n, 3n) and its Cartesian gradient dD/dq (nq, 3, 3n, 3n) for one block of q.

        The gradient is with respect to Cartesian q in 1/Å without 2 pi (q_cart = q_red @ rec), as
        phonopy's ``DerivativeOfDynamicalMatrix``: each term of the sum gains i 2 pi (r_k'R - r_k),
        units eV/(Å² amu) * Å.
        """
        n, nq = self.force_constants.n_prim, len(q)
        e = self.live_phase(q)                                    # (n_live, nq)
        # the phase and its three R-weighted copies side by side: one product for D and dD
        Rc = self.R_cart[self.live]
        cs = np.concatenate([e, e * Rc[:, 0:1], e * Rc[:, 1:2], e * Rc[:, 2:3]], axis=1)
        S = self.lattice_sum(self._HT, cs).reshape(4, nq, n, 3, n, 3)
        S0 = S[0]
        S1 = S[1:]                                                       # (3, nq, n, 3, n, 3)
        ph = np.exp(2j * np.pi * np.einsum("qx,klx->qkl", q, self.dpos))[:, :, None, :, None]
        D = (S0 * ph).reshape(nq, 3 * n, 3 * n)
        dpc = self.dpos_cart.transpose(2, 0, 1)[:, None, :, None, :, None]   # (3, 1, n, 1, n, 1)
        dD = 2j * np.pi * (S1 + dpc * S0[None]) * ph[None]
        dD = dD.reshape(3, nq, 3 * n, 3 * n).transpose(1, 0, 2, 3)
        if self.nac:
            # the non-analytic part by central differences (step h, 1/A), smooth away from q = 0
            h = 1e-5
            D = D + self._nac_block(q, None).reshape(nq, 3 * n, 3 * n)
            inv = self.force_constants.primitive.cell.T                     # q_red = q_cart @ cell.T
            for x in range(3):
                dq = h * inv[x]
                diff = self._nac_block(q + dq, None) - self._nac_block(q - dq, None)
                dD[:, x] += diff.reshape(nq, 3 * n, 3 * n) / (2 * h)
        D = 0.5 * (D + D.conj().transpose(0, 2, 1))
        dD = 0.5 * (dD + dD.conj().transpose(0, 1, 3, 2))
        return D, dD

    def derivative(self, qpoints) -> np.ndarray:
        """dD/dq_cart, shape (nq, 3, 3n, 3n) complex, eV/(Å² amu) * Å (see :meth:`with_derivative`)."""
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        n3 = self.n_branches
        out = np.empty((len(q), 3, n3, n3), dtype=complex)
        for s in range(0, len(q), self.chunk):
            out[s:s + self.chunk] = self.with_derivative(q[s:s + self.chunk])[1]
        return out


    # -- its eigenvalues and eigenvectors ----------------------------------------------------------------
    def frequencies(self, qpoints, q_direction=None) -> np.ndarray:
        """Phonon frequencies nu in THz, shape (nq, 3n), ascending; imaginary modes as negative numbers.

        ``q_direction``: the reduced direction of approach to q = 0 with the non-analytic correction, (3,) or
        (nq, 3) (see :meth:`trajmodes.Phonons.dynamical_matrix`)."""
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        dirs = per_q(q_direction, len(q))
        out = np.empty((len(q), self.n_branches))
        cdirs = self.directions(q, dirs) if self.nac and dirs is not None else None

        def block(b):
            out[b] = frequencies_from_eigenvalues(np.linalg.eigvalsh(
                self.block(q[b], None if cdirs is None else cdirs[b])))
        self.map_blocks(block, len(q))
        return out

    def frequencies_and_eigenvectors(self, qpoints, q_direction=None) -> FrequenciesAndEigenvectors:
        """Both at once: a :class:`FrequenciesAndEigenvectors` named tuple, ``frequencies`` (nq, 3n) THz and
        ``eigenvectors`` (nq, 3n, 3n) complex (``f, e = ...`` unpacks it)."""
        from trajmodes.resources import one_blas_thread
        q = np.atleast_2d(np.asarray(qpoints, dtype=float))
        dirs = per_q(q_direction, len(q))
        f = np.empty((len(q), self.n_branches))
        e = np.empty((len(q), self.n_branches, self.n_branches), dtype=complex)
        cdirs = self.directions(q, dirs) if self.nac and dirs is not None else None

        def block(b):
            # LAPACK's eigenvectors (their phases, a degenerate subspace's basis) depend on the number of BLAS
            # threads: one thread always, so every call, in a Dask task or not, returns the same eigenvectors
            with one_blas_thread():
                w, e[b] = np.linalg.eigh(self.block(q[b], None if cdirs is None else cdirs[b]))
            f[b] = frequencies_from_eigenvalues(w)
        self.map_blocks(block, len(q))
        return FrequenciesAndEigenvectors(frequencies=f, eigenvectors=e)

    def mesh_frequencies(self, mesh, projections: bool = False) -> MeshFrequencies:
        """Frequencies on a Gamma-centred mesh (phonopy's order, first index fastest), as :class:`MeshFrequencies`
        (``qpoints``, ``frequencies`` THz, ``projections``).

        ``mesh``: one positive integer n (n x n x n) or three (:func:`trajmodes.lattice.grid.parse_mesh`; a diagonal
        3 x 3 matrix is its diagonal, any other supercell matrix a ValueError). ``projections``: also the weight
        |e|^2 of every primitive atom in every mode."""
        from trajmodes.lattice.qpoints import parse_mesh
        from trajmodes.lattice.qpoints import mesh_qpoints
        from trajmodes.resources import require_memory
        mesh = parse_mesh(mesh, matrix=False)
        n_points, nb = float(np.prod(mesh, dtype=float)), self.n_branches
        require_memory(n_points * 8.0 * (3 + nb + (nb * self.force_constants.n_prim if projections else 0)),
                       f"the frequencies on the {n_points:.3g} q-points of the mesh {mesh.tolist()}",
                       "use a smaller mesh")
        q = mesh_qpoints(mesh)
        if not projections:
            return MeshFrequencies(q, self.frequencies(q), None)
        n = self.force_constants.n_prim
        f = np.empty((len(q), 3 * n))
        pr = np.empty((len(q), 3 * n, n))
        for s in range(0, len(q), self.chunk):
            f[s:s + self.chunk], e = self.frequencies_and_eigenvectors(q[s:s + self.chunk])
            pr[s:s + self.chunk] = (np.abs(e) ** 2).reshape(len(e), n, 3, 3 * n).sum(axis=2).transpose(0, 2, 1)
        return MeshFrequencies(q, f, pr)


def _image_pairs(smap, basis: np.ndarray, p2s: np.ndarray, cell: np.ndarray, tol: float,
                 columns: np.ndarray | None = None) -> tuple:
    """:func:`~trajmodes.lattice.geometry.wigner_seitz_pairs` of a supercell map with the distinct lattice vectors
    of its images and their phase tables, found once per map and primitive cell: the matrices of a fit's cutoff
    scan, error bars and figures share the supercell (3.5 s a time at 864,000 atoms, of which the distinct vectors
    took 2.5 s). Kept on the map (read-only arrays): those of every atom, and of the last few sets of ``columns``
    (sorted supercell atoms that hold the atoms of ``p2s``: the pairs of those atoms only; multiplicities None).

    Returns
    -------
    k, j, weight, multiplicities
        As :func:`~trajmodes.lattice.geometry.wigner_seitz_pairs`.
    R : ndarray of int (nR, 3)
        The distinct lattice vectors of the images.
    ridx : ndarray of int (n_images,)
        Each image's row of ``R``.
    axes : tuple
        :func:`phase_axes` of ``R``.
    """
    key = (float(tol), np.asarray(p2s).tobytes(), np.asarray(basis, float).tobytes(), np.asarray(cell, float).tobytes(),
           None if columns is None else np.asarray(columns, dtype=np.int64).tobytes())
    cache = smap.__dict__.setdefault("_image_pairs", {})
    if key not in cache:
        if columns is None:
            kk, jj, R, w, _, mult = wigner_seitz_pairs(basis, smap.atom, smap.lattice, p2s, cell, smap.matrix, tol)
        else:
            columns = np.asarray(columns, dtype=np.int64)
            kk, jj, R, w, _, _ = wigner_seitz_pairs(basis, smap.atom[columns], smap.lattice[columns],
                                                    np.searchsorted(columns, p2s), cell, smap.matrix, tol)
            jj, mult = columns[jj], None
        Ru, ridx = np.unique(R, axis=0, return_inverse=True)
        found = (kk, jj, w, mult, Ru, ridx.reshape(-1), phase_axes(Ru))
        for a in found[:-1] + found[-1]:
            if isinstance(a, np.ndarray):
                a.flags.writeable = False
        # one primitive cell per map in practice: its pairs of every atom, and those of the last few constants
        stale = [k for k in cache if k[:4] != key[:4]]
        if key[4] is not None:
            stale += [k for k in cache if k[:4] == key[:4] and k[4] is not None][:-3]
        for k in stale:
            del cache[k]
        cache[key] = found
    return cache[key]


def phase_axes(R: np.ndarray) -> tuple:
    """The per-axis tables of e^{i 2 pi q.R} for integer lattice vectors R (n, 3): the distinct (R_x, R_y) pairs
    and R_z values, and where each R finds its own (:meth:`DynamicalMatrix.phase`)."""
    R = np.rint(np.asarray(R, dtype=float)).astype(np.int64).reshape(-1, 3)
    xy, ixy = np.unique(R[:, :2], axis=0, return_inverse=True)
    ux, ix = np.unique(xy[:, 0], return_inverse=True)
    uy, iy = np.unique(xy[:, 1], return_inverse=True)
    uz, iz = np.unique(R[:, 2], return_inverse=True)
    return (ux.astype(float), ix.reshape(-1), uy.astype(float), iy.reshape(-1), uz.astype(float), ixy.reshape(-1),
            iz.reshape(-1))


def _phase(axes: tuple, q: np.ndarray) -> np.ndarray:
    """e^{i 2 pi q.R} (n_R, nq) complex from the per-axis tables of :func:`phase_axes`: products of a few distinct
    factors per axis instead of one exponential per (R, q)."""
    ux, ix, uy, iy, uz, ixy, iz = axes
    e = lambda u, x: np.exp(2j * np.pi * np.multiply.outer(u, x))   # (n_distinct, nq)
    exy = e(ux, q[:, 0])[ix]
    exy *= e(uy, q[:, 1])[iy]
    out = exy[ixy]
    out *= e(uz, q[:, 2])[iz]
    return out


def live_rows(H: np.ndarray) -> np.ndarray:
    """Indices of the rows of H (lattice vectors x constants) that are not all zero: the only ones a lattice sum
    needs (a zero row adds exact zeros)."""
    return np.flatnonzero(np.any(H != 0, axis=1))


def per_q(q_direction, nq: int):
    """q_direction as (nq, 3), or None."""
    if q_direction is None:
        return None
    return np.broadcast_to(np.asarray(q_direction, dtype=float).reshape(-1, 3), (nq, 3))


def frequencies_from_eigenvalues(eig: np.ndarray) -> np.ndarray:
    """Frequencies nu = sqrt(eigenvalue) in THz from eigenvalues of D in eV/(Å² amu); imaginary as negative."""
    return np.sign(eig) * np.sqrt(np.abs(eig)) * THZ
