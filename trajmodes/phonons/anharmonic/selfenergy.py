"""The bubble (three-phonon) self-energy of a phonon mode: imaginary part (linewidth), real part (frequency
shift), and the spectral function, from interaction strengths on a q-mesh.

In ordinary frequency (THz) and per q-point of the mesh (N points), with |Phi|^2 the strengths of
:class:`trajmodes.phonons.anharmonic.interaction.Interaction` (N |Phi|^2, eV²):

    Gamma(nu) = 9 / (2 pi hbar^2 N) sum_{q' s' s''} |Phi|^2 { (n' + n'' + 1) delta(nu - nu' - nu'')
                                             + (n' - n'') [delta(nu + nu' - nu'') - delta(nu - nu' + nu'')] }

    Delta(nu) = 9 / (2 pi^2 hbar^2 N) sum |Phi|^2 { (n' + n'' + 1) [P/(nu - nu' - nu'') - P/(nu + nu' + nu'')]
                                             + (n' - n'') [P/(nu + nu' - nu'') - P/(nu - nu' + nu'')] }

Gamma is the imaginary part of the self-energy in THz, the half width of the line: its full width at half
maximum is 2 Gamma and the lifetime tau = 1 / (2 pi FWHM) = 1 / (4 pi Gamma) (Maradudin and Fein, Phys.
Rev. 128, 2589 (1962); Togo, Chaput and Tanaka, Phys. Rev. B 91, 094306 (2015), Eqs. (5)-(6)). Delta is its
Kramers-Kronig partner, the frequency shift. The delta functions are normalised Gaussians of standard
deviation sigma (THz) or linear-tetrahedron weights on the mesh (:mod:`trajmodes.phonons.harmonic.tetrahedron`).

Occupations are Bose-Einstein (quantum) or classical, n = k_B T / (h nu), where n' + n'' + 1 becomes
n' + n'': the classical limit, in which every width and shift is proportional to T (the like-for-like
comparison with classical molecular dynamics). They are :func:`trajmodes.phonons.harmonic.statistics.occupations`
(``occupations`` and ``OCCUPATIONS`` are also importable from here).
"""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.grid import Grid, Triplets
from trajmodes.phonons.harmonic.degeneracy import degenerate_averager
from trajmodes.phonons.anharmonic.interaction import HBAR_EV_PS
from trajmodes.phonons.harmonic.statistics import OCCUPATIONS, occupations
from trajmodes.phonons.harmonic.tetrahedron import point_weights, tetrahedra

__all__ = ["occupations", "DeltaWeights", "imaginary_part", "real_part", "lifetimes", "live_triplets", "OCCUPATIONS",
           "width_variables", "ADAPTIVE", "ADAPTIVE_TDEP2023", "adaptive_variances", "delta_weights"]

#: the ``smearing`` that asks for adaptive Gaussians (:func:`adaptive_variances`)
ADAPTIVE = "adaptive"
#: the ``smearing`` that asks for the adaptive Gaussians of TDEP's ``thermal_conductivity_2023``
#: (:mod:`trajmodes.phonons.anharmonic.tdep2023`)
ADAPTIVE_TDEP2023 = "adaptive-tdep2023"

#: 9 / (2 pi hbar^2): Gamma in THz from N |Phi|^2 in eV^2 and delta functions in 1/THz
GAMMA_FACTOR = 9.0 / (2 * np.pi * HBAR_EV_PS ** 2)


def lifetimes(gamma) -> np.ndarray:
    """Lifetimes tau = 1 / (4 pi Gamma) = 1 / (2 pi FWHM) in ps from half widths Gamma in THz; inf where nothing
    scatters (Gamma <= 0)."""
    g = np.asarray(gamma, dtype=float)
    with np.errstate(divide="ignore", over="ignore"):
        return np.where(g > 0, 1.0 / (4 * np.pi * np.where(g > 0, g, 1.0)), np.inf)


