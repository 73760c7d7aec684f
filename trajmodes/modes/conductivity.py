"""Lattice thermal conductivity from the phonon lifetimes measured in a molecular dynamics run.

The relaxation-time formula (:func:`trajmodes.phonons.anharmonic.conductivity.kappa_rta`; Peierls 1929, e.g. Togo,
Chaput and Tanaka, Phys. Rev. B 91, 094306 (2015), Eq. (27)) fed with the lifetimes :func:`trajmodes.fit_peaks`
fits to the mode spectra, on the q-points commensurate with the MD supercell, with group velocities and heat
capacities from harmonic (or effective) force constants. This is the Green-Kubo-free route of
McGaughey and Kaviany, Phys. Rev. B 69, 094303 (2004): lifetimes from normal-mode analysis, everything else
harmonic. No interpolation to a denser mesh is made: the sum runs over the MD cell's own q-points, so the
result carries the finite-size error of that cell (the long-wavelength acoustic modes it cannot hold are missing).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from trajmodes.phonons.anharmonic.conductivity import kappa_rta, kappa_velocities
from trajmodes.phonons.harmonic.statistics import check_occupation, mode_heat_capacity
from trajmodes.lattice.spglib_calls import SYMPREC

__all__ = ["conductivity_from_lifetimes"]

_OK = "ok"


def peak_variable(peaks: xr.Dataset, name: str) -> xr.DataArray:
    """``name`` or ``peak_name`` (a :func:`trajmodes.workflows.modes_dataset` merges the fits with that prefix)."""
    for key in (f"peak_{name}", name):
        if key in peaks and set(peaks[key].dims) == {"q", "branch"}:
            return peaks[key].transpose("q", "branch")
    raise ValueError(f"the peak fits have no {name!r}: pass the dataset of trajmodes.fit_peaks "
                     "(or of `trajmodes project`)")


def conductivity_from_lifetimes(phonons, lifetimes: xr.Dataset, temperature: float | None = None,
                                occupation: str = "classical", accept=(_OK,), degeneracy_tol: float = 1e-4,
                                cutoff_frequency: float = 1e-4, symprec: float = SYMPREC) -> xr.Dataset:
    """Thermal conductivity tensor from MD lifetimes, with the error propagated from the peak fits (the three-phonon
    conductivity of force constants is :meth:`trajmodes.phonons.anharmonic.anharmonic.Anharmonic.thermal_conductivity`).

    Parameters
    ----------
    phonons : Phonons
        Harmonic or effective phonons for the velocities and heat capacities (those the modes were projected
        on, usually).
    lifetimes : xarray.Dataset
        :func:`trajmodes.fit_peaks` (``lifetime``, ``lifetime_err``, ``status``) over (q, branch) with the
        coordinate ``qpoint`` (reduced), on every q-point of the MD cell (the full commensurate set: each counts
        once); or the dataset of :func:`trajmodes.workflows.modes_dataset` (``peak_*``).
    temperature : float, optional
        K; default the dataset's ``temperature`` attribute (the run's kinetic temperature).
    occupation : {"classical", "quantum"}
        Heat capacities k_B per mode (classical: what a classical MD run has) or Bose-Einstein
        (:func:`trajmodes.phonons.harmonic.statistics.mode_heat_capacity`).
    accept : tuple of str
        Fit statuses whose lifetimes are used; the other modes contribute nothing, and the share of the
        heat-capacity-weighted velocity sum they carry is reported as ``missing_share``.
    degeneracy_tol, cutoff_frequency, symprec
        For the group velocities (THz, THz, Å): :func:`trajmodes.phonons.anharmonic.conductivity.kappa_velocities`.

    Returns
    -------
    xarray.Dataset: ``kappa`` and ``kappa_err`` (cartesian, cartesian2) W/(m K); ``mode_kappa`` (q, branch,
    cartesian, cartesian2); ``heat_capacity`` (q, branch) eV/K; ``group_velocity`` (q, branch, cartesian) THz Å;
    ``lifetime``, ``lifetime_err`` (ps) and ``used`` (q, branch) as summed; ``missing_share`` (scalar). Errors:
    1 sigma from ``lifetime_err``; modes that share one fit (a star of q, a degenerate set) are counted as one
    fully correlated error.
    """
    check_occupation(occupation)
    T = lifetimes.attrs.get("temperature") if temperature is None else temperature
    if T is None or not np.isfinite(float(T)) or float(T) <= 0:
        raise ValueError("give the temperature (K): the lifetimes dataset has no 'temperature' attribute")
    T = float(T)
    if "qpoint" not in lifetimes.coords:
        raise ValueError("the lifetimes need their q-points (coordinate 'qpoint', reduced), as fit_peaks keeps them")
    q = np.asarray(lifetimes["qpoint"].transpose("q", ...).values, dtype=float)
    tau = np.asarray(peak_variable(lifetimes, "lifetime").values, dtype=float)
    err = np.asarray(peak_variable(lifetimes, "lifetime_err").values, dtype=float)
    status = np.asarray(peak_variable(lifetimes, "status").values).astype(str)
    prim = phonons.force_constants.primitive
    f = phonons.frequencies(q)
    if f.shape != tau.shape:
        raise ValueError(f"the lifetimes have {tau.shape[1]} branches per q, the phonons {f.shape[1]}: "
                         "give the phonons the modes were projected on")
    v = kappa_velocities(phonons, q, degeneracy_tol, cutoff_frequency, symprec)
    C = mode_heat_capacity(f, [T], occupation, cutoff_frequency)[0]                       # (nq, nb)
    used = np.isin(status, list(accept)) & np.isfinite(tau) & (tau > 0) & (f > cutoff_frequency)
    # d kappa / d tau of every mode: the RTA sum with unit lifetimes, every q counted once
    per_tau = kappa_rta(C[None], v, np.ones((1,) + f.shape), np.ones(len(q)), prim.volume).mode_kappa[0]
    mode = np.where(used[..., None, None], per_tau * np.where(used, tau, 0.0)[..., None, None], 0.0)
    # errors: one term per fit (identical lifetime and error: a star, a degenerate set), summed linearly inside
    e = np.where(used & np.isfinite(err), err, 0.0)
    key = np.stack([np.where(used, tau, np.nan), e], axis=-1).reshape(-1, 2)
    _, fit = np.unique(np.round(key, 12), axis=0, return_inverse=True)
    contrib = (per_tau * e[..., None, None]).reshape(-1, 3, 3)
    by_fit = np.zeros((fit.max() + 1, 3, 3))
    np.add.at(by_fit, fit.ravel(), contrib)
    kappa_err = np.sqrt((by_fit ** 2).sum(axis=0))
    weight = C * (v ** 2).sum(axis=-1)                                                     # trace share
    active = f > cutoff_frequency
    missing = float(weight[active & ~used].sum() / weight[active].sum()) if weight[active].sum() > 0 else 0.0
    dims, cart = ("q", "branch"), ("cartesian", "cartesian2")
    ds = xr.Dataset(
        dict(kappa=(cart, mode.sum(axis=(0, 1)), {"units": "W/(m K)", "long_name": "thermal conductivity (RTA, "
                                                  "MD lifetimes)"}),
             kappa_err=(cart, kappa_err, {"units": "W/(m K)", "long_name": "1 sigma from the lifetime errors"}),
             mode_kappa=(dims + cart, mode, {"units": "W/(m K)"}),
             heat_capacity=(dims, C, {"units": "eV/K"}),
             group_velocity=(dims + ("cartesian",), v, {"units": "THz*Angstrom",
                                                        "long_name": "group velocity (1 THz*Angstrom = 100 m/s)"}),
             lifetime=(dims, np.where(used, tau, np.nan), {"units": "ps"}),
             lifetime_err=(dims, np.where(used, err, np.nan), {"units": "ps"}),
             used=(dims, used),
             missing_share=((), missing, {"units": "1", "long_name": "share of sum C v^2 in modes without an "
                                          "accepted lifetime (they contribute nothing)"})),
        coords=dict(qpoint=(("q", "reduced"), q), frequency_harmonic=(dims, f, {"units": "THz"}),
                    cartesian=["x", "y", "z"], cartesian2=["x", "y", "z"]))
    ds.attrs.update(temperature=T, occupation=occupation, method="rta", lifetimes="molecular dynamics peak fits",
                    n_qpoints=len(q), accepted_status=",".join(accept))
    return ds

