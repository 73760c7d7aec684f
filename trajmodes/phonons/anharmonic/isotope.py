"""Phonon scattering by the random isotope masses of the sites (mass disorder), to lowest order.

A site k whose isotopes i (fractions f_i, masses m_i, mean mbar) are randomly distributed perturbs the harmonic
crystal by the mass differences; to second order (Fermi's golden rule) the mode lambda = (q s) of frequency
nu decays at the rate (Tamura, Phys. Rev. B 27, 858 (1983): his lowest-order rate, written in ordinary frequency)

    Gamma_iso(q s) = pi / (4 N) nu_s(q)^2 sum_{q' s'} delta(nu_s(q) - nu_s'(q'))
                                          sum_k g2_k |sum_a e*_ka(q s) e_ka(q' s')|^2,

with e the eigenvectors of the dynamical matrix (unit columns, rows 3k + a), g2_k = sum_i f_i (1 - m_i / mbar)^2
the mass variance of site k (:func:`trajmodes.lattice.isotopes.mass_variances`), N the number of q' of the mesh
and the delta function in 1/THz. Gamma_iso is, like the three-phonon Gamma, the imaginary part of the
self-energy in THz, the half width of the line: the scattering rate 1/tau = 4 pi Gamma_iso, the full width
2 Gamma_iso. (Tamura's 1/tau = pi/(2N) omega^2 sum g2 |e*.e'|^2 delta(omega - omega') in angular frequency:
omega = 2 pi nu, delta(omega) = delta(nu) / (2 pi) and Gamma = 1 / (4 pi tau) give the line above.) These
are the conventions of phono3py (Togo, Chaput and Tanaka, Phys. Rev. B 91, 094306 (2015)): with Gaussians the
widths agree with its ``Phono3pyIsotope`` to round-off, with tetrahedra too once both take the frequencies of a
star from one point (below).

The delta functions are normalised Gaussians of standard deviation sigma, or linear-tetrahedron weights on
the mesh (:mod:`trajmodes.phonons.harmonic.tetrahedron`): the same weights a q' takes in the density of states at
nu_s(q), from the frequencies of the branch s' at the vertices of the 24 tetrahedra around q' (imaginary
frequencies as they are). With tetrahedra the weights of degenerate branches differ (their neighbours'
frequencies split); as for the three-phonon widths they are averaged over the degenerate sets of q and of
every q' (what phono3py does with ``average_degenerate_weights``). For the weights every point of a star takes
the frequencies of the star's representative (``grid.star_of``), bit for bit. nu_s(q) is then exactly, not to
round-off, the vertex value at every image of q; otherwise it can fall by rounding between two vertex values
that should be equal, into a slab of zero width where the tetrahedron formulas give 0 instead of their limit,
and the widths of about a third of the modes jump by 10-200 % with the last bits of the frequencies (phono3py's
own tetrahedron isotope widths do; with star-equal frequencies they agree with these to 1e-7).

To compare with TDEP's ``thermal_conductivity_2023`` (:mod:`trajmodes.phonons.anharmonic.tdep2023`), the Gaussian can
take the width of the mode scattered into alone, cut at 4 standard deviations (delta weights with
``isotope_variances``), and nu_s(q)^2 can become nu_s(q) nu_s'(q') (n' + 1) / (n + 1), its occupation factors off the
energy shell (``temperatures``), which is nu_s(q)^2 where the two frequencies meet.

Modes at or below the cutoff frequency (the acoustic modes at Gamma, imaginary modes) neither scatter nor are
scattered into, and every width is averaged over the degenerate set of its branch at q.

For one atom per primitive cell, every site with the same g2, and a mesh with the cubic point group, the sum
over the star of q' makes sum_s' e(q's') e(q's')^dagger isotropic, and with Gaussians

    Gamma_iso(nu) = (pi / 12) g2 nu^2 g(nu),     g(nu) = (1/N) sum_{q' s'} delta(nu - nu_s'(q'))

the DOS per cell (integrating to 3): the classic result that isotope scattering follows nu^2 times the DOS.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from trajmodes.lattice.isotopes import mass_variances
from trajmodes.phonons.harmonic.degeneracy import degenerate_average, degenerate_averager
from trajmodes.phonons.harmonic.dos import gaussian
from trajmodes.phonons.harmonic.tetrahedron import tetrahedra, vertex_weights

if TYPE_CHECKING:
    from trajmodes.lattice.grid import Grid
    from trajmodes.phonons.anharmonic.selfenergy import DeltaWeights

__all__ = ["isotope_gamma", "mass_variances", "ISOTOPE_OVERLAPS"]

#: the two mode overlaps of :func:`isotope_gamma`
ISOTOPE_OVERLAPS = ("tamura", "tdep")


def isotope_gamma(frequencies, eigenvectors, mass_variances, grid: Grid, grid_points=None,
                  smearing: float | None = None, reciprocal_cell=None, *, deltas: DeltaWeights | None = None,
                  cutoff_frequency: float = 1e-4, degeneracy_tol: float = 1e-4,
                  block_bytes: int = 2 ** 26, overlap: str = "tamura", temperatures=None) -> np.ndarray:
    """Isotope (mass-variance) scattering Gamma_iso of every branch at grid points of a mesh.

    Parameters
    ----------
    frequencies : (N, 3n) THz
        Harmonic frequencies on every point of the mesh, ascending at each (``Anharmonic.frequencies``,
        ``Phonons.frequencies_and_eigenvectors(grid.qpoints)``).
    eigenvectors : (N, 3n, 3n) complex
        Column s the unit eigenvector of branch s, rows 3k + a (atom k, Cartesian a), on the same points
        (``Anharmonic.interaction.eigenvectors``). The phase convention of the dynamical matrix does not
        matter: only |e*(q).e(q')| per atom enters.
    mass_variances : float or (n,)
        g2 of every atom of the primitive cell, dimensionless
        (:func:`trajmodes.lattice.isotopes.mass_variances` of the species); one number for all.
    grid : Grid
        The mesh the frequencies live on (:class:`trajmodes.lattice.grid.Grid`, numbering of
        :func:`trajmodes.lattice.qpoints.mesh_addresses`): N = ``grid.n_points`` and, for tetrahedra,
        ``grid.mesh``.
    grid_points : int array, optional
        Grid indices of the q at which Gamma_iso is wanted; None: ``grid.irreducible``.
    smearing : float or None
        Gaussian standard deviation of the delta functions (THz); None: the linear tetrahedron method.
    reciprocal_cell : (3, 3) 1/Å, rows, optional
        The primitive reciprocal cell, for the tetrahedra (it fixes the main diagonal they are cut along).
    deltas : DeltaWeights, optional
        Instead of ``smearing`` and ``reciprocal_cell``: take the smearing (fixed or adaptive) and the tetrahedra
        of these three-phonon delta weights (:class:`trajmodes.phonons.anharmonic.selfenergy.DeltaWeights`, e.g.
        ``Anharmonic.deltas``); adaptive Gaussians have the variance of the two modes' summed, or where the weights
        carry ``isotope_variances`` (TDEP 2023, :mod:`trajmodes.phonons.anharmonic.tdep2023`) the variance of the mode
        q' s' scattered into alone; their ``truncate`` cuts each Gaussian at that many standard deviations.
    cutoff_frequency : float
        THz; modes at or below it take no part (their Gamma_iso is 0).
    degeneracy_tol : float
        Branches closer than this (THz) are one degenerate set.
    block_bytes : int
        About the largest temporary array (bytes): the sum over q' runs in blocks of q' (and the grid points in
        groups) that fit.
    overlap : {"tamura", "tdep"}
        The overlap of two modes on atom k: Tamura's |sum_a e*_ka e'_ka|^2 (default), or TDEP's
        [sum_a |e*_ka e'_ka|]^2 (its ``thermal_conductivity``: absolute values per Cartesian component, which depends
        on the eigenvectors chosen inside degenerate subspaces and is never smaller; fix their basis first, e.g.
        with :func:`trajmodes.phonons.harmonic.degeneracy.cartesian_basis`, as
        :class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic` does).
    temperatures : (nt,) K, optional
        The occupation factors off the energy shell of TDEP's ``thermal_conductivity_2023``: nu_s(q)^2 in the sum
        becomes nu_s(q) nu_s'(q') (n' + 1) / (n + 1), Bose-Einstein n at nu_s(q) and n' at nu_s'(q') per
        temperature (the same where the two frequencies meet; it differs where the Gaussians are wide against
        k_B T / h). None (default): nu_s(q)^2, no temperature.

    Returns
    -------
    ndarray (len(grid_points), 3n), or (nt, len(grid_points), 3n) with ``temperatures``
        Gamma_iso in THz: the imaginary part of the isotope self-energy, half width at half maximum (the full
        width is 2 Gamma_iso, the lifetime 1 / (4 pi Gamma_iso) ps).

    Notes
    -----
    Cost: O(len(grid_points) N (3n)^2 n) for the eigenvector overlaps, as batched matrix products (no Python
    loop over q'); with tetrahedra also a sort of the 24 tetrahedra around every point (memory N 3n 24 x 40
    bytes) and a sparse evaluation of their weights.
    """
    f, e, g2, gps = _checked_inputs(frequencies, eigenvectors, mass_variances, grid, grid_points, overlap)
    N, nb = f.shape
    sigma, tet = _delta_method(smearing, reciprocal_cell, deltas, grid)
    T = None if temperatures is None else np.atleast_1d(np.asarray(temperatures, dtype=float))
    scattering = _IsotopeSum(f, e, g2, grid, deltas, sigma, tet, float(cutoff_frequency), degeneracy_tol, T)
    out = np.zeros((len(gps), nb) if T is None else (len(T), len(gps), nb))
    group = max(1, min(len(gps), 1024 // nb))                                        # grid points per pass
    for g0 in range(0, len(gps), group):
        gp = gps[g0:g0 + group]
        out[..., g0:g0 + len(gp), :] = scattering.gamma(gp, block_bytes)
    return degenerate_average(out, f[gps], degeneracy_tol)


def _checked_inputs(frequencies, eigenvectors, mass_variances, grid, grid_points, overlap) -> tuple:
    """The arguments of :func:`isotope_gamma` checked: frequencies (N, 3n) THz, eigenvectors (N, 3n, 3n) (their
    absolute values for TDEP's ``overlap``), g2 (n,) and the grid points wanted."""
    f = np.asarray(frequencies, dtype=float)
    if f.ndim != 2 or f.shape[1] % 3:
        raise ValueError(f"frequencies must be (N, 3n) THz, not of shape {f.shape}")
    N, nb = f.shape
    n = nb // 3
    e = np.asarray(eigenvectors)
    if e.shape != (N, nb, nb):
        raise ValueError(f"eigenvectors must be (N, 3n, 3n) = {(N, nb, nb)} like the frequencies, not {e.shape}")
    if N != grid.n_points:
        raise ValueError(f"{N} frequency rows for a mesh of {grid.n_points} points")
    g2 = np.broadcast_to(np.asarray(mass_variances, dtype=float).reshape(-1), (n,)) \
        if np.size(mass_variances) in (1, n) else None
    if g2 is None:
        raise ValueError(f"mass_variances needs one value per atom ({n}) or one for all, "
                         f"not {np.size(mass_variances)}")
    if (g2 < 0).any() or not np.isfinite(g2).all():
        raise ValueError("mass variances must be finite and non-negative")
    if overlap not in ISOTOPE_OVERLAPS:
        raise ValueError(f"overlap must be one of {ISOTOPE_OVERLAPS}, not {overlap!r}")
    if overlap == "tdep":
        e = np.abs(e)
    gps = grid.irreducible if grid_points is None else np.atleast_1d(np.asarray(grid_points)).reshape(-1)
    if gps.dtype.kind not in "iu" or ((gps < 0) | (gps >= N)).any():
        raise ValueError(f"grid_points must be grid indices in [0, {N})")
    return f, e, g2, gps


class _IsotopeSum:
    """The sum over q' s' of :func:`isotope_gamma`: the q' side, set up once (eigenvectors as (atom, Cartesian,
    q' s'), the modes that scatter, the delta functions' widths or tetrahedra), and Gamma_iso of a group of grid
    points summed over blocks of q'."""

    def __init__(self, f, e, g2, grid, deltas, sigma, tet, cut: float, degeneracy_tol: float, T):
        from trajmodes.phonons.harmonic.statistics import occupations
        N, nb = f.shape
        n = nb // 3
        self.f, self.e, self.g2, self.sigma, self.cut, self.tol, self.T = f, e, g2, sigma, cut, degeneracy_tol, T
        self.var = deltas.variances if deltas is not None and deltas.adaptive else None           # (N, nb) THz^2
        self.partner = getattr(deltas, "isotope_variances", None)      # (N, nb) THz^2: q' s' alone (TDEP 2023)
        self.trunc = getattr(deltas, "truncate", None) if sigma is not None else None
        if T is not None:
            self.occ1 = (occupations(f, T) + 1.0).reshape(len(T), -1) * f.reshape(1, -1)  # (nt, N nb): nu' (n' + 1)
        # q' side, once: eigenvectors as (atom, Cartesian, q' s'), which modes scatter into, tetrahedra, averagers
        self.e1 = np.ascontiguousarray(e.reshape(N, n, 3, nb).transpose(1, 2, 0, 3)).reshape(n, 3, N * nb)
        self.take = (f > cut).reshape(-1)
        self.flat = f.reshape(-1)
        if sigma is None:
            # every point of a star takes the frequencies of its representative, bit for bit: the sampling frequency
            # nu_s(q) then ties exactly, not to round-off, with the vertex values at the images of q, and no
            # tetrahedron falls into the zero-width slab between two vertex values a rounding error apart (where the
            # weight formulas return 0 instead of their limit, so that a width would depend on the last bit of nu)
            self.fs = f[grid.star_of] if hasattr(grid, "star_of") else f
            self.tv, self.tc = _sorted_tetrahedra(self.fs, *tet)
            self.avg1 = degenerate_averager(f, degeneracy_tol)                          # (N, nb, nb)

    def gamma(self, gp, block_bytes: int) -> np.ndarray:
        """Gamma_iso (THz) of every branch at the grid points ``gp``: (G, nb), or (nt, G, nb) with temperatures."""
        from trajmodes.phonons.harmonic.statistics import occupations
        f, T = self.f, self.T
        N, nb = f.shape
        n = nb // 3
        G, P = len(gp), len(gp) * nb                                                 # P points (q, s)
        nu = f[gp].reshape(-1)                                                       # (P,)
        e0h = self.e[gp].conj().reshape(G, n, 3, nb).transpose(1, 0, 3, 2).reshape(n, P, 3)
        avg0 = degenerate_averager(f[gp], self.tol) if self.sigma is None else None   # (G, nb, nb)
        acc = np.zeros(P if T is None else (len(T), P))
        step = max(1, int(block_bytes) // (16 * n * P * nb))                          # q' per block
        for b0 in range(0, N, step):
            b1 = min(N, b0 + step)
            cols = slice(b0 * nb, b1 * nb)
            ov = e0h @ self.e1[:, :, cols]                   # (n, P, B nb); with |e| (TDEP's) sum_a |e*_ka e'_ka|
            A = np.tensordot(self.g2, ov.real ** 2 + ov.imag ** 2, axes=1)           # (P, B nb)
            W = self._weights(gp, nu, b0, b1, avg0)
            if T is None:
                acc += (A * W) @ self.take[cols]
            else:
                AW = A * W
                for k in range(len(T)):
                    acc[k] += (AW * self.occ1[k, None, cols]) @ self.take[cols]
        if T is None:
            gam = np.pi / (4.0 * N) * nu ** 2 * acc
        else:                                                   # nu nu' (n' + 1) / (n + 1)
            gam = np.pi / (4.0 * N) * nu * acc / (occupations(nu, T) + 1.0)
        gam[..., nu <= self.cut] = 0.0
        return gam.reshape(gam.shape[:-1] + (G, nb))

    def _weights(self, gp, nu, b0: int, b1: int, avg0) -> np.ndarray:
        """The delta functions delta(nu_s'(q') - nu_s(q)) (1/THz) of the points (q, s) ``nu`` and the q' of the block
        [b0, b1): (P, B nb)."""
        nb = self.f.shape[1]
        G, P = len(gp), len(nu)
        cols = slice(b0 * nb, b1 * nb)
        if self.partner is not None:             # TDEP 2023: the width of the mode scattered into alone
            s = np.sqrt(self.partner.reshape(-1)[None, cols])
        elif self.var is not None:               # adaptive: the variance of the pair is the two modes' summed
            s = np.sqrt(self.var.reshape(-1)[None, cols] + self.var[gp].reshape(-1)[:, None])
        else:
            s = self.sigma                       # a fixed width, or None: tetrahedra
        if s is not None:
            W = gaussian(self.flat[None, cols] - nu[:, None], s)                     # (P, B nb)
        else:
            W = _tetrahedron_weights(self.tv, self.tc, b0, b1, nb, self.fs[gp].reshape(-1))  # (B, nb, P)
            W = self.avg1[b0:b1] @ W                                                 # average over sets at q'
            W = np.einsum("bxgt,gst->bxgs", W.reshape(b1 - b0, nb, G, nb), avg0,
                          optimize=True)                                             # ... and at q
            W = W.reshape((b1 - b0) * nb, P).T
        if self.trunc is not None:
            W = W * (np.abs(self.flat[None, cols] - nu[:, None]) < self.trunc * s)
        return W


def _delta_method(smearing, reciprocal_cell, deltas, grid):
    """(sigma, None) for Gaussians, (None, (vertices, central)) for tetrahedra."""
    if deltas is not None:
        if deltas.sigma is not None:
            return deltas.sigma, None
        return None, (deltas.vertices, deltas.central)
    if smearing is not None:
        s = float(smearing)
        if not s > 0:
            raise ValueError(f"the smearing width must be a positive frequency (THz), not {smearing}")
        return s, None
    if reciprocal_cell is None:
        raise ValueError("the tetrahedron method (smearing=None) needs the reciprocal cell (reciprocal_cell=)")
    return None, tetrahedra(grid.mesh, reciprocal_cell)


def _sorted_tetrahedra(f: np.ndarray, vertices: np.ndarray, central: np.ndarray):
    """Vertex frequencies of the 24 tetrahedra around every (q', s'), sorted, rows (q' nb + s') 24 + t, and the
    sorted position of the central vertex."""
    N, nb = f.shape
    v = f[vertices].transpose(0, 3, 1, 2).reshape(-1, 4)                            # (N nb 24, 4)
    order = np.argsort(v, axis=-1, kind="stable")
    v = np.take_along_axis(v, order, axis=-1)
    cs = np.argmax(order == np.tile(np.asarray(central), N * nb)[:, None], axis=-1)
    return v, cs


def _tetrahedron_weights(tv, tc, b0: int, b1: int, nb: int, nu: np.ndarray, pairs: int = 2 ** 19) -> np.ndarray:
    """Tetrahedron weights (1/THz) of the modes of q' in [b0, b1) in delta(nu_p - nu'), (b1 - b0, nb, P): only
    the (tetrahedron, point) pairs with the point inside the tetrahedron's span are evaluated, about ``pairs`` at
    a time."""
    rows = slice(b0 * nb * 24, b1 * nb * 24)
    v, cs = tv[rows], tc[rows]
    order = np.argsort(nu, kind="stable")
    sp = nu[order]
    P = len(nu)
    lo = np.searchsorted(sp, v[:, 0], side="left")                                  # first point >= v0
    cnt = np.searchsorted(sp, v[:, 3], side="left") - lo                             # points in [v0, v3)
    ends = np.cumsum(cnt)
    W = np.zeros((b1 - b0) * nb * P)
    r0 = 0
    while r0 < len(v):                                                               # rows whose pairs fit
        start = ends[r0] - cnt[r0]
        r1 = max(r0 + 1, int(np.searchsorted(ends, start + pairs, side="right")))
        c = cnt[r0:r1]
        k = np.repeat(np.arange(r0, r1), c)
        p = lo[k] + np.arange(len(k)) - np.repeat(np.cumsum(c) - c, c)
        if len(k):
            w = vertex_weights(sp[p], v[k], cs[k])
            W += np.bincount((k // 24) * P + order[p], weights=w, minlength=len(W))
        r0 = r1
    return W.reshape(b1 - b0, nb, P) / 6.0
