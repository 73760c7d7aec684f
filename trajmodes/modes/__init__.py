"""Phonon modes of an MD run: projection, energies, spectra and peak fits; dynamic structure factors.

:data:`__all__` holds the package's public names: those other packages of trajmodes import (from here or from their
modules), and those :mod:`trajmodes` re-exports. Each is imported from its module on first use (PEP 562), so that
importing one module of the package does not import the others.
"""

from trajmodes._lazy import lazy_names

#: public name -> the module of the package that defines it
_LAZY = {
    # a run projected on the modes: the q-points, the map of its atoms onto the primitive cell, the projector of any
    # per-atom vectors (the modal analysis of transport)
    "project": "projection", "mode_qpoints": "projection", "trajectory_map": "projection",
    "run_projector": "projection",
    # energies, spectra and their windows
    "mode_energies": "energies", "energy_series": "energies", "frozen_energy_fraction": "energies",
    "mode_spectra": "spectra", "require_result_memory": "spectra", "result_bins": "spectra",
    "window_values": "windows", "degenerate_sum": "averaging", "star_average": "averaging",
    # peak fits: the line shapes, their defaults, the status of a mode's fit
    "fit_peaks": "peaks", "UNSTABLE": "peaks", "COLLAPSED": "peaks", "UNCONSTRAINED": "peaks", "peak_model": "lineshapes", "DEFAULT_PEAK_MODEL": "defaults",
    "DEFAULT_RESOLUTION": "defaults", "PEAK_MODELS": "defaults",
    # the conductivity of the lifetimes, and MD beside perturbation theory
    "conductivity_from_lifetimes": "conductivity", "compare_three_phonon": "comparison",
    # scattering: S(q, omega), its q-points and corrections, the peaks of the currents
    "dynamic_structure_factor": "structure_factor", "check_window": "structure_factor",
    "cartesian_qpoints": "scattering_qpoints", "path_qpoints": "scattering_qpoints",
    "powder_qpoints": "scattering_qpoints", "run_primitive": "scattering_qpoints",
    "shell_average": "scattering_qpoints", "one_phonon_structure_factor": "one_phonon",
    "detailed_balance": "scattering_corrections", "instrument_resolution": "scattering_corrections",
    "powder_structure_factor": "scattering_corrections", "fit_current_peaks": "current_peaks",
    "merge_peaks": "current_peaks",
}

__all__ = [*_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
