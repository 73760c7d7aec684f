"""Harmonic lattice dynamics: the dynamical matrix and its non-analytic corrections, frequencies and eigenvectors,
band structures, DOS, group and sound velocities, degenerate branches, harmonic thermodynamics, elastic constants,
Debye temperatures, dynamical stability (:class:`~trajmodes.phonons.harmonic.phonons.Phonons`, the facade).
Imports nothing of :mod:`trajmodes.phonons.anharmonic` or :mod:`trajmodes.phonons.thermodynamics`."""
