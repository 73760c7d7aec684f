"""Tests of the command line (trajmodes.cli)."""
