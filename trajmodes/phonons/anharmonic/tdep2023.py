"""TDEP's older conductivity program ``thermal_conductivity_2023``, emulated setting for setting (F. Knoop et al., J.
Open Source Softw. 9, 6150 (2024)): its adaptive Gaussian widths, its isotope widths, its occupation factors off the
energy shell, and a fixed eigenvector basis for TDEP's isotope overlap. These are choices of that program, not more
physical than the defaults of :class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic`: they are here to compare
with it (docs/tdep.md). ``Anharmonic(..., smearing="adaptive-tdep2023", occupation_factors="off-shell",
isotope_overlap="tdep")`` with ``equal_frequencies="keep"`` (the default: the 2023 program has no rule of equal
frequencies) is that program's setting.

Widths (``smearing="adaptive-tdep2023"``), in ordinary frequency (THz), per mode s at q:

    sigma_s(q) = clamp(r |v_s(q)| / sqrt(2), d_b / 4, 4 d_b),     r = (3 / (4 pi V N))^(1/3)

with v the group velocity (A THz, as the conductivity takes it: :meth:`Anharmonic.transport_velocities`), r the
radius (1/Å, no 2 pi) of a sphere of the volume of one cell of the mesh (V the primitive volume in Å³, N the points
of the mesh), and d_b the default width of the band *index* b of the mode (the bands in ascending frequency at every
q: :func:`trajmodes.phonons.anharmonic.spectral.tdep_band_widths`, the largest gap between the band's sorted
frequencies over the irreducible points, at least a fifth of the largest such gap). A three-phonon delta function is
a Gaussian of variance sigma^2 + sigma'^2 + sigma''^2 (the three modes' widths in quadrature), each of the three
cut on its own where its argument lies 4 standard deviations or more from zero. The adaptive widths of TDEP's newer
``thermal_conductivity`` (``smearing="adaptive"``, :func:`trajmodes.phonons.anharmonic.selfenergy.adaptive_variances`)
are another formula: the largest projection of the velocity on the edges of the mesh cell, no clamp, no cut.

Isotope scattering takes the width of the mode scattered into alone (not the two modes' in quadrature):

    w_s'(q') = clamp(sqrt(sum_j (sum_x |v_x| m_jx)^2 / 12), d_b' / 4, 4 d_b')

with m_j the edges of the mesh cell (rows of :meth:`trajmodes.lattice.grid.Grid.microzone`, 1/Å) and v the velocity
at q' itself (this width is not invariant under rotations: the velocities of a star are its representative's rotated
by the operations of the mesh), cut at 4 w as well.

Occupation factors (``occupation_factors="off-shell"``): the 2023 program weighs each three-phonon term by the
occupations at the three modes' own frequencies, whichever the frequency under the Gaussian:
(n' + 1)(n'' + 1) / (n + 1) for delta(nu - nu' - nu''), n'(n'' + 1) / (n + 1) for delta(nu + nu' - nu'') and
n''(n' + 1) / (n + 1) for delta(nu - nu' + nu'') (:func:`trajmodes.phonons.anharmonic.selfenergy.imaginary_part`), and
the isotope terms by nu nu' (n' + 1) / (n + 1) instead of nu^2
(:func:`trajmodes.phonons.anharmonic.isotope.isotope_gamma`). Where the frequencies meet these are the usual n' + n'' +
1, n' - n'', nu^2: the two differ only where the Gaussians are wide against k_B T / h (MgO 5^3 with the 2023 widths, 0.4
THz and more after the clamp: kappa -7 % at 100 K,
-10 % at 300 K). The scattering-in of the collision matrix of :mod:`trajmodes.phonons.anharmonic.lbte` takes the same
weights (:func:`off_shell_scattering_in`; TDEP's iterative solution does), the matrix then symmetrised as ever.
Bose-Einstein occupations only; the isotope widths then depend on the temperature.

TDEP's isotope overlap (``isotope_overlap="tdep"``, [sum_a |e*_ka e'_ka|]^2 per atom) sums absolute values of
Cartesian components: it depends on the eigenvectors an eigensolver picks inside degenerate subspaces (MgO 5^3,
100 K, adaptive Gaussians and TDEP's rule of equal frequencies: 100.7 W/mK in one LAPACK's basis, 100.2 in the
fixed one; the isotope widths of single modes move by 20 %). :func:`isotope_eigenvectors` fixes that basis with
:func:`trajmodes.phonons.harmonic.degeneracy.cartesian_basis` (modes polarised along the Cartesian axes where the
subspace allows it, the basis of :mod:`trajmodes.phonons.anharmonic.lineshape`), subspaces by the calculator's
``degeneracy_tol``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from trajmodes.lattice.grid import Grid

__all__ = ["tdep2023_sigmas", "tdep2023_isotope_sigmas", "tdep2023_variances", "frequency_occupations",
           "off_shell_scattering_in", "isotope_eigenvectors", "check_occupation_factors", "OCCUPATION_FACTORS",
           "GAUSSIAN_CUT"]

#: the ``occupation_factors`` of :class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic`
OCCUPATION_FACTORS = ("on-shell", "off-shell")
#: TDEP 2023 cuts every Gaussian at this many standard deviations (its ``gaussian_threshold``)
GAUSSIAN_CUT = 4.0


def _clamp(width, band_widths) -> np.ndarray:
    """``width`` clamped to [d_b / 4, 4 d_b], d_b broadcast along the last axis (bands)."""
    d = np.asarray(band_widths, dtype=float)
    return np.minimum(np.maximum(width, d / 4.0), 4.0 * d)


def tdep2023_sigmas(velocities, band_widths, volume: float, n_points: int) -> np.ndarray:
    """The three-phonon width of every mode, sigma = clamp(r |v| / sqrt(2), d_b / 4, 4 d_b) (module docstring).

    Parameters
    ----------
    velocities : (..., 3n, 3) Å THz
        Group velocities (Å/ps).
    band_widths : (3n,) THz
        d_b of every band index (:func:`trajmodes.phonons.anharmonic.spectral.tdep_band_widths`).
    volume : float
        The primitive volume, Å³.
    n_points : int
        N, the number of points of the mesh.

    Returns
    -------
    ndarray (..., 3n): standard deviations in THz.
    """
    r = (3.0 / (4.0 * np.pi * float(volume) * int(n_points))) ** (1.0 / 3.0)              # 1/A
    return _clamp(r * np.linalg.norm(np.asarray(velocities, dtype=float), axis=-1) / np.sqrt(2.0), band_widths)


def tdep2023_isotope_sigmas(velocities, microzone, band_widths) -> np.ndarray:
    """The isotope width of every mode scattered into, w = clamp(sqrt(sum_j (|v| . m_j)^2 / 12), d_b / 4, 4 d_b).

    Parameters
    ----------
    velocities : (..., 3n, 3) Å THz, at the mode's own q (not rotation invariant).
    microzone : (3, 3) 1/Å, rows the edges m_j of the mesh cell (:meth:`trajmodes.lattice.grid.Grid.microzone`).
    band_widths : (3n,) THz, d_b.

    Returns
    -------
    ndarray (..., 3n): standard deviations in THz.
    """
    proj = np.einsum("...x,jx->...j", np.abs(np.asarray(velocities, dtype=float)), np.asarray(microzone, dtype=float))
    return _clamp(np.sqrt((proj ** 2).sum(axis=-1) / 12.0), band_widths)


def tdep2023_variances(grid: Grid, primitive, frequencies, velocities) -> tuple[np.ndarray, np.ndarray]:
    """The variances (THz²) of ``smearing="adaptive-tdep2023"`` on every point of ``grid``, (N, 3n) each, from the
    ``frequencies`` (N, 3n) THz of the mesh and the group velocities (n_irr, 3n, 3) THz Å of its irreducible points
    (:meth:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic.transport_velocities`): the three-phonon sigma^2 of
    every mode (from its star's representative: |v| is invariant) and the isotope w^2 (from the velocity at each
    point, the representative's rotated). ``primitive``: the primitive cell (its volume and reciprocal cell)."""
    from trajmodes.phonons.anharmonic.spectral import tdep_band_widths
    prim = primitive
    irr = grid.irreducible
    v = np.asarray(velocities, dtype=float)                                              # (n_irr, 3n, 3)
    d = tdep_band_widths(np.asarray(frequencies)[irr])
    s = tdep2023_sigmas(v, d, prim.volume, grid.n_points)[grid.irreducible_of]
    # the operations of the mesh (time reversal included) in Cartesian form, B W B^-1 with W on reduced q and B the
    # reciprocal basis (columns), as trajmodes.phonons.anharmonic.lbte.cartesian_operations
    B = np.asarray(prim.reciprocal_cell, dtype=float).T
    W = grid.basis[None] @ grid.operations @ np.linalg.inv(grid.basis)[None]
    R = B[None] @ W @ np.linalg.inv(B)[None]                                              # (n_ops, 3, 3)
    full = np.zeros((grid.n_points,) + v.shape[1:])
    for o in range(len(R)):                  # v(R q) = R v(q); the little group's images agree (symmetrised velocities)
        full[grid.rotated[o, irr]] = v @ R[o].T
    w = tdep2023_isotope_sigmas(full, grid.microzone(prim.reciprocal_cell), d)
    return s ** 2, w ** 2


def check_occupation_factors(occupation_factors: str, occupation: str) -> str:
    """``occupation_factors``, or a ValueError unless it is one of :data:`OCCUPATION_FACTORS` (off-shell: with
    quantum occupations only)."""
    if occupation_factors not in OCCUPATION_FACTORS:
        raise ValueError(f"occupation_factors must be one of {OCCUPATION_FACTORS}, not {occupation_factors!r}")
    if occupation_factors == "off-shell" and occupation != "quantum":
        raise ValueError("occupation_factors='off-shell' emulates TDEP 2023's Bose-Einstein factors: use it with "
                         "occupation='quantum'")
    return occupation_factors


def frequency_occupations(occupation_factors: str, temperatures, cutoff_frequency: float, nu) -> np.ndarray | None:
    """Bose-Einstein occupations (nt, nw) at ``temperatures`` (nt,) K and frequencies ``nu`` (nw,) THz for the
    off-shell factors of :func:`trajmodes.phonons.anharmonic.selfenergy.imaginary_part` (inf at or below
    ``cutoff_frequency``, THz, where nothing scatters); None with ``occupation_factors="on-shell"``."""
    if occupation_factors == "on-shell":
        return None
    from trajmodes.phonons.harmonic.statistics import occupations
    nu = np.atleast_1d(np.asarray(nu, dtype=float))
    live = nu > cutoff_frequency
    n = occupations(np.where(live, nu, 1.0), temperatures)
    return np.where(live[None], n, np.inf)


def off_shell_scattering_in(strength, deltas, nu, f1, f2, temperatures, cutoff_frequency: float
                            ) -> tuple[np.ndarray, np.ndarray]:
    """The scattering-in of the collision matrix of :mod:`trajmodes.phonons.anharmonic.lbte` with the off-shell factors of
    TDEP 2023: the weight W of each process (n(n' + 1)(n'' + 1) for delta(nu - nu' - nu''), n n'(n'' + 1) for
    delta(nu + nu' - nu''), n n''(n' + 1) for delta(nu - nu' + nu''), occupations at each mode's own frequency)
    divided by sqrt(n(n + 1) m(m + 1)), m the occupation of the partner mode (q' s' or q'' s''): the symmetric form of
    TDEP's iterative scattering-in. Where the frequencies meet it is sqrt(n3 (n3 + 1)) of the third mode, the
    on-shell weight. Written with x = h nu / k_B T: e.g. e^((x' - x) / 2) (n'' + 1) for the decay, partner q' s'.

    Parameters
    ----------
    strength : (T, 3n, 3n, 3n) eV² (N |Phi|^2); deltas : (3, T, 3n, 3n, 3n) 1/THz at the branches of q (nu);
    nu : (3n,) THz at q; f1, f2 : (T, 3n) THz at q' and q''; temperatures : (nt,) K;
    cutoff_frequency : THz, modes at or below it take no part.

    Returns
    -------
    (nt, T, 3n, 3n) twice, in units of ``strength`` times ``deltas``: the sum over s'' with the partner q' s'
    (the triplet's q' in the row's q' place), and the sum over s' with the partner q'' s'' (the triplet's q'' in it).
    """
    from trajmodes.phonons.harmonic.statistics import occupations
    from trajmodes.units import KB_EV, THZ_EV
    T = np.atleast_1d(np.asarray(temperatures, dtype=float))
    nt = len(T)
    hot = T > 0
    kT = KB_EV * np.where(hot, T, 1.0)

    def reduced(f):                                         # h nu / k_B T, (nt,) + f.shape; 0 where f takes no part
        return np.where(f > cutoff_frequency, f, 0.0)[None] * THZ_EV / kT.reshape((nt,) + (1,) * np.ndim(f))
    x0 = reduced(np.asarray(nu, dtype=float))[:, None, :, None, None]                  # (nt, 1, s, 1, 1)
    x1, x2 = reduced(f1)[:, :, None, :, None], reduced(f2)[:, :, None, None, :]        # (nt, T, 1, s', 1), ...
    n1, n2 = occupations(f1, T)[:, :, None, :, None], occupations(f2, T)[:, :, None, None, :]
    d0, d1, d2 = (deltas[k][None] for k in range(3))

    def e(x):
        with np.errstate(over="ignore"):
            return np.exp(np.minimum(x, 700.0))
    a = e((x1 - x0) / 2) * (d0 * (n2 + 1) + d2 * n2) + e(-(x0 + x1) / 2) * d1 * (n2 + 1)   # partner q' s'
    b = e((x2 - x0) / 2) * (d0 * (n1 + 1) + d1 * n1) + e(-(x0 + x2) / 2) * d2 * (n1 + 1)   # partner q'' s''
    live = hot[:, None, None, None, None] & (x0 > 0)
    a = np.where(live & (x1 > 0), a, 0.0) * strength[None]
    b = np.where(live & (x2 > 0), b, 0.0) * strength[None]
    return a.sum(axis=4), b.sum(axis=3)


def isotope_eigenvectors(frequencies, eigenvectors, overlap: str, degeneracy_tol: float) -> np.ndarray:
    """The eigenvectors (N, 3n, 3n) of the mesh for the isotope overlap, from its ``frequencies`` (N, 3n) THz and
    ``eigenvectors``: with ``overlap="tdep"`` in the fixed basis of
    :func:`trajmodes.phonons.harmonic.degeneracy.cartesian_basis` inside every degenerate subspace (within
    ``degeneracy_tol``, THz), so that the widths do not depend on the eigensolver; Tamura's overlap does not depend on
    the basis, and takes the eigenvectors as they are."""
    if overlap != "tdep":
        return eigenvectors
    from trajmodes.phonons.harmonic.degeneracy import cartesian_basis
    return cartesian_basis(eigenvectors, frequencies, tol=degeneracy_tol)
