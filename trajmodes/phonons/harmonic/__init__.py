"""Harmonic lattice dynamics: the dynamical matrix and its non-analytic corrections, frequencies and eigenvectors,
band structures, DOS, group and sound velocities, degenerate branches, harmonic thermodynamics, elastic constants,
Debye temperatures, dynamical stability (:class:`~trajmodes.phonons.harmonic.phonons.Phonons`, the facade).
Imports nothing of :mod:`trajmodes.phonons.anharmonic` or :mod:`trajmodes.phonons.thermodynamics`.

:data:`__all__` holds the package's public names: those other packages of trajmodes import (from here or from their
modules), and those :mod:`trajmodes` re-exports. Each is imported from its module on first use (PEP 562), so that
importing one module of the package does not import the others.
"""

from trajmodes._lazy import lazy_names

#: public name -> the module of the package that defines it
_LAZY = {
    # the facade, the dynamical matrix and the frequencies of its eigenvalues, band paths in pieces, the Gaussian of a
    # smeared DOS
    "Phonons": "phonons", "DynamicalMatrix": "dynamical", "frequencies_from_eigenvalues": "dynamical",
    "path_pieces": "bands", "gaussian": "dos",
    # the harmonic oscillator (occupations, one mode's thermodynamics) and the mesh sums
    "occupations": "statistics", "pair_occupations": "statistics", "check_occupation": "statistics",
    "OCCUPATIONS": "statistics", "mode_energy": "statistics", "mode_entropy": "statistics",
    "mode_free_energy": "statistics", "mode_heat_capacity": "statistics", "heat_capacity_matrix": "statistics",
    "HEAT_CAPACITY_MATRICES": "statistics", "harmonic_thermodynamics": "thermal", "mesh_thermodynamics": "thermal",
    "zero_gamma_acoustic": "thermal",
    # degenerate branches: the one grouping, the averages over it, operators diagonalised in each subspace
    "degenerate_labels": "degeneracy", "degenerate_groups": "degeneracy", "degenerate_average": "degeneracy",
    "degenerate_averager": "degeneracy", "diagonalize_degenerate": "degeneracy", "cartesian_basis": "degeneracy",
    # the velocity operator of the coherences' conductivity; the linear tetrahedron method
    "velocity_operator": "velocities", "VELOCITY_OPERATORS": "velocities", "tetrahedra": "tetrahedron",
    "point_weights": "tetrahedron", "vertex_weights": "tetrahedron",
    # imaginary modes: the check before the anharmonic sums
    "ImaginaryModes": "stability", "UnstableConstantsError": "stability", "imaginary_modes": "stability",
    "count_imaginary": "stability", "require_stable": "stability",
    # the frequencies at every pair cutoff: the default cutoff of a fit
    "cutoff_convergence": "convergence",
}

__all__ = [*_LAZY]


__getattr__, __dir__ = lazy_names(__name__, _LAZY, globals())
