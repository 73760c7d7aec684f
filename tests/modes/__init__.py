"""Tests of trajmodes.modes."""
