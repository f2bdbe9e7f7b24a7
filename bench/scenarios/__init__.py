"""The suite `bench/run.py` runs: one module per scenario (a to g), each measuring its figures
with a baseline from the same run (bench/README.md says what each measures and its target)."""
