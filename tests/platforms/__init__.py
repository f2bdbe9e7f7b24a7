"""Platform adapter, webhook and end-to-end tests."""
