"""Rollouts in the store: every change a conditional update from the state the caller saw.

Two replicas or twenty clicks racing on the same rollout produce one transition: the update
names the expected state and version, and only the first to commit matches.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from store.audit import log_audit, plain
from store.database import Database
from store.dialect import insert_for
from store.errors import ServiceBusy
from store.messages import attach_once
from store.schema import AuditEntry, IdempotencyKey, Rollout, ServiceLock
from store.states import NO_OPERATION, TERMINAL, RolloutState, Seen, check_move
from store.views import Approval, AuditView, RolloutView


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
    ) -> RolloutView:
        """A new rollout in CHECKLIST holding the service's lock, or ServiceBusy."""
        now = self.clock()
        try:
            with self.database.session() as session:
                rollout = Rollout(
                    service=service,
                    commit_sha=commit_sha,
                    stable_revision=stable_revision,
                    canary_revision=None,
                    state=RolloutState.CHECKLIST,
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
                return _view(rollout)
        except IntegrityError:
            holder = self.lock_holder(service)
            raise ServiceBusy(service, holder if holder is not None else -1) from None

    def lock_holder(self, service: str) -> int | None:
        with self.database.session() as session:
            return session.scalar(
                select(ServiceLock.rollout_id).where(ServiceLock.service == service)
            )

    def get(self, rollout_id: int) -> RolloutView | None:
        with self.database.session() as session:
            rollout = session.get(Rollout, rollout_id)
            return _view(rollout) if rollout is not None else None

    def active(self, service: str | None = None) -> list[RolloutView]:
        """Unfinished rollouts (oldest first): what a restarted bot must pick up."""
        query = select(Rollout).where(Rollout.state.not_in(TERMINAL))
        if service is not None:
            query = query.where(Rollout.service == service)
        with self.database.session() as session:
            return [_view(r) for r in session.scalars(query.order_by(Rollout.id))]

    def recent(self, limit: int = 50) -> list[RolloutView]:
        """The newest rollouts, finished or not, newest first."""
        query = select(Rollout).order_by(Rollout.id.desc()).limit(limit)
        with self.database.session() as session:
            return [_view(r) for r in session.scalars(query)]

    def transition(
        self,
        seen: Seen,
        *,
        to: RolloutState,
        actor: str,
        action: str,
        canary_revision: str | None = None,
        step: int | None = None,
        failures: int | None = None,
        approvals: Sequence[Approval] | None = None,
        step_started_at: datetime | None = None,
        reason: str | None = None,
        ending: RolloutState | None = None,
        passed_step: int | None = None,
        operation: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> RolloutView | None:
        """Move the rollout on, if nobody else did since `seen`; None when someone did.

        Each keyword given (not None) is recorded with the move; `operation=NO_OPERATION` clears
        it. A move into a terminal state frees the service's lock in the same transaction.
        `details` go to the audit entry only (an analysis's figures).
        """
        check_move(seen.state, to)
        now = self.clock()
        given: dict[str, Any] = {
            "canary_revision": canary_revision,
            "step": step,
            "failures": failures,
            "approvals": [a.to_json() for a in approvals] if approvals is not None else None,
            "step_started_at": step_started_at,
            "reason": reason,
            "ending": ending,
            "passed_step": passed_step,
            "operation": operation,
        }
        changes = {column: value for column, value in given.items() if value is not None}
        if operation == NO_OPERATION:
            changes["operation"] = None
        with self.database.session() as session:
            moved = session.execute(
                update(Rollout)
                .where(
                    Rollout.id == seen.rollout_id,
                    Rollout.state == seen.state,
                    Rollout.version == seen.version,
                )
                .values(state=to, version=seen.version + 1, updated_at=now, **changes)
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
                {"from": seen.state.value, "to": to.value, **plain(changes), **(details or {})},
                "ok",
            )
            return _view(rollout)

    def record(
        self,
        actor: str,
        action: str,
        *,
        service: str | None = None,
        rollout_id: int | None = None,
        arguments: dict[str, Any] | None = None,
        result: str,
    ) -> int:
        """An audit entry for something that is not a transition (a refusal, a rollback); its id."""
        log_audit(actor, action, service, rollout_id, result)
        with self.database.session() as session:
            entry = AuditEntry(
                at=self.clock(),
                actor=actor,
                action=action,
                service=service,
                rollout_id=rollout_id,
                arguments=arguments or {},
                result=result,
            )
            session.add(entry)
            session.flush()
            return entry.id

    def audit_log(
        self, rollout_id: int | None = None, since: datetime | None = None
    ) -> list[AuditView]:
        query = select(AuditEntry).order_by(AuditEntry.id)
        if rollout_id is not None:
            query = query.where(AuditEntry.rollout_id == rollout_id)
        if since is not None:
            query = query.where(AuditEntry.at >= since)
        with self.database.session() as session:
            return [
                AuditView(
                    e.id, e.at, e.actor, e.action, e.service, e.rollout_id, e.arguments, e.result
                )
                for e in session.scalars(query)
            ]

    def first_time(self, key: str) -> bool:
        """True the first time `key` is seen (by any replica); False for every repeat."""
        try:
            with self.database.session() as session:
                session.add(IdempotencyKey(key=key, created_at=self.clock()))
            return True
        except IntegrityError:
            return False

    def seen(self, key: str) -> bool:
        """Whether `key` was recorded (by first_time or remember), without recording it."""
        with self.database.session() as session:
            return session.get(IdempotencyKey, key) is not None

    def remember(self, keys: Sequence[str]) -> None:
        """Record `keys` as seen, in one statement; keys already there stay as they were."""
        if not keys:
            return
        now = self.clock()
        rows = [{"key": key, "created_at": now} for key in dict.fromkeys(keys)]
        with self.database.session() as session:
            insert = insert_for(session.get_bind().dialect.name)
            # one statement for any number of keys, compiled once and cached (an executemany)
            statement = insert(IdempotencyKey).on_conflict_do_nothing(index_elements=["key"])
            session.execute(statement, rows)

    def forget_older(self, prefix: str, seconds: float) -> None:
        """Drop the keys starting with `prefix` recorded more than `seconds` ago."""
        before = self.clock() - timedelta(seconds=seconds)
        with self.database.session() as session:
            session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.key.startswith(prefix, autoescape=True),
                    IdempotencyKey.created_at < before,
                )
            )

    def forget(self, key: str) -> None:
        """`key` unseen again: what it guarded did not happen, so a repeat may try again."""
        with self.database.session() as session:
            session.execute(delete(IdempotencyKey).where(IdempotencyKey.key == key))

    def attach_message(self, rollout_id: int, channel: str, ts: str) -> bool:
        """Record the message unless one is recorded already; whether this one was."""
        return attach_once(self.database, Rollout, rollout_id, channel, ts)

    def _audit(
        self,
        session: Session,
        actor: str,
        action: str,
        rollout: Rollout,
        arguments: dict[str, Any],
        result: str,
    ) -> None:
        log_audit(actor, action, rollout.service, rollout.id, result, arguments)
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


def _view(row: Rollout) -> RolloutView:
    return RolloutView(
        id=row.id,
        service=row.service,
        commit_sha=row.commit_sha,
        stable_revision=row.stable_revision,
        canary_revision=row.canary_revision,
        state=row.state,
        step=row.step,
        failures=row.failures,
        requested_by=row.requested_by,
        approvals=tuple(Approval.from_json(a) for a in row.approvals),
        reason=row.reason,
        slack_channel=row.slack_channel,
        slack_ts=row.slack_ts,
        created_at=row.created_at,
        updated_at=row.updated_at,
        step_started_at=row.step_started_at,
        data_baseline=row.data_baseline,
        ending=row.ending,
        version=row.version,
        passed_step=row.passed_step,
        operation=row.operation,
    )
