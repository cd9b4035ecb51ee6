"""Custom integrations shipped by this repository (makes the folder importable in tests)."""
