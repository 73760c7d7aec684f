"""Three-phonon interaction strengths |Phi(lambda, lambda', lambda'')|^2 from second- and third-order force
constants, for q-point triplets q + q' + q'' = G on a mesh.

With u(l k) = (N m_k)^-1/2 sum_q e^{i 2 pi q.r(l k)} W(k; q s) Q(q s) and Q = (hbar / 2 omega)^1/2 (a + a^+),
the cubic Hamiltonian H3 = (1/3!) sum Psi u u u is sum Phi(lambda lambda' lambda'') A A' A'' with

    Phi = N^-1/2 (1/3!) (hbar/2)^3/2 (omega omega' omega'')^-1/2 sum_{k k' k''} sum_{a b c}
          W_a(k; lambda) W_b(k'; lambda') W_c(k''; lambda'') / sqrt(m_k m_k' m_k'')
          e^{i 2 pi G.r(0 k)} sum_{l' l''} Psi_abc(0 k, l' k', l'' k'') e^{i 2 pi q'.(r(l'k') - r(0k))}
                                                                    e^{i 2 pi q''.(r(l''k'') - r(0k))}

(Togo, Chaput and Tanaka, Phys. Rev. B 91, 094306 (2015), Eq. (11) with the phase of Eq. (13);
Maradudin and Fein, Phys. Rev. 128, 2589 (1962)). The lattice sums run over the supercell atoms with their
shortest periodic images, each of m equally short images weighted 1/m (the Wigner-Seitz treatment the
dynamical matrix uses, :mod:`trajmodes.phonons.harmonic.dynamical`). Only the atoms a third-order constant
actually couples to the centre atom enter, so the cost grows with the fc3 cutoff, not the supercell.

The phase above takes the first atom, r(0k), as the origin r0 of the lattice sums. The sum is the same with the
atom of q' or of q'' as the origin where the three atoms are each other's shortest images, not otherwise (images on
the Wigner-Seitz boundary of the supercell, constants that are not exactly symmetric under the exchange of atoms).
With ``make_r0_average`` (the default, as phono3py's since version 3) the transform is the mean of the three, each
with its atoms' own shortest images (phono3py's ``make_r0_average``, ``Phono3py(..., make_r0_average=True)`` in its
API documentation; the transform of Eq. (13) of Togo, Chaput and Tanaka (2015) taken at each atom); the triplets
whose three atoms are each other's unique shortest images (``all_shortest``) take the first origin alone, the
three being equal there, so that constants within half the supercell cost no more than without the average.

For a block of triplets the lattice sum is, per centre atom, the phases of the pairs of atoms a constant couples to
it and one real matrix product per pair of primitive atoms over those pairs; then three contractions with the
eigenvectors divided by sqrt(m omega) (batched matrix products): no Python loop over triplets or atoms.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from trajmodes.units import AMU_A2_PS2_EV, H_EV_PS

if TYPE_CHECKING:
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.lattice.grid import Grid
    from trajmodes.phonons.harmonic.phonons import Phonons

__all__ = ["Interaction", "HBAR_EV_PS", "BLOCK_BYTES", "triplet_block"]

#: bytes of the largest temporary array of one block of triplets: blocks of ``chunk`` triplets are cut to keep within it
#: where the cell has many branches (the (T, 3n, 3n, 3n) strengths, or the (T, nw, 3n, 3n) delta functions of a
#: lineshape on nw frequencies, grow with the branches cubed or the frequencies; a 9-atom cell on 401 frequencies held
#: gigabytes in blocks of 512 triplets)
BLOCK_BYTES = 32e6


def triplet_block(chunk: int, bytes_per_triplet: float) -> int:
    """Triplets per block: ``chunk``, or fewer (at least one) where a block's largest temporary array, of
    ``bytes_per_triplet`` bytes per triplet, would exceed :data:`BLOCK_BYTES`."""
    return int(max(1, min(int(chunk), BLOCK_BYTES // max(float(bytes_per_triplet), 1.0))))

#: reduced Planck constant, eV ps
HBAR_EV_PS = H_EV_PS / (2 * np.pi)


class Interaction:
    """Interaction strengths of phonon triplets on a mesh, from ``force_constants.fc2`` (through ``phonons``) and
    ``force_constants.fc3``.

    Parameters
    ----------
    force_constants : ForceConstants
        With third-order constants ``fc3`` (compact layout, eV/A^3) on ``force_constants.supercell``. Attribute
        ``force_constants``.
    grid : Grid
        The q-mesh (:class:`trajmodes.lattice.grid.Grid`).
    phonons : Phonons, optional
        Harmonic phonons for frequencies and eigenvectors (default ``Phonons(force_constants)``); their force
        constants may be other second-order constants of the same primitive cell (e.g. the effective ones at another
        T).
    cutoff_frequency : float
        Modes at or below this frequency (THz), imaginary ones included, take no part (their strengths are
        zero): the acoustic modes at Gamma, and any unstable mode.
    chunk : int
        Triplets per block (memory about ``chunk * n_neighbours * 27 * n_prim * 16`` bytes); fewer where a block's
        (T, 3n, 3n, 3n) products would exceed :data:`BLOCK_BYTES` (:func:`triplet_block`).
    make_r0_average : bool
        Average the transform of fc3 to reciprocal space over the three atoms of each triplet as the origin
        (phono3py's ``make_r0_average``, its default); False: the first atom, the primitive-cell atom of the
        compact fc3.
    equal_frequency_tol : float, optional
        THz. When given, every term in which two of the three phonons have frequencies within it is zero (the
        strength of that combination of branches): the rule of TDEP's ``thermal_conductivity`` (F. Knoop et al.,
        J. Open Source Softw. 9, 6150 (2024); its tolerance is :data:`trajmodes.units.TDEP_FREQUENCY_TOL`), which
        leaves out, among others, every decay into two phonons of one degenerate pair or of one star. Not physical
        (those events conserve energy and momentum as any other); for comparisons with TDEP. None (default): all
        terms.

    Attributes
    ----------
    frequencies : (N, 3n) THz on every grid point, ascending.
    eigenvectors : (N, 3n, 3n) complex; column s is mode s.
    """

    def __init__(self, force_constants: ForceConstants, grid: Grid, phonons: Phonons | None = None,
                 cutoff_frequency: float = 1e-4, chunk: int = 512, make_r0_average: bool = True,
                 equal_frequency_tol: float | None = None):
        fc = force_constants
        if fc.fc3 is None:
            raise ValueError("these force constants have no third-order part (fc3): fit them with cutoff3= "
                             "(EffectiveForceConstants) or read phono3py's fc3.hdf5 "
                             "(ForceConstants.read(folder, 'phono3py'))")
        if phonons is None:
            from trajmodes.phonons.harmonic.phonons import Phonons
            phonons = Phonons(fc)
        if phonons.force_constants.n_prim != fc.n_prim:
            raise ValueError(f"the phonons have {phonons.force_constants.n_prim} atoms per primitive cell, fc3 "
                             f"{fc.n_prim}")
        self.force_constants, self.grid, self.phonons = fc, grid, phonons
        self.cutoff_frequency = float(cutoff_frequency)
        self.chunk = max(1, int(chunk))
        self.make_r0_average = bool(make_r0_average)
        if equal_frequency_tol is not None and not equal_frequency_tol > 0:
            raise ValueError(f"equal_frequency_tol must be a positive frequency (THz) or None, not {equal_frequency_tol}")
        self.equal_frequency_tol = None if equal_frequency_tol is None else float(equal_frequency_tol)
        self.n_branches = 3 * fc.n_prim
        self.frequencies, self.eigenvectors = phonons.frequencies_and_eigenvectors(grid.qpoints)
        self._prepare_lattice_sum()

    # -- the real-space side, once ----------------------------------------------------------------
    def _prepare_lattice_sum(self) -> None:
        """Per primitive atom k: the supercell atoms fc3 couples it to, their shortest images (reduced vectors
        and weights), and the constants on them as a (n_j 27, n_k) matrix per primitive atom of k''.

        With ``make_r0_average`` the constants are split in two: the triplets whose three atoms are each other's
        unique shortest images (:meth:`all_shortest`), for which the three origins give the same sum, enter the
        first leg whole; the others enter each of the three legs with 1/3 (``_centres_rest``)."""
        from trajmodes.phonons.harmonic.dynamical import DynamicalMatrix
        fc = self.force_constants
        dm = self.phonons.dm if self.phonons.force_constants.supercell is fc.supercell else DynamicalMatrix(fc)
        kk, jj, _, w, vec = dm.image_pairs()
        images = (kk, jj, w, vec @ np.linalg.inv(fc.primitive.cell))                 # reduced image vectors
        n = fc.n_prim
        psi = [fc.fc3[k] for k in range(n)]                                         # (N, N, 3, 3, 3) each
        rest = [None] * n
        if self.make_r0_average:
            flag = self.all_shortest(dm)                                           # (n, N, N) bool
            for k in range(n):
                other = ~flag[k] & (psi[k] != 0).reshape(fc.n_atoms, fc.n_atoms, 27).any(axis=2)
                if other.any():                                                    # (copies only where needed)
                    o = other[..., None, None, None]
                    rest[k] = np.where(o, psi[k] / 3.0, 0.0)
                    psi[k] = np.where(o, psi[k] / 3.0, psi[k])
        self._centres = [self._centre_table(k, psi[k], images) for k in range(n)]
        self._centres_rest = None
        if any(r is not None for r in rest):
            self._centres_rest = [dict(used=np.zeros(0, dtype=int)) if r is None else self._centre_table(k, r, images)
                                  for k, r in enumerate(rest)]
        self._inv_sqrt_m = np.repeat(1 / np.sqrt(fc.primitive.masses), 3)          # per branch row 3k + a

    def _centre_table(self, k: int, psi: np.ndarray, images: tuple) -> dict:
        """The lattice-sum table of centre atom ``k`` for constants ``psi`` (N, N, 3, 3, 3) eV/A^3: the atoms with
        a nonzero constant, grouped by primitive atom, the rows of their images, and Psi[k, j, k'', a, b, c] as a
        (n_j 27, n_k'') matrix per primitive atom of k''."""
        kk, jj, w, red = images
        fc = self.force_constants
        atom, n = fc.smap.atom, fc.n_prim
        nz = (psi != 0).reshape(len(psi), len(psi), 27).any(axis=2)                 # (N, N)
        used = np.flatnonzero(nz.any(axis=1) | nz.any(axis=0))
        used = used[np.argsort(atom[used], kind="stable")]                         # grouped by primitive atom
        pos = np.full(fc.n_atoms, -1)
        pos[used] = np.arange(len(used))
        sel = (kk == k) & (pos[jj] >= 0)
        groups = np.searchsorted(atom[used], np.arange(n + 1))                    # slices per primitive atom
        # Psi[k, j, k'', a, b, c] as (j a b c, k'') per primitive atom of k'' (contiguous blocks)
        sub = psi[np.ix_(used, used)]                                              # (nu, nu, 3, 3, 3)
        mats = [np.ascontiguousarray(sub[:, groups[c]:groups[c + 1]].transpose(0, 2, 3, 4, 1)
                                     .reshape(len(used) * 27, groups[c + 1] - groups[c])) for c in range(n)]
        # the pairs (l'k', l''k'') with a nonzero constant, grouped by (k', k''): Psi as (27, pairs) per group
        a1, a2 = np.nonzero((sub != 0).reshape(len(used), len(used), 27).any(axis=2))
        prim = np.searchsorted(groups, np.arange(len(used)), side="right") - 1          # primitive atom of each
        key = prim[a1] * n + prim[a2]
        order = np.lexsort((a2, a1, key))
        a1, a2, key = a1[order], a2[order], key[order]
        starts = np.searchsorted(key, np.arange(n * n + 1))
        blocks = [(b // n, b % n, np.ascontiguousarray(sub[a1[starts[b]:starts[b + 1]], a2[starts[b]:starts[b + 1]]]
                                                       .reshape(-1, 27).T), starts[b], starts[b + 1])
                  for b in range(n * n) if starts[b + 1] > starts[b]]
        return dict(used=used, rows=pos[jj[sel]], vec=red[sel], w=w[sel], groups=groups, mats=mats,
                    x=fc.primitive.scaled_positions[k], pair_a=a1, pair_b=a2, blocks=blocks)

    def all_shortest(self, dm=None, tol: float | None = None) -> np.ndarray:
        """Which atom triplets (k, j, j') of fc3 are each other's unique shortest periodic images.

        True where the pairs (k, j), (k, j') and (j, j') each have one shortest image (multiplicity 1) and the
        shortest j -> j' vector is the difference of the shortest k -> j' and k -> j vectors (lengths equal within
        ``tol``): then taking k, j or j' as the origin r0 of the Fourier transform gives the same sum, and the
        r0 average needs only one (phono3py's ``all_shortest``).

        Parameters
        ----------
        dm : DynamicalMatrix, optional
            For the shortest images and multiplicities (default: that of the phonons).
        tol : float, optional
            Angstrom (default: the image tolerance of ``dm``, 1e-5 A).

        Returns
        -------
        (n_prim, N, N) bool, in the layout of the compact fc3.
        """
        from trajmodes.phonons.harmonic.dynamical import DynamicalMatrix
        fc = self.force_constants
        if dm is None:
            dm = self.phonons.dm if self.phonons.force_constants.supercell is fc.supercell else DynamicalMatrix(fc)
        tol = dm.tol if tol is None else float(tol)
        kk, jj, _, _, vec = dm.image_pairs()
        mult = np.asarray(dm.multiplicities)                                        # (n, N)
        n, N = fc.n_prim, fc.n_atoms
        V = np.zeros((n, N, 3))
        V[kk, jj] = vec                                                            # the image, where unique
        atom, lat = fc.smap.atom, np.asarray(fc.smap.lattice)
        p2s = np.asarray(fc.p2s)
        # j' seen from j is the atom j' - (R_j - R_p2s[atom j]) seen from the centre atom of j's primitive atom
        shifted = fc.smap.index(atom[None, :], lat[None, :, :] - lat[:, None, :] + lat[p2s[atom]][:, None, :])
        ka = atom[:, None]                                                         # (N, 1) primitive atom of j
        m_jj = mult[ka, shifted]                                                  # (N, N) images of j -> j'
        d_jj = np.linalg.norm(V[ka, shifted], axis=-1)                            # shortest |j -> j'|
        out = np.zeros((n, N, N), dtype=bool)
        for k in range(n):
            one = mult[k] == 1
            d = np.linalg.norm(V[k][None, :, :] - V[k][:, None, :], axis=-1)         # |v_kj' - v_kj|
            out[k] = one[:, None] & one[None, :] & (m_jj == 1) & (np.abs(d - d_jj) < tol)
        return out

    def _phases(self, c: dict, q: np.ndarray) -> np.ndarray:
        """sum over the images of each used atom of w e^{i 2 pi q.v}: (n_used, nq) complex."""
        e = np.exp(2j * np.pi * (c["vec"] @ q.T)) * c["w"][:, None]                # (n_img, nq)
        out = np.zeros((len(c["used"]), len(q)), dtype=complex)
        np.add.at(out, c["rows"], e)
        return out

    def _lattice_sum(self, centres: list, G: np.ndarray, qa: np.ndarray, qb: np.ndarray) -> np.ndarray:
        """e^{i 2 pi G.r0k} sum_{l'l''} Psi(0k, l'k', l''k'') e^{i 2 pi qa.(r(l'k') - r0k)}
        e^{i 2 pi qb.(r(l''k'') - r0k)} for the constants of ``centres`` (one table per centre atom k,
        :meth:`_centre_table`): (T, n, 3, n, 3, n, 3) complex, atom k and its Cartesian index first.

        ``G`` (T, 3); ``qa`` and ``qb`` (T, 3), or one of them (3,), the same for every triplet (q itself, in the
        r0 average): its sum is then taken first, once for the block, and the rest costs a factor n_used less."""
        n = self.force_constants.n_prim
        T = len(G)
        one_a, one_b = np.ndim(qa) == 1, np.ndim(qb) == 1
        out = np.zeros((T, n, 3, n, 3, n, 3), dtype=complex)
        for k, c in enumerate(centres):
            nu = len(c["used"])
            if nu == 0:
                continue
            p1 = self._phases(c, np.atleast_2d(qa))                                # (nu, T) or (nu, 1)
            p2 = self._phases(c, np.atleast_2d(qb))
            g = c["groups"]
            pre = np.exp(2j * np.pi * (G @ c["x"]))                                # (T,)
            if not (one_a or one_b):
                # every triplet its own qa and qb: the phases of each pair of atoms with a nonzero constant, then one
                # real product per pair of primitive atoms (k', k'') over its pairs, (27, pairs) @ (pairs, 2T)
                pp = (p1[c["pair_a"]] * p2[c["pair_b"]] * pre[None, :]).view(float)      # (pairs, 2T)
                for k1, k2, psi, s0, s1 in c["blocks"]:
                    r = (psi @ pp[s0:s1]).view(complex)                                    # (27, T)
                    out[:, k, :, k1, :, k2, :] = r.T.reshape(T, 3, 3, 3)
                continue
            for k2 in range(n):
                if g[k2 + 1] == g[k2]:
                    continue
                b = p2[g[k2]:g[k2 + 1]]                                            # (nk2, T)
                mat = c["mats"][k2]                                                # (nu 27, nk2) real
                if one_a:
                    mat = mat.reshape(nu, 27, -1)
                else:
                    # one real product on the interleaved real/imaginary parts: (nu 27, nk2) @ (nk2, 2T)
                    y = (mat @ np.ascontiguousarray(b).view(float)).view(complex).reshape(nu, 27, -1)
                for k1 in range(n):
                    if g[k1 + 1] == g[k1]:
                        continue
                    a = p1[g[k1]:g[k1 + 1]]                                        # (nk1, T) or (nk1, 1)
                    if one_a:                                                      # sum over l' once: (27, nk2) @ b
                        s = (np.einsum("j,jxk->xk", a[:, 0], mat[g[k1]:g[k1 + 1]]) @ b).T
                    elif one_b:                                                    # y (nu, 27, 1)
                        s = np.einsum("jx,jt->tx", y[g[k1]:g[k1 + 1], :, 0], a)
                    else:
                        s = np.einsum("jxt,jt->tx", y[g[k1]:g[k1 + 1]], a)
                    out[:, k, :, k1, :, k2, :] = (s * pre[:, None]).reshape(T, 3, 3, 3)
        return out

    def reciprocal_fc3(self, q: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
        """Third-order constants in reciprocal space for a block of triplets, mass-weighted.

        Parameters
        ----------
        q : (3,) reduced; q1, q2 : (T, 3) reduced, with q + q1 + q2 integral.

        Returns
        -------
        (T, 3n, 3n, 3n) complex: e^{i 2 pi G.r0k} sum_{l'l''} Psi(0k, l'k', l''k'') e^{..q1..} e^{..q2..}
        / sqrt(m m' m''), rows 3k + a, eV/(A^3 amu^3/2). With ``make_r0_average`` the mean of this sum and the
        two with the atoms of q1 and of q2 as the origin (phono3py's ``make_r0_average``).
        """
        n = self.force_constants.n_prim
        m = self._inv_sqrt_m
        out = self._bare_reciprocal_fc3(q, q1, q2).reshape(len(q1), 3 * n, 3 * n, 3 * n)
        return out * (m[:, None, None] * m[None, :, None] * m[None, None, :])

    def _bare_reciprocal_fc3(self, q: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
        """:meth:`reciprocal_fc3` without the masses, (T, n, 3, n, 3, n, 3) complex, eV/A^3."""
        G = q[None, :] + q1 + q2
        out = self._lattice_sum(self._centres, G, q1, q2)
        if self._centres_rest is not None:
            q0 = np.asarray(q, dtype=float)
            # origin at the atom of q1 (l' <-> 0k) and at the atom of q2 (l'' <-> 0k), the atoms put back in place
            out += self._lattice_sum(self._centres_rest, G, q0, q2).transpose(0, 3, 4, 1, 2, 5, 6)
            out += self._lattice_sum(self._centres_rest, G, q1, q0).transpose(0, 5, 6, 3, 4, 1, 2)
        return out

    def weighted_eigenvectors(self, gps) -> np.ndarray:
        """The eigenvectors at grid points ``gps`` with each row 3k + a divided by sqrt(m_k) and each column s by
        sqrt(omega_s) (omega = 2 pi nu, 1/ps), zero for the modes at or below the cutoff frequency: (m, 3n, 3n)
        complex. With them the strength of a triplet is one contraction of the bare transform of fc3, the masses and
        the 1 / (omega omega' omega'') already in."""
        gps = np.asarray(gps)
        f = self.frequencies[gps]
        live = f > self.cutoff_frequency
        col = np.where(live, 1.0 / np.sqrt(2 * np.pi * np.where(live, np.abs(f), 1.0)), 0.0)     # (m, 3n)
        return self.eigenvectors[gps] * self._inv_sqrt_m[None, :, None] * col[:, None, :]

    # -- strengths ---------------------------------------------------------------------------
    def strength(self, q: int, q1, q2, live=None) -> np.ndarray:
        """|Phi(q s, q' s', q'' s'')|^2 for triplets of grid points, in eV^2 (without the 1/N of the q-sum).

        Parameters
        ----------
        q : int
            Grid index of q.
        q1, q2 : (T,) int
            Grid indices of q' and q'' (q + q' + q'' on the reciprocal lattice).
        live : (T,) bool, optional
            Only these triplets are computed, the others are zero (the triplets whose delta functions all vanish,
            with a Gaussian ``sigma_cutoff``: phono3py's ``g_zero``).

        Returns
        -------
        (T, 3n, 3n, 3n) float: |N^1/2 Phi|^2, zero where any of the three modes is at or below the cutoff (and,
        with ``equal_frequency_tol``, where two of the three frequencies are within it).
        """
        q1, q2 = np.atleast_1d(q1), np.atleast_1d(q2)
        qp = self.grid.qpoints
        nb = self.n_branches
        if live is not None:
            live = np.flatnonzero(np.asarray(live, dtype=bool))
            out = np.zeros((len(q1), nb, nb, nb))
            if len(live):
                out[live] = self.strength(q, q1[live], q2[live])
            return out
        out = np.empty((len(q1), nb, nb, nb))
        step = triplet_block(self.chunk, 16.0 * nb ** 3)                     # the complex (T, 3n, 3n, 3n) products
        for s in range(0, len(q1), step):
            b = slice(s, s + step)
            out[b] = self._strength_block(int(q), q1[b], q2[b], qp)
        if self.equal_frequency_tol is not None:
            f = self.frequencies
            f0, f1, f2 = f[int(q)][None, :, None, None], f[q1][:, None, :, None], f[q2][:, None, None, :]
            tol = self.equal_frequency_tol
            out[(np.abs(f0 - f1) < tol) | (np.abs(f0 - f2) < tol) | (np.abs(f1 - f2) < tol)] = 0.0
        return out

    def _strength_block(self, q: int, q1: np.ndarray, q2: np.ndarray, qp: np.ndarray) -> np.ndarray:
        """|N^1/2 Phi|^2 (T, 3n, 3n, 3n) eV^2 of a block of triplets: the bare transform of fc3 contracted with the
        eigenvectors weighted by 1 / sqrt(m omega) (:meth:`weighted_eigenvectors`), A with e of q (the same for every
        triplet), C with e'' and B with e', three batched matrix products that leave (T, s, s', s'') in place."""
        T, nb = len(q1), self.n_branches
        F = self._bare_reciprocal_fc3(qp[q], qp[q1], qp[q2]).reshape(T, nb, nb * nb)     # (T, A, BC)
        e0 = self.weighted_eigenvectors([q])[0]
        e1, e2 = self.weighted_eigenvectors(q1), self.weighted_eigenvectors(q2)
        X = (e0.T @ F).reshape(T, nb * nb, nb)                                       # (T, s B, C)
        X = (X @ e2).reshape(T, nb, nb, nb)                                          # (T, s, B, s'')
        X = np.swapaxes(e1, 1, 2)[:, None] @ X                                       # (T, s, s', s'')
        # (1/3!)^2 (hbar/2)^3 |sum|^2 / (omega omega' omega''), fc3/mass in eV/(A^3 amu^3/2): eV^2
        scale = (HBAR_EV_PS / 2) ** 3 / 36.0 / AMU_A2_PS2_EV ** 3
        out = np.square(X.real)
        out += np.square(X.imag)
        out *= scale
        return out
