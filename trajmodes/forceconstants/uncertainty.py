"""Error bars of fitted force constants: the block bootstrap of the normal equations.

MD frames are correlated in time, so resampling single frames would understate the error. The block bootstrap
(H. R. Kuensch, Ann. Statist. 17, 1217 (1989); E. Carlstein, Ann. Statist. 14, 1171 (1986)) resamples contiguous
time segments instead, each longer than the correlation time. A least-squares fit depends on the data only through
its normal equations, and those of a union of segments are the sums of the segments' own, so a resample is a
weighted sum of the stored per-segment A'A and A'f (:class:`~trajmodes.forceconstants.design.NormalBlocks`) and
one solve: no second pass over the frames, whatever their number.

With B segments the bootstrap variance of a mean is (B - 1)/B times the unbiased one; :func:`bootstrap_std`
corrects for it. Segments shorter than the correlation time make the error bars too small. The blocking analysis of
H. Flyvbjerg and H. G. Petersen (J. Chem. Phys. 91, 461 (1989)) measures by how much: the fit is linearised about its
solution, so that every segment contributes an additive term to the parameters (:func:`segment_influence`, the
estimating-equation or "sandwich" form of the least-squares covariance), neighbouring segments are merged into blocks
twice, four times, ... as long, and the standard error is computed at every block length (:func:`blocking_curve`);
it rises while the blocks are shorter than the correlation time and levels off at the true error
(:func:`blocking_plateau`). The ratio of the plateau to the error of the segments scales the bootstrap's spread, and
``B / ratio^2`` is the effective number of independent segments.

What no analysis within one run can see is a deviation that stays constant over the whole run: the run's
temperature (in NVE set once by the initial conditions, std about T / sqrt(3N - 3) for a harmonic crystal), or its
share of energy per mode in a small, nearly harmonic crystal under NVE or Nose-Hoover, where the modes exchange
energy more slowly than the run lasts. The blocking curve then keeps rising at the longest blocks, and
:func:`blocking_plateau` says that no plateau was reached.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from trajmodes.forceconstants.design import NormalBlocks
from trajmodes.forceconstants.solve import fit_params

__all__ = ["resample_counts", "resampled", "bootstrap_params", "bootstrap_std", "blocking_ratio",
           "segment_influence", "blocking_curve", "blocking_plateau", "scaled_samples", "temperature_draw",
           "BLOCKING_WARN", "BlockBootstrap", "block_bootstrap"]

#: ratio of the error at the blocking plateau to the error of the fit's segments above which the segments are flagged
#: as shorter than the correlation time (the error bars are scaled by it either way)
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
                     rcond: float | None = None, solve=None) -> np.ndarray:
    """Parameters fitted to every resample of ``blocks`` (one row of ``counts`` each): (n_resamples, P).

    ``solve(G, b) -> p``, when given, replaces the sequential or simultaneous solve (a fit with an order held)."""
    res = resampled(blocks, counts)
    out = np.empty((res.n_blocks, res.b.shape[-1]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)      # 0 / 0 of a singular system
        for r in range(res.n_blocks):
            out[r] = (solve(res.G[r], res.b[r]) if solve is not None else
                      fit_params(res.G[r], res.b[r], np.asarray(sizes), mode, rcond, "cholesky")[0])
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


def segment_influence(blocks: NormalBlocks, params: np.ndarray, sizes, mode: str = "sequential") -> np.ndarray:
    """Additive contribution of every segment to the fitted parameters, (n_segments, P_used).

    Linearised about the solution p of the summed normal equations G p = b (G, b summed over the segments s):
    p(resample) - p = G^-1 sum_s (c_s - 1) (b_s - G_s p) to first order in the resample's counts c_s, so the segments
    contribute x_s = G^-1 (b_s - G_s p) (they sum to zero). The covariance of p from independent segments is
    sum_s x_s x_s^T (the "sandwich" form), which the block bootstrap reproduces. Sequential fits use the order-2
    system alone (the sequential fc2 is that of a second-order fit), simultaneous ones the whole system.

    Parameters
    ----------
    blocks : NormalBlocks
        Per segment, in time order.
    params : ndarray (P,) or (P2,)
        The fitted parameters (order 2 first), eV/Å² (eV/Å³ for order 3).
    sizes : sequence of int
        Parameters per order.
    mode : {"sequential", "simultaneous"}

    Returns
    -------
    ndarray (n_segments, P_used), in the parameters' units.
    """
    n = int(sizes[0]) if mode == "sequential" or len(sizes) == 1 else int(np.sum(sizes))
    G, b = blocks.G[:, :n, :n], blocks.b[:, :n]
    p = np.asarray(params, float)[:n]
    psi = b - np.einsum("sij,j->si", G, p)
    Gt = G.sum(axis=0)
    d = np.sqrt(np.clip(np.diag(Gt), 1e-300, None))
    x = np.linalg.lstsq(Gt / np.outer(d, d), (psi / d).T, rcond=None)[0].T / d
    return x


def blocking_curve(x: np.ndarray, min_blocks: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Flyvbjerg-Petersen blocking of additive per-segment contributions ``x`` (n_segments, ...).

    Neighbouring segments are merged into blocks of 1, 2, 4, ... segments (as long as at least ``min_blocks`` blocks
    remain; a last incomplete block is dropped) and at every length the standard error of the sum is
    sqrt(n_b / (n_b - 1) sum_blocks X_b^2) (X_b the blocks' sums, about zero mean), scaled to the whole run.

    Returns
    -------
    n_blocks : ndarray (L,) of int
        Blocks at every level.
    err : ndarray (L, ...)
        The standard error at every level, in the units of ``x``.
    """
    x = np.asarray(x, float)
    S = len(x)
    n_out, err = [], []
    m = 1
    while S // m >= max(int(min_blocks), 2):
        nb = S // m
        xb = x[:nb * m].reshape((nb, m) + x.shape[1:]).sum(axis=1)
        xb = xb - xb.mean(axis=0)
        e = np.sqrt((xb ** 2).sum(axis=0) * nb / (nb - 1) * (S / (nb * m)))
        n_out.append(nb)
        err.append(e)
        m *= 2
    return np.array(n_out, dtype=np.int64), np.array(err)