def adaptive_variances(velocities, microzone, weights, cutoff_mask=None, baseline: float = 1e-4) -> np.ndarray:
    """Per-mode variances (THz²) of the adaptive Gaussian smearing, from the group velocities.

    A mode's Gaussian is as wide as its frequency changes across one cell of the q-mesh: with m_j the three
    edges of the mesh's cell (rows of :meth:`trajmodes.lattice.grid.Grid.microzone`, 1/Å, no 2 pi) and v the
    group velocity (Å/ps),

        sigma_s^2(q) = max_j 1/2 (|v_x| m_jx + |v_y| m_jy + |v_z| m_jz)^2 / (2 pi)^2,

    plus ``baseline`` times the largest mesh average of sigma^2 over the branches, so that modes without
    velocity (band extrema) keep a finite width. A delta function between modes 1, 2 (and 3) is then a Gaussian
    of variance sigma_1^2 + sigma_2^2 (+ sigma_3^2). This is the adaptive Gaussian of TDEP's
    ``thermal_conductivity`` and ``lineshape`` (its integration type 2; Knoop et al., J. Open Source Softw. 9,
    6150 (2024)), in the spirit of the adaptive broadening of J. R. Yates, X. Wang, D. Vanderbilt and I. Souza,
    Phys. Rev. B 75, 195121 (2007), and W. Li, J. Carrete, N. A. Katcho and N. Mingo, Comput. Phys. Commun.
    185, 1747 (2014) (ShengBTE).

    Parameters
    ----------
    velocities : (n, 3n, 3) Å/ps (= THz Å), at one point of every star of the mesh.
    microzone : (3, 3) 1/Å, rows: the edges of the mesh's cell.
    weights : (n,) the stars' sizes (for the mesh average).
    cutoff_mask : (n, 3n) bool, optional
        True where a mode takes no part (acoustic at Gamma, imaginary): its own term is 0, it keeps the baseline.
    baseline : float
        The fraction of the largest mean variance added to every mode (TDEP's 1e-4).

    Returns
    -------
    (n, 3n) variances in THz².
    """
    v = np.abs(np.asarray(velocities, dtype=float))
    m = np.asarray(microzone, dtype=float)
    s2 = 0.5 * (np.einsum("kbi,ji->kbj", v, m) / (2 * np.pi)) ** 2
    s2 = s2.max(axis=-1)
    if cutoff_mask is not None:
        s2 = np.where(cutoff_mask, 0.0, s2)
    w = np.asarray(weights, dtype=float)
    mean = (w[:, None] * s2).sum(axis=0) / w.sum()
    return s2 + baseline * mean.max()


