"""The cutoffs of the force-constant fit (a distance in Angstrom, or every pair / triplet of the supercell:
``"supercell"``, ``math.inf``, ``None`` for ``cutoff2``) as the basis takes them and as the scores show them.
"""
from __future__ import annotations

import numpy as np


__all__ = ["SUPERCELL", "whole_supercell", "basis_cutoff", "cutoff_length"]

#: the cutoff that asks for every pair / triplet of the supercell (as ``None`` for ``cutoff2``, ``math.inf``)
SUPERCELL = "supercell"


def whole_supercell(cutoff) -> bool:
    """Whether a cutoff setting asks for every cluster of the supercell ("supercell" or infinity)."""
    if isinstance(cutoff, str):
        return cutoff == SUPERCELL
    try:
        return float(cutoff) == np.inf
    except (TypeError, ValueError):
        return False


def basis_cutoff(cutoff):
    """The cutoff :func:`~trajmodes.forceconstants.clusters.build_basis` takes: None for the whole supercell."""
    return None if cutoff is None or whole_supercell(cutoff) else float(cutoff)


def cutoff_length(cutoff) -> float:
    """A cutoff as the scores' attribute: Angstrom, infinity for the whole supercell."""
    return np.inf if cutoff is None or whole_supercell(cutoff) else float(cutoff)
