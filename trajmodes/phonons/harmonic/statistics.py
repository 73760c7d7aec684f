"""Statistics of harmonic oscillators: the occupation of a phonon mode and its energy, free energy, entropy and heat
capacity, quantum (Bose-Einstein) or classical; the one place where they are computed.

With x = h nu / (k_B T), per mode:

    ==================  ===================================  ===================
    quantity            quantum (``occupation="quantum"``)    classical
    ==================  ===================================  ===================
    occupation n        1 / (e^x - 1)                        k_B T / (h nu)
    energy U            h nu / 2 + h nu n                    k_B T
    free energy F       h nu / 2 + k_B T ln(1 - e^-x)        k_B T ln x
    entropy S           k_B [x n - ln(1 - e^-x)]             k_B (1 - ln x)
    heat capacity C     k_B x^2 e^x / (e^x - 1)^2            k_B
    ==================  ===================================  ===================

F = U - T S in both; the classical column is the limit of the quantum one for x -> 0 (with the zero-point energy and
the constant k_B T x / 2 of the expansion of F left out: the classical oscillator of classical molecular dynamics).

Units: frequencies nu in THz, temperatures T in K, energies in eV, entropies and heat capacities in eV/K, per mode.
Every function returns one row per temperature, shape (nt,) + nu.shape. Modes at or below ``cutoff_frequency`` (THz;
imaginary modes, given as negative frequencies, included) carry nothing (0). At T = 0 the quantum oscillator is in
its ground state (U = F = h nu / 2, n = S = C = 0) and the classical one carries nothing. Constants from
:mod:`trajmodes.units` (CODATA 2018).
"""
from __future__ import annotations

import numpy as np

from trajmodes.units import KB_EV, THZ_EV

__all__ = ["OCCUPATIONS", "check_occupation", "occupations", "pair_occupations",
           "mode_energy", "mode_free_energy", "mode_entropy", "mode_heat_capacity", "HEAT_CAPACITY_MATRICES",
           "heat_capacity_matrix"]

#: the two-mode heat capacities of :func:`heat_capacity_matrix`
HEAT_CAPACITY_MATRICES = ("smm19", "njc23", "ibdb19")

#: the two statistics, the values of every ``occupation`` keyword
OCCUPATIONS = ("quantum", "classical")


def check_occupation(occupation) -> str:
    """``occupation`` if it is one of :data:`OCCUPATIONS`; ValueError otherwise."""
    if isinstance(occupation, str) and occupation in OCCUPATIONS:
        return occupation
    raise ValueError(f"occupation must be 'quantum' or 'classical', not {occupation!r}")


def _broadcast(freqs, temperatures):
    """Frequencies as floats, and temperatures shaped (nt,) + (1,) * freqs.ndim."""
    f = np.asarray(freqs, dtype=float)
    T = np.atleast_1d(np.asarray(temperatures, dtype=float)).reshape((-1,) + (1,) * f.ndim)
    return f, T


