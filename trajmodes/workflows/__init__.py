"""What the command-line tools compute, callable from Python: one module per command.

Each function puts the library's parts together the way one ``trajmodes`` command does, takes plain arguments and
returns its results (objects and xarray datasets); the command line parses its options, calls them, prints the
results and draws them (:mod:`trajmodes.plots`). The commands' files go through :mod:`~trajmodes.workflows.outputs`.

=================================================  ==================================================================
module                                             command: what it holds
=================================================  ==================================================================
:mod:`~trajmodes.workflows.run`                    ``run``: the run read once, its cache and summary in one pass
:mod:`~trajmodes.workflows.summary`                ``info`` (and ``run``): a run's summary
:mod:`~trajmodes.workflows.convert`                ``convert``, ``convert-fc``: the netCDF cache; force-constant formats
:mod:`~trajmodes.workflows.fit`                    ``fit`` (and ``run``): effective force constants, error bars
:mod:`~trajmodes.workflows.lattice_dynamics`       ``phonons``, ``eam``: bands, DOS, thermodynamics; EAM constants
:mod:`~trajmodes.workflows.anharmonic`             ``anharmonic``: three- and four-phonon widths, shifts, kappa
:mod:`~trajmodes.workflows.modes`                  ``project``, ``lifetimes``: mode energies, spectra, fitted lines
:mod:`~trajmodes.workflows.compare`                ``compare``: MD lines beside perturbation theory
:mod:`~trajmodes.workflows.quasiharmonic`          ``qha``: the quasiharmonic minimum of a potential's crystal
:mod:`~trajmodes.workflows.series`                 ``series``: many runs in one dataset, the split of the shifts
:mod:`~trajmodes.workflows.scattering`             ``sqw``: S(q, omega), F(q, t), current correlations
:mod:`~trajmodes.workflows.transport`              ``conductivity``: Green-Kubo, its splits, Boltzmann beside it
:mod:`~trajmodes.workflows.disorder`               ``lineshapes``, ``glass``: mass disorder; a glass's transport
:mod:`~trajmodes.workflows.charges`                ``run``, ``fit``: the Born charges of a rigid-ion run
:mod:`~trajmodes.workflows.watch`                  ``watch``: a run followed while it is written, refitted live
=================================================  ==================================================================

Shared by the commands: :mod:`~trajmodes.workflows.reading` (a run from its files, force constants of any format),
:mod:`~trajmodes.workflows.qpoints` (meshes, q-points as printed, degenerate sets), :mod:`~trajmodes.workflows.outputs`
(staged outputs, provenance, datasets written atomically) and :mod:`~trajmodes.workflows.session` (the program's
memory allocator, the Dask scheduler's wait).

The functions of the commands are also names of this package (``trajmodes.workflows.fit_effective``), imported from
their module on first use.
"""
from __future__ import annotations

import importlib
import importlib.util

#: the functions of the commands (and their results and settings) by name -> the module of this package that defines
#: them; imported on first use (PEP 562), so that ``import trajmodes.workflows`` stays light
COMMANDS = {
    **dict.fromkeys(("OpenedRun", "open_run", "load_force_constants"), "reading"),
    **dict.fromkeys(("kubo_beside_fit", "KuboComparison"), "quantum"),
    **dict.fromkeys(("run_summary",), "summary"),
    **dict.fromkeys(("convert_force_constants", "FCConversion"), "convert"),
    **dict.fromkeys(("fit_effective", "FitResult", "LargestDifference", "frequency_error_bars", "frequencies_on",
                     "default_cutoff2", "SPHERE_ATOMS", "warn_truncation", "FitSettings", "FitOutputs", "fit_runs"),
                    "fit"),
    **dict.fromkeys(("RunSettings", "RunResult", "RunSummary"), "run"),
    **dict.fromkeys(("phonon_properties", "PhononProperties", "eam_crystal", "EAMCrystal", "harmonic_bands",
                     "shell_constants_of"), "lattice_dynamics"),
    **dict.fromkeys(("three_phonon", "ThreePhonon", "implausible_kappa_lines", "kappa_concentration_lines",
                     "IMPLAUSIBLE_KAPPA", "CONCENTRATED_MODES"), "anharmonic"),
    **dict.fromkeys(("project_modes", "modes_dataset", "add_path_variables", "path_bands", "PathBands"), "modes"),
    **dict.fromkeys(("comparison_inputs", "compare_with_theory", "ComparisonInputs"), "compare"),
    **dict.fromkeys(("quasiharmonic", "QuasiHarmonicResult"), "quasiharmonic"),
    **dict.fromkeys(("series_of_runs", "SeriesResult"), "series"),
    **dict.fromkeys(("scattering_qpoints", "ScatteringQpoints", "check_correlation_window", "structure_factor",
                     "path_dispersion"), "scattering"),
    **dict.fromkeys(("heat_current_conductivity", "HeatCurrentConductivity", "boltzmann_beside", "BoltzmannBeside",
                     "mode_lifetime_conductivity", "fit_own_constants", "OwnConstants", "lifetime_checks",
                     "lifetime_resolution", "BTE_RESAMPLES", "ConductivitySettings", "ConductivityResult",
                     "conductivity"), "transport"),
    **dict.fromkeys(("mass_disorder_lineshapes", "MassDisorderLineshapes", "own_harmonic_constants",
                     "glass_transport", "GlassTransport", "DISORDER_ROUTES", "memory_words"), "disorder"),
    **dict.fromkeys(("rigid_ion_charges", "RigidIonCharges", "CHARGE_CHOICES"), "charges"),
    **dict.fromkeys(("watch", "Watch", "WatchSettings", "WatchUpdate"), "watch"),
}

__all__ = list(COMMANDS)


def __getattr__(name: str):
    """A function of a command (:data:`COMMANDS`) from the module that defines it, or a module of the package,
    imported on first use."""
    if name in COMMANDS:
        value = getattr(importlib.import_module(f"{__name__}.{COMMANDS[name]}"), name)
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
        value = importlib.import_module(f".{name}", __name__)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
