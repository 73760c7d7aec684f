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

import warnings

import numpy as np

from trajmodes.units import KB_EV, THZ_EV

__all__ = ["OCCUPATIONS", "check_occupation", "resolve_occupation", "occupations", "pair_occupations",
           "mode_energy", "mode_free_energy", "mode_entropy", "mode_heat_capacity"]

#: the two statistics, the values of every ``occupation`` keyword
OCCUPATIONS = ("quantum", "classical")


def check_occupation(occupation) -> str:
    """``occupation`` if it is one of :data:`OCCUPATIONS`; ValueError otherwise."""
    if isinstance(occupation, str) and occupation in OCCUPATIONS:
        return occupation
    raise ValueError(f"occupation must be 'quantum' or 'classical', not {occupation!r}")


def resolve_occupation(occupation="quantum", classical=None, stacklevel: int = 3) -> str:
    """The occupation of a function that used to take ``classical: bool`` and now takes ``occupation``.

    Parameters
    ----------
    occupation : {"quantum", "classical"} or bool
        A bool here is the former positional ``classical`` flag (deprecated).
    classical : bool or None
        The former keyword (deprecated): True means ``occupation="classical"``, False ``"quantum"``.
    stacklevel : int
        Of the DeprecationWarning, as :func:`warnings.warn` counts it from this function (3: the caller of the
        function that calls this one).

    Returns
    -------
    str, one of :data:`OCCUPATIONS`.

    Warns
    -----
    DeprecationWarning
        When ``classical`` is given, or a bool in place of ``occupation``.
    """
    if isinstance(occupation, (bool, np.bool_)):
        if classical is not None:
            raise TypeError("give occupation='quantum' or 'classical', not also classical=")
        occupation, classical = "quantum", bool(occupation)
    if classical is None:
        return check_occupation(occupation)
    warnings.warn("classical=True/False is deprecated and will be removed in the next release: pass "
                  "occupation='classical' or occupation='quantum'", DeprecationWarning, stacklevel=stacklevel)
    if check_occupation(occupation) == "classical" and not classical:
        raise ValueError("occupation='classical' contradicts classical=False")
    return "classical" if classical else "quantum"


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
    (:mod:`trajmodes.phonons.lbte`).

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
