"""Security layer tests (issue 6)."""
