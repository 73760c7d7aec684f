"""Four-phonon scattering: the widths of the phonons from the fourth-order constants, in the relaxation-time
approximation (T. Feng and X. Ruan, Phys. Rev. B 93, 045202 (2016); the lowest-order ("sunset") imaginary part of the
quartic self-energy, A. A. Maradudin and A. E. Fein, Phys. Rev. 128, 2589 (1962)).

With H4 = sum Phi(lambda lambda1 lambda2 lambda3) A A1 A2 A3 (A = a + a^+ of mode lambda = (q, s)) and

    Phi = N^-1 (1/4!) (hbar/2)^2 (omega omega1 omega2 omega3)^-1/2 sum W W1 W2 W3 / sqrt(m m1 m2 m3)
          e^{i 2 pi G.r(0k)} sum_{l1 l2 l3} Chi(0k, l1 k1, l2 k2, l3 k3) prod_i e^{i 2 pi q_i.(r(l_i k_i) - r(0k))}

(the third-order interaction of :mod:`trajmodes.phonons.anharmonic.interaction` with one more leg; q + q1 + q2 + q3 =
G), Fermi's golden rule gives the half width (the imaginary part of the self-energy, as for three phonons)

    Gamma_lambda = (96 pi / hbar^2) sum_{lambda1 lambda2 lambda3} |Phi|^2 sum_s w_s delta(omega - s.omega_123),

the sum over the signs s in {+-}^3 (not all minus) of the three other phonons, emitted (+) or absorbed (-):
w_s = prod_+ (1 + n) prod_- n - prod_+ n prod_- (1 + n). (+++) is the splitting of lambda into three, (-++) and its
permutations the redistribution lambda + lambda1 -> lambda2 + lambda3, (--+) and permutations the recombination of
three into one. 96 = 4^2 3!: the slot of lambda in the vertex and the orderings of the other three (18 = 3^2 2! for
three phonons). Classically (``occupation="classical"``, n = k_B T / (h nu)) w_s keeps its terms of second order in
n, sum over pairs (i, j) of s_k n_i n_j (k the third): the widths grow as T^2.

The sums run over every pair (q1, q2) of the mesh, q3 = G - q - q1 - q2, with Gaussian delta functions (``smearing``,
THz), or, with ``sample``, over the pairs of two stratified random samples of the mesh (one point drawn in each cell
of a coarser grid, a new draw for every q; TDEP's ``thermal_conductivity -qg4ph``, Knoop et al., J. Open Source
Softw. 9, 6150 (2024)): an unbiased estimate of the full sum at (n_sample / N)^2 of its cost.

:meth:`FourPhonon.collision` gives, beside the widths, the four-phonon part of a row of the collision matrix of the
linearised Boltzmann equation (the scattering-in of the three other phonons of each process), which
:mod:`trajmodes.phonons.anharmonic.lbte` adds to the three-phonon matrix. The fourth-order constants are those of
:class:`~trajmodes.forceconstants.cluster_constants.ClusterConstants` of order 4: quartets within half the supercell,
each atom at its shortest image from the first.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trajmodes.lattice.geometry import shortest_vectors
from trajmodes.lattice.grid import Grid
from trajmodes.lattice.qpoints import parse_mesh
from trajmodes.phonons.anharmonic.interaction import HBAR_EV_PS
from trajmodes.phonons.anharmonic.quartic import quartic_constants
from trajmodes.phonons.harmonic.stability import require_stable
from trajmodes.phonons.harmonic.statistics import check_occupation, occupations
from trajmodes.resources import require_memory
from trajmodes.units import AMU_A2_PS2_EV

if TYPE_CHECKING:
    from trajmodes.phonons.anharmonic.transport import ThreePhononSums

__all__ = ["FourPhonon", "QuartetStrengths", "FourPhononCollision", "FourPhononSums", "four_phonon_gamma",
           "four_phonon_sums", "GAMMA4_FACTOR", "SIGNS"]
#: 96 pi / hbar^2 with the widths in THz and the delta functions in 1/THz (ordinary frequency): 24 / (pi hbar^2)
GAMMA4_FACTOR = 24.0 / (np.pi * HBAR_EV_PS ** 2)
#: the sign patterns of the three other phonons (+ emitted, - absorbed); (---) cannot conserve energy
SIGNS = np.array([s for s in np.ndindex(2, 2, 2) if any(s)]) * 2 - 1


@dataclass(frozen=True)
class QuartetStrengths:
    """Four-phonon strengths of the quartets (q, q1, q2, q3) of one q (:meth:`FourPhonon.strength`).

    Attributes
    ----------
    strength : ndarray (T, 3n, 3n, 3n, 3n)
        N^2 |Phi(q s, q1 s1, q2 s2, q3 s3)|^2, eV²; zero where a mode is at or below the cutoff.
    q3 : ndarray of int (T,)
        Grid indices of q3 = -q - q1 - q2.
    """

    strength: np.ndarray
    q3: np.ndarray


@dataclass(frozen=True)
class FourPhononCollision:
    """The four-phonon part of a row of the collision matrix of the linearised Boltzmann equation at one grid point
    (:meth:`FourPhonon.collision`).

    Attributes
    ----------
    gamma : ndarray (n_temperatures, 3n)
        The four-phonon Gamma (half width) of the modes at the grid point, THz, as :meth:`FourPhonon.gamma` gives it.
    row : ndarray (n_temperatures, 3n, N, 3n)
        The scattering-in entry of (q s) from (q' s') for every grid point q' of the mesh, THz (without Gamma).
    """

    gamma: np.ndarray
    row: np.ndarray


class FourPhonon:
    """Four-phonon interaction strengths and widths on a Gamma-centred mesh.

    Parameters
    ----------
    force_constants : ForceConstants
        With ``fc4`` (:class:`~trajmodes.forceconstants.cluster_constants.ClusterConstants` of order 4). Attribute
        ``force_constants``.
    mesh : int, (3,) int or (3, 3) int
        The q-mesh of the sums (a 3 x 3 supercell matrix: the q-points commensurate with that supercell).
    phonons : Phonons, optional
        Harmonic phonons of the same primitive cell (default ``Phonons(force_constants)``).
    cutoff_frequency : float
        Modes at or below this (THz) take no part.
    chunk : int
        Pairs (q1, q2) per block.
    allow_unstable : bool
        Harmonic constants with imaginary modes are refused
        (:func:`trajmodes.phonons.harmonic.stability.require_stable`: how many, the lowest and where, in an
        :class:`~trajmodes.phonons.harmonic.stability.UnstableConstantsError`); True goes on with them left out of the
        sums. Attribute ``imaginary``: what was found.
    """

    def __init__(self, force_constants, mesh, phonons=None, cutoff_frequency: float = 1e-4, chunk: int = 256,
                 allow_unstable: bool = False):
        q4 = quartic_constants(force_constants)
        if phonons is None:
            from trajmodes.phonons.harmonic.phonons import Phonons
            phonons = Phonons(force_constants)
        other = force_constants.primitive.differences(phonons.force_constants.primitive)
        if other is not None:
            raise ValueError(f"the phonons given are of another primitive cell than the fourth-order constants "
                             f"({other})")
        self.force_constants, self.phonons = force_constants, phonons
        self.grid = Grid(parse_mesh(mesh))
        self.cutoff_frequency = float(cutoff_frequency)
        self.chunk = max(1, int(chunk))
        n = force_constants.n_prim
        self.n_branches = 3 * n
        N = self.grid.n_points
        require_memory(16.0 * N * 9 * n * n + 16.0 * self.chunk * (3 * n) ** 4 * 3,
                       f"the phonons of the {N} q-points and a block of four-phonon strengths", "use a smaller mesh")
        self.frequencies, self.eigenvectors = phonons.frequencies_and_eigenvectors(self.grid.qpoints)
        self.imaginary = require_stable(phonons, "four-phonon widths", allow_unstable, self.grid.qpoints,
                                        self.frequencies)
        # the quartets: the primitive atom of each leg, and the reduced vectors of legs 1-3 from the first atom
        fc = force_constants
        sc = fc.supercell
        X = sc.ideal_positions(fc.primitive, fc.smap)
        first = X[fc.p2s[q4.sites[:, 0]]]
        r = shortest_vectors((X[q4.sites[:, 1:]] - first[:, None, :]).reshape(-1, 3), sc.cell).reshape(-1, 3, 3)
        self._vec = r @ np.linalg.inv(fc.primitive.cell)                                  # (n_q, 3, 3) reduced
        self._atoms = np.concatenate([q4.sites[:, :1], fc.smap.atom[q4.sites[:, 1:]]], axis=1)   # (n_q, 4)
        m = 1.0 / np.sqrt(fc.primitive.masses)
        self._blocks = q4.blocks * np.prod(m[self._atoms], axis=1)[:, None, None, None, None]    # eV/(A^4 amu^2)
        self._x0 = fc.primitive.scaled_positions[self._atoms[:, 0]]                     # (n_q, 3)

    def reciprocal_fc4(self, q, q1, q2, q3) -> np.ndarray:
        """Mass-weighted fourth-order constants in reciprocal space for a block of quartets of q-points:
        (T, 3n, 3n, 3n, 3n) complex, rows 3k + a, eV/(Å⁴ amu²); q (3,), q1, q2, q3 (T, 3) reduced with
        q + q1 + q2 + q3 integral."""
        q1, q2, q3 = (np.atleast_2d(x) for x in (q1, q2, q3))
        T, n = len(q1), self.force_constants.n_prim
        G = np.asarray(q)[None, :] + q1 + q2 + q3
        ph = np.exp(2j * np.pi * (self._x0 @ G.T                                              # (n_q, T)
                                  + np.einsum("ex,tx->et", self._vec[:, 0], q1)
                                  + np.einsum("ex,tx->et", self._vec[:, 1], q2)
                                  + np.einsum("ex,tx->et", self._vec[:, 2], q3)))
        out = np.zeros((T, n, n, n, n, 81), dtype=complex)
        a = self._atoms
        flat = self._blocks.reshape(-1, 81)
        for key in np.unique(a, axis=0):                                                     # one per atom kinds
            sel = np.all(a == key, axis=1)
            out[:, key[0], key[1], key[2], key[3]] = ph[sel].T @ flat[sel]
        out = out.reshape(T, n, n, n, n, 3, 3, 3, 3).transpose(0, 1, 5, 2, 6, 3, 7, 4, 8)
        return out.reshape(T, 3 * n, 3 * n, 3 * n, 3 * n)

    def strength(self, q: int, q1, q2) -> QuartetStrengths:
        """N^2 |Phi(q s, q1 s1, q2 s2, q3 s3)|^2 for pairs of grid points (q1, q2), q3 = -q - q1 - q2, in eV²:
        (T, 3n, 3n, 3n, 3n), zero where a mode is at or below the cutoff; and the grid indices of q3 (T,), as
        :class:`QuartetStrengths`."""
        g = self.grid
        q1, q2 = np.atleast_1d(q1), np.atleast_1d(q2)
        a = g.addresses
        i3 = g.index(-a[q] - a[q1] - a[q2])
        qp = g.qpoints
        F = self.reciprocal_fc4(qp[q], qp[q1], qp[q2], qp[i3])                          # (T, A, B, C, D)
        e0, e1, e2, e3 = self.eigenvectors[q], self.eigenvectors[q1], self.eigenvectors[q2], self.eigenvectors[i3]
        X = np.einsum("tabcd,as,tbu,tcv,tdw->tsuvw", F, e0, e1, e2, e3, optimize=True)
        f = [self.frequencies[q][None, :], self.frequencies[q1], self.frequencies[q2], self.frequencies[i3]]
        cut = self.cutoff_frequency
        om = [np.where(x > cut, 2 * np.pi * np.abs(x), np.inf) for x in f]                  # 1/ps
        inv = 1.0 / (om[0][:, :, None, None, None] * om[1][:, None, :, None, None] * om[2][:, None, None, :, None]
                     * om[3][:, None, None, None, :])
        # (1/4!)^2 (hbar/2)^4 |sum|^2 / (omega omega1 omega2 omega3), constants / masses in eV/(A^4 amu^2): eV^2
        scale = (HBAR_EV_PS / 2) ** 4 / 576.0 / AMU_A2_PS2_EV ** 4
        return QuartetStrengths(strength=(X.real ** 2 + X.imag ** 2) * inv * scale, q3=i3)

    def sample(self, dims, rng) -> np.ndarray:
        """Grid indices of a stratified random sample of the mesh: the mesh's address box cut into ``dims`` cells
        per axis (n_i / m_i points each, not necessarily whole), one point drawn uniformly in each; (prod dims,)."""
        m = np.asarray(dims, dtype=np.int64).reshape(3)
        n = self.grid.mesh
        m = np.minimum(m, n)
        cells = np.stack(np.meshgrid(*[np.arange(k) for k in m], indexing="ij"), -1).reshape(-1, 3)
        ratio = n / m
        a = np.floor((cells + rng.random(cells.shape)) * ratio).astype(np.int64)
        return self.grid.index(np.minimum(a, n - 1))

    def gamma(self, qpoints, temperatures, smearing: float | None, occupation: str = "quantum",
              variances=None, sample=None, seed: int | None = None) -> np.ndarray:
        """Four-phonon Gamma (half width, THz) of every branch at the grid points ``qpoints``.

        Parameters
        ----------
        qpoints : int or array of int
            Grid indices.
        temperatures : float or array_like, K
        smearing : float or None
            Standard deviation of the Gaussian delta functions, THz; None with ``variances``.
        occupation : {"quantum", "classical"}
        variances : (N, 3n) THz², optional
            Adaptive Gaussians instead of ``smearing``: the variance of each delta function is the sum of its four
            modes' (:func:`trajmodes.phonons.anharmonic.selfenergy.adaptive_variances`, TDEP's
            ``thermal_conductivity``).
        sample : (3,) int, optional
            Monte Carlo: sum over the pairs of two stratified samples of this many cells per axis (:meth:`sample`),
            drawn anew for every q, weighted (N / n_sample)^2. None: every pair of the mesh. A sample as fine as the
            mesh is the mesh (the same sum, in another order).
        seed : int, optional
            With ``sample``: the random draws of grid point q come from ``numpy.random.default_rng([seed, q])``, so
            that a width does not depend on which other points are computed, or in what order.

        Returns
        -------
        (n_temperatures, n_q, 3n) THz.
        """
        gps = np.atleast_1d(np.asarray(qpoints, dtype=np.int64))
        sums = self._setup(temperatures, smearing, occupation, variances, sample)
        out = np.stack([self._sums(int(q), sums, seed, rows=False)[0] for q in gps], axis=1) if len(gps) else \
            np.zeros((len(sums["temperatures"]), 0, self.n_branches))
        return out

    def collision(self, q: int, temperatures, smearing: float | None, occupation: str = "quantum", variances=None,
                  sample=None, seed: int | None = None) -> FourPhononCollision:
        """The four-phonon Gamma of the modes at grid point ``q`` and their scattering-in from every mode of the mesh:
        the four-phonon part of a row of the collision matrix of the linearised Boltzmann equation.

        With the deviations written n = n0 + n0 (n0 + 1) x and x odd in q (a temperature gradient), every process of
        a quartet (q s, q1 s1, q2 s2, q3 s3), q + q1 + q2 + q3 = G, changes the occupation of (q s) in proportion to
        x + x1 + x2 + x3 (an emitted phonon is at -q_i, where x is -x_i), with the weight the process adds to Gamma.
        So each term of Gamma's sum also couples (q s) to each of its three other modes; in the symmetric form of
        the collision matrix (:mod:`trajmodes.phonons.anharmonic.lbte`, phi = sqrt(n0 (n0 + 1)) x) the entry of (q1 s1)
        is that weight times sqrt(n0 (n0 + 1)) / sqrt(n1 (n1 + 1)) (classically n0 / n1). By detailed balance it is
        the entry of (q s) in the row of (q1 s1) (to the accuracy of the delta functions' energy conservation), and
        the entries of a row, each divided by that ratio, sum to 3 Gamma. TDEP's iterative solution takes the same
        terms (Knoop et al., J. Open Source Softw. 9, 6150 (2024)); the three-phonon form is Chaput, Phys. Rev.
        Lett. 110, 265506 (2013).

        Parameters are those of :meth:`gamma`, at one grid point.

        Returns
        -------
        FourPhononCollision
            ``gamma`` (n_temperatures, 3n) THz, as :meth:`gamma` gives it; ``row`` (n_temperatures, 3n, N, 3n) THz,
            the scattering-in entry of (q s) from (q' s') for every grid point q' of the mesh (without Gamma).
        """
        from trajmodes.phonons.harmonic.statistics import pair_occupations
        sums = self._setup(temperatures, smearing, occupation, variances, sample)
        gamma, row = self._sums(int(q), sums, seed, rows=True)
        p = pair_occupations(self.frequencies, sums["temperatures"], sums["occupation"], self.cutoff_frequency)
        ratio = p[:, q][:, :, None, None] / np.where(p > 0, p, np.inf)[:, None]           # (nt, s, N, s')
        return FourPhononCollision(gamma=gamma, row=row * ratio)

    def _setup(self, temperatures, smearing, occupation, variances, sample) -> dict:
        """The settings of a four-phonon sum, checked, and the occupations of every mode of the mesh."""
        occupation = check_occupation(occupation)
        var = None if variances is None else np.asarray(variances, dtype=float)
        if var is None and not (smearing is not None and np.isfinite(smearing) and smearing > 0):
            raise ValueError(f"smearing must be a positive width in THz, not {smearing!r}")
        temps = np.atleast_1d(np.asarray(temperatures, dtype=float))
        f_all = self.frequencies
        live = f_all > self.cutoff_frequency
        n_all = np.where(live[None], occupations(np.where(live, f_all, 1.0), temps, occupation), 0.0)   # (nt, N, nb)
        dims = None
        if sample is not None:
            dims = np.asarray(sample).reshape(-1)
            if dims.size != 3 or dims.dtype.kind not in "iu" or (dims < 1).any():
                raise ValueError(f"sample must be three positive integers (cells per axis), not {sample!r}")
        return dict(temperatures=temps, occupation=occupation, smearing=smearing, variances=var, occupations=n_all,
                    dims=dims)

    def _sums(self, q: int, sums: dict, seed, rows: bool) -> tuple[np.ndarray, np.ndarray | None]:
        """Gamma (nt, 3n) THz at grid point q, and with ``rows`` the weights of its terms gathered on each of the
        three other modes, (nt, 3n, N, 3n) THz (before the occupation ratio of :meth:`collision`)."""
        N, nb = self.grid.n_points, self.n_branches
        f_all, n_all, var, occupation = self.frequencies, sums["occupations"], sums["variances"], sums["occupation"]
        nt = n_all.shape[0]
        f0 = f_all[q]
        scale = 1.0
        if sums["dims"] is None:
            pairs = np.stack(np.meshgrid(np.arange(N), np.arange(N), indexing="ij"), -1).reshape(-1, 2)
        else:
            rng = np.random.default_rng(None if seed is None else [int(seed), int(q)])
            a, b = self.sample(sums["dims"], rng), self.sample(sums["dims"], rng)
            pairs = np.stack(np.meshgrid(a, b, indexing="ij"), -1).reshape(-1, 2)
            scale = (N / len(a)) ** 2
        out = np.zeros((nt, nb))
        row = np.zeros((nt, nb, N, nb)) if rows else None
        for s in range(0, len(pairs), self.chunk):
            p = pairs[s:s + self.chunk]
            found = self.strength(q, p[:, 0], p[:, 1])
            strength, i3 = found.strength, found.q3                                         # (T, s, u, v, w)
            legs = (p[:, 0], p[:, 1], i3)
            f = [f_all[i] for i in legs]
            occ = [n_all[:, i] for i in legs]                                               # (nt, T, nb) each
            if var is None:
                inv = 1.0 / sums["smearing"]
            else:                                                 # 1 / sigma of every (T, s, u, v, w), once
                inv = 1.0 / np.sqrt(var[q][None, :, None, None, None] + var[p[:, 0]][:, None, :, None, None]
                                    + var[p[:, 1]][:, None, None, :, None] + var[i3][:, None, None, None, :])
            norm = inv / np.sqrt(2 * np.pi)
            terms = np.zeros((nt,) + strength.shape) if rows else None
            for signs in SIGNS:
                x = (f0[None, :, None, None, None] - signs[0] * f[0][:, None, :, None, None]
                     - signs[1] * f[1][:, None, None, :, None] - signs[2] * f[2][:, None, None, None, :])
                x *= inv
                delta = np.exp(-0.5 * x * x) * norm                                         # (T, s, u, v, w)
                w = _weights(signs, *occ, occupation)                                       # (nt, T, u, v, w)
                if rows:
                    terms += (strength * delta)[None] * w[:, :, None]
                else:
                    out += np.einsum("tsuvw,ktuvw->ks", strength * delta, w, optimize=True)
            if rows:
                out += terms.sum(axis=(1, 3, 4, 5))
                for leg, axes in zip(legs, ((4, 5), (3, 5), (3, 4))):                      # onto (q_i s_i)
                    np.add.at(row, (slice(None), slice(None), leg), terms.sum(axis=axes).transpose(0, 2, 1, 3))
        factor = scale * GAMMA4_FACTOR / N ** 2
        return out * factor, (row * factor if rows else None)


@dataclass(frozen=True)
class FourPhononSums:
    """The four-phonon sums beside three-phonon ones (:func:`four_phonon_sums`): the calculator and the keywords of
    its sums.

    Attributes
    ----------
    calculator : FourPhonon
        On the constants given and the mesh, phonons and cutoff frequency of the three-phonon sums.
    keywords : dict
        The keyword arguments of :meth:`FourPhonon.gamma` and :meth:`FourPhonon.collision` for the temperatures
        (K), occupation, and delta functions: ``smearing`` (THz), or ``smearing=None`` and the adaptive
        ``variances`` (THz²); ``calculator.gamma(q, **keywords)``.
    """

    calculator: FourPhonon
    keywords: dict


def four_phonon_sums(force_constants, three: ThreePhononSums, smearing: float | str,
                     allow_unstable: bool = False) -> FourPhononSums:
    """The :class:`FourPhonon` of the ``fc4`` of ``force_constants`` on the mesh, phonons and cutoff frequency of the
    three-phonon sums ``three`` (:class:`~trajmodes.phonons.anharmonic.transport.ThreePhononSums`), and the keywords
    of its sums for their temperatures and occupation: Gaussians of width ``smearing`` (THz), or ``"adaptive"``, the
    adaptive widths of ``three.deltas`` (which must be adaptive). ``allow_unstable`` as :class:`FourPhonon`.
    A :class:`FourPhononSums` (``calculator``, ``keywords``)."""
    from trajmodes.phonons.anharmonic.selfenergy import ADAPTIVE
    it = three.interaction
    fp = FourPhonon(force_constants, three.grid.matrix, phonons=it.phonons, cutoff_frequency=it.cutoff_frequency,
                    allow_unstable=allow_unstable)
    kw = dict(temperatures=three.temperatures, occupation=three.occupation)
    if isinstance(smearing, str):
        if smearing != ADAPTIVE or not three.deltas.adaptive:
            raise ValueError(f"four_phonon must be a width in THz, or {ADAPTIVE!r} with Anharmonic(smearing="
                             f"{ADAPTIVE!r}) (whose widths it takes), not {smearing!r}")
        return FourPhononSums(calculator=fp, keywords=dict(kw, smearing=None, variances=three.deltas.variances))
    return FourPhononSums(calculator=fp, keywords=dict(kw, smearing=float(smearing)))


def four_phonon_gamma(force_constants, three: ThreePhononSums, grid_points, smearing: float | str, sample=None,
                      seed: int | None = None, allow_unstable: bool = False) -> np.ndarray:
    """The four-phonon Gamma (half width, THz) of the modes at ``grid_points`` of the mesh of the three-phonon sums
    ``three``, at their temperatures and occupation, from the ``fc4`` of ``force_constants`` (``smearing`` and
    ``allow_unstable`` as :func:`four_phonon_sums`; ``sample`` and ``seed`` as :meth:`FourPhonon.gamma`), averaged
    over the degenerate branches of ``three``: (n_temperatures, n_points, 3n)."""
    from trajmodes.phonons.harmonic.degeneracy import degenerate_average
    gps = np.asarray(grid_points)
    sums = four_phonon_sums(force_constants, three, smearing, allow_unstable)
    four = sums.calculator.gamma(gps, sample=sample, seed=seed, **sums.keywords)
    return degenerate_average(four, three.interaction.frequencies[gps], three.degeneracy_tol)


def _weights(signs, n1, n2, n3, occupation: str) -> np.ndarray:
    """w_s of the sign pattern ``signs`` for occupations n1, n2, n3 (nt, T, nb) of the three other phonons:
    (nt, T, nb, nb, nb) (module docstring)."""
    n = [n1[:, :, :, None, None], n2[:, :, None, :, None], n3[:, :, None, None, :]]
    if occupation == "classical":
        return (signs[2] * n[0] * n[1] + signs[1] * n[0] * n[2] + signs[0] * n[1] * n[2])
    plus = [1 + x if s > 0 else x for x, s in zip(n, signs)]
    minus = [x if s > 0 else 1 + x for x, s in zip(n, signs)]
    return plus[0] * plus[1] * plus[2] - minus[0] * minus[1] * minus[2]
