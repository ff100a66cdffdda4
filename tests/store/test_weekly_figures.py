"""The weekly report's figures, from a store seeded with known rollouts, runs and backfills."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from commands.schedule.weekly import week_figures
from store.backfills import Backfills
from store.database import Database
from store.rollouts import Store
from store.schedule_runs import ScheduleRuns
from store.schedule_views import Outcome
from store.states import RolloutState, Seen
from tests.store.conftest import T0, Clock

MONDAY = T0 + timedelta(days=4)  # the report's end: a week after T0 - 3 days
COMMIT_AGE = timedelta(hours=6)  # every seeded commit was made 6 h before its rollout began


def _rollout(store: Store, clock: Clock, service: str, sha: str, ends: RolloutState) -> int:
    """A rollout that starts, then reaches 100% (30 min on) or rolls back (taking 4 min)."""
    begun = store.begin(
        service=service, commit_sha=sha, stable_revision=f"{service}-1", requested_by="U0SAMDEPLY"
    )
    moved = store.transition(
        Seen.of(begun), to=RolloutState.CANARY, actor="U", action="deploy.start"
    )
    assert moved is not None
    clock.advance(30 * 60)
    if ends is RolloutState.ROLLED_BACK:
        back = store.transition(
            Seen.of(moved), to=RolloutState.ROLLING_BACK, actor="opsbot", action="deploy.rollback"
        )
        assert back is not None
        clock.advance(4 * 60)
        assert store.transition(
            Seen.of(back), to=RolloutState.ROLLED_BACK, actor="opsbot", action="deploy.restored"
        )
        return begun.id
    full = store.transition(
        Seen.of(moved), to=RolloutState.WATCH, actor="U", action="deploy.promote"
    )
    assert full is not None
    assert store.transition(
        Seen.of(full), to=RolloutState.COMPLETE, actor="opsbot", action="deploy.complete"
    )
    return begun.id


def _health_run(runs: ScheduleRuns, at: datetime, vegas: str) -> None:
    claimed = runs.claim("health-digest", at, by="r", trigger="scheduler")
    assert claimed is not None
    overall = "OK" if vegas == "OK" else "CRITICAL"
    runs.finish(
        claimed,
        outcome=Outcome.QUIET,
        summary="",
        fingerprint={"vegas_line_coverage": vegas, "grading_completeness": "OK"},
        detail={"status": overall},
    )


def test_the_weeks_figures_come_from_what_was_recorded(database: Database, clock: Clock) -> None:
    store = Store(database, clock)
    runs = ScheduleRuns(database, clock)
    commits: dict[int, str] = {}
    made: dict[str, datetime] = {}
    clock.now = MONDAY - timedelta(days=10)  # the week before: one deploy
    plan = [
        (MONDAY - timedelta(days=10), "nba-scrapers", RolloutState.COMPLETE),
        (MONDAY - timedelta(days=5), "nba-scrapers", RolloutState.COMPLETE),
        (MONDAY - timedelta(days=4), "prediction-worker", RolloutState.COMPLETE),
        (MONDAY - timedelta(days=3), "nba-scrapers", RolloutState.ROLLED_BACK),
        (MONDAY - timedelta(days=2), "nba-scrapers", RolloutState.COMPLETE),
    ]
    for index, (start, service, ends) in enumerate(plan):
        clock.now = start
        sha = f"{index:x}" * 40
        made[sha] = start - COMMIT_AGE
        commits[_rollout(store, clock, service, sha, ends)] = sha
    for hours, vegas in ((0, "OK"), (24, "CRITICAL"), (48, "CRITICAL"), (60, "OK"), (72, "OK")):
        _health_run(runs, MONDAY - timedelta(days=4) + timedelta(hours=hours), vegas)
    clock.now = MONDAY - timedelta(days=1)
    Backfills(database, clock).submit(
        request_key="k1", requested_by="U0DANAONCL", reason="gaps", include_graded=False,
        estimate_bytes=0, dates=["2026-01-30", "2026-01-31"],
    )  # fmt: skip

    this = week_figures(
        MONDAY - timedelta(days=7),
        MONDAY,
        store.audit_log(),
        commits,
        made.get,
        runs.between("health-digest", MONDAY - timedelta(days=21), MONDAY),
        Backfills(database, clock).recent(),
    )

    assert this.deploys == {"nba-scrapers": 2, "prediction-worker": 1}
    assert this.started == 4
    assert this.rolled_back == 1 and this.change_failure_rate == pytest.approx(0.25)
    assert this.lead_time_h == pytest.approx(6.5)  # 6 h old commit + 30 min of canary
    assert this.restore_minutes == [pytest.approx(4.0)]
    assert this.check_restore_hours == [pytest.approx(36.0)]  # CRITICAL at +24 h, OK at +60 h
    assert (this.health_runs, this.health_ok_runs) == (5, 3)
    assert this.worst_check == "vegas_line_coverage" and this.worst_check_failing_runs == 2
    assert (this.backfills, this.backfill_dates) == (1, 2)
