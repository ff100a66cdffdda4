"""An audit entry written in the caller's transaction, and logged beside it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from store.rollouts import log_audit
from store.schema import AuditEntry


def audit_in(
    session: Session,
    at: datetime,
    actor: str,
    action: str,
    arguments: dict[str, Any],
    ids: dict[str, int] | None = None,
) -> None:
    """Who did what to a backfill or postmortem (no service, no rollout), with its arguments."""
    log_audit(actor, action, None, None, "ok", arguments, ids)
    session.add(
        AuditEntry(
            at=at,
            actor=actor,
            action=action,
            service=None,
            rollout_id=None,
            arguments=arguments,
            result="ok",
        )
    )
