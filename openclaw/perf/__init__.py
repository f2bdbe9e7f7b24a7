"""The fenced performance layer: code that trades clarity for speed on the per-turn path.

Each module's docstring opens with the benchmark figure that justifies it. Modules that reach
into another library's private internals pin that library's version in `pyproject.toml`, and
`tests/perf/` holds a test per patched internal that fails loudly when the upstream shape changes.
"""