class DeltaWeights:
    """The delta functions of the three-phonon sums, delta(nu - nu' - nu''), delta(nu + nu' - nu''),
    delta(nu - nu' + nu''), for the triplets at one q, at frequencies nu.

    Parameters
    ----------
    grid : Grid
    frequencies : (N, 3n) THz on every grid point.
    sigma : float, "adaptive", "adaptive-tdep2023" or None
        Gaussian standard deviation (THz); ``"adaptive"`` (or ``"adaptive-tdep2023"``, the same here: only the
        ``variances`` differ): Gaussians whose variance is the sum of the three modes'
        ``variances`` (:func:`adaptive_variances`); None: the linear tetrahedron method on the mesh, with the vertex
        frequencies of imaginary modes taken as 0 and the weights averaged over the degenerate sets of q' and
        q'' (closer than ``degeneracy_tol``, THz).
    reciprocal_cell : (3, 3) 1/Å, rows; for the tetrahedra.
    sigma_cutoff : float, optional
        Gaussians only: where all three arguments nu -+ nu' -+ nu'' of a (q', s', q'', s'') term lie farther than
        ``sigma_cutoff * sigma`` from zero, its three weights are zero; where one lies within, all three are the
        untruncated Gaussians (phono3py's ``sigma_cutoff_width``, ``--sigma-cutoff``, and its ``g_zero``). None:
        Gaussians everywhere.
    variances : (N, 3n) THz², with ``sigma="adaptive"`` (or ``"adaptive-tdep2023"``)
        Every mode's variance on every grid point (:func:`adaptive_variances` mapped onto the stars, or
        :func:`trajmodes.phonons.anharmonic.tdep2023.tdep2023_variances`).
    truncate : float, optional
        Gaussians only: each of the three Gaussians is zero where its argument lies ``truncate`` standard deviations
        or more from zero, on its own (TDEP's ``thermal_conductivity_2023`` with 4). None (default): no such cut.
    isotope_variances : (N, 3n) THz², optional
        For :func:`trajmodes.phonons.anharmonic.isotope.isotope_gamma` with ``deltas=``: the variance of the Gaussian of
        an isotope scattering into each mode, that mode's alone (TDEP 2023); None: as the three-phonon delta functions
        (with adaptive Gaussians the two modes' variances summed).
    """

    def __init__(self, grid: Grid, frequencies: np.ndarray, sigma: float | str | None, reciprocal_cell=None,
                 degeneracy_tol: float = 1e-4, sigma_cutoff: float | None = None, variances=None, *,
                 truncate: float | None = None, isotope_variances=None):
        self.grid, self.frequencies = grid, frequencies
        self.degeneracy_tol = float(degeneracy_tol)
        self.variances = None
        if isinstance(sigma, str):
            if sigma not in (ADAPTIVE, ADAPTIVE_TDEP2023):
                raise ValueError(f"smearing must be a width in THz, {ADAPTIVE!r}, {ADAPTIVE_TDEP2023!r} or None "
                                 f"(tetrahedra), not {sigma!r}")
            if variances is None or np.shape(variances) != np.shape(frequencies):
                raise ValueError("adaptive smearing needs the variance of every mode on every grid point "
                                 "(variances=, the shape of frequencies)")
            self.variances = np.asarray(variances, dtype=float)
        self.sigma = None if sigma is None else sigma if self.variances is not None else float(sigma)
        if self.variances is None and self.sigma is not None and not self.sigma > 0:
            raise ValueError(f"the smearing width sigma must be a positive frequency (THz), not {sigma}")
        if sigma_cutoff is not None:
            if self.sigma is None:
                raise ValueError("sigma_cutoff truncates the Gaussian smearing: it needs a smearing width "
                                 "(smearing=sigma in THz), not the tetrahedron method")
            if not float(sigma_cutoff) > 0:
                raise ValueError(f"sigma_cutoff must be a positive number of standard deviations, not {sigma_cutoff}")
        self.sigma_cutoff = None if sigma_cutoff is None else float(sigma_cutoff)
        if truncate is not None and (self.sigma is None or not float(truncate) > 0):
            raise ValueError(f"truncate cuts Gaussians at a positive number of standard deviations, not {truncate} "
                             "(and not the tetrahedra)")
        self.truncate = None if truncate is None else float(truncate)
        self.isotope_variances = None if isotope_variances is None else np.asarray(isotope_variances, dtype=float)
        if self.isotope_variances is not None and self.isotope_variances.shape != np.shape(frequencies):
            raise ValueError("isotope_variances needs one variance per mode on every grid point (as frequencies)")
        if self.sigma is None:
            if reciprocal_cell is None:
                raise ValueError("the tetrahedron method needs the reciprocal cell")
            if not grid.is_regular:
                # a supercell's grid has a cell (microzone) of lower symmetry than the crystal's point group: the
                # tetrahedra then depend on which member of each symmetry orbit is computed
                raise ValueError("the tetrahedron method is available on regular meshes only: on the q-grid of a "
                                 f"supercell ({grid.matrix.tolist()}) give a Gaussian smearing (smearing=sigma in THz)")
            self.vertices, self.central = tetrahedra(grid.mesh, reciprocal_cell, grid.microzone(reciprocal_cell),
                                                     grid.steps)
            # each band's frequencies over the grid, imaginary ones clamped at 0: (3n, N), the vertex values
            self._band_major = np.ascontiguousarray(np.maximum(np.asarray(frequencies, dtype=float), 0.0).T)

    @property
    def adaptive(self) -> bool:
        """True for the adaptive Gaussians."""
        return self.variances is not None

    def __call__(self, triplets: Triplets, nu, variance=None) -> np.ndarray:
        """Weights (3, T, nw, 3n, 3n) in 1/THz for the triplets and frequencies ``nu`` (nw,) in THz:
        [0] delta(nu - nu' - nu''), [1] delta(nu + nu' - nu''), [2] delta(nu - nu' + nu'').

        ``variance`` (nw,) THz², adaptive smearing only: the variance of the mode at q that each frequency
        stands for (default: every branch of q, for ``nu`` its harmonic frequencies)."""
        nu = np.atleast_1d(np.asarray(nu, dtype=float))
        f1 = self.frequencies[triplets.q1][:, None, :, None]                      # (T, 1, s', 1)
        f2 = self.frequencies[triplets.q2][:, None, None, :]                      # (T, 1, 1, s'')
        w = nu[None, :, None, None]
        if self.sigma is not None:
            if self.adaptive:
                v0 = self.variances[triplets.q] if variance is None else np.asarray(variance, dtype=float)
                if v0.shape != nu.shape:
                    raise ValueError(f"{nu.size} frequencies but {v0.size} variances of the mode at q")
                s = np.sqrt(v0[None, :, None, None] + self.variances[triplets.q1][:, None, :, None]
                            + self.variances[triplets.q2][:, None, None, :])      # (T, nw, s', s'')
            else:
                s = self.sigma
            # one argument at a time, each Gaussian written into its place: the block's memory is the result
            args = (lambda: w - f1 - f2, lambda: w + f1 - f2, lambda: w - f1 + f2)
            out = np.empty((3,) + np.broadcast_shapes(w.shape, f1.shape, f2.shape, np.shape(s)))
            keep = None
            for i, arg in enumerate(args):
                a = arg()
                if self.truncate is not None:                                      # each Gaussian on its own
                    cut = np.abs(a) < self.truncate * s
                if self.sigma_cutoff is not None:
                    near = np.abs(a) <= self.sigma_cutoff * s
                    keep = near if keep is None else keep | near
                _gaussian_into(a, s, out[i])
                if self.truncate is not None:
                    out[i] *= cut
            if keep is not None:
                out *= keep
            return out
        return self._tetrahedron_weights(triplets, nu)

    def _tetrahedron_weights(self, triplets: Triplets, nu: np.ndarray) -> np.ndarray:
        """The tetrahedron weights (3, T, nw, 3n, 3n) of :meth:`__call__`.

        The tetrahedra are those around q', with vertex values f(q'_v) + f(q''_v), f(q''_v) - f(q'_v) and
        f(q'_v) - f(q''_v), q''_v = -q - q'_v (imaginary modes clamped at 0). A pair of bands (s', s'') whose values
        over all 24 tetrahedra of a triplet stay below, or above, every frequency of ``nu`` has weight zero there: it
        is left out before the vertex values are formed (bounds from each band's own range over the 96 vertices, so
        that nothing with a weight is dropped), and only the pairs left are handed to the compiled kernel. The
        numbers are those of every pair, to the last bit."""
        g = self.grid
        T, nb, nw = len(triplets), self.frequencies.shape[1], len(nu)
        out = np.zeros((3, T, nw, nb, nb))
        if T == 0:
            return out
        v1 = self.vertices[triplets.q1]                                           # (T, 24, 4)
        v2 = g.index(-g.addresses[triplets.q][None, None, None, :] - g.addresses[v1])
        # vertex values per band, contiguous over the 96 vertices of each triplet: (s, T, 96), rows s T + t
        a_rows = self._band_major[:, v1.reshape(-1)].reshape(nb * T, 96)
        b_rows = self._band_major[:, v2.reshape(-1)].reshape(nb * T, 96)
        a_lo, a_hi = (x.reshape(nb, T).T for x in (a_rows.min(axis=1), a_rows.max(axis=1)))   # (T, s)
        b_lo, b_hi = (x.reshape(nb, T).T for x in (b_rows.min(axis=1), b_rows.max(axis=1)))
        grid_nu = np.sort(nu)
        band = np.arange(nb) * T
        ia = np.broadcast_to(np.arange(T)[:, None, None] + band[None, :, None], (T, nb, nb))   # row of (t, s')
        ib = np.broadcast_to(np.arange(T)[:, None, None] + band[None, None, :], (T, nb, nb))   # row of (t, s'')
        # nu' + nu'', nu'' - nu', nu' - nu'': bounds of each over the vertices, and the vertex values themselves
        kinds = ((a_lo[:, :, None] + b_lo[:, None, :], a_hi[:, :, None] + b_hi[:, None, :], 1.0, 1.0),
                 (b_lo[:, None, :] - a_hi[:, :, None], b_hi[:, None, :] - a_lo[:, :, None], -1.0, 1.0),
                 (a_lo[:, :, None] - b_hi[:, None, :], a_hi[:, :, None] - b_lo[:, None, :], 1.0, -1.0))
        for k, (lo, hi, sa, sb) in enumerate(kinds):
            # a point nu has weight only where lo <= nu <= hi (v0 <= nu < v3 in some tetrahedron)
            inside = np.searchsorted(grid_nu, hi, side="right") > np.searchsorted(grid_nu, lo, side="left")
            t, s1, s2 = np.nonzero(inside)
            if not len(t):
                continue
            ra, rb = ia[t, s1, s2], ib[t, s1, s2]
            vals = (a_rows[ra] if sa > 0 else -a_rows[ra]) + (b_rows[rb] if sb > 0 else -b_rows[rb])
            w = point_weights(vals.reshape(-1, 24, 4), self.central, nu)           # (M, nw)
            out[k, t, :, s1, s2] = w
        # a band's weight comes from its neighbours' frequencies, where degeneracies split: averaged over the
        # degenerate sets at q' and q'' it no longer depends on the eigenvector basis chosen inside them
        m1 = degenerate_averager(self.frequencies[triplets.q1], self.degeneracy_tol)     # (T, s', s')
        m2 = degenerate_averager(self.frequencies[triplets.q2], self.degeneracy_tol)
        split = _not_identity(m1) | _not_identity(m2)                              # triplets with a degenerate set
        if split.any():
            i = np.flatnonzero(split)
            out[:, i] = m1[i][None, :, None] @ out[:, i] @ np.swapaxes(m2[i], 1, 2)[None, :, None]
        return out


