"""Bolt listeners, one module per entry point; each registers itself on the app."""
