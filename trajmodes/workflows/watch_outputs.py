"""The files of ``trajmodes watch``: ``watch.nc`` (every update, and the last one's dispersion with its error band),
the figure drawn from it, and ``fc.nc``, the constants once the target is reached. Each is replaced whole after every
update (written beside and renamed), so that an interrupt leaves the last completed update's files. A ``fc.nc`` found
in the folder before this watch reached its target is an earlier run's: it is moved to ``fc.nc.earlier`` (with a
warning), not left to be read as this watch's constants."""
from __future__ import annotations

import os
import warnings

import numpy as np

__all__ = ["watch_dataset", "write_watch"]


def watch_dataset(w, npoints: int = 31):
    """The :class:`~trajmodes.workflows.watch.Watch` ``w`` as an xarray Dataset: per update (dimension ``update``)
    the simulated and fitted times (ps), the fit's first frame, the temperature (K), the largest error bar and the
    predicted time still needed (ps), the frequencies at the special points and their error bars (``update``, ``q``,
    ``branch``, THz); and the last update's dispersion along the band path with its bootstrap error band
    (``path``, ``branch``, THz)."""
    import xarray as xr
    from trajmodes.phonons.harmonic.phonons import Phonons
    from trajmodes.phonons.thermodynamics import frequency_samples
    from trajmodes.forceconstants import bootstrap_std
    from trajmodes.workflows.watch_model import PREDICTION_SHARE
    h = w.history
    last = h[-1]
    est = last.estimator
    bands = Phonons(est.harmonic_force_constants_).band_structure(None, npoints=npoints)
    band_err = bootstrap_std(frequency_samples(est, bands.qpoint.values), est.segments_.n_blocks)
    per = lambda name: np.array([getattr(u, name) for u in h], float)                      # noqa: E731
    ds = xr.Dataset(
        {"time": ("update", per("time"), {"units": "ps", "long_name": "simulated time of the last frame read"}),
         "fitted_time": ("update", per("fitted_time"), {"units": "ps", "long_name": "simulated time fitted"}),
         "first_frame": ("update", per("first_frame").astype(np.int64)),
         "frames_fitted": ("update", per("frames_fitted").astype(np.int64)),
         "temperature": ("update", per("temperature"), {"units": "K"}),
         "temperature_err": ("update", per("temperature_err"), {"units": "K"}),
         "largest_error": ("update", np.array([u.worst_error() for u in h]), {"units": "THz"}),
         "more_time": ("update", np.array([u.prediction.more_time for u in h]),
                       {"units": "ps", "long_name": "predicted simulated time still needed for the target"}),
         "exponent": ("update", np.array([u.prediction.exponent for u in h]),
                      {"long_name": "alpha of error ~ t^-alpha, measured"}),
         "exponent_settled": ("update", np.array([bool(u.prediction.settled) for u in h], np.int8),
                              {"long_name": "1: alpha is the 1/2 of error bars at their blocking plateau, not "
                                            "measured"}),
         "update_seconds": ("update", per("seconds"), {"units": "s"}),
         "frequency": (("update", "q", "branch"), np.stack([u.frequency for u in h]), {"units": "THz"}),
         "frequency_err": (("update", "q", "branch"), np.stack([u.frequency_err for u in h]),
                           {"units": "THz", "error_bars": "trajmodes fit's error model of the frames fitted; the last "
                                                          "update's: " + ("not measured" if last.errors is None else
                                                                          last.errors.sentence())}),
         "error_is_lower_bound": ("update", np.array([u.errors is None or u.errors.lower_bound for u in h], np.int8),
                                  {"long_name": "1: no calibrated estimate applies, frequency_err is a lower bound"}),
         "frozen_share": ("update", np.array([np.nan if u.errors is None else u.errors.share for u in h]),
                          {"units": "1", "long_name": "frozen share of the mean-square displacement of the frames "
                                                      "fitted (0: the modes exchanged their energies; 1: they kept "
                                                      "them)"}),
         "band_frequency": (("path", "branch"), bands.frequency.values, {"units": "THz"}),
         "band_frequency_err": (("path", "branch"), band_err, {"units": "THz"})},
        coords={"qlabel": ("q", list(last.labels)), "qpoint": (("q", "reduced"), last.qpoints),
                "distance": ("path", bands.distance.values, {"units": "1/Angstrom"}),
                "segment": ("path", bands.segment.values)},
        attrs={"target": float(w.settings.target), "run": os.path.abspath(w.settings.path),
               "transient": last.transient.sentence(), "prediction": last.prediction.sentence(w.settings.target),
               "cutoff2": float(last.cutoff2), "reached": int(w.reached_at is not None),
               "time_axis": ("ASSUMED: 1 ps between frames (the file gives no times; give --frame-interval)"
                             if w.times_assumed else "from the run"),
               "reached_fitted_time": float("nan") if w.reached_at is None else float(w.reached_at.fitted_time),
               "prediction_share": PREDICTION_SHARE,
               "tick_distance": list(bands.attrs["tick_distance"]), "tick_labels": list(bands.attrs["tick_labels"])})
    return ds


def write_watch(w, folder, draw=None) -> list:
    """Write ``watch.nc``, the figure (``draw(dataset, path)``, where given: :func:`trajmodes.plots.plot_watch`, which writes atomically) and, once the target is reached,
    ``fc.nc`` into ``folder``; the paths written."""
    from trajmodes.io import atomic_write
    from trajmodes.workflows.outputs import provenance
    os.makedirs(folder, exist_ok=True)
    ds = watch_dataset(w)
    prov = provenance([w.settings.path], {"target": w.settings.target, "cutoff2": float(w.last.cutoff2),
                                          "first_frame": int(w.last.first_frame),
                                          "frames": int(w.last.frames_fitted)},
                      temperature=w.last.temperature)
    ds.attrs.update({k: v for k, v in prov.items() if isinstance(v, (str, int, float))})
    written = []
    fc_path = os.path.join(folder, "fc.nc")
    if w.reached_at is None and os.path.exists(fc_path):     # this watch writes it once reached: an earlier run's
        os.replace(fc_path, fc_path + ".earlier")
        warnings.warn(f"{fc_path} held the constants of an earlier run (this watch has not reached its target yet): "
                      f"moved to {fc_path}.earlier, so that they are not read as this watch's; this watch writes "
                      "its own fc.nc once the target is reached", UserWarning, stacklevel=2)
    target = os.path.join(folder, "watch.nc")
    atomic_write(target, lambda tmp: ds.to_netcdf(tmp))
    written.append(target)
    if w.reached_at is not None:
        if not os.path.exists(fc_path) or w.last is w.reached_at:
            fc = w.reached_at.estimator.force_constants_
            atomic_write(fc_path, lambda tmp: fc.write(tmp, format="netcdf", attrs=prov))
            written.append(fc_path)
    if draw is not None:
        figure = os.path.join(folder, "watch.png")
        draw(ds, figure)
        written.append(figure)
    return written
