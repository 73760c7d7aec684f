"""Interatomic potentials with analytic force constants (EAM), and Born-von-Karman shell constants."""
