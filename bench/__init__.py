"""Benchmarks: `python bench/run.py` measures the gateway against a fake model (see README.md)."""
