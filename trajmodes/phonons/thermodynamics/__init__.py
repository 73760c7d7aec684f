"""Free energies and equilibrium on top of the harmonic and anharmonic phonons: the quasiharmonic free energy and its
minimisation, the TDEP free energy of a run with its cubic and quartic corrections, the harmonic bounds and
thermodynamic integration, canonical configurations and self-consistent phonons, and the error bars of a fit's
frequencies and thermodynamics from its bootstrap."""
