"""The store's tables (migrated by alembic: store/migrations)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from store.states import RolloutState


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use UTC-aware datetimes")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _state_column() -> Enum:
    """A rollout state stored as its value in VARCHAR(32), as migrations 0001 and 0004 made it."""
    return Enum(
        RolloutState,
        native_enum=False,
        create_constraint=False,
        length=32,
        values_callable=lambda states: [s.value for s in states],
        validate_strings=True,
    )


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UtcDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class Rollout(Base):
    __tablename__ = "rollouts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(String(63))
    commit_sha: Mapped[str] = mapped_column(String(40))
    stable_revision: Mapped[str] = mapped_column(String(255))  # what serves now; rollback target
    canary_revision: Mapped[str | None] = mapped_column(String(255))
    state: Mapped[RolloutState] = mapped_column(_state_column())
    step: Mapped[int] = mapped_column(Integer, default=0)  # index into the canary steps
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive failing analyses
    requested_by: Mapped[str] = mapped_column(String(32))
    approvals: Mapped[list[Any]] = mapped_column(default=list)  # [{"user", "step", "at"}]
    reason: Mapped[str | None] = mapped_column(Text)  # why it ended, when it ended badly
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    step_started_at: Mapped[datetime | None]  # when the current step began (approval expiry)
    data_baseline: Mapped[str | None] = mapped_column(String(32))  # data check status at the start
    ending: Mapped[RolloutState | None] = mapped_column(_state_column())  # ROLLING_BACK ends here
    passed_step: Mapped[int | None] = mapped_column(Integer)  # where the last analysis passed
    operation: Mapped[str | None] = mapped_column(String(255))  # creating the canary, while it runs
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped by every transition

    __table_args__ = (Index("ix_rollouts_service_state", "service", "state"),)


class ServiceLock(Base):
    """At most one unfinished rollout per service: the row exists while one is active."""

    __tablename__ = "service_locks"

    service: Mapped[str] = mapped_column(String(63), primary_key=True)
    rollout_id: Mapped[int] = mapped_column(ForeignKey("rollouts.id"))
    acquired_at: Mapped[datetime]


class AuditEntry(Base):
    """Append-only: who did what, with which arguments, and how it ended."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    service: Mapped[str | None] = mapped_column(String(63))
    rollout_id: Mapped[int | None] = mapped_column(ForeignKey("rollouts.id"))
    arguments: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[str] = mapped_column(Text)


class IdempotencyKey(Base):
    """A delivery or click already acted on (Slack retries, double clicks, two replicas)."""

    __tablename__ = "idempotency_keys"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    created_at: Mapped[datetime]


class Backfill(Base):
    """A grading backfill: who asked, why, and where it stands (its dates are BackfillDate)."""

    __tablename__ = "backfills"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    request_key: Mapped[str] = mapped_column(String(128), unique=True)  # one backfill per request
    requested_by: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    include_graded: Mapped[bool] = mapped_column(default=False)
    state: Mapped[str] = mapped_column(String(16))  # running, done, canceled
    estimate_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    post_channel: Mapped[str | None] = mapped_column(String(32))  # asked from (None: a terminal)
    post_thread: Mapped[str | None] = mapped_column(String(32))
    end_drawn: Mapped[bool] = mapped_column(default=False, server_default=false())  # shown ended
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class BackfillDate(Base):
    """One date of a backfill: queued, publishing, published, done, failed, timed out or
    canceled."""

    __tablename__ = "backfill_dates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    backfill_id: Mapped[int] = mapped_column(ForeignKey("backfills.id"))
    game_date: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    state: Mapped[str] = mapped_column(String(16))
    correlation_id: Mapped[str] = mapped_column(String(64), unique=True)
    published_at: Mapped[datetime | None]
    completed_at: Mapped[datetime | None]
    graded_count: Mapped[int | None] = mapped_column(Integer)
    mae: Mapped[float | None]
    detail: Mapped[str] = mapped_column(Text, default="")
    message_id: Mapped[str | None] = mapped_column(String(64))  # Pub/Sub's, once confirmed

    __table_args__ = (Index("ix_backfill_dates_state", "game_date", "state"),)


class ScheduleRun(Base):
    """One run of a scheduled job, claimed under (job, fire time) before it posts: write-once."""

    __tablename__ = "schedule_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(32))
    fire_time: Mapped[datetime]  # the slot it runs for (a manual run: the minute it was asked)
    manual: Mapped[bool] = mapped_column(default=False)  # Post now, --force: not a cron slot
    trigger: Mapped[str] = mapped_column(String(16))  # scheduler, cron-endpoint, catch-up, cli, ...
    claimed_by: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str] = mapped_column(String(16))  # running, full, heartbeat, quiet, failed
    summary: Mapped[str] = mapped_column(Text, default="")  # one line: "3 services behind"
    fingerprint: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # the normalised findings
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what the next run compares
    missed: Mapped[list[Any]] = mapped_column(default=list)  # slots coalesced into this run
    posted: Mapped[list[Any]] = mapped_column(default=list)  # [{"channel", "ts"}]

    # a manual run ("Post now", --force) never takes the slot of the scheduled run at that time
    __table_args__ = (UniqueConstraint("job", "fire_time", "manual", name="uq_schedule_runs_slot"),)


class PostmortemRow(Base):
    """A postmortem: the draft opsbot built, what people wrote over it, and where it is shown."""

    __tablename__ = "postmortems"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subject: Mapped[str] = mapped_column(String(64), unique=True)  # rollout:12, date:2026-01-28
    kind: Mapped[str] = mapped_column(String(16))  # rollout, rollback, data
    title: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))  # draft, final
    document: Mapped[dict[str, Any]] = mapped_column(default=dict)  # the draft as opsbot built it
    sections: Mapped[dict[str, Any]] = mapped_column(default=dict)  # what people wrote over it
    incident_start: Mapped[datetime]
    incident_end: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    draft_reminded_at: Mapped[datetime | None]  # the nudge before the due mark, once
    version: Mapped[int] = mapped_column(Integer, default=1)  # bumped by every edit


class PostmortemEvent(Base):
    """A message someone added to a postmortem's timeline, at the message's own time."""

    __tablename__ = "postmortem_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    postmortem_id: Mapped[int] = mapped_column(ForeignKey("postmortems.id"))
    message_key: Mapped[str] = mapped_column(String(96))  # channel:ts, so a message is added once
    at: Mapped[datetime]  # when the message was posted (not when it was added)
    author: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    permalink: Mapped[str | None] = mapped_column(Text)
    added_by: Mapped[str] = mapped_column(String(32))
    added_at: Mapped[datetime]

    __table_args__ = (
        UniqueConstraint("postmortem_id", "message_key", name="uq_postmortem_events_message"),
    )


class ActionItemRow(Base):
    """A follow-up of a postmortem: what, who owns it, by when, and which reminders went out."""

    __tablename__ = "action_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    postmortem_id: Mapped[int] = mapped_column(ForeignKey("postmortems.id"))
    text: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(32))
    due: Mapped[str] = mapped_column(String(10))  # YYYY-MM-DD
    state: Mapped[str] = mapped_column(String(8))  # open, done
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    reminded: Mapped[str] = mapped_column(String(8), default="")  # "", due, overdue

    __table_args__ = (Index("ix_action_items_state_due", "state", "due"),)
