"""Free energies and equilibrium on top of the harmonic and anharmonic phonons: the quasiharmonic free energy and its
minimisation, the TDEP free energy of a run with its cubic and quartic corrections, the harmonic bounds and
thermodynamic integration, canonical configurations and self-consistent phonons, and the error bars of a fit's
frequencies and thermodynamics from its bootstrap.

:data:`__all__` holds the package's public names: those other packages of trajmodes import (from here or from their
modules), and those :mod:`trajmodes` re-exports. Each is imported from its module on first use (PEP 562), so that
importing one module of the package does not import the others.
"""

from trajmodes._lazy import lazy_names

#: public name -> the module of the package that defines it
_LAZY = {
    "QuasiHarmonic": "quasiharmonic", "SelfConsistentPhonons": "self_consistent",
    "canonical_configurations": "sampling", "supercell_modes": "sampling",
    "thermodynamic_integration": "free_energy_bounds",
    # the TDEP free energy of a run (the free energies of a series) and its cubic mesh
    "tdep_free_energy": "free_energy", "CUBIC_MESH": "free_energy",
    # the error bars of a fit's frequencies (the error model of a series)
    "frequencies_with_errors": "uncertainty", "classical_dnu_dT": "uncertainty",
    "frequency_samples": "uncertainty",
}

__all__ = [*_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
