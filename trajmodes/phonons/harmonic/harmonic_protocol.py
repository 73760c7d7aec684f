"""What the band structure, the DOS and the thermodynamics (:mod:`~trajmodes.phonons.harmonic.bands`,
:mod:`~trajmodes.phonons.harmonic.dos`, :mod:`~trajmodes.phonons.harmonic.thermal`) ask of the phonons they are given:
:class:`HarmonicCalculator`, the part of :class:`~trajmodes.phonons.harmonic.phonons.Phonons` they use.

A typing protocol: those modules annotate with it instead of importing ``Phonons``, whose methods call them, so
that no module imports itself through another.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np

if TYPE_CHECKING:
    from trajmodes.forceconstants.model import ForceConstants

__all__ = ["HarmonicCalculator"]


class HarmonicCalculator(Protocol):
    """The harmonic phonons of force constants at any q (:class:`~trajmodes.phonons.harmonic.phonons.Phonons`).

    Attributes
    ----------
    force_constants : ForceConstants
        The constants, with their primitive cell.
    nac : str or None
        The non-analytic correction ("gonze", "wang"), None without one.
    """

    force_constants: ForceConstants
    nac: str | None

    @property
    def n_branches(self) -> int:
        """3 n, n the atoms of the primitive cell."""

    def frequencies(self, qpoints, q_direction=None) -> np.ndarray:
        """Frequencies (nq, 3n) THz at reduced ``qpoints``, ascending, imaginary negative; at Gamma with a
        non-analytic correction, the limit along ``q_direction``."""

    def group_velocities(self, qpoints) -> np.ndarray:
        """Group velocities (nq, 3n, 3) THz A at reduced ``qpoints``."""

    def mesh(self, mesh, projections: bool = False):
        """The phonons of a Gamma-centred mesh: ``qpoints``, ``frequencies`` (THz) and, with ``projections``, the
        weight of every primitive atom in every mode (:class:`~trajmodes.phonons.harmonic.phonons.MeshFrequencies`)."""
