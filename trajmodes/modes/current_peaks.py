"""Damped-oscillator fits of the longitudinal and transverse current spectra C_L(q, omega), C_T(q, omega), with error
bars, beside the peaks of the mode projection.

C_L(q, omega) = omega^2 / q^2 S(q, omega) is a velocity spectrum: a phonon of frequency nu0 and FWHM g seen in it has
exactly the ``dho`` line shape of :mod:`trajmodes.modes.lineshapes` (peak at nu0, FWHM g), as the velocity spectrum
of Qdot that :func:`trajmodes.fit_peaks` fits; so both are fitted by the same machinery
(:func:`trajmodes.modes.peaks.fit_peaks`, its Whittle likelihood, windows and status flags) and compare like for like.

The spectra of :func:`trajmodes.modes.structure_factor.dynamic_structure_factor` are the transforms of correlation
functions truncated at W lags (a boxcar lag window of 2 W - 1 lags, no taper): bins df = 1 / ((2 W - 1) dt), and the
equivalent noise bandwidth of the boxcar lag window equals df (a line narrower than 2 df is flagged "width below
resolution"). The relative error of a bin is taken as that of the Blackman-Tukey estimator with a boxcar lag window,
sqrt((2 W - 1) / N_eff) (M. B. Priestley, Spectral Analysis and Time Series, Academic Press (1981), ch. 6), with
N_eff = min(n_frames, origins x W) frames, divided by sqrt(n) for the mean of n equivalent q-points (``groups``).
Such an estimate rings below zero in the tails of a strong line, where no Gamma (Whittle) likelihood holds: a fit
window that holds a bin <= 0 is fitted with Gaussian bins about the model instead (:mod:`trajmodes.modes.whittle`);
with the Whittle likelihood there the fits of broad lines collapsed onto spikes with errors of 10^7 THz.
A fitted line at or above 0.9 x the Nyquist frequency 1 / (2 dt) is flagged "above Nyquist: aliased", as are lines
expected there (``expected``).
"""
from __future__ import annotations

import numpy as np
import xarray as xr

from trajmodes.modes.peaks import ALIASED, fit_peaks
from trajmodes.modes.spectra import ALIAS_FRACTION

__all__ = ["fit_current_peaks", "current_spectra", "merge_peaks", "CURRENTS"]

#: current -> the variable of dynamic_structure_factor
CURRENTS = {"L": "Clqw", "T": "Ctqw"}


def _relative_error(attrs) -> float:
    n, window, step = int(attrs["n_frames"]), int(attrs["window"]), int(attrs.get("step", 1))
    origins = (n - 1) // step + 1
    return float(np.sqrt((2 * window - 1) / min(n, origins * window)))