def blocking_plateau(n_blocks, err, tolerance: float = 1.0, rise: float = 0.5) -> tuple[float, np.ndarray, bool]:
    """The plateau of a blocking curve (:func:`blocking_curve`), relative to its first level.

    The ratio of every level's error to the first level's is summarised over the entries (parameters) by the root
    mean square of the variance ratios, whose relative standard error is about 1 / sqrt(2 (n_b - 1)) at n_b blocks
    (Flyvbjerg and Petersen 1989; the entries are correlated, so no credit is taken for their number). Walking to
    longer blocks, the plateau is the first level from which no later level rises by more than ``tolerance`` times
    its own error. A curve whose last two steps both rise by more than ``rise`` times their errors (a correlation as
    long as the run: the error of a drift grows by sqrt(2) per doubling) has no plateau, and its last level is
    returned. The defaults suit a summary over many entries; a single, noisier series takes 2 and 1.

    Returns
    -------
    ratio : float
        Error at the plateau over the error of the segments, at least 1.
    ratios : ndarray (L,)
        The summarised ratio at every level.
    converged : bool
        Whether a plateau was reached.
    """
    n_blocks = np.asarray(n_blocks)
    err = np.asarray(err, float).reshape(len(n_blocks), -1)
    ok = np.isfinite(err).all(axis=0) & (err[0] > 0)
    if not ok.any() or len(n_blocks) == 0:
        return 1.0, np.ones(len(n_blocks)), True
    ratios = np.sqrt(np.mean((err[:, ok] / err[0, ok]) ** 2, axis=1))
    rel = 1.0 / np.sqrt(2.0 * np.maximum(n_blocks - 1, 1))
    L = len(ratios)
    if L >= 3 and np.all(ratios[-2:] > ratios[-3:-1] * (1.0 + rise * rel[-2:])):
        return float(max(1.0, ratios[-1])), ratios, False
    for lvl in range(L):
        if np.all(ratios[lvl + 1:] <= ratios[lvl] * (1.0 + tolerance * rel[lvl + 1:])):
            return float(max(1.0, ratios[lvl])), ratios, True
    return float(max(1.0, ratios[-1])), ratios, False       # not reached: the last level is never above itself


def scaled_samples(samples: np.ndarray, factor: float, center=None, axis: int = 0) -> np.ndarray:
    """Bootstrap ``samples`` with their spread about ``center`` (default their mean) scaled by ``factor``: every
    error bar computed from them, of whatever function, grows by ``factor`` to first order."""
    samples = np.asarray(samples, float)
    c = samples.mean(axis=axis, keepdims=True) if center is None else np.expand_dims(np.asarray(center, float), axis)
    return c + float(factor) * (samples - c)


