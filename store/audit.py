"""The audit log: an entry written in the caller's transaction, and every mutation logged beside it."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from store.schema import AuditEntry
from store.states import RolloutState

log = logging.getLogger("opsbot.audit")


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


def log_audit(
    actor: str,
    action: str,
    service: str | None,
    rollout_id: int | None,
    result: str,
    arguments: dict[str, Any] | None = None,
    ids: dict[str, int] | None = None,
) -> None:
    """Every mutation at INFO, beside its audit row (structured when serving).

    `ids`: what else the line names in its own field (a backfill's `backfill_id`).
    """
    log.info(
        "%s by %s%s: %s",
        action,
        actor,
        f" on {service}" if service else "",
        result,
        extra={
            "audit": {
                "action": action,
                "actor": actor,
                "service": service,
                "arguments": plain(arguments or {}),
            },
            "rollout_id": rollout_id,
            **(ids or {}),
        },
    )


def plain(changes: dict[str, Any]) -> dict[str, Any]:
    """Changes as JSON-safe arguments for the audit log."""
    return {
        k: v.isoformat()
        if isinstance(v, datetime)
        else v.value
        if isinstance(v, RolloutState)
        else v
        for k, v in changes.items()
    }
