"""Phonon modes of an MD run: projection, energies, spectra and peak fits; dynamic structure factors."""