def current_spectra(sqw: xr.Dataset, currents=("L", "T"), groups=None) -> xr.Dataset:
    """The current spectra of ``sqw`` as a spectra dataset that :func:`~trajmodes.modes.peaks.fit_peaks` fits.

    Parameters
    ----------
    sqw : xarray.Dataset
        From dynamic_structure_factor with ``currents=True``.
    currents : sequence of {"L", "T"}
    groups : array_like (q,), optional
        A label per q-point: the spectra of q-points with the same label (equivalent q: a star, without counting q
        and -q twice, whose spectra are identical) are averaged, their error divided by sqrt(count); the result is
        over the first q of each group.

    Returns
    -------
    xarray.Dataset
        ``psd`` (q, branch, frequency) with branch = the currents, folded onto nu >= 0 (2 C(omega) at omega > 0, so
        that its integral over nu in THz is C(t = 0)), ``psd_err``; coordinates ``frequency`` (THz), ``current``
        (branch) and the q coordinates of ``sqw``; attributes ``resolution_thz``, ``enbw_thz``, ``nyquist_thz``,
        ``frame_interval_ps``; coordinate ``n_qpoints`` (q): the q-points averaged.
    """
    missing = [c for c in currents if c not in CURRENTS or CURRENTS[c] not in sqw]
    if missing:
        raise ValueError(f"no current spectrum {missing} in the dataset: currents are 'L' and 'T', from "
                         "dynamic_structure_factor(..., currents=True)")
    f = np.asarray(sqw["frequency"].values, float)
    fold = np.where(f > 0, 2.0, 1.0)
    P = np.stack([np.asarray(sqw[CURRENTS[c]].transpose("q", "omega").values, float) for c in currents], axis=1)
    P = P * fold
    labels = np.arange(P.shape[0]) if groups is None else np.asarray(groups)
    if len(labels) != P.shape[0]:
        raise ValueError(f"{len(labels)} group labels for {P.shape[0]} q-points")
    _, first, inverse, counts = np.unique(labels, return_index=True, return_inverse=True, return_counts=True)
    order = np.argsort(first)
    P = np.stack([P[inverse.ravel() == g].mean(axis=0) for g in order])
    keep = np.sort(first)
    n_avg = counts[order]
    rel = _relative_error(sqw.attrs) / np.sqrt(n_avg)
    coords = {k: v for k, v in sqw.isel(q=keep).coords.items() if "omega" not in v.dims and "time" not in v.dims}
    dt = float(sqw.attrs["frame_interval"])
    df = float(f[1] - f[0])
    ds = xr.Dataset({"psd": (("q", "branch", "frequency"), P, {"units": sqw[CURRENTS[currents[0]]].attrs.get("units"),
                                                                "long_name": "current spectrum folded onto nu >= 0"}),
                     "psd_err": (("q", "branch", "frequency"), np.abs(P) * rel[:, None, None],
                                 {"long_name": "Blackman-Tukey standard error (boxcar lag window)"})},
                    coords=dict(coords, frequency=("frequency", f, {"units": "THz"}),
                                current=("branch", list(currents)), n_qpoints=("q", n_avg)))
    ds.attrs.update(resolution_thz=df, enbw_thz=df, n_segments=1, nyquist_thz=0.5 / dt, frame_interval_ps=dt,
                    window_frames=int(sqw.attrs["window"]), time_axis=str(sqw.attrs.get("time_axis", "unknown")))
    return ds


