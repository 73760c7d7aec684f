"""Harmonic thermodynamics from mesh frequencies: free energy, entropy, heat capacity, internal energy.

Per primitive cell (and per mole of primitive cells, phonopy's "kJ/mol"), averaged over a q mesh.
Constants are CODATA 2018 (``trajmodes.units``); phonopy still uses CODATA 2006 values, which differ
by up to 1.2e-6 relative (k_B 5.8e-7, e N_A 6.1e-7).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from trajmodes.lattice.qpoints import is_gamma
from trajmodes.units import EV_KJMOL, KB_EV, THZ_EV

if TYPE_CHECKING:
    from trajmodes.phonons.harmonic import Phonons

__all__ = ["thermal_properties", "harmonic_thermodynamics", "mode_heat_capacities", "zero_gamma_acoustic"]


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


def harmonic_thermodynamics(freqs, temperatures, classical: bool = False, cutoff_frequency: float = 0.0,
                            weights=None):
    """Mesh averages per cell of F, S, Cv, U (eV, eV/K) and the zero-point energy (eV).

    Parameters
    ----------
    freqs : (N, nb) THz
        Frequencies on a mesh. Modes with nu <= ``cutoff_frequency`` (THz), imaginary ones included, are left out.
    temperatures : (nt,) K
    classical : bool
        Classical harmonic oscillators: F = kT ln(h nu / kT), S = k (1 - ln(h nu / kT)), Cv = k,
        U = kT per mode, no zero-point energy.
    weights : (N,) array_like, optional
        Weight of every q (the size of its star when ``freqs`` are the irreducible points of a mesh); default 1.

    Returns
    -------
    dict of ndarray (nt,): free_energy, entropy, heat_capacity, internal_energy; and zero_point_energy.
    """
    f = np.asarray(freqs, dtype=float)
    wq = np.ones(len(f)) if weights is None else np.asarray(weights, dtype=float).reshape(len(f))
    N = wq.sum()
    keep = f > cutoff_frequency
    fs = f[keep]
    w = np.broadcast_to(wq[:, None], f.shape)[keep]                     # the weight of every kept mode
    e = fs * THZ_EV                                                      # eV
    T = np.atleast_1d(np.asarray(temperatures, dtype=float))
    zpe = 0.0 if classical else 0.5 * (w * e).sum()                     # summed over the mesh
    F, S, C, U = (np.zeros(len(T)) for _ in range(4))
    F[T <= 0] = U[T <= 0] = zpe
    pos = np.flatnonzero(T > 0)
    block = max(1, 4_000_000 // max(1, e.size))
    for s in range(0, len(pos), block):
        i = pos[s:s + block]
        kT = KB_EV * T[i][:, None]
        x = e[None, :] / kT
        if classical:
            ln = np.log(x)
            F[i] = (kT * ln) @ w
            S[i] = (KB_EV * (1 - ln)) @ w
            C[i] = KB_EV * w.sum()
            U[i] = kT[:, 0] * w.sum()
        else:
            em = np.exp(-x)
            om = -np.expm1(-x)                                           # 1 - e^-x, no overflow
            F[i] = (kT * np.log(om) + e / 2) @ w
            S[i] = (KB_EV * (x * em / om - np.log(om))) @ w
            C[i] = mode_heat_capacities(fs, T[i], cutoff_frequency=-np.inf) @ w    # fs: already selected
            U[i] = (e / 2 + e * em / om) @ w
    return dict(free_energy=F / N, entropy=S / N, heat_capacity=C / N, internal_energy=U / N,
                zero_point_energy=zpe / N)


def zero_gamma_acoustic(q, freqs) -> np.ndarray:
    """``freqs`` (nq, 3n, THz) with the three acoustic modes of every Gamma point (the three smallest in magnitude) set
    to exactly zero, in place: they carry no thermodynamics, and round-off would make them tiny or imaginary."""
    for g in np.flatnonzero(is_gamma(q)):
        freqs[g, np.argsort(np.abs(freqs[g]), kind="stable")[:3]] = 0.0
    return freqs


def thermal_properties(phonons: Phonons, temperatures, mesh=(20, 20, 20), classical: bool = False,
                       cutoff_frequency: float = 0.0):
    """Harmonic thermodynamics per primitive cell over temperatures: :meth:`trajmodes.Phonons.thermal_properties`."""
    import xarray as xr
    T = np.atleast_1d(np.asarray(temperatures, dtype=float))
    q, f, _ = phonons.mesh(mesh)
    r = harmonic_thermodynamics(zero_gamma_acoustic(q, f), T, classical=classical, cutoff_frequency=cutoff_frequency)
    kj, jk = {"units": "kJ/mol"}, {"units": "J/(K mol)"}
    data = dict(free_energy=("temperature", r["free_energy"] * EV_KJMOL, kj),
                internal_energy=("temperature", r["internal_energy"] * EV_KJMOL, kj),
                free_energy_eV=("temperature", r["free_energy"], {"units": "eV"}),
                internal_energy_eV=("temperature", r["internal_energy"], {"units": "eV"}),
                entropy=("temperature", r["entropy"] * EV_KJMOL * 1000, jk),
                heat_capacity=("temperature", r["heat_capacity"] * EV_KJMOL * 1000, jk),
                entropy_eV=("temperature", r["entropy"], {"units": "eV/K"}),
                heat_capacity_eV=("temperature", r["heat_capacity"], {"units": "eV/K"}),
                zero_point_energy=((), r["zero_point_energy"] * EV_KJMOL,
                                   {"units": "kJ/mol", "eV": r["zero_point_energy"]}))
    return xr.Dataset(data, coords=dict(temperature=("temperature", T, {"units": "K"})),
                      attrs=dict(mesh=np.asarray(mesh, dtype=int).tolist(), classical=int(classical),
                                 per="primitive cell"))
