"""Benchmarks: `python bench/run.py` runs the suite in scenarios/ against a fake model; tools/
holds the investigation tools, lib/ what both share (see README.md)."""
