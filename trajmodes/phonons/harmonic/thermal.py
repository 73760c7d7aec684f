"""Harmonic thermodynamics from mesh frequencies: free energy, entropy, heat capacity, internal energy.

Per primitive cell (and per mole of primitive cells, phonopy's "kJ/mol"), averaged over a q mesh.
Constants are CODATA 2018 (``trajmodes.units``); phonopy still uses CODATA 2006 values, which differ
by up to 1.2e-6 relative (k_B 5.8e-7, e N_A 6.1e-7). The statistics of every mode (quantum or classical) are those of
:mod:`trajmodes.phonons.harmonic.statistics`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from trajmodes.lattice.qpoints import is_gamma, parse_mesh
from trajmodes.phonons.harmonic import statistics
from trajmodes.units import EV_KJMOL, THZ_EV

if TYPE_CHECKING:
    from trajmodes.phonons.harmonic.dynamical import DynamicalMatrix

__all__ = ["thermal_properties", "harmonic_thermodynamics", "HarmonicThermodynamics", "mesh_thermodynamics",
           "mode_heat_capacities", "zero_gamma_acoustic"]


@dataclass(frozen=True)
class HarmonicThermodynamics:
    """Mesh averages per cell of the harmonic crystal's thermodynamics (:func:`harmonic_thermodynamics`).

    Attributes
    ----------
    free_energy, internal_energy : ndarray (nt,)
        F and U, eV (with the zero-point energy for quantum oscillators).
    entropy, heat_capacity : ndarray (nt,)
        S and C_V, eV/K.
    zero_point_energy : float
        eV (0 for classical oscillators).
    """

    free_energy: np.ndarray
    entropy: np.ndarray
    heat_capacity: np.ndarray
    internal_energy: np.ndarray
    zero_point_energy: float


def mode_heat_capacities(freqs, temperatures, occupation: str = "quantum",
                         cutoff_frequency: float = 1e-4) -> np.ndarray:
    """Heat capacity of every mode, (nt,) + freqs.shape, eV/K: :func:`trajmodes.phonons.harmonic.statistics.mode_heat_capacity`
    with a cutoff of 1e-4 THz by default (zero at or below ``cutoff_frequency``, THz, and at T = 0)."""
    occupation = statistics.check_occupation(occupation)
    return statistics.mode_heat_capacity(freqs, temperatures, occupation, cutoff_frequency)


def harmonic_thermodynamics(freqs, temperatures, occupation: str = "quantum", cutoff_frequency: float = 0.0,
                            weights=None) -> HarmonicThermodynamics:
    """Mesh averages per cell of F, S, Cv, U (eV, eV/K) and the zero-point energy (eV).

    Parameters
    ----------
    freqs : (N, nb) THz
        Frequencies on a mesh. Modes with nu <= ``cutoff_frequency`` (THz), imaginary ones included, are left out.
    temperatures : (nt,) K
    occupation : {"quantum", "classical"}
        The statistics of every mode (:mod:`trajmodes.phonons.harmonic.statistics`). Classical harmonic oscillators:
        F = kT ln(h nu / kT), S = k (1 - ln(h nu / kT)), Cv = k, U = kT per mode, no zero-point energy.
    weights : (N,) array_like, optional
        Weight of every q (the size of its star when ``freqs`` are the irreducible points of a mesh); default 1.

    Returns
    -------
    HarmonicThermodynamics
        ``free_energy``, ``entropy``, ``heat_capacity``, ``internal_energy`` (nt,) and ``zero_point_energy``, eV
        and eV/K per cell.
    """
    occupation = statistics.check_occupation(occupation)
    f = np.asarray(freqs, dtype=float)
    wq = np.ones(len(f)) if weights is None else np.asarray(weights, dtype=float).reshape(len(f))
    N = wq.sum()
    keep = f > cutoff_frequency
    fs = f[keep]
    w = np.broadcast_to(wq[:, None], f.shape)[keep]                     # the weight of every kept mode
    e = fs * THZ_EV                                                      # eV
    T = np.atleast_1d(np.asarray(temperatures, dtype=float))
    zpe = 0.0 if occupation == "classical" else 0.5 * (w * e).sum()     # summed over the mesh
    F, S, C, U = (np.zeros(len(T)) for _ in range(4))
    F[T <= 0] = U[T <= 0] = zpe
    pos = np.flatnonzero(T > 0)
    block = max(1, 4_000_000 // max(1, e.size))
    for s in range(0, len(pos), block):
        i = pos[s:s + block]
        # fs: already selected
        F[i] = statistics.mode_free_energy(fs, T[i], occupation, cutoff_frequency=-np.inf) @ w
        S[i] = statistics.mode_entropy(fs, T[i], occupation, cutoff_frequency=-np.inf) @ w
        C[i] = statistics.mode_heat_capacity(fs, T[i], occupation, cutoff_frequency=-np.inf) @ w
        U[i] = statistics.mode_energy(fs, T[i], occupation, cutoff_frequency=-np.inf) @ w
    return HarmonicThermodynamics(free_energy=F / N, entropy=S / N, heat_capacity=C / N, internal_energy=U / N,
                                  zero_point_energy=zpe / N)


def zero_gamma_acoustic(q, freqs) -> np.ndarray:
    """``freqs`` (nq, 3n, THz) with the three acoustic modes of every Gamma point (the three smallest in magnitude) set
    to exactly zero, in place: they carry no thermodynamics, and round-off would make them tiny or imaginary."""
    for g in np.flatnonzero(is_gamma(q)):
        freqs[g, np.argsort(np.abs(freqs[g]), kind="stable")[:3]] = 0.0
    return freqs


def mesh_thermodynamics(dynamical_matrix: DynamicalMatrix, temperatures, mesh=(20, 20, 20),
                        occupation: str = "quantum", cutoff_frequency: float = 0.0) -> HarmonicThermodynamics:
    """Harmonic thermodynamics per primitive cell in eV and eV/K over temperatures (the numbers of
    :func:`thermal_properties` before phonopy's per-mole units).

    Parameters
    ----------
    dynamical_matrix : DynamicalMatrix
        The harmonic crystal (``Phonons(force_constants).dm``).
    temperatures : float or array_like (nt,)
        Temperatures (K) at which the thermodynamic functions are evaluated.
    mesh : int or (3,) int
        Gamma-centred q mesh; the acoustic modes at Gamma are left out.
    occupation : {"quantum", "classical"}
    cutoff_frequency : float
        THz; modes at or below it are left out.

    Returns
    -------
    HarmonicThermodynamics
        F, U (eV), S, C_V (eV/K) per primitive cell and the zero-point energy (eV).
    """
    occupation = statistics.check_occupation(occupation)
    T = np.atleast_1d(np.asarray(temperatures, dtype=float))
    m = dynamical_matrix.mesh_frequencies(mesh)
    q, f = m.qpoints, m.frequencies
    return harmonic_thermodynamics(zero_gamma_acoustic(q, f), T, occupation, cutoff_frequency=cutoff_frequency)


def thermal_properties(dynamical_matrix: DynamicalMatrix, temperatures, mesh=(20, 20, 20),
                       occupation: str = "quantum", cutoff_frequency: float = 0.0):
    """Harmonic thermodynamics per primitive cell over temperatures: :meth:`trajmodes.Phonons.thermal_properties`
    (in phonopy's per-mole units; :func:`mesh_thermodynamics` gives the same numbers in eV and eV/K per primitive
    cell). The attribute ``occupation`` names the statistics.
    """
    import xarray as xr
    occupation = statistics.check_occupation(occupation)
    T = np.atleast_1d(np.asarray(temperatures, dtype=float))
    r = mesh_thermodynamics(dynamical_matrix, T, mesh, occupation, cutoff_frequency)
    kj, jk = {"units": "kJ/mol"}, {"units": "J/(K mol)"}
    data = dict(free_energy=("temperature", r.free_energy * EV_KJMOL, kj),
                internal_energy=("temperature", r.internal_energy * EV_KJMOL, kj),
                entropy=("temperature", r.entropy * EV_KJMOL * 1000, jk),
                heat_capacity=("temperature", r.heat_capacity * EV_KJMOL * 1000, jk),
                zero_point_energy=((), r.zero_point_energy * EV_KJMOL,
                                   {"units": "kJ/mol", "eV": r.zero_point_energy}))
    return xr.Dataset(data, coords=dict(temperature=("temperature", T, {"units": "K"})),
                      attrs=dict(mesh=parse_mesh(mesh, matrix=False).tolist(), occupation=occupation,
                                 per="primitive cell"))
