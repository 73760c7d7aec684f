"""What the thermal conductivity and the Boltzmann solution (:mod:`~trajmodes.phonons.anharmonic.conductivity`,
:mod:`~trajmodes.phonons.anharmonic.lbte`) ask of the three-phonon calculator they are given: :class:`AnharmonicCalculator`,
the part of :class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic` they use.

A typing protocol: those modules annotate with it instead of importing ``Anharmonic``, whose methods call them, so
that no module imports itself through another.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.lattice.grid import Grid
    from trajmodes.phonons.anharmonic.interaction import Interaction
    from trajmodes.phonons.anharmonic.selfenergy import DeltaWeights
    from trajmodes.phonons.anharmonic.transport import ModeTransport, RTAConductivity

__all__ = ["AnharmonicCalculator"]


class AnharmonicCalculator(Protocol):
    """Three-phonon sums on a q-mesh (:class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic`).

    Attributes
    ----------
    force_constants : ForceConstants
        With ``fc3``; their primitive cell.
    grid : Grid
        The q-mesh and its point group.
    interaction : Interaction
        The phonons of the mesh and the interaction strengths.
    deltas : DeltaWeights
        The energy-conservation weights (tetrahedra or Gaussians).
    temperatures : ndarray (nt,)
        K.
    occupation : str
        "quantum" or "classical".
    degeneracy_tol : float
        THz: branches closer than this are one degenerate set.
    sigma_cutoff : float or None
        Gaussian widths beyond which a delta is zero (phono3py's ``--sigma-cutoff``); None: none.
    mass_variances : ndarray or None
        The isotope mass variance of every primitive atom; None without isotope scattering.
    scheduler : optional
        The Dask scheduler of the sums; None: Dask's default.
    """

    force_constants: ForceConstants
    grid: Grid
    interaction: Interaction
    deltas: DeltaWeights
    temperatures: np.ndarray
    occupation: str
    degeneracy_tol: float
    sigma_cutoff: float | None
    mass_variances: np.ndarray | None
    scheduler: Any

    @property
    def frequencies(self) -> np.ndarray:
        """Harmonic frequencies on every grid point, (N, 3n) THz."""

    def isotope_gamma(self, gps) -> np.ndarray:
        """Isotope-scattering Gamma at grid points ``gps``, THz: (nq, 3n), or (nt, nq, 3n) where it depends on the
        temperature (``occupation_factors="off-shell"``)."""

    def linewidths(self, qpoints=None):
        """Three-phonon linewidths and lifetimes (an xarray Dataset) on the irreducible points of the mesh."""

    def transport(self, gps) -> ModeTransport:
        """Mode heat capacities (nt, n, 3n) eV/K and group velocities (n, 3n, 3) THz A at grid points ``gps``
        (``heat_capacity``, ``group_velocity``)."""

    def kappa_rta(self, C, v, tau, gps) -> RTAConductivity:
        """The RTA conductivity (nt, 3, 3) and each mode's share, W/(m K), from one point of every star (``kappa``,
        ``mode_kappa``)."""

    def dataset_coords(self, gps) -> dict:
        """The coordinates of a result Dataset at grid points ``gps``."""

    def dataset_attrs(self) -> dict:
        """The attributes of a result Dataset: the mesh and the settings of the sums."""