def _gaussian_into(x: np.ndarray, sigma, out: np.ndarray) -> np.ndarray:
    """:func:`trajmodes.phonons.harmonic.dos.gaussian` (the same operations, the same numbers) of the temporary ``x``
    (THz, overwritten) with ``sigma`` (THz, a number or an array of the shape of ``x``), written into ``out``: no
    other array of its size."""
    np.divide(x, sigma, out=x)
    np.square(x, out=x)
    np.multiply(-0.5, x, out=x)
    np.exp(x, out=out)
    out /= np.sqrt(2 * np.pi) * sigma
    return out


def _not_identity(m: np.ndarray) -> np.ndarray:
    """(T,) bool: which averaging matrices (T, n, n) of :func:`degenerate_averager` are not the identity (a set of
    degenerate branches at that q)."""
    n = m.shape[-1]
    return np.abs(m - np.eye(n)[None]).reshape(len(m), -1).max(axis=1, initial=0.0) > 0


def delta_weights(grid: Grid, frequencies, smearing, primitive, degeneracy_tol: float, sigma_cutoff: float | None,
                  cutoff_frequency: float, velocities=None) -> DeltaWeights:
    """The :class:`DeltaWeights` of a mesh for ``smearing``: a width in THz, None (tetrahedra), ``"adaptive"``
    (:func:`adaptive_variances`) or ``"adaptive-tdep2023"`` (the widths of
    :func:`trajmodes.phonons.anharmonic.tdep2023.tdep2023_variances`, each Gaussian cut at 4 standard deviations,
    isotopes with the width of the mode scattered into).

    ``grid`` the mesh, ``frequencies`` (N, 3n) THz its phonons, ``primitive`` the primitive cell; ``degeneracy_tol``
    and ``cutoff_frequency`` THz, ``sigma_cutoff`` as :class:`DeltaWeights`; ``velocities`` (n_irr, 3n, 3) THz Å, the
    group velocities of the irreducible points as the conductivity takes them, for the adaptive widths only."""
    variances = isotope_variances = truncate = None
    reciprocal = primitive.reciprocal_cell
    if isinstance(smearing, str) and smearing in (ADAPTIVE, ADAPTIVE_TDEP2023):
        if not grid.is_regular:
            raise ValueError("adaptive smearing is available on regular meshes: on the q-grid of a supercell "
                             "give a Gaussian smearing (smearing=sigma in THz)")
        if velocities is None:
            raise ValueError(f"smearing={smearing!r} takes its widths from the group velocities of the irreducible "
                             "points: give velocities (n_irr, 3n, 3) in THz A")
        if smearing == ADAPTIVE:
            irr = grid.irreducible
            variances = adaptive_variances(velocities, grid.microzone(reciprocal), grid.weights,
                                           np.asarray(frequencies)[irr] <= cutoff_frequency)
            variances = variances[grid.irreducible_of]
        else:
            from trajmodes.phonons.anharmonic.tdep2023 import GAUSSIAN_CUT, tdep2023_variances
            (variances, isotope_variances) = tdep2023_variances(grid, primitive, frequencies, velocities)
            truncate = GAUSSIAN_CUT
    return DeltaWeights(grid, frequencies, smearing, reciprocal, degeneracy_tol, sigma_cutoff, variances,
                        truncate=truncate, isotope_variances=isotope_variances)


