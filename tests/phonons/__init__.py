"""Tests of trajmodes.phonons."""
