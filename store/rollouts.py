"""Rollouts in the store: every change a conditional update from the state the caller saw.

Two replicas or twenty clicks racing on the same rollout produce one transition: the update
names the expected state and version, and only the first to commit matches.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.database import Database
from store.schema import AuditEntry, IdempotencyKey, Rollout, ServiceLock
from store.states import TERMINAL, RolloutState, Seen

__all__ = ["Seen", "ServiceBusy", "Store"]


class ServiceBusy(Exception):
    """The service already has an unfinished rollout."""

    def __init__(self, service: str, rollout_id: int) -> None:
        super().__init__(f"{service} already has rollout #{rollout_id} in progress")
        self.service, self.rollout_id = service, rollout_id


class Store:
    def __init__(self, database: Database, clock: Callable[[], datetime]) -> None:
        self.database = database
        self.clock = clock

    def begin(
        self,
        *,
        service: str,
        commit_sha: str,
        stable_revision: str,
        requested_by: str,
        slack_channel: str | None = None,
        data_baseline: str | None = None,
    ) -> Rollout:
        """A new rollout in CHECKLIST holding the service's lock, or ServiceBusy."""
        now = self.clock()
        try:
            with self.database.session() as session:
                rollout = Rollout(
                    service=service,
                    commit_sha=commit_sha,
                    stable_revision=stable_revision,
                    canary_revision=None,
                    state=RolloutState.CHECKLIST.value,
                    step=0,
                    failures=0,
                    requested_by=requested_by,
                    approvals=[],
                    reason=None,
                    slack_channel=slack_channel,
                    slack_ts=None,
                    created_at=now,
                    updated_at=now,
                    step_started_at=None,
                    data_baseline=data_baseline,
                    version=1,
                )
                session.add(rollout)
                session.flush()
                session.add(ServiceLock(service=service, rollout_id=rollout.id, acquired_at=now))
                session.flush()
                self._audit(
                    session, requested_by, "deploy.begin", rollout, {"commit": commit_sha}, "ok"
                )
                return rollout
        except IntegrityError:
            holder = self.lock_holder(service)
            raise ServiceBusy(service, holder if holder is not None else -1) from None

    def lock_holder(self, service: str) -> int | None:
        with self.database.session() as session:
            return session.scalar(
                select(ServiceLock.rollout_id).where(ServiceLock.service == service)
            )

    def get(self, rollout_id: int) -> Rollout | None:
        with self.database.session() as session:
            return session.get(Rollout, rollout_id)

    def active(self, service: str | None = None) -> list[Rollout]:
        """Unfinished rollouts (oldest first): what a restarted bot must pick up."""
        query = select(Rollout).where(Rollout.state.not_in([s.value for s in TERMINAL]))
        if service is not None:
            query = query.where(Rollout.service == service)
        with self.database.session() as session:
            return list(session.scalars(query.order_by(Rollout.id)))

    def attach_message(self, rollout_id: int, channel: str, ts: str) -> None:
        """Where the rollout's live message is (not a state change: no version bump)."""
        with self.database.session() as session:
            session.execute(
                update(Rollout)
                .where(Rollout.id == rollout_id)
                .values(slack_channel=channel, slack_ts=ts)
                .execution_options(synchronize_session=False)
            )

    def recent(self, limit: int = 50) -> list[Rollout]:
        """The newest rollouts, finished or not, newest first."""
        with self.database.session() as session:
            return list(session.scalars(select(Rollout).order_by(Rollout.id.desc()).limit(limit)))

    def transition(
        self, seen: Seen, *, to: RolloutState, actor: str, action: str, **changes: Any
    ) -> Rollout | None:
        """Move the rollout on, if nobody else did since `seen`; None when someone did.

        A move into a terminal state frees the service's lock in the same transaction.
        """
        now = self.clock()
        with self.database.session() as session:
            moved = session.execute(
                update(Rollout)
                .where(
                    Rollout.id == seen.rollout_id,
                    Rollout.state == seen.state.value,
                    Rollout.version == seen.version,
                )
                .values(state=to.value, version=seen.version + 1, updated_at=now, **changes)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return None
            if to.terminal:
                session.execute(
                    delete(ServiceLock).where(ServiceLock.rollout_id == seen.rollout_id)
                )
            rollout = session.get(Rollout, seen.rollout_id, populate_existing=True)
            assert rollout is not None
            self._audit(
                session,
                actor,
                action,
                rollout,
                {"from": seen.state.value, "to": to.value, **_plain(changes)},
                "ok",
            )
            return rollout

    def record(
        self,
        actor: str,
        action: str,
        *,
        service: str | None = None,
        rollout_id: int | None = None,
        arguments: dict[str, Any] | None = None,
        result: str,
    ) -> None:
        """An audit entry for something that is not a transition (a refusal, a rollback)."""
        with self.database.session() as session:
            session.add(
                AuditEntry(
                    at=self.clock(),
                    actor=actor,
                    action=action,
                    service=service,
                    rollout_id=rollout_id,
                    arguments=arguments or {},
                    result=result,
                )
            )

    def audit_log(self, rollout_id: int | None = None) -> list[AuditEntry]:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if rollout_id is not None:
            query = query.where(AuditEntry.rollout_id == rollout_id)
        with self.database.session() as session:
            return list(session.scalars(query))

    def first_time(self, key: str) -> bool:
        """True the first time `key` is seen (by any replica); False for every repeat."""
        try:
            with self.database.session() as session:
                session.add(IdempotencyKey(key=key, created_at=self.clock()))
            return True
        except IntegrityError:
            return False

    def _audit(
        self,
        session: Session,
        actor: str,
        action: str,
        rollout: Rollout,
        arguments: dict[str, Any],
        result: str,
    ) -> None:
        session.add(
            AuditEntry(
                at=self.clock(),
                actor=actor,
                action=action,
                service=rollout.service,
                rollout_id=rollout.id,
                arguments=arguments,
                result=result,
            )
        )


def _plain(changes: dict[str, Any]) -> dict[str, Any]:
    """Changes as JSON-safe arguments for the audit log."""
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in changes.items()}
