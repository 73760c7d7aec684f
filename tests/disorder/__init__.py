"""Tests of trajmodes.disorder: glasses, their modes and Allen-Feldman transport."""
