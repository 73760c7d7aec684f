"""Lattice thermal conductivity from phonon lifetimes: the relaxation-time approximation (RTA) of the
linearised Boltzmann equation, kappa = 1/(N V) sum_lambda C_lambda v_lambda (x) v_lambda tau_lambda
(Peierls 1929; e.g. Togo, Chaput and Tanaka, Phys. Rev. B 91, 094306 (2015), Eq. (27)), fed with
three-phonon lifetimes (:class:`trajmodes.phonons.anharmonic.Anharmonic`) or with lifetimes measured in a
molecular-dynamics run (:func:`trajmodes.modes.peaks.fit_peaks`).

Units: C_lambda in eV/K per mode, v in THz A (= 100 m/s), tau in ps, V the primitive-cell volume in A^3;
kappa in W/(m K).
"""
from __future__ import annotations

import numpy as np

from trajmodes.units import EV_J, KB_EV, THZ_EV

__all__ = ["mode_heat_capacities", "cartesian_rotations", "kappa_rta", "KAPPA_UNIT"]

#: W/(m K) from eV/K * (THz A)^2 * ps / A^3
KAPPA_UNIT = EV_J * (1e12 * 1e-10) ** 2 * 1e-12 / 1e-30


def mode_heat_capacities(freqs, temperatures, classical: bool = False, cutoff_frequency: float = 1e-4) -> np.ndarray:
    """Heat capacity of every mode, (nt,) + freqs.shape, eV/K: k_B x^2 e^x / (e^x - 1)^2 with x = h nu / k_B T
    (quantum) or k_B (classical); zero at or below ``cutoff_frequency`` (THz) and at T = 0."""
    f = np.asarray(freqs, dtype=float)
    T = np.atleast_1d(np.asarray(temperatures, dtype=float)).reshape((-1,) + (1,) * f.ndim)
    ok = (f > cutoff_frequency) & (T > 0)
    if classical:
        return np.where(ok, KB_EV, 0.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        x = np.where(ok, f * THZ_EV / (KB_EV * np.where(T > 0, T, 1.0)), 1.0)
        em = np.exp(-x)
        c = KB_EV * x * x * em / (-np.expm1(-x)) ** 2
    return np.where(ok, np.nan_to_num(c), 0.0)


def cartesian_rotations(rotations, cell) -> np.ndarray:
    """The point group as Cartesian rotations (n, 3, 3) from fractional rotations W (spglib's) of ``cell``
    (rows a, b, c): R = A^T W A^-T, distinct ones only."""
    W = np.unique(np.asarray(rotations, dtype=np.int64).reshape(-1, 3, 3), axis=0)
    A = np.asarray(cell, dtype=float)
    return np.einsum("ji,ojk,kl->oil", A, W, np.linalg.inv(A).T)


def kappa_rta(heat_capacity, velocities, lifetimes, weights, volume: float, rotations=None):
    """Thermal conductivity tensor in the relaxation-time approximation, and each mode's share.

    Parameters
    ----------
    heat_capacity : (nt, nq, nb) eV/K
    velocities : (nq, nb, 3) THz A
    lifetimes : (nt, nq, nb) ps; non-finite or non-positive values contribute nothing
    weights : (nq,)
        How many q-points of the full sum every q stands for (the star sizes of irreducible points, or ones);
        the sum is divided by their total N.
    volume : float
        Primitive-cell volume, A^3.
    rotations : (nr, 3, 3), optional
        Cartesian point-group rotations: when the q are irreducible points the tensor of each is averaged
        over them (R kappa R^T), which is the sum over the star.

    Returns
    -------
    kappa : (nt, 3, 3) W/(m K)
    mode_kappa : (nt, nq, nb, 3, 3) W/(m K), each q's share (its weight included); kappa is their sum.
    """
    C = np.asarray(heat_capacity, dtype=float)
    v = np.asarray(velocities, dtype=float)
    tau = np.asarray(lifetimes, dtype=float)
    w = np.asarray(weights, dtype=float)
    tau = np.where(np.isfinite(tau) & (tau > 0), tau, 0.0)
    vv = v[:, :, :, None] * v[:, :, None, :]                                  # (nq, nb, 3, 3)
    if rotations is not None:
        R = np.asarray(rotations, dtype=float)
        vv = np.einsum("oab,qnbc,odc->qnad", R, vv, R, optimize=True) / len(R)
    scale = KAPPA_UNIT / (w.sum() * volume)
    mode = (C * tau)[..., None, None] * vv[None] * (w[None, :, None, None, None] * scale)
    return mode.sum(axis=(1, 2)), mode