def live_triplets(deltas: np.ndarray) -> np.ndarray | None:
    """(T,) bool: the triplets with a nonzero weight in ``deltas`` (3, T, nw, 3n, 3n), whose interaction strengths
    are needed; None when all are (no saving)."""
    live = deltas.reshape(3, deltas.shape[1], -1).any(axis=(0, 2))
    return None if live.all() else live


def _factors(n1: np.ndarray, n2: np.ndarray, occupation: str) -> tuple[np.ndarray, np.ndarray]:
    """(n' + n'' + 1, n' - n'') (quantum) or (n' + n'', n' - n'') (classical)."""
    return (n1 + n2 + (0.0 if occupation == "classical" else 1.0)), n1 - n2


def imaginary_part(strength, deltas, n1, n2, weights, n_points: int, occupation: str = "quantum",
                   n0=None, diagonal: bool = False) -> np.ndarray:
    """Gamma (half width, THz) for the mode(s) at q, summed over triplets, per temperature and frequency.

    Parameters
    ----------
    strength : (T, 3n, 3n, 3n) N |Phi|^2 in eV² (:meth:`Interaction.strength`).
    deltas : (3, T, nw, 3n, 3n) from :class:`DeltaWeights` (nw frequency points).
    n1, n2 : (nt, T, 3n) occupations at q' and q''.
    weights : (T,) triplet weights.
    n_points : the number N of q-points of the mesh.
    n0 : (nt, nw), optional
        Quantum occupations n at the frequency points themselves (inf where a point takes no part, nu <= 0): the
        occupation factors off the energy shell of TDEP's ``thermal_conductivity_2023``
        (:func:`trajmodes.phonons.anharmonic.tdep2023.frequency_occupations`): (n' + 1)(n'' + 1) / (n + 1) with
        delta(nu - nu' - nu''), n'(n'' + 1) / (n + 1) with delta(nu + nu' - nu'') and n''(n' + 1) / (n + 1) with
        delta(nu - nu' + nu''), each positive. Where the three frequencies meet (nu = nu' + nu'', ...) these are
        n' + n'' + 1, n' - n'' and n'' - n', the factors used without ``n0``; they differ only where the Gaussians
        are wide against k_B T / h. None (default): those on-shell factors.
    diagonal : bool
        The frequency points are the modes' own (nw = 3n, point s the frequency of branch s): only branch s at point
        s is summed, (nt, 3n) returned (the diagonal of the full result, 3n times less work).

    Returns
    -------
    (nt, 3n, nw): the contribution of these triplets to Gamma of every branch s of q at every frequency
    point (THz); with ``diagonal`` (nt, 3n).
    """
    N = float(n_points)
    if n0 is not None:
        r = (1.0 / (np.asarray(n0, dtype=float) + 1.0))[:, None, :, None, None]     # (nt, 1, nw, 1, 1)
        a1, a2 = n1[:, :, None, :, None], n2[:, :, None, None, :]                     # (nt, T, 1, s', 1) ...
        d = r * ((a1 + 1) * (a2 + 1) * deltas[0][None] + a1 * (a2 + 1) * deltas[1][None]
                 + a2 * (a1 + 1) * deltas[2][None])
        return GAMMA_FACTOR * _contract(strength, d, weights / N, diagonal)
    a, b = _factors(n1[:, :, :, None], n2[:, :, None, :], occupation)              # (nt, T, s', s'')
    # (T, nw, s', s'') deltas at frequency points; combine with occupations: (nt, T, nw, s', s''), built in place
    # (b (d1 - d2) + a d0: the numbers of a d0 + b (d1 - d2))
    d = _times(b, np.subtract(deltas[1], deltas[2]))
    d += a[:, :, None] * deltas[0][None]
    return GAMMA_FACTOR * _contract(strength, d, weights / N, diagonal)


