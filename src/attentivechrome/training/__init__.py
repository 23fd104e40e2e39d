"""Training loop and its settings."""
