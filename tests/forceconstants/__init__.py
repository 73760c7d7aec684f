"""Tests of trajmodes.forceconstants."""
