"""The settings of :class:`~trajmodes.forceconstants.fit.EffectiveForceConstants` and their checks: whether they can
make a fit at all (before any work), and whether its normal equations fit in memory (before any frame is read)."""

from __future__ import annotations

import math
import os

import numpy as np

from trajmodes.forceconstants.committee import check_options
from trajmodes.forceconstants.cutoffs import SUPERCELL, whole_supercell
from trajmodes.forceconstants.model import ForceConstants
from trajmodes.forceconstants.normal import n_segments


def check_settings(est) -> None:
    """Refuse settings of the estimator ``est`` that cannot make a fit, before any work.

    Raises
    ------
    ValueError
        Naming the setting, its value and what it must be.
    """
    if est.mode not in ("sequential", "simultaneous"):
        raise ValueError(f"mode must be 'sequential' or 'simultaneous', not {est.mode!r}")
    check_options(est.weights, est.committee)
    for name in ("cutoff2", "cutoff3", "cutoff4", "symprec"):
        v = getattr(est, name, None)
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
        v = getattr(est, name)
        if v is None and name == "n_frames":
            continue
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{name} must be a whole number of at least 1, not {v!r}")
    if est.cv not in ("blocks", "interleaved"):
        raise ValueError(f"cv must be 'blocks' or 'interleaved', not {est.cv!r}")
    if (est.born is None) != (est.epsilon is None):
        raise ValueError("a polar fit needs both born= (Born effective charges) and epsilon= (the dielectric "
                         "tensor); give both, or neither for a non-polar crystal")
    if est.ewald_lambda is not None:
        try:
            ok = float(est.ewald_lambda) > 0 and np.isfinite(float(est.ewald_lambda))
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ValueError(f"ewald_lambda must be a positive number (1/A, with 2 pi), not {est.ewald_lambda!r}")
    if est.fc2 is not None:
        if not isinstance(est.fc2, ForceConstants):
            raise ValueError(f"fc2 must be a ForceConstants to hold fixed, not {type(est.fc2).__name__}")
        if est.cutoff3 is None:
            raise ValueError("with fc2 held fixed only the third order is fitted: give cutoff3")
        if est.cutoff4 is not None:
            raise ValueError("a held fc2 is for phono3py's separate fc2 and fc3 datasets: fit the fourth order "
                             "(cutoff4) without fc2=")
    if est.cutoff4 is not None and est.cutoff3 is None:
        raise ValueError("the fourth order is fitted with the third: give cutoff3 with cutoff4")
    if est.species_resolved:
        extra = [name for name in ("cutoff3", "cutoff4", "fc2", "born") if getattr(est, name, None) is not None]
        if est.constraints:
            extra.append("constraints")
        if extra:
            raise ValueError(f"species_resolved=True fits second-order constants per species pair only: drop "
                             f"{', '.join(extra)} (fit the virtual crystal for those)")
        if whole_supercell(est.cutoff2):
            raise ValueError("species_resolved=True needs a pair cutoff in A (cutoff2), not every pair of the "
                             "supercell")


def check_memory(est) -> None:
    """Refuse a fit whose normal equations would not fit in memory, before reading any frame; first the serial
    work's freed temporaries go back to the system, not held through the pass (10^6 atoms: 0.3 GB)."""
    from trajmodes.resources import available_memory, trim_freed_memory
    trim_freed_memory()
    P = est.kernel_.n_params
    workers = max(1, os.cpu_count() or 1)
    per_task = 8 * (2 * P * P + 3 * P * est.kernel_.block_rows())      # a chunk spans one or two blocks
    n_seg = n_segments(int(est.segments), int(est.folds))
    blocks = n_seg * (int(est.folds) if est.cv == "interleaved" else 1)
    # the tree sum's partial sums, then the blocks grouped by fold and by segment
    need = workers * per_task + 8 * (2 * blocks + int(est.folds) + n_seg + 2) * P * P
    have = available_memory()
    if have is not None and need > 0.8 * have:
        raise MemoryError(f"the fit would need about {need / 2**30:.1f} GiB ({P} parameters: {P} x {P} normal "
                          f"matrices for each of {blocks} blocks of frames, {int(est.folds)} cross-validation "
                          f"folds and {n_seg} time segments, {workers} tasks at a time) but "
                          f"{have / 2**30:.1f} GiB are available: use smaller cutoffs (cutoff2={est.cutoff2}, "
                          f"cutoff3={est.cutoff3}, cutoff4={getattr(est, 'cutoff4', None)}), fewer segments, or a machine with more memory")
