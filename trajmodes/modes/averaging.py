"""Averaging the spectra of equivalent modes: degenerate branches at one q, and the star of q."""
from __future__ import annotations

import numpy as np
import xarray as xr

from trajmodes.phonons.harmonic.degeneracy import degenerate_groups

__all__ = ["degenerate_sum", "star_average"]


def degenerate_sum(psd: np.ndarray, harmonic: np.ndarray, tol: float = 1e-3) -> np.ndarray:
    """Spectra (q, branch, frequency) summed over the degenerate branches of each q (harmonic frequencies
    within ``tol`` THz, chained), every member of a group holding the group's sum: what :func:`fit_peaks`
    fits for each mode."""
    out = np.empty_like(psd)
    for iq in range(psd.shape[0]):
        for g in degenerate_groups(harmonic[iq], tol):
            out[iq, g] = psd[iq, g].sum(axis=0)
    return out


def star_average(spectra: xr.Dataset, decimals: int = 4) -> xr.Dataset:
    """Average the spectra over the star of q: q-points with the same set of harmonic frequencies.

    The commensurate q-points related by the point group (and q <-> -q) have the same harmonic
    frequencies; they are grouped by the sorted |frequency_harmonic| rounded to ``decimals`` (THz), as
    DynaPhoPy averages equivalent q. Every member gets the mean ``psd`` of its group (so
    :func:`fit_peaks` on the result fits each star once, with degenerate branches summed as usual);
    ``psd_err`` becomes the standard error of that mean (independent members assumed; a q and -q pair
    of a real trajectory are not independent, so it is optimistic by up to sqrt(2)). ``sed`` and
    ``vdos`` are kept. Coordinate ``star`` (q) labels the group, ``n_star`` (q) its size.
    """
    H = np.asarray(spectra["frequency_harmonic"].transpose("q", "branch").values, float)
    key = np.round(np.sort(np.abs(H), axis=1), decimals) + 0.0
    _, star, n_star = np.unique(key, axis=0, return_inverse=True, return_counts=True)
    star = star.ravel()
    psd = spectra["psd"].transpose("q", "branch", "frequency")
    P = np.asarray(psd.values, float)
    E = np.asarray(spectra["psd_err"].transpose("q", "branch", "frequency").values, float) \
        if "psd_err" in spectra else P.copy()
    # branches of different members are matched by harmonic frequency order
    order = np.argsort(H, axis=1)
    Ps = np.take_along_axis(P, order[:, :, None], axis=1)
    Es = np.take_along_axis(E, order[:, :, None], axis=1)
    mean = np.zeros_like(P)
    err = np.zeros_like(P)
    for g in range(star.max() + 1):
        m = np.flatnonzero(star == g)
        pm = Ps[m].mean(axis=0)
        em = np.sqrt((Es[m] ** 2).sum(axis=0)) / len(m)
        for i in m:
            inv = np.argsort(order[i])
            mean[i] = pm[inv]
            err[i] = em[inv]
    out = spectra.copy()
    out["psd"] = (psd.dims, mean, dict(psd.attrs, long_name=str(psd.attrs.get("long_name", "")) +
                                      "; averaged over the star of q"))
    out["psd_err"] = (psd.dims, err, dict(psd.attrs, long_name="standard error of the star-averaged psd"))
    out = out.assign_coords(star=("q", star), n_star=("q", n_star[star]))
    out.attrs["star_averaged"] = 1
    return out
