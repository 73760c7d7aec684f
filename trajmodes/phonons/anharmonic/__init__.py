"""Anharmonic lattice dynamics on top of :mod:`trajmodes.phonons.harmonic`: three-phonon interaction strengths,
self-energies (linewidths, shifts), spectral functions and TDEP's lineshapes, four-phonon and quartic terms, isotope
scattering, mode Grueneisen parameters and the lattice thermal conductivity (RTA, the Boltzmann solution, the
coherences) (:class:`~trajmodes.phonons.anharmonic.anharmonic.Anharmonic`, the facade). Imports nothing of
:mod:`trajmodes.phonons.thermodynamics`."""
