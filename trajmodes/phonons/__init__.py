"""Lattice dynamics of force constants: dynamical matrix, bands, DOS, thermodynamics, elastic constants, NAC."""
from trajmodes.phonons.harmonic import Phonons

__all__ = ["Phonons"]