def _reduced(freqs, temperatures, cutoff_frequency: float):
    """f, T, where the oscillators are active (nu > cutoff and T > 0), h nu (eV), k_B T (eV; k_B at T <= 0) and
    x = h nu / k_B T (1 where inactive)."""
    f, T = _broadcast(freqs, temperatures)
    ok = (f > cutoff_frequency) & (T > 0)
    e = f * THZ_EV
    kT = KB_EV * np.where(T > 0, T, 1.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        x = np.where(ok, e / kT, 1.0)
    return f, T, ok, e, kT, x


def _ground(f, T, e, cutoff_frequency: float, occupation: str):
    """The T = 0 value of U and F: h nu / 2 (quantum) or 0 (classical) for the modes above the cutoff."""
    if occupation == "classical":
        return 0.0
    return np.where((T <= 0) & (f > cutoff_frequency), e / 2, 0.0)


def occupations(freqs, temperatures, occupation: str = "quantum") -> np.ndarray:
    """Phonon occupations n(nu, T).

    Parameters
    ----------
    freqs : array_like, THz
    temperatures : float or (nt,) array_like, K
    occupation : {"quantum", "classical"}
        ``quantum``: Bose-Einstein, 1 / (exp(h nu / k_B T) - 1); ``classical``: k_B T / (h nu).

    Returns
    -------
    ndarray (nt,) + freqs.shape, dimensionless; zero at T = 0 and for nu <= 0.
    """
    check_occupation(occupation)
    f, T = _broadcast(freqs, temperatures)
    e = np.where(f > 0, f, np.inf) * THZ_EV
    kT = KB_EV * T
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        n = kT / e if occupation == "classical" else 1.0 / np.expm1(e / kT)
    return np.where((T > 0) & (f > 0), n, 0.0)


def pair_occupations(freqs, temperatures, occupation: str = "quantum", cutoff_frequency: float = 0.0) -> np.ndarray:
    """sqrt(n (n + 1)) = 1 / (2 sinh(h nu / 2 k_B T)) (quantum) or n = k_B T / (h nu) (classical).

    The weight that makes the collision matrix of the linearised Boltzmann equation symmetric
    (:mod:`trajmodes.phonons.anharmonic.lbte`).

    Parameters
    ----------
    freqs : array_like, THz
    temperatures : float or (nt,) array_like, K
    occupation : {"quantum", "classical"}
    cutoff_frequency : float
        THz; modes at or below it get zero.

    Returns
    -------
    ndarray (nt,) + freqs.shape, dimensionless; zero at or below ``cutoff_frequency`` and at T = 0.
    """
    if check_occupation(occupation) == "classical":
        f, T = _broadcast(freqs, temperatures)
        return occupations(f, T.reshape(-1), "classical") * ((f > cutoff_frequency) & (T > 0))
    f, T, ok, e, kT, x = _reduced(freqs, temperatures, cutoff_frequency)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        p = np.exp(-0.5 * x) / (-np.expm1(-x))                            # e^{-x/2} / (1 - e^{-x}), no overflow
    return np.where(ok, p, 0.0)


def mode_energy(freqs, temperatures, occupation: str = "quantum", cutoff_frequency: float = 0.0) -> np.ndarray:
    """Mean energy U of every mode, eV: h nu / 2 + h nu n (quantum, zero-point energy included) or k_B T
    (classical).

    Parameters
    ----------
    freqs : array_like, THz
    temperatures : float or (nt,) array_like, K
    occupation : {"quantum", "classical"}
    cutoff_frequency : float
        THz; modes at or below it get zero.

    Returns
    -------
    ndarray (nt,) + freqs.shape, eV; h nu / 2 (quantum) or 0 (classical) at T = 0.
    """
    f, T, ok, e, kT, x = _reduced(freqs, temperatures, cutoff_frequency)
    if check_occupation(occupation) == "classical":
        return np.where(ok, kT, 0.0)
    with np.errstate(over="ignore", invalid="ignore"):
        u = e / 2 + e * np.exp(-x) / (-np.expm1(-x))
    return np.where(ok, u, _ground(f, T, e, cutoff_frequency, occupation))


def mode_free_energy(freqs, temperatures, occupation: str = "quantum", cutoff_frequency: float = 0.0) -> np.ndarray:
    """Helmholtz free energy F of every mode, eV: h nu / 2 + k_B T ln(1 - exp(-h nu / k_B T)) (quantum) or
    k_B T ln(h nu / k_B T) (classical).

    Parameters
    ----------
    freqs : array_like, THz
    temperatures : float or (nt,) array_like, K
    occupation : {"quantum", "classical"}
    cutoff_frequency : float
        THz; modes at or below it get zero.

    Returns
    -------
    ndarray (nt,) + freqs.shape, eV; h nu / 2 (quantum) or 0 (classical) at T = 0.
    """
    f, T, ok, e, kT, x = _reduced(freqs, temperatures, cutoff_frequency)
    with np.errstate(divide="ignore", invalid="ignore"):
        if check_occupation(occupation) == "classical":
            F = kT * np.log(x)
        else:
            F = kT * np.log(-np.expm1(-x)) + e / 2
    return np.where(ok, F, _ground(f, T, e, cutoff_frequency, occupation))


def mode_entropy(freqs, temperatures, occupation: str = "quantum", cutoff_frequency: float = 0.0) -> np.ndarray:
    """Entropy S of every mode, eV/K: k_B [x n - ln(1 - e^-x)] (quantum) or k_B (1 - ln x) (classical),
    x = h nu / k_B T.

    Parameters
    ----------
    freqs : array_like, THz
    temperatures : float or (nt,) array_like, K
    occupation : {"quantum", "classical"}
    cutoff_frequency : float
        THz; modes at or below it get zero.

    Returns
    -------
    ndarray (nt,) + freqs.shape, eV/K; zero at T = 0.
    """
    f, T, ok, e, kT, x = _reduced(freqs, temperatures, cutoff_frequency)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        if check_occupation(occupation) == "classical":
            S = KB_EV * (1 - np.log(x))
        else:
            om = -np.expm1(-x)                                              # 1 - e^-x, no overflow
            S = KB_EV * (x * np.exp(-x) / om - np.log(om))
    return np.where(ok, S, 0.0)


def mode_heat_capacity(freqs, temperatures, occupation: str = "quantum", cutoff_frequency: float = 0.0) -> np.ndarray:
    """Heat capacity C (at constant volume) of every mode, eV/K: k_B x^2 e^x / (e^x - 1)^2 with x = h nu / k_B T
    (quantum) or k_B (classical).

    Parameters
    ----------
    freqs : array_like, THz
    temperatures : float or (nt,) array_like, K
    occupation : {"quantum", "classical"}
    cutoff_frequency : float
        THz; modes at or below it get zero.

    Returns
    -------
    ndarray (nt,) + freqs.shape, eV/K; zero at T = 0 (classical too).
    """
    f, T, ok, e, kT, x = _reduced(freqs, temperatures, cutoff_frequency)
    if check_occupation(occupation) == "classical":
        return np.where(ok, KB_EV, 0.0)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        c = KB_EV * x * x * np.exp(-x) / (-np.expm1(-x)) ** 2
    return np.where(ok, np.nan_to_num(c), 0.0)


def heat_capacity_matrix(freqs, temperatures, occupation: str = "quantum", cutoff_frequency: float = 0.0,
                         kind: str = "smm19") -> np.ndarray:
    """The heat capacity of a pair of modes at one q, C_ss', whose diagonal is :func:`mode_heat_capacity`: the weight of
    the coherence between two branches in the thermal conductivity (:mod:`trajmodes.phonons.anharmonic.coherence`).

    With x = h nu / (k_B T) and n the occupations:

    - ``"smm19"``: (nu_s + nu_s') / 4 (C_s / nu_s + C_s' / nu_s'), from the scalar heat capacities: the weight of
      the Wigner transport equation, M. Simoncelli, N. Marzari and F. Mauri, Nat. Phys. 15, 809 (2019) (there
      hbar^2 / (k_B T^2) (omega_s + omega_s') / 2 [omega_s n_s (n_s + 1) + omega_s' n_s' (n_s' + 1)], over the
      factor 2 its Lorentzian carries in full widths).
    - ``"njc23"``: -k_B ((x_s + x_s') / 2)^2 (n_s - n_s') / (x_s - x_s'), M. Ndour, P. Jund and L. Chaput,
      J. Non-Cryst. Solids 621, 122618 (2023).
    - ``"ibdb19"``: -k_B x_s x_s' (n_s - n_s') / (x_s - x_s'), the quasi-harmonic Green-Kubo weight of L. Isaeva,
      G. Barbalinardo, D. Donadio and S. Baroni, Nat. Commun. 10, 3853 (2019), Eq. (9).

    (n_s - n_s') / (x_s - x_s') is taken as -n_a (n_b + 1) expm1(x_a - x_b) / (x_a - x_b) with x_a <= x_b (exact, no
    cancellation between close frequencies; -n (n + 1) at x_a = x_b); classically (n = 1 / x) it is -1 / (x_s x_s'),
    and ``"ibdb19"`` is k_B for every pair. The three names are phono3py's (``--tt``), which builds the same matrices.

    Parameters
    ----------
    freqs : (..., nb) THz, the branches of one q in the last axis
    temperatures : float or (nt,) K
    occupation : {"quantum", "classical"}
    cutoff_frequency : float
        THz; a pair with a mode at or below it gets zero.
    kind : {"smm19", "njc23", "ibdb19"}

    Returns
    -------
    ndarray (nt,) + freqs.shape + (nb,), eV/K, symmetric in the last two axes; zero at T = 0.
    """
    if kind not in HEAT_CAPACITY_MATRICES:
        raise ValueError(f"kind must be one of {HEAT_CAPACITY_MATRICES}, not {kind!r}")
    f, T, ok, e, kT, x = _reduced(freqs, temperatures, cutoff_frequency)
    pair = ok[..., :, None] & ok[..., None, :]
    if kind == "smm19":
        C = mode_heat_capacity(freqs, T.reshape(-1), occupation, cutoff_frequency)
        fp = np.where(ok, f, 1.0)
        cf = np.where(ok, C / fp, 0.0)
        out = 0.25 * (fp[..., :, None] + fp[..., None, :]) * (cf[..., :, None] + cf[..., None, :])
        return np.where(pair, out, 0.0)
    xa, xb = x[..., :, None], x[..., None, :]
    if check_occupation(occupation) == "classical":
        ratio = -1.0 / (xa * xb)
    else:
        lo, hi = np.minimum(xa, xb), np.maximum(xa, xb)
        d = lo - hi                                                            # <= 0: expm1 cannot overflow
        with np.errstate(over="ignore", invalid="ignore"):
            n_lo = np.exp(-lo) / (-np.expm1(-lo))
            n_hi1 = 1.0 / (-np.expm1(-hi))                                    # n + 1
            small = np.abs(d) < 1e-8
            q = np.where(small, 1.0 + d / 2, np.expm1(d) / np.where(small, 1.0, d))
            ratio = -n_lo * n_hi1 * q
    P = (0.25 * (xa + xb) ** 2) if kind == "njc23" else xa * xb
    with np.errstate(invalid="ignore"):
        out = -KB_EV * P * ratio
    return np.where(pair, np.nan_to_num(out), 0.0)
