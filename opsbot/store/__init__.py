"""Durable state (rollouts, approvals, audit log, locks) arrives with the deploy issue."""
