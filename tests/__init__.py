"""The test suite of trajmodes; its folders mirror the package (lattice, io, trajectory, forceconstants, phonons,
potentials, modes, cli); shared helpers are in ``tests.support``, shared fixtures in ``conftest.py``."""