def fit_current_peaks(sqw: xr.Dataset, currents=("L", "T"), *, model: str = "dho", window=None, groups=None,
                      expected=None, phonons=None, progress: bool = False) -> xr.Dataset:
    """One damped-oscillator line per current spectrum and q: frequency, FWHM, lifetime with 1 sigma errors.

    Parameters
    ----------
    sqw : xarray.Dataset
        From dynamic_structure_factor with ``currents=True``.
    currents : sequence of {"L", "T"}
        Which spectra (C_T holds both transverse branches: where they are split, one line is the stronger one; give
        ``window`` to choose).
    model : str
        A model of :mod:`trajmodes.modes.lineshapes` ("dho" default: the exact shape of a current line; the
        ``*_windowed`` ones describe Welch spectra, not these).
    window : None, float or (float, float)
        As :func:`~trajmodes.modes.peaks.fit_peaks`' (THz).
    groups : array_like (q,), optional
        Labels of equivalent q-points averaged before the fit (:func:`current_spectra`).
    expected : array_like (q,) or (q, current), optional
        Expected line frequencies (THz, e.g. harmonic ones) of the q after grouping: a line expected at or above
        0.9 x Nyquist is flagged "above Nyquist: aliased" without a fit.
    phonons : trajmodes.Phonons, optional
        Instead of ``expected``: the harmonic frequencies at the q (reduced ``qpoint`` of ``sqw`` in their primitive
        basis) of the branches polarised along the current (the highest of those with weight > 1/2), returned as
        ``frequency_harmonic`` (q, current).
    progress : bool
        Show a progress bar on stderr while the lines are fitted (default False).

    Returns
    -------
    xarray.Dataset over (q, current): the variables of fit_peaks (``frequency``, ``frequency_err``, ``fwhm``,
    ``fwhm_err``, ``lifetime``, ``lifetime_err``, ``amplitude``, ``chi2_red``, ``status``, ...) and the q coordinates.
    """
    if model.endswith("_windowed"):
        raise ValueError(f"model {model!r} describes Welch-windowed spectra; the current spectra have a boxcar lag "
                         "window: use 'dho' or 'lorentzian'")
    spectra = current_spectra(sqw, tuple(currents), groups)
    nyq = spectra.attrs["nyquist_thz"]
    aliased = np.zeros((spectra.sizes["q"], len(currents)), bool)
    if phonons is not None:
        expected = _expected(spectra, currents, phonons)
    if expected is not None:
        e = np.asarray(expected, float)
        expected = np.broadcast_to(e if e.ndim == 2 else e[:, None], aliased.shape).copy()
        aliased |= expected >= ALIAS_FRACTION * nyq
    spectra["aliased"] = (("q", "branch"), aliased)
    peaks = fit_peaks(spectra, model=model, window=window, average_degenerate=False, star=False, progress=progress)
    late = (peaks["frequency"].values >= ALIAS_FRACTION * nyq) & ~aliased
    status = peaks["status"].values.astype(object)
    status[late] = ALIASED
    peaks["status"] = (peaks["status"].dims, status.astype(str), peaks["status"].attrs)
    peaks = peaks.drop_vars(["shift", "current"]).rename({"branch": "current"})
    peaks = peaks.assign_coords(current=("current", list(currents)))
    if expected is not None:
        peaks["frequency_harmonic"] = (("q", "current"), expected, {"units": "THz", "long_name": "expected line"})
    peaks.attrs.update(nyquist_thz=nyq, source="current spectra C_L, C_T (dynamic_structure_factor)",
                       relative_bin_error=float(_relative_error(sqw.attrs)))
    return peaks


def _expected(spectra: xr.Dataset, currents, phonons) -> np.ndarray:
    """(q, current) THz: the highest harmonic frequency among the branches polarised along each current."""
    if "qpoint" not in spectra.coords:
        raise ValueError("phonons= needs the reduced q-points of the structure factor (qpoint): compute it with "
                         "reduced q and primitive=phonons.force_constants.primitive")
    f, e = phonons.frequencies_and_eigenvectors(np.asarray(spectra["qpoint"].values, float))
    qc = np.asarray(spectra["q_cartesian"].values, float)
    qhat = qc / np.maximum(np.linalg.norm(qc, axis=1), 1e-300)[:, None]
    out = np.empty((len(f), len(currents)))
    for i in range(len(f)):
        for c, cur in enumerate(currents):
            w = _branch_for(cur, qhat[i], e[i], phonons.force_constants.primitive.n_atoms)
            out[i, c] = f[i][w > 0.5].max() if (w > 0.5).any() else f[i][np.argmax(w)]
    return out


def _branch_for(current: str, qhat: np.ndarray, eig: np.ndarray, n: int) -> np.ndarray:
    """Longitudinal weight sum_k |qhat.e_k|^2 of every branch, (nb,), for current "L"; 1 minus it for "T"."""
    e = eig.reshape(n, 3, -1)
    lw = (np.abs(np.einsum("a,kas->ks", qhat, e)) ** 2).sum(axis=0)
    return lw if current == "L" else 1.0 - lw


