"""Markdown memory (MEMORY.md and daily logs) mirrored in the ORM."""
