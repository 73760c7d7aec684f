"""TDEP's own regression tests (its repository's ``tests/`` folder) reproduced with trajmodes on TDEP's input files
(tests/data/tdep_*/, each with a README of provenance); docs/tdep.md has the settings and the measured differences."""