def _times(f: np.ndarray, x: np.ndarray) -> np.ndarray:
    """f[:, :, None] x[None]: occupation factors f (nt, T, s', s'') times x (T, nw, s', s''), a temporary (overwritten
    when nt = 1): (nt, T, nw, s', s'')."""
    if len(f) == 1:
        return np.multiply(f[:, :, None], x[None], out=x[None])
    return f[:, :, None] * x[None]


def _contract(strength: np.ndarray, d: np.ndarray, weights: np.ndarray, diagonal: bool) -> np.ndarray:
    """sum over triplets t and branches s', s'' of weights (T,) x strength (T, s, s', s'') x d (nt, T, nw, s', s''):
    (nt, s, nw), or with ``diagonal`` (nw = s) only w = s, (nt, s). ``d`` is a temporary: the weights go into it in
    place (no weighted copy of the strengths)."""
    d *= weights[:, None, None, None]
    if diagonal:
        return np.einsum("tsxy,ktsxy->ks", strength, d)
    return np.einsum("tsxy,ktwxy->ksw", strength, d, optimize=True)


def real_part(strength, f1, f2, n1, n2, weights, n_points: int, nu, epsilon: float,
              occupation: str = "quantum", diagonal: bool = False) -> np.ndarray:
    """Delta (frequency shift, THz) at frequencies ``nu`` (nw,) for every branch of q, summed over triplets.

    The principal values are 1/x -> x / (x^2 + epsilon^2) with ``epsilon`` > 0 in THz.

    Parameters
    ----------
    strength : (T, 3n, 3n, 3n) eV²; f1, f2 : (T, 3n) THz at q', q'';
    n1, n2 : (nt, T, 3n); weights : (T,); n_points : N.
    diagonal : bool
        ``nu`` are the modes' own frequencies (nw = 3n): branch s at nu_s only, (nt, 3n) (as :func:`imaginary_part`).

    Returns
    -------
    (nt, 3n, nw) THz: the contribution of these triplets; with ``diagonal`` (nt, 3n).
    """
    N = float(n_points)
    a, b = _factors(n1[:, :, :, None], n2[:, :, None, :], occupation)              # (nt, T, s', s'')
    w = np.atleast_1d(np.asarray(nu, dtype=float))[None, :, None, None]             # (1, nw, 1, 1)
    x1, x2 = f1[:, None, :, None], f2[:, None, None, :]

    def pv(x):                                                                      # x a temporary
        x2 = x * x
        x2 += epsilon ** 2
        return np.divide(x, x2, out=x2)
    # (T, nw, s', s'') one at a time, in place: the numbers of a p_sum + b p_dif
    p = pv(w - x1 - x2)
    p -= pv(w + x1 + x2)
    d = _times(a, p)
    p = pv(w + x1 - x2)
    p -= pv(w - x1 + x2)
    d += _times(b, p)
    del p
    return GAMMA_FACTOR / np.pi * _contract(strength, d, weights / N, diagonal)


