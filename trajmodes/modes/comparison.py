"""Mode by mode: the linewidths, shifts, lineshapes and conductivity measured in a molecular dynamics run
beside those of three-phonon perturbation theory from the cubic force constants fitted to the same run.

Like for like: classical occupations (the MD is classical: widths and shifts grow linearly with T), and the
three-phonon sums taken over the q-points commensurate with the MD supercell
(:class:`trajmodes.lattice.grid.Grid` of its supercell matrix), so both see the same phase space of decays. What
remains between the two is what perturbation theory leaves out: higher-order anharmonicity (four-phonon
scattering, the loop shift; Maradudin and Fein, Phys. Rev. 128, 2589 (1962)), the finite broadening of the
final states (the MD lines are themselves wide; the Gaussian smearing stands in for it), and the statistics of
the MD fit. Effective (temperature-dependent) constants as in TDEP (Hellman, Abrikosov and Simak, Phys. Rev. B
84, 180301 (2011)): the bubble shift then comes on top of the effective frequencies.
"""
from __future__ import annotations

import numpy as np
import xarray as xr
from scipy.integrate import trapezoid

from trajmodes.modes.conductivity import _variable, thermal_conductivity

__all__ = ["compare_three_phonon"]


def _auto_smearing(md_fwhm: np.ndarray, ok: np.ndarray, resolution: float) -> float:
    """Half the median MD FWHM (the typical half width of the final states), at least the spectral resolution."""
    typical = float(np.median(md_fwhm[ok])) / 2 if ok.any() else 0.0
    return max(typical, float(resolution), 1e-3)


