"""Disordered solids: mass and substitutional disorder on the sites of one lattice (the virtual crystal, the
sample's mass variances, its exact harmonic lineshapes and unfolded spectral weights)."""
