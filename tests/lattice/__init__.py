"""Tests of trajmodes.lattice."""
