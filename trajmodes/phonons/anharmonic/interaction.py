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
it and one batched real matrix product over the pairs of primitive atoms (their pairs of atoms padded to the largest
group); then three contractions with the eigenvectors divided by sqrt(m omega) (batched matrix products, in two arrays
of the block's size): no Python loop over triplets or atoms, so that small blocks (a few MB) cost no more per triplet
than large ones.
"""
from __future__ import annotations

import weakref
import zlib
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
#: gigabytes in blocks of 512 triplets). A block peaks at about twice it, on every thread that runs one: 4 MB keeps
#: alpha-quartz (27 branches, blocks of 8 triplets) as fast per triplet as blocks of 67 (32 MB), its sums within a few
#: MB of the memory they start with
BLOCK_BYTES = 4e6


def triplet_block(chunk: int, bytes_per_triplet: float) -> int:
    """Triplets per block: ``chunk``, or fewer (at least one) where a block's largest temporary array, of
    ``bytes_per_triplet`` bytes per triplet, would exceed :data:`BLOCK_BYTES`."""
    return int(max(1, min(int(chunk), BLOCK_BYTES // max(float(bytes_per_triplet), 1.0))))

#: reduced Planck constant, eV ps
HBAR_EV_PS = H_EV_PS / (2 * np.pi)

# the lattice-sum tables of fc3 (Interaction._prepare_lattice_sum) of each constants object, kept while it lives: made
# once however many calculators use them (a mesh convergence, the iterations of a self-consistent smearing); one set
# per constants, for the last settings asked, with the triplets they came from (weakly) and a CRC of their bytes, so
# that constants given other triplets, or changed in place, are tabulated again
_TABLES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


class Interaction:
    """Interaction strengths of phonon triplets on a mesh, from ``force_constants.fc2`` (through ``phonons``) and
    ``force_constants.fc3``.

    Parameters
    ----------
    force_constants : ForceConstants
        With third-order constants (``fc3_sparse``, their triplets, eV/Å³) on ``force_constants.supercell``; the
        tables of the lattice sums are made from the triplets and kept with the constants. Attribute
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
        Triplets per block; fewer where a block's (T, 3n, 3n, 3n) products would exceed :data:`BLOCK_BYTES`
        (:func:`triplet_block`).
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
        if fc.fc3_sparse is None:
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
        """Per primitive atom k (:meth:`_centre_table`): the supercell atoms fc3 couples it to, their shortest images
        (reduced vectors and weights), and the constants on them, per pair of atoms with a nonzero constant; made from
        the triplets of the constants (``fc3_sparse``), never their dense array (216 n N^2 bytes).

        With ``make_r0_average`` the constants are split in two: the triplets whose three atoms are each other's
        unique shortest images (:meth:`all_shortest`), for which the three origins give the same sum, enter the
        first leg whole; the others enter each of the three legs with 1/3: in the table with 1/3, and marked
        (``rest``) for the other two legs, which take them from it (:meth:`_r0_legs`)."""
        from trajmodes.phonons.harmonic.dynamical import DynamicalMatrix
        fc = self.force_constants
        self._inv_sqrt_m = np.repeat(1 / np.sqrt(fc.primitive.masses), 3)          # per branch row 3k + a
        dm = self.phonons.dm if self.phonons.force_constants.supercell is fc.supercell else DynamicalMatrix(fc)
        cubic = fc.fc3_sparse
        settings = (self.make_r0_average, float(dm.tol))
        crc = zlib.crc32(cubic.blocks.data, zlib.crc32(cubic.sites.data))
        held = _TABLES.get(fc)
        if held is not None and held[0] == settings and held[1]() is cubic and held[2] == crc:
            self._centres, self._r0_rest = held[3], held[4]
            return
        _TABLES.pop(fc, None)                          # the tables for other settings or other constants freed first
        kk, jj, _, w, vec = dm.image_pairs()
        images = (kk, jj, w, vec @ np.linalg.inv(fc.primitive.cell))                 # reduced image vectors
        sites, blocks = cubic.sites, cubic.blocks.reshape(len(cubic), 27)
        bounds = np.searchsorted(sites[:, 0], np.arange(fc.n_prim + 1))          # the triplets of each centre
        # the r0 average's flags, for the triplets there are (never every pair of supercell atoms)
        shortest = self.all_shortest(dm, triplets=sites.T) if self.make_r0_average else None
        self._centres = []
        for k in range(fc.n_prim):
            mine = slice(bounds[k], bounds[k + 1])
            j, l, psi = sites[mine, 1], sites[mine, 2], blocks[mine]
            live = (psi != 0).any(axis=1)                                          # (-0.0 blocks couple nothing)
            j, l, psi = j[live], l[live], psi[live]
            other = None
            if shortest is not None:
                other = ~shortest[mine][live]
                other = other if other.any() else None
            if other is not None:
                psi = np.where(other[:, None], psi / 3.0, psi)
            self._centres.append(self._centre_table(k, j, l, psi, images, other))
        self._r0_rest = any("rest" in c for c in self._centres)
        _TABLES[fc] = (settings, weakref.ref(cubic), crc, self._centres, self._r0_rest)

    def _centre_table(self, k: int, j: np.ndarray, l: np.ndarray, psi: np.ndarray, images: tuple,
                      other: np.ndarray | None = None) -> dict:
        """The lattice-sum table of centre atom ``k`` for its triplets (k, ``j``, ``l``) with a nonzero block ``psi``
        (T, 27) eV/Å³: the atoms with a nonzero constant (``used``), the rows of their images, and the pairs
        (l'k', l''k'') with a nonzero constant, grouped by (k', k'') and padded to the largest group: ``pair_a``,
        ``pair_b`` (n n, Pmax) rows of used atoms (the padding a zero row, ``len(used)``) and ``psi`` (n n, 27, Pmax)
        Psi[k, l'k', l''k'', a, b, c].

        The used atoms also sit in ``slots``: per primitive atom, P slots (P the largest number of used atoms of one
        primitive atom), the empty ones pointing at the zero row. With ``other`` (T,) bool, the pairs that enter the
        two other legs of the r0 average: ``rest`` = (group, place in it, slot of l'k', slot of l''k'') of each."""
        kk, jj, w, red = images
        fc = self.force_constants
        atom, n = fc.smap.atom, fc.n_prim
        used = np.unique(np.concatenate([j, l]))
        used = used[np.argsort(atom[used], kind="stable")]                         # grouped by primitive atom
        nu = len(used)
        pos = np.full(fc.n_atoms, -1)
        pos[used] = np.arange(nu)
        sel = (kk == k) & (pos[jj] >= 0)
        groups = np.searchsorted(atom[used], np.arange(n + 1))                    # slices per primitive atom
        prim = atom[used]                                                          # primitive atom of each
        P = max(1, int(np.diff(groups).max(initial=0)))
        slot = prim * P + (np.arange(nu) - groups[prim])                           # slot of each used atom
        slots = np.full(n * P, nu)
        slots[slot] = np.arange(nu)
        a1, a2 = pos[j], pos[l]
        key = prim[a1] * n + prim[a2]
        order = np.lexsort((a2, a1, key))
        a1, a2, key, psi = a1[order], a2[order], key[order], psi[order]
        starts = np.searchsorted(key, np.arange(n * n + 1))
        rank = np.arange(len(key)) - starts[key]                                   # place within its group
        pmax = max(1, int(np.diff(starts).max(initial=0)))
        pair_a, pair_b = np.full((n * n, pmax), nu), np.full((n * n, pmax), nu)
        pair_a[key, rank], pair_b[key, rank] = a1, a2
        table = dict(used=used, rows=pos[jj[sel]], vec=red[sel], w=w[sel], slots=slots, P=P,
                     x=fc.primitive.scaled_positions[k], pair_a=pair_a, pair_b=pair_b, psi=np.zeros((n * n, 27, pmax)))
        table["psi"][key, :, rank] = psi
        if other is not None:
            r = other[order]
            table["rest"] = (key[r], rank[r], slot[a1[r]], slot[a2[r]])
        return table

    def all_shortest(self, dm=None, tol: float | None = None, triplets=None) -> np.ndarray:
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
            Å (default: the image tolerance of ``dm``, 1e-5 Å).
        triplets : tuple of three int arrays (T,), optional
            Only these triplets (k, j, j'): primitive atom k, supercell atoms j and j' (the rows of
            ``fc3_sparse.sites``); memory then grows with T, not with N^2.

        Returns
        -------
        (n_prim, N, N) bool, in the layout of the compact fc3; with ``triplets``, (T,) bool.
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

        def flags(k, j, l):
            # j' seen from j is the atom j' - (R_j - R_p2s[atom j]) seen from the centre atom of j's primitive atom
            shifted = fc.smap.index(atom[l], lat[l] - lat[j] + lat[p2s[atom[j]]])
            d = np.linalg.norm(V[k, l] - V[k, j], axis=-1)                            # |v_kj' - v_kj|
            d_jl = np.linalg.norm(V[atom[j], shifted], axis=-1)                       # shortest |j -> j'|
            return ((mult[k, j] == 1) & (mult[k, l] == 1) & (mult[atom[j], shifted] == 1)
                    & (np.abs(d - d_jl) < tol))

        if triplets is not None:
            k, j, l = (np.asarray(t, dtype=np.int64) for t in triplets)
            return flags(k, j, l)
        out = np.zeros((n, N, N), dtype=bool)
        j, l = np.arange(N)[:, None], np.arange(N)[None, :]
        for k in range(n):
            out[k] = flags(np.full((N, N), k), j, l)
        return out

    def _phases(self, c: dict, q: np.ndarray) -> np.ndarray:
        """sum over the images of each used atom of w e^{i 2 pi q.v}: (n_used, nq) complex."""
        e = np.exp(2j * np.pi * (c["vec"] @ q.T)) * c["w"][:, None]                # (n_img, nq)
        out = np.zeros((len(c["used"]), len(q)), dtype=complex)
        np.add.at(out, c["rows"], e)
        return out

    def _lattice_sum(self, G: np.ndarray, q1: np.ndarray, q2: np.ndarray, out: np.ndarray) -> None:
        """e^{i 2 pi G.r0k} sum_{l'l''} Psi(0k, l'k', l''k'') e^{i 2 pi q1.(r(l'k') - r0k)}
        e^{i 2 pi q2.(r(l''k'') - r0k)} (the first leg; ``G``, ``q1``, ``q2`` (T, 3)) written into ``out`` (T, n, 3,
        n, 3, n, 3) complex, atom k and its Cartesian index first.

        Per centre atom: the phases of each pair of atoms with a nonzero constant, then one real product per pair of
        primitive atoms (k', k'') over its pairs, (27, pairs) @ (pairs, 2T), all of them in one batched product (their
        groups padded with zeros): the cost of a block grows with its triplets, not with a loop in Python."""
        n, T = self.force_constants.n_prim, len(G)
        for k, c in enumerate(self._centres):
            if len(c["used"]) == 0:
                out[:, k] = 0.0
                continue
            p1, p2 = self._padded_phases(c, q1), self._padded_phases(c, q2)        # (nu + 1, T)
            pre = np.exp(2j * np.pi * (G @ c["x"]))                                # (T,)
            pp = p1[c["pair_a"]] * p2[c["pair_b"]] * pre                           # (n n, Pmax, T)
            r = np.matmul(c["psi"], pp.view(float)).view(complex)                  # (n n, 27, T)
            out[:, k] = r.reshape(n, n, 3, 3, 3, T).transpose(5, 2, 0, 3, 1, 4)    # (T, 3, k', 3, k'', 3)

    def _padded_phases(self, c: dict, q: np.ndarray) -> np.ndarray:
        """:meth:`_phases` of the used atoms of table ``c`` at ``q`` (nq, 3) or (3,) with a zero row for the padding:
        (nu + 1, nq) complex."""
        q = np.atleast_2d(q)
        return np.concatenate([self._phases(c, q), np.zeros((1, len(q)), complex)])

    def _r0_legs(self, G: np.ndarray, q0: np.ndarray, q1: np.ndarray, q2: np.ndarray, out: np.ndarray) -> None:
        """The two other legs of the r0 average added to ``out`` (:meth:`_lattice_sum`): origin at the atom of q1
        (l' <-> 0k) and at the atom of q2 (l'' <-> 0k), the atoms put back in place (added to transposed views of
        ``out``, no copy of the block), for the pairs of each table's ``rest``.

        The q of the other atom is q0, the same for every triplet: its sum is taken first, once for the block, on
        the constants of the rest laid out densely over the slots, (k', l', 27, k'', l''), for this centre only (made
        from the table, not held), and the rest costs a factor of the used atoms less than the first leg."""
        n, T = self.force_constants.n_prim, len(G)
        legs = (out.transpose(0, 3, 4, 1, 2, 5, 6), out.transpose(0, 5, 6, 3, 4, 1, 2))
        for k, c in enumerate(self._centres):
            if "rest" not in c:
                continue
            g, rank, sa, sb = c["rest"]
            P = c["P"]
            mat = np.zeros((n * P, 27, n * P))
            mat[sa, :, sb] = c["psi"][g, :, rank]
            mat = mat.reshape(n, P, 27, n, P)
            p0 = np.ascontiguousarray(self._padded_phases(c, q0)[c["slots"], 0]).view(float).reshape(n, P, 2)
            pre = np.exp(2j * np.pi * (G @ c["x"]))                                # (T,)
            # origin at the atom of q1: the sum over l' (phase of q0) first, then per k'' over l'' (q2)
            # (the real constants times the interleaved real and imaginary parts of the phases, one real product)
            y = np.swapaxes(mat.reshape(n, P, 27 * n * P), 1, 2) @ p0                # (k', 27 k'' l'', 2)
            y = y.view(complex).reshape(n, 27, n, P).transpose(2, 0, 1, 3).reshape(n, n * 27, P)
            z = (y @ self._padded_phases(c, q2)[c["slots"]].reshape(n, P, T)) * pre     # (k'', k' 27, T)
            legs[0][:, k] += z.reshape(n, n, 3, 3, 3, T).transpose(5, 2, 1, 3, 0, 4)
            # origin at the atom of q2: the sum over l'' (phase of q0) first, then per k' over l' (q1)
            y = np.swapaxes(mat.reshape(n * P * 27, n, P), 0, 1) @ p0               # (k'', k' l' 27, 2)
            y = np.ascontiguousarray(np.moveaxis(y, 0, 1)).view(complex).reshape(n, P, 27 * n)   # (k', l', 27 k'')
            a = self._padded_phases(c, q1)[c["slots"]].reshape(n, P, T)
            z = (np.swapaxes(a, 1, 2) @ y) * pre[None, :, None]                    # (k', T, 27 k'')
            legs[1][:, k] += z.reshape(n, T, 3, 3, 3, n).transpose(1, 2, 0, 3, 5, 4)

    def reciprocal_fc3(self, q: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
        """Third-order constants in reciprocal space for a block of triplets, mass-weighted.

        Parameters
        ----------
        q : (3,) reduced; q1, q2 : (T, 3) reduced, with q + q1 + q2 integral.

        Returns
        -------
        (T, 3n, 3n, 3n) complex: e^{i 2 pi G.r0k} sum_{l'l''} Psi(0k, l'k', l''k'') e^{..q1..} e^{..q2..}
        / sqrt(m m' m''), rows 3k + a, eV/(Å³ amu^3/2). With ``make_r0_average`` the mean of this sum and the
        two with the atoms of q1 and of q2 as the origin (phono3py's ``make_r0_average``).
        """
        n = self.force_constants.n_prim
        m = self._inv_sqrt_m
        out = self._bare_reciprocal_fc3(q, q1, q2).reshape(len(q1), 3 * n, 3 * n, 3 * n)
        return out * (m[:, None, None] * m[None, :, None] * m[None, None, :])

    def _bare_reciprocal_fc3(self, q: np.ndarray, q1: np.ndarray, q2: np.ndarray) -> np.ndarray:
        """:meth:`reciprocal_fc3` without the masses, (T, n, 3, n, 3, n, 3) complex, eV/Å³."""
        n = self.force_constants.n_prim
        G = q[None, :] + q1 + q2
        out = np.empty((len(G), n, 3, n, 3, n, 3), dtype=complex)
        self._lattice_sum(G, q1, q2, out)
        if self._r0_rest:
            self._r0_legs(G, np.asarray(q, dtype=float), q1, q2, out)
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
        """|Phi(q s, q' s', q'' s'')|^2 for triplets of grid points, in eV² (without the 1/N of the q-sum).

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
            self._strength_block(int(q), q1[b], q2[b], qp, out[b])
        if self.equal_frequency_tol is not None:
            f = self.frequencies
            f0, f1, f2 = f[int(q)][None, :, None, None], f[q1][:, None, :, None], f[q2][:, None, None, :]
            tol = self.equal_frequency_tol
            out[(np.abs(f0 - f1) < tol) | (np.abs(f0 - f2) < tol) | (np.abs(f1 - f2) < tol)] = 0.0
        return out

    def _strength_block(self, q: int, q1: np.ndarray, q2: np.ndarray, qp: np.ndarray,
                        out: np.ndarray | None = None) -> np.ndarray:
        """|N^1/2 Phi|^2 (T, 3n, 3n, 3n) eV² of a block of triplets: the bare transform of fc3 contracted with the
        eigenvectors weighted by 1 / sqrt(m omega) (:meth:`weighted_eigenvectors`), A with e of q (the same for every
        triplet), C with e'' and B with e', three batched matrix products that leave (T, s, s', s'') in place, in two
        complex arrays of the block's size (each product written into the one its input does not occupy); written
        into ``out`` (T, 3n, 3n, 3n) float when given."""
        T, nb = len(q1), self.n_branches
        F = self._bare_reciprocal_fc3(qp[q], qp[q1], qp[q2]).reshape(T, nb, nb * nb)     # (T, A, BC)
        e0 = self.weighted_eigenvectors([q])[0]
        e1, e2 = self.weighted_eigenvectors(q1), self.weighted_eigenvectors(q2)
        X = (e0.T @ F).reshape(T, nb * nb, nb)                                       # (T, s B, C)
        Y = np.matmul(X, e2, out=F.reshape(T, nb * nb, nb)).reshape(T, nb, nb, nb)   # (T, s, B, s'')
        X = np.matmul(np.swapaxes(e1, 1, 2)[:, None], Y, out=X.reshape(T, nb, nb, nb))   # (T, s, s', s'')
        del F, Y
        # (1/3!)^2 (hbar/2)^3 |sum|^2 / (omega omega' omega''), fc3/mass in eV/(A^3 amu^3/2): eV^2
        scale = (HBAR_EV_PS / 2) ** 3 / 36.0 / AMU_A2_PS2_EV ** 3
        out = np.square(X.real, out=out)
        im = X.imag
        out += np.square(im, out=im)
        out *= scale
        return out
