"""A series of runs by temperature as a mapping: :class:`TemperatureSeries` (T -> fitted estimator, with the
frequencies over T and the interpolation of the constants), a view of a :class:`~trajmodes.series.core.Series`, which
holds the results; :func:`fit_temperatures` fits it through :func:`~trajmodes.series.fitting.fit_series`."""
from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from trajmodes.forceconstants.model import ForceConstants

__all__ = ["TemperatureSeries", "fit_temperatures"]


class TemperatureSeries(dict):
    """A series of runs by temperature: a ``dict`` T (K) -> fitted :class:`EffectiveForceConstants`, sorted by T,
    over a :class:`trajmodes.series.Series` (attribute :attr:`series`), which holds the results.

    Attributes
    ----------
    series : trajmodes.series.Series
        The runs' dataset (frequencies, scores, free energies, and error bars where bootstrapped), interpolation in
        (T, V) and the split of the shifts.
    frequencies : xarray.Dataset
        ``frequency`` (temperature, q, branch) in THz at ``qpoint`` (q, reduced), with ``label`` (q): the series'
        ``frequency`` over temperature.
    """

    def __init__(self, fits, qpoints=None, labels=None):
        from trajmodes.series import Series
        if isinstance(fits, Series):
            series = fits
            temps = series.temperatures
            fits = series.fits
        else:
            temps = np.array([float(T) for T in fits], float)
            fits = list(fits.values())
            series = None
        order = np.argsort(temps, kind="stable")
        if len(np.unique(temps)) != len(temps):
            raise ValueError(f"a temperature series needs one run per temperature, not {sorted(temps.tolist())} K")
        if series is None:
            series = Series([fits[i] for i in order], temps[order], [f"{temps[i]:g} K" for i in order],
                            qpoints=qpoints, qlabels=labels)
            order = np.arange(len(temps))
            temps, fits = series.temperatures, series.fits
        super().__init__((float(temps[i]), fits[i]) for i in order)
        self.series = series
        import xarray as xr
        ds = series.dataset.isel(run=order)
        self.frequencies = xr.Dataset(
            dict(frequency=(("temperature", "q", "branch"), ds.frequency.values, dict(ds.frequency.attrs))),
            coords=dict(temperature=("temperature", ds.temperature.values, {"units": "K"}),
                        qpoint=(("q", "reduced"), ds.qpoint.values), label=("q", ds.qlabel.values),
                        branch=ds.branch.values))

    @property
    def temperatures(self) -> np.ndarray:
        return np.array(list(self.keys()))

    def interpolate_fc2(self, temperature: float) -> ForceConstants:
        """Force constants at ``temperature`` (K): the series' irreducible parameters and cells interpolated
        linearly between the two nearest runs (:meth:`trajmodes.series.Series.force_constants`), clamped to the
        first and last run outside them."""
        Ts = self.temperatures
        return self.series.force_constants(float(np.clip(temperature, Ts[0], Ts[-1])))


def fit_temperatures(runs: Mapping, qpoints=None, labels=None, **kw) -> TemperatureSeries:
    """Fit every temperature of a series (:func:`trajmodes.series.fit_series`, every run in the first run's
    symmetry basis; no error bars: ``fit_series`` gives them).

    Parameters
    ----------
    runs : mapping T (K) -> Trajectory or list of Trajectory
    qpoints : array_like (nq, 3), optional
        Reduced q-points for the frequencies versus T; default the special points of the lattice.
    labels : list of str, optional
    **kw
        Settings of :class:`EffectiveForceConstants`.

    Returns
    -------
    TemperatureSeries
    """
    from trajmodes.series import fit_series
    temps = sorted(runs, key=float)
    series = fit_series([runs[T] for T in temps], [float(T) for T in temps], [f"{float(T):g} K" for T in temps],
                        qpoints=qpoints, qlabels=labels, n_resamples=0, **kw)
    return TemperatureSeries(series)
