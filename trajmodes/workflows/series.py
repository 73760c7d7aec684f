"""``trajmodes series``: many MD runs (temperatures, volumes, NPT) fitted on one basis into one dataset, with error
bars, the free energy and the split of every frequency shift into its volume and intrinsic parts
(:mod:`trajmodes.series`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["SeriesResult", "series_of_runs"]

#: the variables of the split of the shifts (:meth:`~trajmodes.series.core.Series.shift_split`) the dataset of
#: ``trajmodes series`` holds, each as ``shift_<name>``
SHIFT_SPLIT = ("total", "quasiharmonic", "intrinsic", "total_err", "quasiharmonic_err", "intrinsic_err")


@dataclass(frozen=True)
class SeriesResult:
    """What :func:`series_of_runs` computes.

    Attributes
    ----------
    series : Series
        The fitted runs (:class:`~trajmodes.series.core.Series`).
    dataset : xarray.Dataset
        ``series.dataset``, with the split of the shifts (``shift_total``, ``shift_quasiharmonic``,
        ``shift_intrinsic`` and their ``_err``; attrs ``shift_reference_run``, ``shift_method``) where it is known.
    split : xarray.Dataset
        The split of every shift from the lowest temperature into its volume (quasiharmonic) and intrinsic parts.
    has_split : bool
        Whether the split is known (its quasiharmonic part finite at every q-point and branch of at least two runs).
    """

    series: object
    dataset: object
    split: object
    has_split: bool


def series_of_runs(trajectories, **options) -> SeriesResult:
    """The runs ``trajectories`` fitted into one series (``trajmodes series``;
    :func:`~trajmodes.series.fitting.fit_series` with ``options``: the cutoffs and fit settings, their temperatures
    and names, q-points and path, meshes and occupation of the free energy, the error model and its resamples,
    ``progress``), and the split of their shifts (:class:`SeriesResult`)."""
    from trajmodes.series.fitting import fit_series
    s = fit_series(trajectories, **options)
    ds = s.dataset
    if "free_energy" not in ds:
        # why a run has no potential energies where its reader knows (an i-PI properties file without the steps of
        # the bead files, a column missing): beside the series' note that names the runs
        why = [f"{n}: {p}" for n, p in zip(ds["name"].values, (getattr(t.source, "energy_problem", None)
                                                               for t in trajectories)) if p]
        if why:
            ds.attrs["notes"] = "; ".join(n for n in [ds.attrs.get("notes", "")] + why if n)
    split = s.shift_split()
    has_split = int(np.isfinite(split.quasiharmonic.values).all(axis=(1, 2)).sum()) >= 2
    if has_split:
        for name in SHIFT_SPLIT:
            v = split[name]
            ds[f"shift_{name}"] = (v.dims, v.values, dict(v.attrs))
        ds.attrs["shift_reference_run"] = split.attrs["reference_run"]
        ds.attrs["shift_method"] = split.attrs["method"]
    return SeriesResult(s, ds, split, has_split)
