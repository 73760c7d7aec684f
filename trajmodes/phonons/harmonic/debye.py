"""Debye temperatures: from the sound velocities (elastic limit) and from the phonon spectrum.

Debye model per primitive cell of n atoms and volume V, cut-off frequency nu_D:
g(nu) = 9 n nu^2 / nu_D^3 (nu < nu_D), integrating to 3n modes; theta_D = h nu_D / k_B.

* Elastic (low-frequency) Debye temperature. The acoustic branches nu = v_s(n) |q| (q without 2 pi)
  give g(nu) -> 12 pi V nu^2 / v_D^3 as nu -> 0, with the Debye sound speed
  3 / v_D^3 = < sum_s 1 / v_s(n)^3 >_directions, so nu_D = v_D (3 n / (4 pi V))^(1/3)
  (= hbar v_D (6 pi^2 n / V)^(1/3) / k_B for theta_D). :func:`debye_velocity`, :func:`theta_elastic`.
* Low-frequency limit of a computed DOS: nu_D^3 = 9 n nu^2 / g(nu) fitted below ``nu_max`` -- the same
  quantity as the elastic one, up to the DOS method's error (:func:`theta_from_dos`).
* Moment Debye temperatures theta_D(k) = (h / k_B) [ (k + 3) / 3 <nu^k> ]^(1/k) (k != 0, k > -3), the
  moments over all 3n branches on a mesh (:func:`theta_moments`). All equal theta_D for a Debye
  spectrum; for a real one theta_D(k) -> theta_elastic as k -> -3 and theta_D(2) governs the
  high-temperature heat capacity / free energy.
"""
from __future__ import annotations

import numpy as np

from trajmodes.units import H_EV_PS, KB_EV

__all__ = ["fibonacci_sphere", "debye_velocity", "theta_elastic", "theta_from_dos",
           "theta_moments"]



def fibonacci_sphere(n: int) -> np.ndarray:
    """n nearly uniform unit vectors (n, 3) (Fibonacci lattice; equal weights)."""
    i = np.arange(n) + 0.5
    z = 1 - 2 * i / n
    phi = np.pi * (1 + 5 ** 0.5) * i
    r = np.sqrt(1 - z * z)
    return np.stack([r * np.cos(phi), r * np.sin(phi), z], axis=1)


def debye_velocity(velocities) -> float:
    """Debye sound speed v_D (same units as ``velocities``) from (ndir, 3) velocities on equal-weight directions:
    3 / v_D^3 = mean over directions of sum_s v_s^-3."""
    v = np.asarray(velocities, dtype=float)
    return float((3.0 / np.mean(np.sum(v ** -3.0, axis=1))) ** (1.0 / 3))


def _theta_from_vd(v_d_ms: float, n_atoms: int, volume: float) -> float:
    nu_d = v_d_ms / 100.0 * (3 * n_atoms / (4 * np.pi * volume)) ** (1.0 / 3)     # THz (v in THz*A)
    return H_EV_PS * nu_d / KB_EV


def theta_elastic(phonons, ndirections: int = 2000) -> tuple[float, float]:
    """Elastic Debye temperature (K) and Debye sound speed (m/s) from :meth:`Phonons.sound_velocities`
    averaged over ``ndirections`` Fibonacci directions (error ~1e-4 relative at 2000 for cubic crystals)."""
    v = phonons.sound_velocities(fibonacci_sphere(ndirections))
    vd = debye_velocity(v)
    pr = phonons.force_constants.primitive
    return _theta_from_vd(vd, pr.n_atoms, pr.volume), vd


def theta_from_dos(frequency, dos, n_atoms: int, nu_max: float) -> float:
    """Debye temperature (K) from the low-frequency limit of a DOS (states/THz per primitive cell).

    Least-squares fit g = c nu^2 over 0 < nu <= ``nu_max`` (THz); nu_D = (9 n / c)^(1/3).
    """
    f, g = np.asarray(frequency, dtype=float), np.asarray(dos, dtype=float)
    sel = (f > 0) & (f <= nu_max)
    c = np.sum(g[sel] * f[sel] ** 2) / np.sum(f[sel] ** 4)
    return H_EV_PS * (9 * n_atoms / c) ** (1.0 / 3) / KB_EV


def theta_moments(frequencies, k) -> np.ndarray:
    """Moment Debye temperatures theta_D(k) in K from mesh frequencies (nq, 3n) THz (equal q weights).

    Modes with nu <= 0 (acoustic at Gamma, imaginary) are left out. ``k`` scalar or array; k > -3, k != 0.
    """
    f = np.asarray(frequencies, dtype=float).ravel()
    f = f[f > 1e-6]
    k = np.atleast_1d(np.asarray(k, dtype=float))
    if np.any(k == 0) or np.any(k <= -3):
        raise ValueError("moments need k > -3 and k != 0")
    mom = np.array([np.mean(f ** kk) for kk in k])
    return H_EV_PS * ((k + 3) / 3 * mom) ** (1.0 / k) / KB_EV