def compare_three_phonon(modes: xr.Dataset, force_constants, temperature: float | None = None,
                         smearing: float | None = None, supercell=None, lineshape_points: int = 301,
                         scheduler=None) -> xr.Dataset:
    """Compare the MD linewidths, shifts, lineshapes and RTA conductivity with three-phonon theory.

    Parameters
    ----------
    modes : xarray.Dataset
        The MD mode analysis: :func:`trajmodes.workflows.modes_dataset` (``trajmodes project``; spectra and
        ``peak_*`` fits) or :func:`trajmodes.fit_peaks` (fits only: no lineshapes), over every q of the MD cell.
    force_constants : ForceConstants
        fc2 and fc3 fitted to the same run (:class:`trajmodes.EffectiveForceConstants` with ``cutoff3``).
    temperature : float, optional
        K; default the dataset's ``temperature`` (the run's kinetic temperature).
    smearing : float, optional
        Gaussian standard deviation of the energy conservation (THz); default half the median MD FWHM (the
        final states of a decay are broadened by their own widths in the MD), at least the spectral resolution.
    supercell : (3, 3) int, optional
        The MD supercell matrix on the primitive cell (``supercell.cell = S @ primitive.cell``); default the one
        of ``force_constants`` (the cell they were fitted in).
    lineshape_points : int
        Frequencies of the perturbative lineshapes (from 0 to 1.1 x the highest harmonic frequency).
    scheduler : optional
        Dask scheduler or client for the three-phonon q-loop.

    Returns
    -------
    xarray.Dataset over (q, branch): ``md_fwhm``, ``md_fwhm_err``, ``md_shift``, ``md_frequency``, ``md_status``;
    ``pt_fwhm`` (three-phonon FWHM), ``pt_shift`` (bubble), ``fwhm_ratio`` (MD / three-phonon; NaN where the MD fit
    is not clean or where no three-phonon decay lies within the smearing on this grid, counted in the attribute
    ``n_modes_without_decay``); with spectra
    ``md_lineshape`` (q, branch, frequency) and ``pt_lineshape`` (q, branch, pt_frequency), both 1/THz and of unit
    area; ``kappa_md``, ``kappa_md_err`` and ``kappa_pt`` (cartesian, cartesian2) W/(m K), both RTA with classical
    heat capacities on the MD cell's q-points. Attributes: temperature, smearing, supercell, and the medians.
    """
    from trajmodes.phonons.anharmonic import Anharmonic
    from trajmodes.phonons.harmonic import Phonons
    fc = force_constants
    if getattr(fc, "fc3", None) is None:
        raise ValueError("the comparison needs cubic force constants: fit them with cutoff3 on the same run")
    T = modes.attrs.get("temperature") if temperature is None else temperature
    if T is None or not float(T) > 0:
        raise ValueError("give the temperature (K) of the run: the dataset has no 'temperature' attribute")
    T = float(T)
    S = np.asarray(fc.smap.matrix if supercell is None else supercell)
    q = np.asarray(modes["qpoint"].transpose("q", ...).values, dtype=float)
    fwhm = np.asarray(_variable(modes, "fwhm").values, float)
    fwhm_err = np.asarray(_variable(modes, "fwhm_err").values, float)
    status = np.asarray(_variable(modes, "status").values).astype(str)
    freq = np.asarray(_variable(modes, "frequency").values, float)
    shift = np.asarray(_variable(modes, "shift").values, float)
    ok = (status == "ok") & np.isfinite(fwhm)
    resolution = float(modes.attrs.get("spectra_resolution_thz", modes.attrs.get("resolution_thz", 0.0)) or 0.0)
    sigma = _auto_smearing(fwhm, ok, resolution) if smearing is None else float(smearing)
    phonons = Phonons(fc)
    an = Anharmonic(fc, S, [T], occupation="classical", smearing=sigma, phonons=phonons, scheduler=scheduler)
    gps = an.grid_points(q)                                  # raises if a q is not on the MD cell's grid
    pt = an.shifts(gps)
    f_pt = pt["frequency_harmonic"].values
    if f_pt.shape != fwhm.shape:
        raise ValueError(f"the MD modes have {fwhm.shape[1]} branches per q, the force constants {f_pt.shape[1]}")
    pt_fwhm = pt["linewidth"].values[0]
    # a mode with no decay within the smearing on this grid (finite phase space) has no finite ratio
    stranded = ok & (pt_fwhm <= 1e-3 * sigma)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(ok & ~stranded, fwhm / pt_fwhm, np.nan)
    dims = ("q", "branch")
    data = dict(
        md_fwhm=(dims, fwhm, {"units": "THz", "long_name": "MD linewidth (FWHM of the fitted peak)"}),
        md_fwhm_err=(dims, fwhm_err, {"units": "THz", "long_name": "1 sigma"}),
        md_frequency=(dims, freq, {"units": "THz", "long_name": "MD peak frequency"}),
        md_shift=(dims, shift, {"units": "THz", "long_name": "MD peak frequency - harmonic frequency of the projection"}),
        md_status=(dims, status),
        pt_fwhm=(dims, pt_fwhm, {"units": "THz", "long_name": "three-phonon FWHM (2 Gamma), classical occupations"}),
        pt_shift=(dims, pt["frequency_shift"].values[0], {"units": "THz", "long_name": "bubble frequency shift"}),
        fwhm_ratio=(dims, ratio, {"units": "1", "long_name": "MD FWHM / three-phonon FWHM (fits with status ok)"}),
    )
    coords = dict(qpoint=(("q", "reduced"), q), frequency_harmonic=(dims, f_pt, {"units": "THz"}),
                  grid_point=("q", gps))
    if "psd_fitted" in modes or "psd" in modes:
        psd = (modes["psd_fitted"] if "psd_fitted" in modes else modes["psd"]).transpose("q", "branch", "frequency")
        nu = np.asarray(modes["frequency"].values, float)
        p = np.clip(np.asarray(psd.values, float), 0.0, None)
        area = trapezoid(p, nu, axis=-1)[..., None]
        with np.errstate(divide="ignore", invalid="ignore"):
            data["md_lineshape"] = (dims + ("frequency",), np.where(area > 0, p / area, 0.0),
                                    {"units": "1/THz", "long_name": "MD spectrum of the mode, unit area"})
        coords["frequency"] = ("frequency", nu, {"units": "THz"})
        w = np.linspace(0.0, 1.1 * float(np.nanmax(f_pt)), int(lineshape_points))
        sf = an.spectral_function(gps, w)
        data["pt_lineshape"] = (dims + ("pt_frequency",), sf["spectral_function"].values[0],
                                {"units": "1/THz", "long_name": "three-phonon spectral function (bubble)"})
        coords["pt_frequency"] = ("pt_frequency", w, {"units": "THz"})
    kmd = thermal_conductivity(phonons, modes, temperature=T, occupation="classical")
    # three-phonon lifetimes of modes with no decay within the smearing are not finite: they are left out as the
    # MD's modes without a clean fit are, and their share reported
    # the widths at one point of every star of the grid: taken from those already computed at the MD q-points
    _, first = np.unique(an.grid.star_of[gps], return_index=True)
    if len(first) != len(an.grid.irreducible):
        lw = an.linewidths()
    else:
        lw = pt[["gamma", "linewidth", "lifetime"]].isel(q=first)
    dead = lw["linewidth"].values <= 1e-3 * sigma
    lw["gamma"] = lw["gamma"].where(~dead, 0.0)
    lw["linewidth"] = lw["linewidth"].where(~dead, 0.0)
    lw["lifetime"] = lw["lifetime"].where(~dead, np.inf)
    kpt = an.thermal_conductivity(linewidths=lw)
    cv2 = kpt["heat_capacity"].values * (kpt["group_velocity"].values ** 2).sum(-1)[None] \
        * kpt["weight"].values[None, :, None]
    pt_missing = float(cv2[dead].sum() / cv2.sum()) if cv2.sum() > 0 else 0.0
    cart = ("cartesian", "cartesian2")
    data["kappa_md"] = (cart, kmd["kappa"].values, {"units": "W/(m K)", "long_name": "RTA with the MD lifetimes"})
    data["kappa_md_err"] = (cart, kmd["kappa_err"].values, {"units": "W/(m K)", "long_name": "1 sigma"})
    data["kappa_pt"] = (cart, kpt["kappa"].values[0], {"units": "W/(m K)",
                                                        "long_name": "RTA with the three-phonon lifetimes"})
    coords.update(cartesian=["x", "y", "z"], cartesian2=["x", "y", "z"])
    ds = xr.Dataset(data, coords=coords)
    good = np.isfinite(ratio)
    ds.attrs.update(temperature=T, smearing=sigma, occupation="classical", supercell=S.reshape(-1).tolist(),
                    n_qpoints=len(q), n_modes_compared=int(good.sum()),
                    n_modes_without_decay=int(stranded.sum()),
                    median_fwhm_ratio=float(np.median(ratio[good])) if good.any() else float("nan"),
                    kappa_md_missing_share=float(kmd["missing_share"]), kappa_pt_missing_share=pt_missing,
                    smearing_rule="given" if smearing is not None else "half the median MD FWHM")
    return ds
