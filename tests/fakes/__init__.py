"""Test doubles for external services (fake HTTP servers and friends)."""
