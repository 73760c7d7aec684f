"""The coherences' (off-diagonal, wave-like) contribution to the lattice thermal conductivity: the Wigner transport
equation in the relaxation-time approximation.

M. Simoncelli, N. Marzari and F. Mauri, Nat. Phys. 15, 809 (2019) (and Phys. Rev. X 12, 041011 (2022)) write the
conductivity as kappa = kappa_P + kappa_C: the populations' term, Peierls' particle-like conduction (the RTA of
:func:`trajmodes.phonons.anharmonic.conductivity.kappa_rta`), and the coherences' term, in which two branches s, s' at
one q conduct heat together (tunnelling between close branches, the Allen-Feldman mechanism of glasses). Per pair, with
omega = 2 pi nu and Gamma the half widths (angular),

    kappa^ab_ss'(q) = C_ss' Re(V^a_ss' V^b_s's) (Gamma_s + Gamma_s') / ((omega_s - omega_s')^2 + (Gamma_s + Gamma_s')^2)

    kappa^ab = 1 / (V N_q) sum_q sum_ss' kappa^ab_ss'(q),

V^a_ss' the velocity operator (:func:`trajmodes.phonons.harmonic.velocities.velocity_operator`) and C_ss' the heat
capacity of the pair (:func:`trajmodes.phonons.harmonic.statistics.heat_capacity_matrix`). Simoncelli's is
C_ss' = (omega_s + omega_s') / 4 (C_s / omega_s + C_s' / omega_s') (``heat_capacity="smm19"``, the default): the
paper's (omega_s + omega_s') / 2 [C_s / omega_s + C_s' / omega_s'] with its Lorentzian in full widths,
(Gamma_s + Gamma_s') / (4 (omega_s - omega_s')^2 + (Gamma_s + Gamma_s')^2), which is half the one above. Its
diagonal s = s' is C_s v_s v_s / (2 Gamma_s) = C_s v_s v_s tau_s, the RTA (tau = 1 / (2 Gamma) = 1 / (2 pi FWHM)).
In ordinary frequencies (THz) the Lorentzian is (1 / 2 pi) (g_s + g_s') / ((nu_s - nu_s')^2 + (g_s + g_s')^2), g
the half widths in THz as :meth:`trajmodes.phonons.anharmonic.anharmonic.Anharmonic.linewidths` gives them (``gamma``).

Which pairs are populations and which coherences: the pairs of one degenerate set (frequencies within
``degeneracy_tol``, s = s' included) are populations (``degenerate_pairs="populations"``, the default), as in
Simoncelli's implementation (phono3py's ``conductivity_type="wigner"`` up to its 3.x releases, since then the
phono3py-wte plugin: pairs closer than 1e-4 THz go to kappa_P): kappa_P and kappa_C are then each independent of the
eigenvectors chosen inside degenerate subspaces (within a set only traces over the subspace enter). This kappa_P is
not quite the RTA of :func:`trajmodes.phonons.anharmonic.conductivity.kappa_rta`, which takes one velocity per mode
(symmetrised over the little group of q): the velocity operator's elements between the modes of one set add to it
(phono3py's Si-PBEsol example, 5^3, 300 K: 65.628 against 65.395 W/(m K)). ``degenerate_pairs="coherences"`` counts only
s = s' as populations, in the basis of :func:`trajmodes.phonons.harmonic.velocities.velocity_operator` (dD/dq diagonal
along ``direction`` inside each subspace): kappa_C then keeps the degenerate pairs' 1 / Gamma terms. kappa_P + kappa_C
is the same for both.

The velocity operator is Simoncelli's, d sqrt(D) / dq (``velocity="simoncelli"``), or the group-velocity matrix of
Allen and Feldman (``velocity="matrix"``) that phono3py's built-in inter-band variants take; they differ off the
diagonal by 2 sqrt(nu_s nu_s') / (nu_s + nu_s').

Measured against phono3py on its Si-PBEsol example (fixed Gaussian 0.1 THz, 5^3 and 7^3 meshes, 300 and 800 K, from
the same half widths): the defaults give Simoncelli's kappa_P and kappa_C as phono3py 3.19.4 computes them to 1.1e-6
(the codes' physical constants); ``velocity="matrix", degenerate_pairs="coherences"`` with each ``heat_capacity``
gives phono3py 4.10's inter-band conductivity of ``transport_type="SMM19"``, ``"NJC23"``, ``"IBDB19"`` to 1.2e-6.
Its intra-band part is its standard RTA (one symmetrised velocity per mode), so its total is neither setting's
kappa_P + kappa_C (5^3, 300 K: 65.578 against 65.694 W/(m K)).

As in the RTA, each irreducible q stands for its star: the tensor of its pairs is averaged over the point group and
weighted by the star's size (:func:`trajmodes.phonons.anharmonic.conductivity.star_average`).

Units: frequencies and half widths THz, velocities THz Å (100 m/s), heat capacities eV/K per mode, V the
primitive-cell volume Å³; kappa W/(m K).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trajmodes.lattice.qpoints import first_zone
from trajmodes.phonons.anharmonic.conductivity import KAPPA_UNIT, star_average
from trajmodes.phonons.anharmonic.transport import ThreePhononSums
from trajmodes.phonons.harmonic.degeneracy import degenerate_average, degenerate_labels
from trajmodes.phonons.harmonic.statistics import HEAT_CAPACITY_MATRICES, heat_capacity_matrix
from trajmodes.phonons.harmonic.velocities import VELOCITY_OPERATORS, velocity_operator

__all__ = ["WignerConductivity", "wigner_kappa", "wigner_conductivity", "kappa_coherence", "DEGENERATE_PAIRS"]

#: where the pairs of branches of one degenerate set go (:func:`wigner_kappa`)
DEGENERATE_PAIRS = ("populations", "coherences")


@dataclass(frozen=True)
class WignerConductivity:
    """The conductivity of the Wigner transport equation in the RTA (:func:`wigner_conductivity`).

    Attributes
    ----------
    kappa_c, kappa_p : ndarray (nt, 3, 3)
        The coherences' and the populations' conductivity, W/(m K).
    mode_kappa_c, mode_kappa_p : ndarray (nt, nq, nb, 3, 3)
        Each q's and branch's share, W/(m K) (the star's weight included): branch s carries the pairs (s, s') of its
        row; kappa is their sum.
    grid_points : ndarray (nq,)
        The grid points (one of every star).
    """

    kappa_c: np.ndarray
    kappa_p: np.ndarray
    mode_kappa_c: np.ndarray
    mode_kappa_p: np.ndarray
    grid_points: np.ndarray

    @property
    def kappa(self) -> np.ndarray:
        """kappa_p + kappa_c, (nt, 3, 3) W/(m K)."""
        return self.kappa_p + self.kappa_c


def wigner_kappa(frequencies, velocity_operators, heat_capacity_matrices, gamma, weights, volume: float,
                 rotations=None, degeneracy_tol: float = 1e-4, degenerate_pairs: str = "populations",
                 chunk: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The populations' and coherences' conductivity per q and branch from the velocity operator and the half widths.

    Parameters
    ----------
    frequencies : (nq, nb) THz
    velocity_operators : (nq, 3, nb, nb) complex, THz Å
    (:func:`trajmodes.phonons.harmonic.velocities.velocity_operator`)
    heat_capacity_matrices : (nt, nq, nb, nb) eV/K (:func:`trajmodes.phonons.harmonic.statistics.heat_capacity_matrix`)
    gamma : (nt, nq, nb) THz
        Half widths (the imaginary part of the self-energy); >= 0. A pair with Gamma_s + Gamma_s' = 0 contributes
        nothing.
    weights : (nq,)
        How many q-points of the mesh every q stands for; the sum is divided by their total.
    volume : float
        Primitive-cell volume, Å³.
    rotations : (nr, 3, 3), optional
        Cartesian point group: each q's tensor is averaged over it
        (:func:`trajmodes.phonons.anharmonic.conductivity.star_average`).
    degeneracy_tol : float
        THz: branches within it form one degenerate set
        (:func:`trajmodes.phonons.harmonic.degeneracy.degenerate_labels`).
    degenerate_pairs : {"populations", "coherences"}
        Where the pairs s != s' of one degenerate set go (see :mod:`trajmodes.phonons.anharmonic.coherence`).
    chunk : int
        q-points per block (bounds the temporaries, (nt, chunk, nb, nb, 3, 3) doubles).

    Returns
    -------
    mode_kappa_p, mode_kappa_c : (nt, nq, nb, 3, 3) W/(m K), branch s carrying the row of pairs (s, s'); the
    conductivities are their sums over q and branch.
    """
    if degenerate_pairs not in DEGENERATE_PAIRS:
        raise ValueError(f"degenerate_pairs must be one of {DEGENERATE_PAIRS}, not {degenerate_pairs!r}")
    f = np.asarray(frequencies, dtype=float)
    V = np.asarray(velocity_operators)
    Cm = np.asarray(heat_capacity_matrices, dtype=float)
    g = np.asarray(gamma, dtype=float)
    w = np.asarray(weights, dtype=float)
    nq, nb = f.shape
    nt = g.shape[0]
    if V.shape != (nq, 3, nb, nb) or Cm.shape != (nt, nq, nb, nb) or g.shape != (nt, nq, nb) or w.shape != (nq,):
        raise ValueError(f"shapes do not match: frequencies {f.shape}, velocity operators {V.shape} (nq, 3, nb, nb), "
                         f"heat capacities {Cm.shape} (nt, nq, nb, nb), gamma {g.shape} (nt, nq, nb), "
                         f"weights {w.shape} (nq,)")
    if not np.isfinite(g).all() or (g < 0).any():
        raise ValueError("the half widths gamma must be finite and >= 0 (THz)")
    lab = degenerate_labels(f, degeneracy_tol)
    same = lab[:, :, None] == lab[:, None, :] if degenerate_pairs == "populations" else \
        np.broadcast_to(np.eye(nb, dtype=bool), (nq, nb, nb))
    scale = KAPPA_UNIT / (w.sum() * volume) / (2 * np.pi)       # the Lorentzian in THz -> angular: 1 / (2 pi)
    mode_p = np.empty((nt, nq, nb, 3, 3))
    mode_c = np.empty((nt, nq, nb, 3, 3))
    for s in range(0, nq, chunk):
        b = slice(s, s + chunk)
        Vb = V[b]
        # Re(V^a_ss' V^b_s's) = Re(V^a_ss' conj(V^b_ss')), V Hermitian: (m, nb, nb, 3, 3), symmetric in a, b
        vv = np.einsum("qasu,qbsu->qsuab", Vb, Vb.conj(), optimize=True).real
        gs = g[:, b, :, None] + g[:, b, None, :]                                       # (nt, m, nb, nb)
        df = f[b, :, None] - f[b, None, :]
        with np.errstate(divide="ignore", invalid="ignore"):
            lor = gs / (df[None] ** 2 + gs ** 2)
        K = np.where(np.isfinite(lor), lor, 0.0) * Cm[:, b] * (w[b, None, None] * scale)[None]
        sb = same[b][None]
        for out, mask in ((mode_p, sb), (mode_c, ~sb)):
            m = np.einsum("kqsu,qsuab->kqsab", np.where(mask, K, 0.0), vv, optimize=True)
            out[:, b] = m if rotations is None else star_average(m, rotations)
    return mode_p, mode_c


