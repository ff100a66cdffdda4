"""Scheduled runs in the store: claimed write-once per (job, fire time), so every slot runs once.

Replicas each running APScheduler, Cloud Scheduler's retries, a terminal's `schedule run` and
both modes at once all claim the same (job, fire time): the unique constraint lets one insert
win. The holder renews its claim while it works (a heartbeat: `renew`); a claim not renewed for
its silence window (schedule_views.silence_s: 30 s, or the lease if shorter) is a dead holder's,
and a run that failed may be claimed again: either is taken over by one claimer only (a
compare-and-set on the holder and its last renewal, so two replicas racing a takeover on
PostgreSQL or SQLite get it once). A holder gives up its claim after the lease however often it
renewed (a hung holder), and every write it makes is fenced by the same compare: a holder that
lost its claim writes nothing more.

Before its first post the holder records that it is posting, and each post as it is made
(`posting`, `record_post`): whoever takes the run over knows which parts are out, and whether
Slack may hold a post the dead holder made but never recorded (bot/digest_jobs.py looks for it).

A caller that must act once per credential (Cloud Scheduler's OIDC token, bot/cron_endpoint.py)
records a key for it among the idempotency keys (`first_use`), by any replica at most once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, or_, select, update

from store.database import Database
from store.dialect import insert_for
from store.schedule_views import (
    HEARTBEATS_PER_SILENCE,
    OUTCOMES_DONE,
    OUTCOMES_POSTED,
    Outcome,
    RunView,
    silence_s,
)
from store.schema import IdempotencyKey, ScheduleRun

log = logging.getLogger("opsbot.audit")


class ScheduleRuns:
    def __init__(
        self, database: Database, clock: Callable[[], datetime], lease_s: float = 600.0
    ) -> None:
        self.database = database
        self.clock = clock
        self.lease = timedelta(seconds=lease_s)  # the longest a holder keeps a claim, renewed
        self.silence = timedelta(seconds=silence_s(lease_s))  # unrenewed this long: dead

    @property
    def heartbeat_s(self) -> float:
        """How often a holder renews its claim (a few times per silence window)."""
        return self.silence.total_seconds() / HEARTBEATS_PER_SILENCE

    def now(self) -> datetime:
        """The job clock's now, in UTC (as the store gives times back)."""
        return self.clock().astimezone(UTC)

    def claim(
        self, job: str, fire_time: datetime, *, by: str, trigger: str, manual: bool = False
    ) -> RunView | None:
        """The run of `job` for `fire_time`, now ours; None when another claimer has it.

        One transaction: an `INSERT … ON CONFLICT DO NOTHING` of the slot; when the slot is
        taken, a compare-and-set takes it over only if its run failed or its holder went silent
        (the view then names the holder it took over from, and keeps what that one recorded).
        """
        now = self.now()
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
            if run_id is not None:
                log.info("schedule.claim by %s: %s for %s", by, job, fire_time.isoformat())
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
            row = session.scalars(_slot_query(job, fire_time, manual)).first()
            if row is None or not self._claimable(_view(row), now):
                return None
            before = _view(row)
            moved = session.execute(  # the same test in SQL: one of two racing takers wins
                update(ScheduleRun)
                .where(*_fenced(before), self._claimable_row(now))
                .values(**claim)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return None
        log.info(
            "schedule.takeover by %s from %s (%s, last heard of %s): %s for %s",
            by,
            before.claimed_by,
            before.outcome,
            before.claimed_at.isoformat(),
            job,
            fire_time.isoformat(),
        )
        return replace(
            before,
            trigger=trigger,
            claimed_by=by,
            claimed_at=now,
            outcome=Outcome.RUNNING,
            took_over=before.claimed_by,
        )

    def _claimable(self, run: RunView, now: datetime) -> bool:
        """A run that failed, or whose holder has not renewed its claim within the silence."""
        if run.outcome is Outcome.FAILED:
            return True
        return run.outcome is Outcome.RUNNING and run.claimed_at < now - self.silence

    def _claimable_row(self, now: datetime) -> ColumnElement[bool]:
        """`_claimable` as SQL: re-checked by the UPDATE itself (PostgreSQL re-reads the row)."""
        return or_(
            ScheduleRun.outcome == Outcome.FAILED.value,
            and_(
                ScheduleRun.outcome == Outcome.RUNNING.value,
                ScheduleRun.claimed_at < now - self.silence,
            ),
        )

    def alive(self, run: RunView) -> bool:
        """Whether `run` is held by a holder that renewed its claim within the silence."""
        return run.outcome is Outcome.RUNNING and not self._claimable(run, self.now())

    def renew(self, run: RunView) -> RunView | None:
        """The holder's heartbeat: its claim renewed now; None when it is no longer its own."""
        return self._step(run, {})

    def posting(self, run: RunView) -> RunView | None:
        """Recorded before the first post: Slack may hold this run's posts from now on."""
        marker = {"posting": {"at": self.now().isoformat(), "by": run.claimed_by}}
        return self._step(run, {"detail": {**run.detail, **marker}})

    def record_post(self, run: RunView, part: str, channel: str, ts: str) -> RunView | None:
        """One post made (or found in Slack), recorded at once: a taker will not post it again."""
        entries = [*_entries(run), {"channel": channel, "ts": ts, "part": part}]
        moved = self._step(run, {"posted": entries})
        if moved is None:
            return None
        return replace(
            moved, posted=(*run.posted, (channel, ts)), parts={**run.parts, part: (channel, ts)}
        )

    def _step(self, run: RunView, values: dict[str, Any]) -> RunView | None:
        """A holder's write, renewing its claim, if the claim is still the one it holds."""
        now = self.now()
        with self.database.session() as session:
            moved = session.execute(
                update(ScheduleRun)
                .where(*_fenced(run), ScheduleRun.outcome == Outcome.RUNNING.value)
                .values(claimed_at=now, **values)
                .execution_options(synchronize_session=False)
            )
            if moved.rowcount != 1:  # type: ignore[attr-defined]
                return None
        return replace(run, claimed_at=now, detail=values.get("detail", run.detail))

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
        """Record how the run ended, if it is still ours (a run taken over is the taker's).

        The posts recorded as they were made are kept, `posted` added to them; a failed run
        keeps its detail too (its "posting" mark), so whoever retries it knows what is out."""
        entries = _entries(run)
        known = {(e["channel"], e["ts"]) for e in entries}
        entries += [{"channel": c, "ts": t} for c, t in posted if (c, t) not in known]
        values: dict[str, Any] = {
            "outcome": outcome.value,
            "summary": summary,
            "fingerprint": fingerprint,
            "missed": [m.isoformat() for m in missed],
            "posted": entries,
            "finished_at": self.now(),
        }
        if outcome is not Outcome.FAILED:
            values["detail"] = detail or {}
        with self.database.session() as session:
            moved = session.execute(
                update(ScheduleRun)
                .where(*_fenced(run), ScheduleRun.outcome == Outcome.RUNNING.value)
                .values(**values)
                .execution_options(synchronize_session=False)
            )
            return bool(moved.rowcount == 1)  # type: ignore[attr-defined]

    def slot(self, job: str, fire_time: datetime, *, manual: bool = False) -> RunView | None:
        """The scheduled run of `job` for `fire_time` (or the manual one at that time)."""
        with self.database.session() as session:
            row = session.scalars(_slot_query(job, fire_time, manual)).first()
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

    def running(self, job: str, since: datetime) -> list[RunView]:
        """Runs of `job` still `running` (alive, or their holder died) for a time since `since`."""
        query = select(ScheduleRun).where(
            ScheduleRun.job == job,
            ScheduleRun.outcome == Outcome.RUNNING.value,
            ScheduleRun.fire_time >= since,
        )
        with self.database.session() as session:
            return [_view(row) for row in session.scalars(query.order_by(ScheduleRun.fire_time))]

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


def _slot_query(job: str, fire_time: datetime, manual: bool) -> Any:
    return select(ScheduleRun).where(
        ScheduleRun.job == job,
        ScheduleRun.fire_time == fire_time,
        ScheduleRun.manual.is_(manual),
    )


def _fenced(run: RunView) -> list[ColumnElement[bool]]:
    """The row of `run` while its claim is the one `run` holds: its holder and last renewal."""
    return [
        ScheduleRun.id == run.id,
        ScheduleRun.claimed_by == run.claimed_by,
        ScheduleRun.claimed_at == run.claimed_at,
    ]


def _entries(run: RunView) -> list[dict[str, str]]:
    """The run's posts as the store keeps them: channel, ts and (when known) the part."""
    part_of = {where: part for part, where in run.parts.items()}
    entries = []
    for channel, ts in run.posted:
        entry = {"channel": channel, "ts": ts}
        if (channel, ts) in part_of:
            entry["part"] = part_of[(channel, ts)]
        entries.append(entry)
    return entries


def _view(row: ScheduleRun) -> RunView:
    posted = [p for p in row.posted or [] if isinstance(p, dict)]
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
        posted=tuple((p["channel"], p["ts"]) for p in posted),
        parts={p["part"]: (p["channel"], p["ts"]) for p in posted if p.get("part")},
    )
