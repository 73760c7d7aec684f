"""Tests of trajmodes.trajectory."""
