"""Lattice thermal conductivity from phonon lifetimes: the relaxation-time approximation (RTA) of the
linearised Boltzmann equation, kappa = 1/(N V) sum_lambda C_lambda v_lambda (x) v_lambda tau_lambda
(Peierls 1929; e.g. Togo, Chaput and Tanaka, Phys. Rev. B 91, 094306 (2015), Eq. (27)), fed with
three-phonon lifetimes (:class:`trajmodes.phonons.anharmonic.Anharmonic`) or with lifetimes measured in a
molecular-dynamics run (:func:`trajmodes.modes.peaks.fit_peaks`).

The mode heat capacities C_lambda are those of :func:`trajmodes.phonons.statistics.mode_heat_capacity`.

Units: C_lambda in eV/K per mode, v in THz A (= 100 m/s), tau in ps, V the primitive-cell volume in A^3;
kappa in W/(m K).
"""
from __future__ import annotations

import numpy as np

from trajmodes.lattice.qpoints import first_zone
from trajmodes.units import EV_J
from trajmodes.lattice.symmetry import SYMPREC

__all__ = ["kappa_rta", "kappa_velocities", "KAPPA_UNIT"]

#: W/(m K) from eV/K * (THz A)^2 * ps / A^3
KAPPA_UNIT = EV_J * (1e12 * 1e-10) ** 2 * 1e-12 / 1e-30


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
        Cartesian point-group rotations (:func:`trajmodes.lattice.symmetry.cartesian_rotations`): when the q are irreducible points the tensor of each is averaged
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


def kappa_velocities(phonons, qpoints, degeneracy_tol: float = 1e-4, cutoff_frequency: float = 1e-4,
                     symprec: float = SYMPREC) -> np.ndarray:
    """Group velocities (nq, 3n, 3) in THz A as the conductivity takes them: at the first-zone image of each
    reduced q, averaged over its little group (phonopy's convention; :meth:`Phonons.group_velocities` with
    ``symmetrize``)."""
    q = first_zone(np.atleast_2d(np.asarray(qpoints, dtype=float)), phonons.fc.primitive.reciprocal_cell)
    return phonons.group_velocities(q, degeneracy_tol=degeneracy_tol, cutoff_frequency=cutoff_frequency,
                                    symmetrize=True, symprec=symprec)
