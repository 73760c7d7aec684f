"""Tests of trajmodes.potentials."""
