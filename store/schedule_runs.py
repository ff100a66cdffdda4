"""Scheduled runs in the store: claimed write-once per (job, fire time), so every slot runs once.

Replicas each running APScheduler, Cloud Scheduler's retries, a terminal's `schedule run` and
both modes at once all claim the same (job, fire time): the unique constraint lets one insert
win. A run whose claimer died before it ended (still `running` after the lease) or that failed
may be claimed again, by one claimer (a conditional update).

A caller that must act once per credential (Cloud Scheduler's OIDC token, bot/cron_endpoint.py)
records a key for it among the idempotency keys (`first_use`), by any replica at most once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, or_, select, update

from store.database import Database
from store.dialect import insert_for
from store.schedule_views import OUTCOMES_DONE, OUTCOMES_POSTED, Outcome, RunView
from store.schema import IdempotencyKey, ScheduleRun

log = logging.getLogger("opsbot.audit")


class ScheduleRuns:
    def __init__(
        self, database: Database, clock: Callable[[], datetime], lease_s: float = 600.0
    ) -> None:
        self.database = database
        self.clock = clock
        self.lease = timedelta(seconds=lease_s)

    def claim(
        self, job: str, fire_time: datetime, *, by: str, trigger: str, manual: bool = False
    ) -> RunView | None:
        """The run of `job` for `fire_time`, now ours; None when another claimer has it.

        One transaction: an `INSERT … ON CONFLICT DO NOTHING` of the slot; when the slot is
        taken, a conditional UPDATE takes it over only if its run failed or its claimer went
        silent past the lease.
        """
        now = self.clock()
        fire_time = fire_time.astimezone(UTC)  # as the store gives it back
        claim = {
            "claimed_by": by,
            "claimed_at": now,
            "trigger": trigger,
            "outcome": Outcome.RUNNING.value,
        }
        with self.database.session() as session:
            insert = insert_for(session.get_bind().dialect.name)
            run_id = session.execute(
                insert(ScheduleRun)
                .values(
                    job=job,
                    fire_time=fire_time,
                    manual=manual,
                    summary="",
                    detail={},
                    missed=[],
                    posted=[],
                    **claim,
                )
                .on_conflict_do_nothing(index_elements=["job", "fire_time", "manual"])
                .returning(ScheduleRun.id)
            ).scalar()
            action = "claim"
            if run_id is None:
                run_id = session.execute(
                    update(ScheduleRun)
                    .where(
                        ScheduleRun.job == job,
                        ScheduleRun.fire_time == fire_time,
                        ScheduleRun.manual.is_(manual),
                        or_(
                            ScheduleRun.outcome == Outcome.FAILED.value,
                            and_(
                                ScheduleRun.outcome == Outcome.RUNNING.value,
                                ScheduleRun.claimed_at < now - self.lease,
                            ),
                        ),
                    )
                    .values(**claim)
                    .returning(ScheduleRun.id)
                    .execution_options(synchronize_session=False)
                ).scalar()
                action = "reclaim"
        if run_id is None:
            return None
        log.info("schedule.%s by %s: %s for %s", action, by, job, fire_time.isoformat())
        return RunView(
            id=run_id,
            job=job,
            fire_time=fire_time,
            manual=manual,
            trigger=trigger,
            claimed_by=by,
            claimed_at=now,
            finished_at=None,
            outcome=Outcome.RUNNING,
            summary="",
            fingerprint=None,
        )

    def first_use(self, key: str, *, prefix: str, keep_s: float = 86400.0) -> bool:
        """True the first time `key` is used (by any replica); False for every repeat.

        The keys starting with `prefix` recorded more than `keep_s` ago are dropped on the way
        (a token's key need outlive only the token)."""
        now = self.clock()
        with self.database.session() as session:
            session.execute(
                delete(IdempotencyKey).where(
                    IdempotencyKey.key.startswith(prefix, autoescape=True),
                    IdempotencyKey.created_at < now - timedelta(seconds=keep_s),
                )
            )
            insert = insert_for(session.get_bind().dialect.name)
            added = session.execute(
                insert(IdempotencyKey)
                .values(key=key, created_at=now)
                .on_conflict_do_nothing(index_elements=["key"])
                .returning(IdempotencyKey.key)
            ).scalar()
        return added is not None

    def forget_use(self, key: str) -> None:
        """`key` unused again: what it guarded did not happen, so a repeat may try again."""
        with self.database.session() as session:
            session.execute(delete(IdempotencyKey).where(IdempotencyKey.key == key))

    def finish(
        self,
        run: RunView,
        *,
        outcome: Outcome,
        summary: str,
        fingerprint: dict[str, Any] | None = None,
        detail: dict[str, Any] | None = None,
        missed: Sequence[datetime] = (),
        posted: Sequence[tuple[str, str]] = (),
    ) -> bool:
        """Record how the run ended, if it is still ours (a retaken run belongs to the taker)."""
        with self.database.session() as session:
            moved = session.execute(
                update(ScheduleRun)
                .where(ScheduleRun.id == run.id, ScheduleRun.claimed_by == run.claimed_by)
                .values(
                    outcome=outcome.value,
                    summary=summary,
                    fingerprint=fingerprint,
                    detail=detail or {},
                    missed=[m.isoformat() for m in missed],
                    posted=[{"channel": c, "ts": t} for c, t in posted],
                    finished_at=self.clock(),
                )
                .execution_options(synchronize_session=False)
            )
            return bool(moved.rowcount == 1)  # type: ignore[attr-defined]

    def slot(self, job: str, fire_time: datetime, *, manual: bool = False) -> RunView | None:
        """The scheduled run of `job` for `fire_time` (or the manual one at that time)."""
        with self.database.session() as session:
            row = session.scalars(
                select(ScheduleRun).where(
                    ScheduleRun.job == job,
                    ScheduleRun.fire_time == fire_time,
                    ScheduleRun.manual.is_(manual),
                )
            ).first()
            return None if row is None else _view(row)

    def latest(
        self,
        job: str,
        *,
        outcomes: Sequence[Outcome] | None = None,
        scheduled_only: bool = False,
        before: datetime | None = None,
    ) -> RunView | None:
        """The newest run of `job` (by fire time) with one of `outcomes`."""
        query = select(ScheduleRun).where(ScheduleRun.job == job)
        if outcomes is not None:
            query = query.where(ScheduleRun.outcome.in_([o.value for o in outcomes]))
        if scheduled_only:
            query = query.where(ScheduleRun.manual.is_(False))
        if before is not None:
            query = query.where(ScheduleRun.fire_time < before)
        with self.database.session() as session:
            row = session.scalars(query.order_by(ScheduleRun.fire_time.desc()).limit(1)).first()
            return None if row is None else _view(row)

    def last_done(self, job: str, before: datetime | None = None) -> RunView | None:
        """The newest scheduled run that ended as it should (missed slots are counted from it)."""
        return self.latest(job, outcomes=OUTCOMES_DONE, scheduled_only=True, before=before)

    def last_full(self, job: str) -> RunView | None:
        """The newest run that posted in full: what "changed since the last digest" compares."""
        return self.latest(job, outcomes=(Outcome.FULL,))

    def last_post(self, job: str) -> RunView | None:
        """The newest run that posted anything (full or a heartbeat line)."""
        return self.latest(job, outcomes=OUTCOMES_POSTED)

    def between(self, job: str, start: datetime, end: datetime) -> list[RunView]:
        """Runs of `job` with a fire time in [start, end), oldest first."""
        query = (
            select(ScheduleRun)
            .where(
                ScheduleRun.job == job,
                ScheduleRun.fire_time >= start,
                ScheduleRun.fire_time < end,
            )
            .order_by(ScheduleRun.fire_time)
        )
        with self.database.session() as session:
            return [_view(row) for row in session.scalars(query)]


def _view(row: ScheduleRun) -> RunView:
    return RunView(
        id=row.id,
        job=row.job,
        fire_time=row.fire_time,
        manual=row.manual,
        trigger=row.trigger,
        claimed_by=row.claimed_by,
        claimed_at=row.claimed_at,
        finished_at=row.finished_at,
        outcome=Outcome(row.outcome),
        summary=row.summary,
        fingerprint=row.fingerprint,
        detail=dict(row.detail or {}),
        missed=tuple(datetime.fromisoformat(m) for m in row.missed or []),
        posted=tuple((p["channel"], p["ts"]) for p in row.posted or []),
    )
