"""Platform adapters: one module per platform, each the only importer of its SDK."""