def temperature_draw(seg: NormalBlocks, temperature: float, temperature_err: float, n_atoms: int) -> tuple[bool, float]:
    """Whether the run conserves its total energy (NVE), and the standard error of its mean kinetic temperature
    as an estimate of the temperature it was prepared at, K.

    The total energy of a segment is its mean potential energy plus (3N - 3) k_B T_s / 2 (N atoms, centre of
    mass at rest). When the segments' totals scatter by less than 5 % of the canonical energy fluctuation
    sqrt(3N - 3) k_B T the run is taken as NVE, started from a canonical state: its energy, and with it its
    temperature, is one canonical draw, with standard deviation T / sqrt(3N - 3) for a classical harmonic crystal
    (equipartition: the energy's variance is (3N - 3) (k_B T)^2 and T = E / ((3N - 3) k_B)), which no segment of
    the run sees. That draw is added in quadrature to ``temperature_err`` (the error of the run's mean from its
segments, K); otherwise the two are equal. ``seg``: the fit's normal equations per time segment, ``temperature``: the
run's mean kinetic temperature, K, ``n_atoms``: atoms of the supercell."""
    from trajmodes.units import KB_EV
    T, err = float(temperature), float(temperature_err)
    if not np.isfinite(T) or np.any(seg.n_energy != seg.n_frames) or np.any(seg.n_temperature != seg.n_frames):
        return False, err
    dof = 3 * int(n_atoms) - 3
    e_tot = seg.per_frame_mean("energy") + 0.5 * dof * KB_EV * seg.per_frame_mean("temperature")
    conserved = bool(np.std(e_tot) < 0.05 * np.sqrt(dof) * KB_EV * T)
    return conserved, float(np.hypot(err, T / np.sqrt(dof))) if conserved else err


def blocking_warning(ratio: float, converged: bool, temperature_ratio: float, temperature: float, n_segments: int,
                     per_segment: int, longest: int, n_effective: float) -> str | None:
    """What a user must be told about the blocking analysis of a fit's error bars
    (:meth:`~trajmodes.forceconstants.fit.EffectiveForceConstants.bootstrap`), or None: the parameters' ``ratio`` of
    the error at the plateau to the segments' own above :data:`BLOCKING_WARN` or no plateau (``converged`` False;
    ``longest`` segments in the longest block), else the mean kinetic ``temperature``'s (K) ``temperature_ratio``
    above it; ``n_segments`` of ``per_segment`` frames, ``n_effective`` independent ones."""
    if ratio > BLOCKING_WARN or not converged:
        what = (f"the frames are correlated over more than a segment: the error bars of the fit are {ratio:.2f} times "
                f"those of its {n_segments} time segments ({per_segment} frames each) at the plateau of their "
                "blocking analysis, and have been scaled by it"
                if converged else
                f"the error of the fit still grows at the longest blocks of its blocking analysis (blocks of "
                f"{longest} of its {n_segments} time segments, ratio {ratio:.2f}, applied): the frames are correlated "
                "over more than a segment and over a time comparable with the run, so these error bars are lower "
                "bounds")
        return what + f" (about {n_effective:.1f} independent segments); use a longer run"
    if temperature_ratio > BLOCKING_WARN:
        return (f"the error of the run's mean kinetic temperature ({temperature:.1f} K) is {temperature_ratio:.2f} "
                f"times that of its {n_segments} time segments at the plateau of their blocking analysis: the energy "
                f"of the crystal relaxes more slowly than a segment ({per_segment} frames), and the run's temperature, "
                "and with it every effective frequency, wanders more than the segments show; use a longer run")
    return None


@dataclass
class BlockBootstrap:
    """The block bootstrap of a fit's time segments (:func:`block_bootstrap`); each field is the fitted estimator's
    attribute of the same name with a trailing underscore (:meth:`~trajmodes.forceconstants.fit.EffectiveForceConstants.
    bootstrap` documents them), ``warning`` the warning to raise (None: none)."""

    blocking_ratio: float
    blocking_curve: np.ndarray
    blocking_converged: bool
    n_effective: float
    params_samples: dict
    params_err: dict
    energies_samples: dict
    energies_err: dict
    temperature_blocking: float
    temperature_samples: np.ndarray
    temperature_err: float
    energy_conserved: bool
    temperature_ensemble_err: float
    warning: str | None


