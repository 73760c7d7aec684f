"""Error bars of fitted force constants: the block bootstrap of the normal equations.

MD frames are correlated in time, so resampling single frames would understate the error. The block bootstrap
(H. R. Kuensch, Ann. Statist. 17, 1217 (1989); E. Carlstein, Ann. Statist. 14, 1171 (1986)) resamples contiguous
time segments instead, each longer than the correlation time. A least-squares fit depends on the data only through
its normal equations, and those of a union of segments are the sums of the segments' own, so a resample is a
weighted sum of the stored per-segment A'A and A'f (:class:`~trajmodes.forceconstants.design.NormalBlocks`) and
one solve: no second pass over the frames, whatever their number.

With B segments the bootstrap variance of a mean is (B - 1)/B times the unbiased one; :func:`bootstrap_std`
corrects for it. Segments shorter than the correlation time make the error bars too small; doubling the segment
length (pairing neighbours) then raises them, which :func:`blocking_ratio` measures (H. Flyvbjerg and
H. G. Petersen, J. Chem. Phys. 91, 461 (1989)).
"""
from __future__ import annotations

import warnings

import numpy as np

from trajmodes.forceconstants.design import NormalBlocks
from trajmodes.forceconstants.solve import fit_params

__all__ = ["resample_counts", "resampled", "bootstrap_params", "bootstrap_std", "blocking_ratio",
           "BLOCKING_WARN"]

#: ratio of the error bars from segments twice as long to those of the segments, above which they are flagged
BLOCKING_WARN = 1.3


def resample_counts(n_units: int, n_resamples: int, seed: int | None = 0) -> np.ndarray:
    """How often each of ``n_units`` segments enters each resample: (n_resamples, n_units) ints summing to
    ``n_units`` per row (drawing with replacement)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=int(n_resamples))


def resampled(blocks: NormalBlocks, counts: np.ndarray) -> NormalBlocks:
    """The summed normal equations of every resample: one block per row of ``counts``."""
    c = np.asarray(counts, float)

    def weighted(name):
        x = getattr(blocks, name)
        s = np.tensordot(c, x, axes=1)
        return np.rint(s).astype(np.int64) if name in NormalBlocks.COUNTS else s
    return NormalBlocks(**{name: weighted(name) for name in NormalBlocks.ARRAYS})


def bootstrap_params(blocks: NormalBlocks, counts: np.ndarray, sizes, mode: str,
                     rcond: float | None = None) -> np.ndarray:
    """Parameters fitted to every resample of ``blocks`` (one row of ``counts`` each): (n_resamples, P)."""
    res = resampled(blocks, counts)
    out = np.empty((res.n_blocks, res.b.shape[-1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for r in range(res.n_blocks):
            out[r] = fit_params(res.G[r], res.b[r], np.asarray(sizes), mode, rcond, "cholesky")[0]
    return out


def bootstrap_std(samples: np.ndarray, n_units: int, axis: int = 0) -> np.ndarray:
    """Standard error from bootstrap ``samples`` over ``n_units`` resampling units (the (B-1)/B bias removed)."""
    samples = np.asarray(samples)
    if samples.shape[axis] < 2 or n_units < 2:
        return np.full(np.delete(samples.shape, axis), np.nan)
    return samples.std(axis=axis, ddof=1) * np.sqrt(n_units / (n_units - 1))


def blocking_ratio(err: np.ndarray, err_long: np.ndarray) -> float:
    """Median ratio of the error bars from segments twice as long, ``err_long``, to ``err`` (over the entries with a
    non-zero error): about 1 when the segments are longer than the correlation time, above 1 when they are not."""
    err, err_long = np.asarray(err, float), np.asarray(err_long, float)
    ok = (err > 0) & np.isfinite(err) & np.isfinite(err_long)
    return float(np.median(err_long[ok] / err[ok])) if ok.any() else float("nan")
