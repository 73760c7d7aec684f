"""The settings of the force-constant fit: the cutoffs (a distance in Angstrom, or every pair / triplet of the
supercell: ``"supercell"``, ``math.inf``, ``None`` for ``cutoff2``) as the basis takes them and as the scores show them,
and :class:`CheckedSettings` (a base of :class:`~trajmodes.forceconstants.fit.EffectiveForceConstants`), which refuses
settings that cannot make a fit, and a fit that would not fit in memory, before any work.
"""
from __future__ import annotations

import math
import os

import numpy as np

from trajmodes.forceconstants.model import ForceConstants
from trajmodes.forceconstants.normal import n_segments

__all__ = ["SUPERCELL", "whole_supercell", "basis_cutoff", "cutoff_length", "CheckedSettings"]

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


class CheckedSettings:
    """The checks of an estimator's settings (``cutoff2``, ``cutoff3``, ``mode``, ``folds``, ...) and of the memory
    its normal equations need (on its ``kernel_``)."""

    def _check_settings(self) -> None:
        """Refuse settings that cannot make a fit, before any work."""
        if self.mode not in ("sequential", "simultaneous"):
            raise ValueError(f"mode must be 'sequential' or 'simultaneous', not {self.mode!r}")
        for name in ("cutoff2", "cutoff3", "cutoff4", "symprec"):
            v = getattr(self, name, None)
            if v is None and name in ("cutoff2", "cutoff3", "cutoff4"):
                continue
            if name == "cutoff4" and whole_supercell(v):
                raise ValueError("cutoff4 must be a distance in Angstrom: every quartet of the supercell would be "
                                 "N^3 x 81 constants per atom")
            if name != "symprec" and whole_supercell(v):
                continue
            if isinstance(v, str):
                raise ValueError(f"{name} must be a positive distance in Angstrom or {SUPERCELL!r}, not {v!r}")
            try:
                ok = math.isfinite(float(v)) and float(v) > 0
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"{name} must be a positive distance in Angstrom, not {v!r}")
        for name in ("folds", "stride", "n_frames", "segments"):
            v = getattr(self, name)
            if v is None and name == "n_frames":
                continue
            if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, not {v!r}")
        if self.cv not in ("blocks", "interleaved"):
            raise ValueError(f"cv must be 'blocks' or 'interleaved', not {self.cv!r}")
        if (self.born is None) != (self.epsilon is None):
            raise ValueError("a polar fit needs both born= (Born effective charges) and epsilon= (the dielectric "
                             "tensor); give both, or neither for a non-polar crystal")
        if self.ewald_lambda is not None:
            try:
                ok = float(self.ewald_lambda) > 0 and np.isfinite(float(self.ewald_lambda))
            except (TypeError, ValueError):
                ok = False
            if not ok:
                raise ValueError(f"ewald_lambda must be a positive number (1/A, with 2 pi), not {self.ewald_lambda!r}")
        if self.fc2 is not None:
            if not isinstance(self.fc2, ForceConstants):
                raise ValueError(f"fc2 must be a ForceConstants to hold fixed, not {type(self.fc2).__name__}")
            if self.cutoff3 is None:
                raise ValueError("with fc2 held fixed only the third order is fitted: give cutoff3")
            if getattr(self, "cutoff4", None) is not None:
                raise ValueError("a held fc2 is for phono3py's separate fc2 and fc3 datasets: fit the fourth order "
                                 "(cutoff4) without fc2=")
        if getattr(self, "cutoff4", None) is not None and self.cutoff3 is None:
            raise ValueError("the fourth order is fitted with the third: give cutoff3 with cutoff4")

    def _check_memory(self, n_runs: int) -> None:
        """Refuse a fit whose normal equations would not fit in memory, before reading any frame."""
        from trajmodes.resources import available_memory
        P = self.kernel_.n_params
        workers = max(1, os.cpu_count() or 1)
        per_task = 8 * (2 * P * P + 3 * P * self.kernel_.block_rows())      # a chunk spans one or two blocks
        n_seg = n_segments(int(self.segments), int(self.folds))
        blocks = n_seg * (int(self.folds) if self.cv == "interleaved" else 1)
        # the tree sum's partial sums, then the blocks grouped by fold and by segment
        need = workers * per_task + 8 * (2 * blocks + int(self.folds) + n_seg + 2) * P * P
        have = available_memory()
        if have is not None and need > 0.8 * have:
            raise MemoryError(f"the fit would need about {need / 2**30:.1f} GiB ({P} parameters: {P} x {P} normal "
                              f"matrices for each of {blocks} blocks of frames, {int(self.folds)} cross-validation "
                              f"folds and {n_seg} time segments, {workers} tasks at a time) but "
                              f"{have / 2**30:.1f} GiB are available: use smaller cutoffs (cutoff2={self.cutoff2}, "
                              f"cutoff3={self.cutoff3}, cutoff4={getattr(self, 'cutoff4', None)}), fewer segments, or a machine with more memory")
