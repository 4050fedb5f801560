"""Models built from the shared layers."""