def merge_peaks(current_peaks: xr.Dataset, mode_peaks: xr.Dataset, phonons=None, tol: float = 1e-6) -> xr.Dataset:
    """The current-spectrum peaks beside the mode-projection peaks of the same q, matched branch by branch.

    Parameters
    ----------
    current_peaks : xarray.Dataset
        From :func:`fit_current_peaks` with reduced q (``qpoint``, in the primitive basis of the modes: compute
        S(q, omega) with ``primitive=phonons.force_constants.primitive``).
    mode_peaks : xarray.Dataset
        From :func:`trajmodes.fit_peaks` on the mode spectra (``qpoint`` coordinate).
    phonons : trajmodes.Phonons, optional
        With them the branch of each current is the one of largest longitudinal (C_L) or transverse (C_T)
        polarisation along q (``q_cartesian`` of the current peaks); without, the branch whose fitted frequency is
        nearest to the current's.
    tol : float
        Reduced q are the same when they differ by a reciprocal lattice vector (or are opposite) within ``tol``.

    Returns
    -------
    xarray.Dataset over (q, current): ``current_frequency``, ``current_frequency_err``, ``current_fwhm``,
    ``current_fwhm_err``, ``current_status``, ``mode_*`` the same of the matched branch, ``mode_branch`` (-1 where
    no projected q matches), ``difference`` = current - mode frequency (THz) and ``n_sigma`` = ``|difference|`` /
    sqrt(err_c^2 + err_m^2). The q without a projected match keep NaN mode values.
    """
    q = np.asarray(current_peaks["qpoint"].values, float)
    mq = np.asarray(mode_peaks["qpoint"].values, float)
    currents = [str(c) for c in current_peaks["current"].values]
    nq, nc = len(q), len(currents)
    names = ("frequency", "frequency_err", "fwhm", "fwhm_err")
    out = {f"mode_{n}": np.full((nq, nc), np.nan) for n in names}
    mstatus = np.full((nq, nc), "no projected q", dtype=object)
    branch = np.full((nq, nc), -1, int)
    eig = None
    if phonons is not None:
        _, eig = phonons.frequencies_and_eigenvectors(q)
        qc = np.asarray(current_peaks["q_cartesian"].values, float)
        qhat = qc / np.maximum(np.linalg.norm(qc, axis=1), 1e-300)[:, None]
    for i, qi in enumerate(q):
        hit = [j for j, m in enumerate(mq) for s in (1, -1) if np.abs((qi - s * m) - np.rint(qi - s * m)).max() < tol]
        if not hit:
            continue
        j = hit[0]
        for c, cur in enumerate(currents):
            if eig is not None:
                b = int(np.argmax(_branch_for(cur, qhat[i], eig[i], phonons.force_constants.primitive.n_atoms)))
            else:
                d = np.abs(mode_peaks["frequency"].values[j] - current_peaks["frequency"].values[i, c])
                if not np.isfinite(d).any():
                    continue
                b = int(np.nanargmin(d))
            branch[i, c] = b
            for n in names:
                out[f"mode_{n}"][i, c] = float(mode_peaks[n].values[j, b])
            mstatus[i, c] = str(mode_peaks["status"].values[j, b])
    dims = ("q", "current")
    data = {f"current_{n}": (dims, current_peaks[n].values, {"units": "THz"}) for n in names}
    data["current_status"] = (dims, current_peaks["status"].values.astype(str))
    data.update({k: (dims, v, {"units": "THz"}) for k, v in out.items()})
    data["mode_status"] = (dims, mstatus.astype(str))
    data["mode_branch"] = (dims, branch, {"long_name": "branch of the mode projection matched to the current"})
    diff = current_peaks["frequency"].values - out["mode_frequency"]
    data["difference"] = (dims, diff, {"units": "THz", "long_name": "current - mode frequency"})
    with np.errstate(invalid="ignore"):
        sig = np.sqrt(current_peaks["frequency_err"].values ** 2 + out["mode_frequency_err"] ** 2)
        data["n_sigma"] = (dims, np.abs(diff) / sig, {"units": "1"})
    coords = {k: v for k, v in current_peaks.coords.items() if set(v.dims) <= {"q", "current", "reduced",
                                                                                  "cartesian"}}
    return xr.Dataset(data, coords=coords, attrs={"matched_by": "polarisation" if eig is not None else "frequency"})
