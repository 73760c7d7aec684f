"""``trajmodes project`` and ``trajmodes lifetimes``: an MD run projected on the phonon modes of force constants, its
mode energies, spectra and fitted lines in one dataset, and that dataset read back with the band path that places
its q-points.

A light module at import (numpy and :mod:`trajmodes.modes.defaults`): the command line's parser takes the peak
models and the default resolution from here.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from trajmodes.modes import defaults

__all__ = ["PEAK_MODELS", "DEFAULT_PEAK_MODEL", "DEFAULT_RESOLUTION", "project_modes", "modes_dataset",
           "add_path_variables", "PathBands", "path_bands", "read_modes", "lifetimes_dataset", "PeakStatuses",
           "peak_statuses"]

#: the line shapes ``trajmodes project --model`` (and ``lineshapes --model``) fits to the mode spectra, and the one it
#: fits by default (:mod:`trajmodes.modes.defaults`; "auto": the Lorentzian and the damped oscillator, the more
#: likely per spectrum)
PEAK_MODELS = defaults.PEAK_MODELS
DEFAULT_PEAK_MODEL = defaults.DEFAULT_PEAK_MODEL
#: THz: the default Welch bin of the mode spectra of ``trajmodes project`` and ``lineshapes``
#: (:data:`~trajmodes.modes.defaults.DEFAULT_RESOLUTION`; :func:`modes_dataset` takes the run's own 1/T where the
#: run is shorter than one segment)
DEFAULT_RESOLUTION = defaults.DEFAULT_RESOLUTION


@dataclass(frozen=True)
class PeakStatuses:
    """The statuses of a fitted line (``peak_status`` of :func:`modes_dataset`) that say it has no values: the mode's
    harmonic frequency is imaginary (``unstable``), the fit fell onto a noise spike (``collapsed``) or its error bars
    were wider than its window (``unconstrained``): :mod:`trajmodes.modes.peaks`."""

    unstable: str
    collapsed: str
    unconstrained: str


def peak_statuses() -> PeakStatuses:
    """The statuses of fitted lines without values (:class:`PeakStatuses`), as :mod:`trajmodes.modes.peaks` writes
    them (imported here on first use: it needs scipy)."""
    from trajmodes.modes.peaks import COLLAPSED, UNCONSTRAINED, UNSTABLE
    return PeakStatuses(unstable=UNSTABLE, collapsed=COLLAPSED, unconstrained=UNCONSTRAINED)


def project_modes(trajectory, force_constants, *, path: str | None = None, qpoints=None, q_max: float | None = None,
                  count: int | None = None):
    """The harmonic phonons of ``force_constants`` (or the file or folder that holds them) and the projection of
    ``trajectory`` onto their modes (lazy: :func:`trajmodes.modes.projection.project`): (:class:`~trajmodes.phonons.
    harmonic.Phonons`, modes), for :func:`modes_dataset`. The q-points: every one commensurate with the run's cell,
    or those chosen by at most one of ``path``, ``qpoints``, ``q_max`` (rad/Å, 2 pi included) and ``count``
    (:func:`trajmodes.modes.projection.mode_qpoints`; checked before the run is read).

    Parameters
    ----------
    trajectory : Trajectory
        The run, with velocities.
    force_constants : ForceConstants or path
        The constants whose eigenvectors the run is projected on (or the file or folder that holds them).
    path : str, optional
        Only the commensurate q on this band path (special-point letters).
    qpoints : array_like (n, 3), optional
        Only these q, reduced in the primitive cell.
    q_max : float, optional
        Only the q with ``|q|`` up to this, rad/Å (2 pi included).
    count : int, optional
        The whole ``|q|`` shells of smallest ``|q|`` until they hold at least this many q.
    """
    from trajmodes.forceconstants.model import ForceConstants
    from trajmodes.modes.projection import mode_qpoints, project
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.workflows.reading import load_force_constants
    if not isinstance(force_constants, ForceConstants):
        force_constants = load_force_constants(force_constants)
    ph = Phonons(force_constants)
    chosen = dict(path=path, qpoints=qpoints, q_max=q_max, count=count)
    q = mode_qpoints(trajectory, ph, **chosen) if any(v is not None for v in chosen.values()) else None
    return ph, project(trajectory, ph, qpoints=q)


def modes_dataset(modes, resolution: float | None = None, full: bool = False, model: str = "auto", star: bool = True,
                  temperature: float | None = None, keep_q: bool = False, window: str = "hann",
                  overlap: float = 0.5, phonons=None):
    """Energies, spectra and peak fits of projected modes merged into one dataset (``trajmodes project``).

    Parameters
    ----------
    modes : xarray.Dataset
        From :func:`trajmodes.project`.
    resolution, full, window, overlap
        Spectra settings (:func:`trajmodes.mode_spectra`; ``resolution`` in THz).
    model : str
        Peak model (:func:`trajmodes.fit_peaks`; "auto": Lorentzian or damped oscillator, the more likely per
        spectrum, named in ``peak_line_model``).
    star : bool
        Average the spectra over the star of each q before fitting.
    temperature : float, optional
        K, for the equipartition ratio (default: the kinetic temperature).
    keep_q : bool
        Also keep the Q and Qdot time series (real and imaginary parts).
    phonons : Phonons, optional
        Those the modes were projected on: the dataset then also holds the harmonic dispersion along the
        band path and the point-group rotations (:func:`add_path_variables`), so that every q can be placed on
        the path.
    """
    from trajmodes.modes.energies import energy_series, mode_energies
    from trajmodes.modes.averaging import degenerate_sum, star_average
    from trajmodes.modes.peaks import fit_peaks
    from trajmodes.modes.spectra import mode_spectra, require_result_memory, result_bins
    if resolution is None and modes.sizes["time"] > 1:
        # the default bin, or the run's own 1/T where it is shorter than one default segment (no warning: chosen)
        t = np.asarray(modes["time"].values, float)
        resolution = max(DEFAULT_RESOLUTION, 1.0 / (len(t) * float(t[1] - t[0])))
    elif resolution is None:
        resolution = DEFAULT_RESOLUTION
    if modes.sizes["time"] > 1:                     # the result must fit: said before the first pass over the run
        t = np.asarray(modes["time"].values, float)
        require_result_memory(modes.sizes["q"] * modes.sizes["branch"],
                              result_bins(len(t), float(t[1] - t[0]), resolution, full), full)
    # one pass over the run: the energies' means summed in the spectra's pass
    spectra = mode_spectra(modes, resolution=resolution, full=full, window=window, overlap=overlap,
                           time_means=energy_series(modes))
    energies = mode_energies(modes, temperature=temperature,
                             means=(spectra["mean_kinetic"].values, spectra["mean_potential"].values))
    spectra = spectra.drop_vars(["mean_kinetic", "mean_potential"])
    fitted = star_average(spectra) if star else spectra
    peaks = fit_peaks(fitted, model=model, star=False)      # averaged above when asked
    H = np.asarray(spectra["frequency_harmonic"].values, float)
    ds = spectra.copy()
    if star:
        ds = ds.assign_coords(star=fitted["star"], n_star=fitted["n_star"])
    ds["psd_fitted"] = (("q", "branch", "frequency"), degenerate_sum(fitted["psd"].values, H),
                        dict(fitted["psd"].attrs, long_name="the spectrum the peak fit saw: psd "
                             + ("averaged over the star of q, " if star else "") + "summed over degenerate branches"))
    for n in ("kinetic", "potential", "total", "equipartition", "mode_temperature", "translation"):
        ds[n] = energies[n]
    for n, v in peaks.data_vars.items():
        ds[f"peak_{n}"] = v
    # imaginary harmonic frequencies (unstable constants): 1/2 w^2 |Q|^2 with w^2 < 0 is no energy of the mode
    from trajmodes.modes.peaks import UNSTABLE
    unstable = np.asarray(peaks["status"].values).astype(str) == UNSTABLE
    ds["unstable"] = (("q", "branch"), unstable, {"long_name": "imaginary harmonic frequency: the force constants "
                                                               "are unstable at this q (potential, total energy, "
                                                               "equipartition and shift NaN)"})
    for n in ("potential", "total", "equipartition"):
        ds[n] = ds[n].where(~ds["unstable"])
    ds.attrs.update({f"spectra_{k}": v for k, v in spectra.attrs.items()})
    ds.attrs.update(temperature=energies.attrs["temperature"], temperature_source=energies.attrs["temperature_source"],
                    peak_model=peaks.attrs["model"], peak_convention=peaks.attrs["convention"],
                    star_averaged=int(bool(star)))
    if keep_q:
        for n in ("Q", "Qdot"):
            a = modes[n]
            ds[f"{n}_real"] = (a.dims, np.asarray(a.values.real), dict(a.attrs))
            ds[f"{n}_imag"] = (a.dims, np.asarray(a.values.imag), dict(a.attrs))
        ds = ds.assign_coords(time=modes["time"])
    if phonons is not None:
        ds = add_path_variables(ds, phonons)
    for k, v in list(ds.attrs.items()):
        if isinstance(v, (bool, np.bool_)):
            ds.attrs[k] = int(v)
    return ds


def add_path_variables(ds, phonons, npoints: int = 51):
    """``ds`` with the harmonic band path of ``phonons`` and the rotations of their primitive cell.

    Variables: ``path_frequency`` (path_q, branch) THz, coordinates ``path_distance``, ``path_qpoint``
    (path_q, reduced), ``path_segment``, ``path_label``; ``rotations`` (operation, row, column), the
    primitive cell's point-group rotations in its fractional coordinates (spglib's, x' = R x). Attrs
    ``path_tick_distance`` and ``path_tick_labels`` (comma separated).

    Parameters
    ----------
    ds : xarray.Dataset
        A ``trajmodes project`` dataset.
    phonons : Phonons
        The harmonic phonons whose band path is added.
    npoints : int
        q-points per path segment.
    """
    bands = phonons.band_structure(npoints=npoints)
    rot = np.unique(np.asarray(phonons.force_constants.primitive.rotations, int), axis=0)
    out = ds.assign(path_frequency=(("path_q", "branch"), bands.frequency.values,
                                    {"units": "THz", "long_name": "harmonic frequency along the band path"}),
                    rotations=(("operation", "row", "column"), rot,
                               {"units": "1", "long_name": "point-group rotations of the primitive cell, "
                                                          "fractional coordinates (x' = R x); q' = R^-T q"}))
    out = out.assign_coords(path_distance=("path_q", bands.distance.values, dict(bands.distance.attrs)),
                            path_qpoint=(("path_q", "reduced"), bands.qpoint.values, dict(bands.qpoint.attrs)),
                            path_segment=("path_q", bands.segment.values),
                            path_label=("path_q", bands.label.values.astype(str)))
    out.attrs.update(path_tick_distance=np.asarray(bands.attrs["tick_distance"], float),
                     path_tick_labels=",".join(map(str, bands.attrs["tick_labels"])))
    return out


@dataclass(frozen=True)
class PathBands:
    """The band path that places the q-points of a ``trajmodes project`` dataset (:func:`path_bands`).

    Parameters
    ----------
    bands : xarray.Dataset or None
        Harmonic ``frequency`` (q, branch) THz along the path, coordinates ``distance``, ``qpoint`` (q, reduced),
        ``segment``, ``label``, attrs ``tick_distance``, ``tick_labels``; None when no path was found.
    rotations : ndarray of int, shape (operation, 3, 3), or None
        The primitive cell's point-group rotations, fractional coordinates (x' = R x); None without ``bands``.
    note : str
        "" when the path is the dataset's own, else where it came from or why there is none.
    """

    bands: object | None
    rotations: np.ndarray | None
    note: str


def path_bands(ds, force_constants=None) -> PathBands:
    """The band path (:class:`PathBands`: bands, rotations, note) to place the q-points of a ``trajmodes project``
    dataset on.

    The path stored in the dataset; for files written without it, recomputed from ``force_constants`` (default:
    the dataset's ``force_constants`` attribute) when those can be read; else no bands, with a note why.

    Parameters
    ----------
    ds : xarray.Dataset
        A ``trajmodes project`` dataset.
    force_constants : str or os.PathLike, optional
        The constants' file or folder for a dataset without its path; default its ``force_constants`` attribute.
    """
    import xarray as xr
    if "path_frequency" in ds and "rotations" in ds:
        bands = xr.Dataset({"frequency": (("q", "branch"), ds["path_frequency"].values)},
                           coords=dict(distance=("q", ds["path_distance"].values),
                                       qpoint=(("q", "reduced"), ds["path_qpoint"].values),
                                       segment=("q", ds["path_segment"].values),
                                       label=("q", ds["path_label"].values.astype(str))),
                           attrs=dict(tick_distance=[float(x) for x in np.atleast_1d(ds.attrs["path_tick_distance"])],
                                      tick_labels=str(ds.attrs["path_tick_labels"]).split(",")))
        return PathBands(bands=bands, rotations=ds["rotations"].values, note="")
    fc = force_constants or ds.attrs.get("force_constants")
    if fc and os.path.exists(str(fc)):
        from trajmodes.phonons.harmonic.phonons import Phonons
        from trajmodes.workflows.reading import load_force_constants
        ref = add_path_variables(ds[["peak_frequency"]], Phonons(load_force_constants(str(fc))))
        stored = path_bands(ref)
        return PathBands(bands=stored.bands, rotations=stored.rotations, note=f"path from {fc}")
    return PathBands(bands=None, rotations=None, note=("no band path in this file (modes_dataset without phonons) "
                                                       f"and its force constants {fc!r} not found: q by index"))


def read_modes(path):
    """The dataset of a ``trajmodes project`` file ``path`` (:func:`modes_dataset`), read whole (the file closed
    after)."""
    import xarray as xr
    with xr.open_dataset(path) as f:
        return f.load()


def lifetimes_dataset(path):
    """The dataset ``trajmodes lifetimes`` reads back: that of the ``trajmodes project`` file ``path``
    (:func:`read_modes`), refused in one line where there is no such file or it holds no fitted lines."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{path}: no such file")
    ds = read_modes(path)
    if "peak_frequency" not in ds:
        raise ValueError(f"{path} is not a 'trajmodes project' file (no peak_frequency)")
    return ds