def block_bootstrap(seg: NormalBlocks, params: dict, kernel, mode: str, rcond, energies: dict, temperature: float,
                    n_atoms: int, n_resamples: int = 200, seed: int | None = 0, held=None,
                    segments=None) -> BlockBootstrap:
    """The block bootstrap of a fit's normal equations per time segment ``seg`` (no pass over the frames): the
    segments resampled with replacement and every resample solved (``mode``, ``rcond``; ``held(G, b)``: the solve of
    a fit with a held fc2), the resamples' spread about the fitted ``params`` (dict order -> (P_o,)) scaled by the
    blocking analysis of the segments' linearised contributions to the order-2 parameters
    (:func:`segment_influence`, :func:`blocking_curve`, :func:`blocking_plateau`: H. Flyvbjerg and H. G. Petersen,
    J. Chem. Phys. 91, 461 (1989)); the mean ``energies`` (eV per supercell) and the mean kinetic ``temperature`` (K)
    resampled the same way, the temperature with a blocking analysis of its own. ``kernel``: the design kernel (its
    column ``sizes`` and ``offsets`` per order); ``segments``: the setting, named when there are too few."""
    from trajmodes.forceconstants.averages import mean_energies
    B = seg.n_blocks
    if B < 4:
        raise ValueError(f"the block bootstrap needs at least 4 time segments with frames, and this fit has {B} "
                         f"({int(seg.n_frames.sum())} frames, segments={segments}): fit with more segments "
                         "or more frames")
    orders = sorted(params)
    sizes, off = kernel.sizes, kernel.offsets                     # the kernel's columns: orders side by side
    p_all = np.concatenate([params[o] for o in orders])
    nb, berr = blocking_curve(segment_influence(seg, p_all, sizes, mode)[:, :sizes[0]])
    factor, ratios, converged = blocking_plateau(nb, berr)
    counts = resample_counts(B, n_resamples, seed)
    samples = scaled_samples(bootstrap_params(seg, counts, sizes, mode, rcond, held), factor, p_all)
    err = bootstrap_std(samples, B)
    params_samples = {o: samples[:, off[i]:off[i + 1]] for i, o in enumerate(orders)}
    res = resampled(seg, counts)
    p3, p4 = params_samples.get(3), params_samples.get(4)
    esamples = [mean_energies(res.select(r), samples[r, :sizes[0]], None if p3 is None else p3[r],
                              None if p4 is None else p4[r]) for r in range(res.n_blocks)]
    energies_samples = {k: scaled_samples(np.array([e[k] for e in esamples]), factor, energies[k])
                        for k in energies}                        # the same blocking factor as the parameters
    # the kinetic temperature: its energy relaxes more slowly than the displacements decorrelate, and a run whose
    # mean temperature wanders shifts every effective frequency by d nu / dT times that
    tb = res.per_frame_mean("temperature")
    t_ratio = float("nan")
    if np.isfinite(temperature):
        tseg = (seg.per_frame_mean("temperature") - temperature) * seg.n_temperature \
            / float(seg.n_temperature.sum())                       # each segment's share of the mean's deviation
        tnb, terr = blocking_curve(tseg)
        t_ratio, _, _ = blocking_plateau(tnb, terr, tolerance=2.0, rise=1.0)          # one series
        t_samples = scaled_samples(tb, t_ratio, temperature)
    else:
        t_samples = np.full(len(tb), np.nan)
    t_err = float(bootstrap_std(t_samples, B))
    conserved, ensemble_err = temperature_draw(seg, temperature, t_err, n_atoms)
    n_eff = float(B / factor ** 2)
    what = blocking_warning(float(factor), converged, t_ratio, temperature, B, int(seg.n_frames.sum()) // B,
                            int(B // nb[-1]), n_eff)
    return BlockBootstrap(
        blocking_ratio=float(factor), blocking_curve=np.stack([nb.astype(float), ratios], axis=1),
        blocking_converged=bool(converged), n_effective=n_eff, params_samples=params_samples,
        params_err={o: err[off[i]:off[i + 1]] for i, o in enumerate(orders)}, energies_samples=energies_samples,
        energies_err={k: float(bootstrap_std(v, B)) for k, v in energies_samples.items()},
        temperature_blocking=t_ratio, temperature_samples=t_samples, temperature_err=t_err,
        energy_conserved=conserved, temperature_ensemble_err=ensemble_err, warning=what)
