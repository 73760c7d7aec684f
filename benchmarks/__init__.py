"""Benchmarks of trajmodes against the codes users would otherwise use (scripts; see docs/benchmarks.md)."""
