"""Derivatives along a series: runs grouped by volume, the numerical derivative weights of unevenly spaced
temperatures, d nu / dT of every run, and the entropy and heat capacity from the free energies of the runs."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SAME", "SAME_T_SPLIT", "NARROW_SPAN", "volume_groups", "derivative_weights", "temperature_slopes",
           "temperature_slope_errors", "mode_slopes", "thermodynamics", "SeriesThermodynamics"]

#: relative tolerance within which two runs have the same volume or temperature
SAME = 1e-4
#: relative tolerance within which two runs count as one temperature in the split of the shifts (mean kinetic
#: temperatures of runs made at one thermostat temperature differ by their statistical scatter)
SAME_T_SPLIT = 0.03


def volume_groups(volume, temperature) -> list[np.ndarray]:
    """Runs grouped for curves over temperature, each group sorted by temperature: those at the most common volume
    (within 1e-4; the reference volume of an NVT series) and all others (thermally expanded volumes, NPT); one group
    when every run has its own volume or all share one.

    Parameters
    ----------
    volume : array_like (n_runs,)
        Volume of each run, Å³ per atom (any one unit: only ratios are compared).
    temperature : array_like (n_runs,)
        Temperature of each run, K.
    """
    V, T = np.asarray(volume, float), np.asarray(temperature, float)
    keys = np.round(V / V.mean() / 1e-4).astype(int)
    vals, counts = np.unique(keys, return_counts=True)
    common = keys == vals[np.argmax(counts)]
    if counts.max() == 1 or common.all():
        groups = [np.arange(len(V))]
    else:
        groups = [np.flatnonzero(common), np.flatnonzero(~common)]
    return [g[np.argsort(T[g], kind="stable")] for g in groups]


def derivative_weights(x, order: int) -> np.ndarray:
    """W (n, n) with W @ y the ``order``-th derivative (1 or 2) of samples y(x) at every x (ascending, distinct):
    the Lagrange parabola through each point and its two nearest neighbours (a line through two points, when there
    are only two, for the first derivative). Errors of independent samples propagate as sqrt(W**2 @ err**2).

    Parameters
    ----------
    x : array_like (n,)
        Where y is sampled, ascending and distinct (e.g. temperatures, K); W is in the inverse unit of x to the
        power ``order``.
    order : int
        1 or 2.
    """
    x = np.asarray(x, float)
    n = len(x)
    W = np.full((n, n), np.nan)
    if n < order + 1:
        return W
    W[:] = 0.0
    for i in range(n):
        if n == 2:
            j = np.array([0, 1])
        else:
            lo = min(max(i - 1, 0), n - 3)
            j = np.arange(lo, lo + 3)
        xs = x[j]
        for k in range(len(j)):
            others = np.delete(xs, k)
            den = np.prod(xs[k] - others)
            if order == 1:     # d/dx of prod (x - o) at x_i
                W[i, j[k]] = sum(np.prod(x[i] - np.delete(others, m)) for m in range(len(others))) / den
            else:
                W[i, j[k]] = 2.0 / den
    return W


#: runs of one volume whose temperatures span less than this fraction of their mean (repeated runs at one nominal
#: temperature, NVE runs scattered by their energy draws) get d nu / dT from a straight line through all of them
NARROW_SPAN = 0.4


def _slope_weights(T, V, i):
    """Runs of run i's volume and the weights w with d nu / dT at run i = sum_j w_j nu_j, or None without a
    neighbour in temperature: the row of np.gradient over the mean temperatures of the runs grouped by temperature
    (runs within 3 % count as one; each group's mean frequency), or, when the runs span less than
    :data:`NARROW_SPAN` of their mean temperature, the least-squares line through all of them."""
    same = np.flatnonzero(np.abs(V / V[i] - 1) < 1e-3)
    Ts = np.unique(np.round(T[same], 6))
    groups = [same[np.abs(T[same] / t - 1) < 0.03] for t in Ts]
    centres = np.array([T[g].mean() for g in groups])
    keep = np.concatenate([[True], np.diff(centres) > 0.03 * centres[1:]])
    groups, centres = [g for g, k in zip(groups, keep) if k], centres[keep]
    if len(groups) < 2:
        return None
    t = T[same]
    if np.ptp(t) < NARROW_SPAN * t.mean():
        dt = t - t.mean()
        return same, dt / np.sum(dt ** 2)
    k = int(np.argmin(np.abs(centres - T[i])))
    wg = np.array([np.gradient(e, centres)[k] for e in np.eye(len(groups))])      # np.gradient is linear
    runs = np.concatenate(groups)
    return runs, np.concatenate([np.full(len(g), w / len(g)) for w, g in zip(wg, groups)])


def temperature_slopes(temperatures, V, nu) -> np.ndarray:
    """d nu / dT (THz/K) of every run's frequencies ``nu`` (run, ...; THz) from the runs at the same volume ``V``
    (run; any one unit; within 1e-3 relative): the gradient over their distinct ``temperatures`` (run; K; runs
    within 3 % count as one), or the least-squares line through them when they span less than
    :data:`NARROW_SPAN` of their mean temperature; zero for a run with no neighbour in temperature."""
    T, V, nu = np.asarray(temperatures, float), np.asarray(V, float), np.asarray(nu, float)
    out = np.zeros_like(nu)
    for i in range(len(T)):
        found = _slope_weights(T, V, i)
        if found is not None:
            runs, w = found
            out[i] = np.tensordot(w, nu[runs], axes=1)
    return out


def temperature_slope_errors(temperatures, V, nu_err) -> np.ndarray:
    """Standard errors (THz/K) of :func:`temperature_slopes` from the runs' independent frequency errors ``nu_err``
    (run, ...; THz): sqrt(sum_j w_j^2 err_j^2) over the weights of the slope; NaN for a run with no neighbour in
    temperature. Runs close in temperature give slopes dominated by their errors: a slope is known only where it is
    well above this."""
    T, V, e = np.asarray(temperatures, float), np.asarray(V, float), np.asarray(nu_err, float)
    out = np.full_like(e, np.nan)
    for i in range(len(T)):
        found = _slope_weights(T, V, i)
        if found is not None:
            runs, w = found
            out[i] = np.sqrt(np.tensordot(w ** 2, e[runs] ** 2, axes=1))
    return out


@dataclass(frozen=True)
class SeriesThermodynamics:
    """The entropy and heat capacity of every run from the free energies along its volume group
    (:func:`thermodynamics`); NaN for a run whose group has fewer than two distinct temperatures.

    Attributes
    ----------
    entropy : ndarray (run,)
        S = -dF/dT, eV/K per primitive cell.
    entropy_err : ndarray (run,)
        Its standard error from the free energies' errors, eV/K.
    heat_capacity : ndarray (run,)
        C = -T d2F/dT2, eV/K per primitive cell (Cv at constant volume, Cp along zero-pressure volumes).
    heat_capacity_err : ndarray (run,)
        Its standard error, eV/K.
    thermodynamic_path : ndarray of str (run,)
        What the derivatives follow: ``"constant volume"``, ``"along the runs' volumes"``, or ``""`` (none).
    """

    entropy: np.ndarray
    entropy_err: np.ndarray
    heat_capacity: np.ndarray
    heat_capacity_err: np.ndarray
    thermodynamic_path: np.ndarray


def mode_slopes(T, nu, err, runs) -> tuple[np.ndarray, np.ndarray]:
    """d nu / dT of every branch over the runs ``runs`` (at least two temperatures), THz/K, with its standard error:
    the slope of the straight line weighted by the error bars (the line through the points for two runs; with any
    error bar zero, unweighted, its error NaN).

    Parameters
    ----------
    T : array_like (runs,)
        Temperatures, K.
    nu, err : array_like (runs, branch)
        Frequencies and their error bars, THz.
    runs : array_like of int
        The runs the slope is taken over.
    """
    t = np.asarray(T, float)[runs]
    y, e = np.asarray(nu, float)[runs], np.asarray(err, float)[runs]
    weighted = bool(np.all(e > 0))
    w = 1.0 / e ** 2 if weighted else np.ones_like(y)
    tm = (w * t[:, None]).sum(0) / w.sum(0)
    spread = (w * (t[:, None] - tm) ** 2).sum(0)
    slope = (w * (t[:, None] - tm) * y).sum(0) / spread
    return slope, (1.0 / np.sqrt(spread) if weighted else np.full_like(slope, np.nan))


def thermodynamics(temperatures, V, F, F_err, reference) -> SeriesThermodynamics:
    """S = -dF/dT and C = -T d2F/dT2 along each group of :func:`volume_groups` (per primitive cell, eV/K), from the
    free energies ``F`` and their errors ``F_err`` (run; eV per primitive cell) of runs at ``temperatures`` (run; K,
    an array) and volumes ``V`` (run; any one unit, Å³ per atom in a Series).

    The strongly curved part of F(T) is that of the oscillators; differentiated by a parabola through three runs it
    would give C proportional to T. So F is split into the harmonic crystal of the group's lowest-temperature run,
    whose S and C are exact at every T, and the anharmonic rest F - F_ref, smooth and small, which alone is
    differentiated by :func:`derivative_weights` (as thermodynamic integration starts from a harmonic reference,
    D. Frenkel and A. J. C. Ladd, J. Chem. Phys. 81, 3188 (1984)). ``reference(i)`` gives (F, S, C) of the harmonic
    crystal of run i (its U_0 and effective constants) at every run's temperature.

    Returns a :class:`SeriesThermodynamics` (``entropy``, ``heat_capacity``, their ``_err``, ``thermodynamic_path``).
    """
    T = temperatures
    S, C, Se, Ce = (np.full(len(T), np.nan) for _ in range(4))
    kind = np.full(len(T), "", dtype=object)
    for g in volume_groups(V, T):
        t = T[g]
        if len(g) < 2 or np.any(np.diff(t) <= 0):
            continue
        one_volume = np.ptp(V[g]) <= SAME * V[g].mean()
        kind[g] = "constant volume" if one_volume else "along the runs' volumes"
        f_ref, s_ref, c_ref = (x[g] for x in reference(g[0]))
        rest = F[g] - f_ref
        W1, W2 = derivative_weights(t, 1), derivative_weights(t, 2)
        S[g], Se[g] = s_ref - W1 @ rest, np.sqrt(W1 ** 2 @ F_err[g] ** 2)
        C[g], Ce[g] = c_ref - t * (W2 @ rest), t * np.sqrt(W2 ** 2 @ F_err[g] ** 2)
    return SeriesThermodynamics(entropy=S, entropy_err=Se, heat_capacity=C, heat_capacity_err=Ce,
                                thermodynamic_path=kind.astype(str))
