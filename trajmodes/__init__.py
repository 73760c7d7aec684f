"""trajmodes: phonons at the simulated temperature from molecular-dynamics trajectories of crystals.

The public names below are imported on first use (PEP 562), so ``import trajmodes`` and the command line's
``--help`` do not pay for numpy, dask, scipy, xarray or matplotlib until a computation needs them.
"""
from __future__ import annotations

import importlib
import importlib.util

__version__ = "0.1.0"

#: public name -> module that defines it
_LAZY = {
    "read": "trajmodes.trajectory.reading", "from_arrays": "trajmodes.trajectory.reading",
    "read_displacement_dataset": "trajmodes.trajectory.reading", "read_beads": "trajmodes.trajectory.beads",
    "Trajectory": "trajmodes.trajectory.core", "Structure": "trajmodes.lattice.structure",
    "TrajectoryFormatError": "trajmodes.errors", "ReferenceMismatchError": "trajmodes.errors",
    "TruncatedFrameWarning": "trajmodes.errors", "UnitsWarning": "trajmodes.errors",
    "Crystal": "trajmodes.lattice.crystal", "ForceConstants": "trajmodes.forceconstants.model",
    "Phonons": "trajmodes.phonons.harmonic.phonons", "EffectiveForceConstants": "trajmodes.forceconstants.fit",
    "fit_series": "trajmodes.series.fitting", "project": "trajmodes.modes.projection",
    "mode_energies": "trajmodes.modes.energies", "mode_spectra": "trajmodes.modes.spectra",
    "fit_peaks": "trajmodes.modes.peaks", "EAM": "trajmodes.potentials.eam",
    "LennardJones": "trajmodes.potentials.pair", "Morse": "trajmodes.potentials.pair",
    "Buckingham": "trajmodes.potentials.pair",
    "StillingerWeber": "trajmodes.potentials.threebody", "AxilrodTellerMuto": "trajmodes.potentials.threebody",
    "HarmonicAngle": "trajmodes.potentials.threebody", "ExponentialAngle": "trajmodes.potentials.threebody",
    "Anharmonic": "trajmodes.phonons.anharmonic.anharmonic",
    "conductivity_from_lifetimes": "trajmodes.modes.conductivity",
    "compare_three_phonon": "trajmodes.modes.comparison", "QuasiHarmonic": "trajmodes.phonons.thermodynamics.quasiharmonic",
    "PotentialEngine": "trajmodes.potentials.engines", "HarmonicEngine": "trajmodes.potentials.engines",
    "AseEngine": "trajmodes.potentials.engines", "LammpsEngine": "trajmodes.potentials.lammps_engine",
    "canonical_configurations": "trajmodes.phonons.thermodynamics.sampling",
    "thermodynamic_integration": "trajmodes.phonons.thermodynamics.free_energy_bounds",
    "dynamic_structure_factor": "trajmodes.modes.structure_factor",
    "SelfConsistentPhonons": "trajmodes.phonons.thermodynamics.self_consistent",
    "one_phonon_structure_factor": "trajmodes.modes.one_phonon",
    "detailed_balance": "trajmodes.modes.scattering_corrections",
    "instrument_resolution": "trajmodes.modes.scattering_corrections",
    "powder_structure_factor": "trajmodes.modes.scattering_corrections",
    "fit_current_peaks": "trajmodes.modes.current_peaks", "merge_peaks": "trajmodes.modes.current_peaks",
}
#: public submodules, by the short names users know them under
_MODULES = {"bvk": "trajmodes.potentials.bvk", "workflows": "trajmodes.workflows", "plots": "trajmodes.plots",
            "units": "trajmodes.units", "errors": "trajmodes.errors"}

__all__ = ["__version__", *_LAZY, *_MODULES]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
    elif name in _MODULES:
        value = importlib.import_module(_MODULES[name])
    elif not name.startswith("_") and importlib.util.find_spec(f"{__name__}.{name}"):
        value = importlib.import_module(f".{name}", __name__)      # any subpackage, as after an import
    else:
        raise AttributeError(f"module 'trajmodes' has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
