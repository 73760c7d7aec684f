"""The free energy of a path-integral run from effective constants fitted over its beads (TDEP-style).

The Gibbs-Bogoliubov (Peierls-Bogoliubov) inequality holds for quantum systems as for classical ones. Applied with the
true ensemble as the reference it gives, for any harmonic Hamiltonian H_h = K + 1/2 u Phi u,

    F >= F_h(Phi) + <U - 1/2 u Phi u>,

the mean over the true quantum ensemble. A path-integral run gives that mean exactly as a bead average: the potential
energy and 1/2 u Phi u are functions of the positions alone, and (1/P) sum_j U(q_j) is the primitive estimator of <U>.
So the classical TDEP free energy (O. Hellman, P. Steneteg, I. A. Abrikosov and S. I. Simak, Phys. Rev. B 87, 104111
(2013), eqs. 8-9) carries over unchanged with quantum oscillators:

    F_0 = U_0 + F_h(Phi),      U_0 = < U - 1/2 u Phi u >_beads,

with Phi fitted over all beads and F_h the quantum harmonic free energy sum_qs [h nu / 2 + k_B T ln(1 - e^{-h nu /
k_B T})]. This is exactly what :func:`trajmodes.phonons.thermodynamics.free_energy.tdep_free_energy` computes from a
fit over the beads (``EffectiveForceConstants().fit(run.pooled)``: its ``energies_["baseline"]`` is the bead average)
with ``occupation="quantum"``; :func:`path_integral_free_energy` calls it. In the quantum harmonic ensemble itself
<1/2 u Phi u> = sum_qs (hbar omega / 4) coth(hbar omega / 2 k_B T), half the mode energy, which is what U_0 takes out
for a harmonic crystal (U_0 is then the static energy and F_0 exact).

A run of P beads samples the discretised path integral, not the P -> infinity limit. The same inequality holds for it
exactly (the discretised partition function is the classical one of the ring polymer, whose springs cancel in U - U_h),
with the harmonic free energy of P beads per mode (the product over the ring's normal modes k; e.g. M. E. Tuckerman,
Statistical Mechanics: Theory and Molecular Simulation (Oxford, 2010), ch. 12):

    F_P(omega) = k_B T sum_{k=0}^{P-1} ln[ (beta hbar / P) sqrt(omega^2 + omega_k^2) ]
               = k_B T ln[ 2 sinh( P arsinh( beta hbar omega / 2 P ) ) ],

classical (k_B T ln(beta hbar omega)) at P = 1 and the quantum h nu / 2 + k_B T ln(1 - e^{-beta hbar omega}) as P
grows. ``n_beads=P`` compares a run of P beads like for like.

Units: eV per primitive cell, temperatures K, frequencies THz.
"""
from __future__ import annotations

import numpy as np

from trajmodes.units import KB_EV, THZ_EV

__all__ = ["ring_polymer_mode_free_energy", "path_integral_free_energy"]


def ring_polymer_mode_free_energy(freqs, temperature: float, n_beads: int | None = None) -> np.ndarray:
    """Free energy of harmonic modes in the discretised path integral of ``n_beads`` beads (module docstring).

    Parameters
    ----------
    freqs : array_like
        THz (ordinary); modes at or below zero carry nothing.
    temperature : float
        K (> 0).
    n_beads : int, optional
        P; None: the exact quantum value h nu / 2 + k_B T ln(1 - e^{-h nu / k_B T}).

    Returns
    -------
    ndarray like ``freqs``, eV per mode.
    """
    T = float(temperature)
    if not (np.isfinite(T) and T > 0):
        raise ValueError(f"the ring polymer's free energy needs a positive temperature in K, not {temperature!r}")
    f = np.asarray(freqs, dtype=float)
    ok = f > 0
    x = np.where(ok, f, 1.0) * THZ_EV / (KB_EV * T)                        # beta hbar omega = h nu / k_B T
    if n_beads is None:
        F = KB_EV * T * (x / 2 + np.log(-np.expm1(-x)))
    else:
        P = int(n_beads)
        if P != n_beads or P < 1:
            raise ValueError(f"n_beads must be a positive whole number, not {n_beads!r}")
        z = P * np.arcsinh(x / (2 * P))
        F = KB_EV * T * (z + np.log(-np.expm1(-2 * z)))                    # ln(2 sinh z), no overflow
    return np.where(ok, F, 0.0)


def path_integral_free_energy(fit, temperature: float, mesh=(20, 20, 20), n_beads: int | None = None):
    """F_0 = U_0 + F_h(Phi) of a path-integral run from a fit over all its beads (module docstring).

    Parameters
    ----------
    fit : EffectiveForceConstants
        Fitted over the beads (``EffectiveForceConstants().fit(run.pooled)``), with the potential energy of every bead
        configuration.
    temperature : float
        K, the run's.
    mesh : int or (3,) int
        q mesh of the harmonic free energy.
    n_beads : int, optional
        The run's P: the harmonic free energy of the discretised path integral (like for like); None: the P -> inf
        quantum value (:func:`~trajmodes.phonons.thermodynamics.free_energy.tdep_free_energy` with quantum occupations).

    Returns
    -------
    dict
        eV per primitive cell: ``free_energy`` F_0, ``harmonic_free_energy`` F_h, ``baseline_energy`` U_0 (the bead
        average of U - 1/2 u Phi u), and ``n_beads``.
    """
    from trajmodes.lattice import mesh_qpoints
    from trajmodes.phonons.harmonic import Phonons, zero_gamma_acoustic
    from trajmodes.phonons.thermodynamics import tdep_free_energy
    if n_beads is None:
        ds = tdep_free_energy(fit, temperature, mesh=mesh, occupation="quantum", errors=False)
        return dict(free_energy=float(ds["free_energy"]), harmonic_free_energy=float(ds["harmonic_free_energy"]),
                    baseline_energy=float(ds["baseline_energy"]), n_beads=None)
    if not np.isfinite(fit.energies_["potential"]):
        raise ValueError("the free energy needs the potential energy of every bead configuration, and the fit has "
                         "none: give the beads' energies to the fit")
    fc = fit.harmonic_force_constants_
    q = mesh_qpoints(mesh)
    nu = zero_gamma_acoustic(q, Phonons(fc).frequencies(q))           # round-off at Gamma carries nothing
    F_h = float(ring_polymer_mode_free_energy(nu, temperature, n_beads).sum() / len(nu))
    n_cells = fit.supercell_.n_atoms / fit.primitive_.n_atoms
    u0 = float(fit.energies_["baseline"]) / n_cells
    return dict(free_energy=u0 + F_h, harmonic_free_energy=F_h, baseline_energy=u0, n_beads=int(n_beads))
