"""Grading backfills: a plan, then one Pub/Sub trigger per date, at most a few in flight."""
