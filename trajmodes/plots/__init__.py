"""Matplotlib figures of trajmodes' results, written to files (PNG or PDF, from the extension).

Every figure is built on :class:`matplotlib.figure.Figure`, never through ``pyplot``: it never switches the
user's matplotlib backend and leaves no figure open. Saving is atomic (a temporary name, then a rename).

:data:`__all__` holds the package's public names: those other packages of trajmodes import (from here or from their
modules). The names imported below are loaded with it; the others (:data:`_LAZY`) are imported from their modules
on first use (PEP 562), so that importing one module of the package does not import them.
"""

from trajmodes._lazy import lazy_names
from trajmodes.plots.anharmonic import plot_comparison, plot_three_phonon
from trajmodes.plots.disorder import plot_glass, plot_lineshape_widths
from trajmodes.plots.modes import plot_linewidth_dispersion, plot_mode_fits, plot_sed, sed_columns
from trajmodes.plots.phonons import plot_bands_dos, plot_bvk, plot_dispersion_comparison, plot_thermal
from trajmodes.plots.scattering import plot_currents_path, plot_sqw_path, plot_sqw_powder
from trajmodes.plots.trajectory import plot_summary
from trajmodes.plots.transport import plot_conductivity_routes, plot_green_kubo, plot_modal_conductivity

#: public name -> the module of the package that defines it, for the public names not imported above
_LAZY = {
    # the figures of a series (plots.series imports trajmodes.series: dask and scipy) and of the quasiharmonic phonons
    "plot_quasiharmonic": "quasiharmonic", "plot_series": "series", "plot_shift_split": "series",
    # the title of a fit's dispersion figure: what it shows, from the fit's species, temperature and settings
    "fit_title": "figures",
    # the figure of trajmodes watch: the dispersion with its error band, and the convergence against the time fitted
    "plot_watch": "watch",
}

__all__ = ["plot_summary", "plot_bands_dos", "plot_thermal", "plot_dispersion_comparison", "plot_bvk",
           "plot_mode_fits", "plot_linewidth_dispersion", "plot_sed", "sed_columns", "plot_three_phonon",
           "plot_comparison", "plot_sqw_path", "plot_currents_path", "plot_sqw_powder", "plot_green_kubo",
           "plot_modal_conductivity", "plot_conductivity_routes", "plot_lineshape_widths", "plot_glass", *_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
