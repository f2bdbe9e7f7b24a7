"""Project scripts (run them as files); a package so tests can import their functions."""
