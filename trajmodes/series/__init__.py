"""Series of MD runs over temperature and volume: effective force constants, frequencies and free energies with error
bars, their interpolation in (T, V), and the split of every frequency shift into a volume and an intrinsic part.

Each run is fitted on its own (:class:`~trajmodes.forceconstants.fit.EffectiveForceConstants`, one streamed pass);
error bars come from the block bootstrap of its time segments (:mod:`trajmodes.forceconstants.uncertainty`), so the
series costs the sum of the single fits and its memory does not grow with the number of runs or frames (only the
small per-run results are kept).

The frequency shift of a mode from the lowest temperature at the reference volume V_0,
nu(T, V_T) - nu(T_0, V_0), splits exactly into

- a quasiharmonic (volume) part nu(T, V_T) - nu(T, V_0): what the thermal expansion alone does, at the temperature;
- an intrinsic part nu(T, V_0) - nu(T_0, V_0): the anharmonic renormalisation at fixed volume,

when the series holds runs at V_0 and at V_T for every temperature (NVT at the 0 K volume and at the thermally expanded
one, or NPT). With harmonic force constants of the volume from elsewhere (a potential's analytic constants, or the
lowest-temperature fits at several volumes) the split is instead nu_h(V_T) - nu_h(V_0) (quasiharmonic) plus
nu(T, V_T) - nu_h(V_T) (intrinsic) (:meth:`Series.shift_split`). Both follow the separation of explicit (volume) and
implicit (anharmonic) temperature effects of G. Lucazeau, J. Raman Spectrosc. 34, 478 (2003).

The TDEP free energy per run is :func:`trajmodes.phonons.thermodynamics.free_energy.tdep_free_energy` (O. Hellman, P. Steneteg,
I. A. Abrikosov and S. I. Simak, Phys. Rev. B 87, 104111 (2013)).

The package: :mod:`~trajmodes.series.fitting` (:func:`fit_series`), :mod:`~trajmodes.series.core` (:class:`Series`,
its interpolation and the split of the shifts, :func:`load_series`), :mod:`~trajmodes.series.model` (one model over the
runs), :mod:`~trajmodes.series.thermodynamics` (derivatives along the runs).

:data:`__all__` holds the package's public names: those other packages of trajmodes import (from here or from their
modules), and those :mod:`trajmodes` re-exports. The names imported below are loaded with it; the others
(:data:`_LAZY`) are imported from their modules on first use (PEP 562), so that importing one module of the package
does not import them.
"""
from __future__ import annotations

from trajmodes._lazy import lazy_names


from trajmodes.series.core import Series, load_series
from trajmodes.series.fitting import fit_series
from trajmodes.series.thermodynamics import derivative_weights, mode_slopes, volume_groups

#: public name -> the module of the package that defines it, for the public names not imported above
_LAZY = {
    # each run's error model: which estimate of its frequencies' error bars is calibrated for it
    "MODELS": "errorbars", "error_bar_label": "errorbars", "error_model_inputs": "errorbars",
    "fit_holding_frames": "errorbars", "run_frequency_errors": "errorbars", "static_slope": "errorbars",
    "ERROR_MODEL_FRAMES": "errorbars", "SIGMA_A_LIMIT": "errorbars",
}

__all__ = ["fit_series", "Series", "load_series", "derivative_weights", "mode_slopes", "volume_groups", *_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
