"""The shared check library: each check explains itself; the runner scores the report."""
