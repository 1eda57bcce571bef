"""Benchmarks that print figures; importable so tests can reuse their scoring code."""
