"""Durable state through SQLAlchemy 2: rollouts, the audit log, per-service locks, idempotency keys."""
