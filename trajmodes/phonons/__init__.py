"""Lattice dynamics of force constants, in three layers, each importing only those below it:

- :mod:`trajmodes.phonons.harmonic`: the dynamical matrix (with its non-analytic corrections), frequencies,
  eigenvectors, bands, DOS, group velocities, harmonic thermodynamics, elastic constants, stability
  (:class:`~trajmodes.phonons.harmonic.phonons.Phonons`);
- :mod:`trajmodes.phonons.anharmonic`: three- and four-phonon interactions, self-energies, lineshapes, Grueneisen
  parameters, isotope scattering and the thermal conductivity
  (:class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic`);
- :mod:`trajmodes.phonons.thermodynamics`: free energies (quasiharmonic, TDEP with its anharmonic corrections, bounds
  and thermodynamic integration), canonical sampling, self-consistent phonons and the error bars of a fit's
  frequencies and thermodynamics.
"""
