"""The settings and the small results of the thermal-transport sums: what the three-phonon sums of the conductivity
and the Boltzmann solution take (:class:`ThreePhononSums`), and what they give, of
:class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic` (the mode heat capacities and group velocities the
conductivity takes, and its relaxation-time approximation) and of the direct Boltzmann solution
(:mod:`~trajmodes.phonons.anharmonic.lbte`: a row of the collision matrix, its solution, the conductivity).
Frozen dataclasses, in a module of their own so that the facade and the workers it calls
(:mod:`~trajmodes.phonons.anharmonic.conductivity`, :mod:`~trajmodes.phonons.anharmonic.lbte`) all name them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from trajmodes.lattice.crystal import Crystal
    from trajmodes.lattice.grid import Grid
    from trajmodes.phonons.anharmonic.interaction import Interaction
    from trajmodes.phonons.anharmonic.selfenergy import DeltaWeights

__all__ = ["ThreePhononSums", "ModeTransport", "TransportVelocities", "RTAConductivity", "CollisionRow",
           "LBTESolution", "LBTEConductivity", "TripletMap"]


@dataclass(frozen=True)
class ThreePhononSums:
    """What the three-phonon sums over a q-mesh take: the phonons and strengths, the mesh, the energy-conservation
    weights and the settings (:meth:`Anharmonic.three_phonon_sums
    <trajmodes.phonons.anharmonic.anharmonic.Anharmonic.three_phonon_sums>` builds it).

    Attributes
    ----------
    interaction : Interaction
        The frequencies (THz) and eigenvectors of every point of the mesh and the interaction strengths.
    grid : Grid
        The q-mesh and its point group.
    deltas : DeltaWeights
        The energy-conservation weights (tetrahedra or Gaussians).
    temperatures : ndarray (nt,)
        The temperatures at which the occupations and the conductivity are evaluated, K.
    occupation : str
        "quantum" or "classical".
    occupation_factors : str
        "on-shell", or TDEP 2023's "off-shell" (:mod:`trajmodes.phonons.anharmonic.tdep2023`).
    degeneracy_tol : float
        THz: branches closer than this are one degenerate set.
    sigma_cutoff : float or None
        Gaussian widths beyond which a delta is zero (phono3py's ``--sigma-cutoff``); None: none.
    primitive : Crystal
        The primitive cell (its volume, Å³, and reciprocal cell).
    point_group : ndarray (n_ops, 3, 3)
        The crystal's point group as Cartesian rotations, each once (the average over the star of a q).
    """

    interaction: Interaction
    grid: Grid
    deltas: DeltaWeights
    temperatures: np.ndarray
    occupation: str
    occupation_factors: str
    degeneracy_tol: float
    sigma_cutoff: float | None
    primitive: Crystal
    point_group: np.ndarray


@dataclass(frozen=True)
class ModeTransport:
    """Mode heat capacities and group velocities at grid points, as the conductivity takes them
    (:meth:`Anharmonic.transport <trajmodes.phonons.anharmonic.anharmonic.Anharmonic.transport>`).

    Attributes
    ----------
    heat_capacity : ndarray (n_temperatures, n_q, 3n)
        Heat capacity of every mode, eV/K (quantum or classical, as the occupations; zero at or below the cutoff
        frequency).
    group_velocity : ndarray (n_q, 3n, 3)
        Group velocities, THz Å (= 100 m/s), averaged over the little group of each q
        (:func:`trajmodes.phonons.anharmonic.conductivity.kappa_velocities`).
    """

    heat_capacity: np.ndarray
    group_velocity: np.ndarray


@dataclass(frozen=True)
class TransportVelocities:
    """Group velocities at grid points as the conductivity takes them, and the cutoff frequency they were computed
    with (:meth:`Anharmonic.transport_velocities
    <trajmodes.phonons.anharmonic.anharmonic.Anharmonic.transport_velocities>`).

    Attributes
    ----------
    group_velocity : ndarray (n_q, 3n, 3)
        Group velocities, THz Å (= 100 m/s) (:func:`trajmodes.phonons.anharmonic.conductivity.kappa_velocities`).
    cutoff_frequency : float
        THz: modes at or below it take no part.
    """

    group_velocity: np.ndarray
    cutoff_frequency: float


@dataclass(frozen=True)
class RTAConductivity:
    """The thermal conductivity in the relaxation-time approximation and each mode's share
    (:meth:`Anharmonic.kappa_rta <trajmodes.phonons.anharmonic.anharmonic.Anharmonic.kappa_rta>`,
    :func:`trajmodes.phonons.anharmonic.conductivity.kappa_rta`).

    Attributes
    ----------
    kappa : ndarray (n_temperatures, 3, 3)
        The conductivity tensor, W/(m K).
    mode_kappa : ndarray (n_temperatures, n_q, 3n, 3, 3)
        Each mode's share, W/(m K) (the star of an irreducible point included); ``kappa`` is their sum.
    """

    kappa: np.ndarray
    mode_kappa: np.ndarray


@dataclass(frozen=True)
class CollisionRow:
    """The modes of one grid point in the collision matrix (:func:`trajmodes.phonons.anharmonic.lbte.collision_row`).

    Attributes
    ----------
    gamma : ndarray (n_temperatures, 3n)
        Gamma, the imaginary part of the self-energy (half width), THz, averaged over degenerate branches as
        :meth:`Anharmonic.self_energy <trajmodes.phonons.anharmonic.anharmonic.Anharmonic.self_energy>` gives it.
    row : ndarray (n_temperatures, 3n, N, 3n)
        The scattering-in term of (q s) from (q' s') for every grid point q' of the mesh, THz (without the diagonal
        Gamma); zeros without the scattering-in.
    """

    gamma: np.ndarray
    row: np.ndarray


@dataclass(frozen=True)
class LBTESolution:
    """The conductivity from a collision matrix (:func:`trajmodes.phonons.anharmonic.lbte.solve_lbte`).

    Attributes
    ----------
    kappa : ndarray (n_temperatures, 3, 3)
        The thermal conductivity tensor at each temperature, W/(m K).
    mode_kappa : ndarray (n_temperatures, n_q, 3n, 3, 3)
        Each mode's share, W/(m K) (the star of an irreducible point included); ``kappa`` is their sum.
    eigenvalues : ndarray (n_temperatures, M)
        The eigenvalues of the collision matrix, THz, ascending (zeros at a temperature where nothing carries heat).
    n_dropped : ndarray of int (n_temperatures,)
        How many eigenvalues were left out of the pseudo-inverse.
    """

    kappa: np.ndarray
    mode_kappa: np.ndarray
    eigenvalues: np.ndarray
    n_dropped: np.ndarray


@dataclass(frozen=True)
class LBTEConductivity:
    """The LBTE thermal conductivity with the RTA alongside, on the irreducible points of the mesh
    (:func:`trajmodes.phonons.anharmonic.lbte.lbte_conductivity`; the reducible form's modes summed over each star onto
    its irreducible point).

    Attributes
    ----------
    kappa : ndarray (n_temperatures, 3, 3)
        The LBTE thermal conductivity tensor at each temperature, W/(m K).
    mode_kappa : ndarray (n_temperatures, n_irr, 3n, 3, 3)
        Each mode's share, W/(m K); ``kappa`` is their sum.
    kappa_rta, mode_kappa_rta : ndarray
        The same in the relaxation-time approximation from the same Gamma, W/(m K).
    gamma : ndarray (n_temperatures, n_irr, 3n)
        Gamma (half width), THz, isotope and four-phonon scattering included.
    gamma_isotope : ndarray (n_irr, 3n), (n_temperatures, n_irr, 3n) with off-shell factors, or None
        Its isotope part, THz; None without isotopes.
    gamma_four_phonon : ndarray (n_temperatures, n_irr, 3n) or None
        Its four-phonon part, THz; None without it.
    heat_capacity : ndarray (n_temperatures, n_irr, 3n)
        Mode heat capacities, eV/K.
    group_velocity : ndarray (n_irr, 3n, 3)
        THz Å (= 100 m/s).
    grid_points : ndarray of int (n_irr,)
        The irreducible grid points.
    eigenvalues : ndarray (n_temperatures, M)
        The eigenvalues of the collision matrix, THz, ascending.
    n_dropped : ndarray of int (n_temperatures,)
        How many eigenvalues were left out of the pseudo-inverse.
    """

    kappa: np.ndarray
    mode_kappa: np.ndarray
    kappa_rta: np.ndarray
    mode_kappa_rta: np.ndarray
    gamma: np.ndarray
    gamma_isotope: np.ndarray | None
    gamma_four_phonon: np.ndarray | None
    heat_capacity: np.ndarray
    group_velocity: np.ndarray
    grid_points: np.ndarray
    eigenvalues: np.ndarray
    n_dropped: np.ndarray


@dataclass(frozen=True)
class TripletMap:
    """For every q' of the mesh, the triplet (reduced at q) that stands for (q, q', -q - q')
    (:func:`trajmodes.phonons.anharmonic.lbte.triplet_map`).

    Attributes
    ----------
    index : ndarray of int (N,)
        Position in the triplets of the one whose q' (``swapped`` False) or q'' (``swapped`` True) is the image of
        this q' under an operation of the little group of q.
    swapped : ndarray of bool (N,)
        True where the q' of the mesh is the q'' of its triplet (the triplet stands for it with q' and q''
        exchanged).
    """

    index: np.ndarray
    swapped: np.ndarray