def width_variables(gamma, gamma_isotope=None, isotope_note: str = "", gamma_four=None,
                    four_smearing=None) -> dict:
    """The width variables of a result over (temperature, q, branch): ``gamma`` (total, THz), ``linewidth``,
    ``lifetime``; with isotope scattering ``gamma_isotope`` (q, branch), or (temperature, q, branch) where it depends
    on T (TDEP 2023's off-shell factors), with four-phonon scattering ``gamma_four_phonon`` (temperature, q, branch),
    and with either the three-phonon rest ``gamma_phonon``."""
    dims = ("temperature", "q", "branch")
    out = dict(gamma=(dims, gamma, {"units": "THz", "long_name": "imaginary part of the self-energy (HWHM)"}),
               linewidth=(dims, 2 * gamma, {"units": "THz", "long_name": "full width at half maximum"}),
               lifetime=(dims, lifetimes(gamma), {"units": "ps", "long_name": "1 / (2 pi FWHM)"}))
    three = gamma
    if gamma_isotope is not None:
        per_t = np.ndim(gamma_isotope) == 3
        out["gamma_isotope"] = (dims if per_t else ("q", "branch"), gamma_isotope, {
            "units": "THz", "long_name": "isotope scattering (half width), included in gamma" + isotope_note})
        three = three - (gamma_isotope if per_t else gamma_isotope[None])
    if gamma_four is not None:
        out["gamma_four_phonon"] = (dims, gamma_four, {"units": "THz", "smearing": four_smearing if isinstance(four_smearing, str) else float(four_smearing),
                                                       "long_name": "four-phonon scattering (half width), included in "
                                                                    "gamma" + isotope_note})
        three = three - gamma_four
    if gamma_isotope is not None or gamma_four is not None:
        out["gamma_phonon"] = (dims, three, {"units": "THz", "long_name": "three-phonon part of gamma"})
    return out