def wigner_conductivity(sums: ThreePhononSums, gamma, grid_points=None, *, velocity: str = "simoncelli",
                        heat_capacity: str = "smm19", degenerate_pairs: str = "populations",
                        direction=(1.0, 2.0, 3.0)) -> WignerConductivity:
    """Populations' and coherences' thermal conductivity (Wigner transport equation, RTA) on the mesh of ``sums``
    from given half widths. :meth:`Anharmonic.wigner_conductivity
    <trajmodes.phonons.anharmonic.anharmonic.Anharmonic.wigner_conductivity>` passes its own.

    Parameters
    ----------
    sums : ThreePhononSums
        What the sums over the mesh take (:meth:`Anharmonic.three_phonon_sums
        <trajmodes.phonons.anharmonic.anharmonic.Anharmonic.three_phonon_sums>`); read here: the harmonic phonons of
        ``sums.interaction`` (frequencies, eigenvectors, dD/dq) and its ``cutoff_frequency`` (modes at or below it
        take no part), the mesh ``grid``, ``temperatures``, ``occupation`` (quantum or classical heat capacities),
        ``degeneracy_tol``, the ``primitive`` cell's volume and reciprocal cell and the ``point_group``.
    gamma : array_like (nt, nq, 3n)
        Half widths Gamma in THz (the imaginary part of the self-energy: ``an.linewidths()["gamma"].values``, isotope
        and four-phonon scattering included when asked for there) at ``grid_points``, in the order of
        ``sums.temperatures``. Averaged here over every degenerate set (as :meth:`Anharmonic.linewidths` already
        gives them), so that the result does not depend on the eigenvector basis.
    grid_points : array_like of int (nq,), optional
        One grid point of every star of the mesh (default: the irreducible points, ``sums.grid.irreducible``).
    velocity : {"simoncelli", "matrix"}
        The velocity operator (:func:`trajmodes.phonons.harmonic.velocities.velocity_operator`): Simoncelli's d
        sqrt(D)/dq (default) or the group-velocity matrix of phono3py's built-in variants.
    heat_capacity : {"smm19", "njc23", "ibdb19"}
        The pair heat capacity (:func:`trajmodes.phonons.harmonic.statistics.heat_capacity_matrix`): Simoncelli, Marzari
        and Mauri 2019 (default).
    degenerate_pairs : {"populations", "coherences"}
        Pairs of one degenerate set in kappa_P (default, Simoncelli's) or kappa_C (phono3py's built-in variants).
    direction : (3,) Cartesian
        Fixes the basis inside degenerate subspaces (dD/dq diagonal along it; phonopy's (1, 2, 3)); matters only with
        ``degenerate_pairs="coherences"``.

    Returns
    -------
    WignerConductivity
    """
    if velocity not in VELOCITY_OPERATORS:
        raise ValueError(f"velocity must be one of {VELOCITY_OPERATORS}, not {velocity!r}")
    if heat_capacity not in HEAT_CAPACITY_MATRICES:
        raise ValueError(f"heat_capacity must be one of {HEAT_CAPACITY_MATRICES}, not {heat_capacity!r}")
    grid, phonons, tol = sums.grid, sums.interaction.phonons, sums.degeneracy_tol
    gps = grid.irreducible.copy() if grid_points is None else np.asarray(grid_points).reshape(-1)
    if gps.dtype.kind not in "iu" or ((gps < 0) | (gps >= grid.n_points)).any():
        raise ValueError(f"grid_points must be grid indices in [0, {grid.n_points})")
    if not np.array_equal(np.sort(grid.star_of[gps]), grid.irreducible):
        raise ValueError("the conductivity needs one grid point of every star of the mesh (its irreducible points)")
    nt, nb = len(sums.temperatures), phonons.n_branches
    g = np.asarray(gamma, dtype=float)
    if g.shape != (nt, len(gps), nb):
        raise ValueError(f"gamma must have shape (temperatures, q-points, branches) = {(nt, len(gps), nb)}, "
                         f"not {g.shape}")
    prim = sums.primitive
    q = first_zone(grid.qpoints[gps], prim.reciprocal_cell)
    f, e = phonons.frequencies_and_eigenvectors(q)
    dD = phonons.dynamical_matrix_derivative(q)
    cut = sums.interaction.cutoff_frequency
    V = velocity_operator(f, e, dD, direction, tol, cut, velocity)
    g = degenerate_average(g, f, tol)
    Cm = heat_capacity_matrix(f, sums.temperatures, sums.occupation, cut, heat_capacity)
    mode_p, mode_c = wigner_kappa(f, V, Cm, g, grid.weights[grid.irreducible_of[gps]], prim.volume,
                                  sums.point_group, tol, degenerate_pairs)
    return WignerConductivity(mode_c.sum(axis=(1, 2)), mode_p.sum(axis=(1, 2)), mode_c, mode_p, gps)


def kappa_coherence(sums: ThreePhononSums, gamma, grid_points=None, **options) -> np.ndarray:
    """The coherences' thermal conductivity kappa_C, (nt, 3, 3) W/(m K): :func:`wigner_conductivity` (same
    parameters and ``options``) without the rest.

    Examples
    --------
    >>> an = Anharmonic(fc, 11, [300.0], smearing=0.1)                                       # doctest: +SKIP
    >>> kappa_c = kappa_coherence(an.three_phonon_sums(), an.linewidths()["gamma"].values)   # doctest: +SKIP
    """
    return wigner_conductivity(sums, gamma, grid_points, **options).kappa_c
