"""Tests of trajmodes.io."""
