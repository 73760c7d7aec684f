"""Helpers shared by the tests: crystals and analytic force constants, dump generators, LAMMPS runs, paths."""
