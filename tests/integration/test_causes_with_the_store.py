"""Where opsbot's store is present, a likely cause says what it remembers: the rollout that
shipped a revision and how its canary ended, and the backfills already run for ungraded dates."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest

from adapters.warehouse import Warehouse
from checks.result import CauseKind
from commands.health import run_health
from commands.health_causes.records import Records
from config import Profile
from opsbot.platform import sandbox_drift_sources
from sandbox.demo_season import SANDBOX_NOW
from sandbox.platform import Sandbox
from store.backfills import Backfills
from store.database import Database
from store.location import sqlite_url
from store.rollouts import Store
from store.states import RolloutState, Seen

PHASE3 = "nba-phase3-analytics-processors"


@pytest.fixture
def database(tmp_path: Path) -> Iterator[Database]:
    opened = Database.open(sqlite_url(tmp_path / "opsbot.db"))
    yield opened
    opened.close()


async def test_a_deploy_cause_says_which_canary_shipped_it_and_a_job_cause_its_backfills(
    sandbox: Sandbox, profile: Profile, warehouse: Warehouse, database: Database
) -> None:
    sources = sandbox_drift_sources(profile, sandbox)
    bad = next(r for r in sources.cloud_run.list_revisions(PHASE3) if "-00065-" in r.name)
    rollouts, backfills = Store(database, sandbox.clock), Backfills(database, sandbox.clock)
    rollout = rollouts.begin(
        service=PHASE3,
        commit_sha=bad.commit_label or "",
        stable_revision=bad.name.replace("00065", "00064"),
        requested_by="U0SAMDEPLY",
        data_baseline="OK",
    )
    for state in (RolloutState.CANARY, RolloutState.WATCH, RolloutState.COMPLETE):
        moved = rollouts.transition(
            Seen.of(rollout), to=state, actor="opsbot", action="deploy", canary_revision=bad.name
        )
        assert moved is not None
        rollout = moved
    backfills.submit(
        request_key="k",
        requested_by="U0DANAONCL",
        reason="ensembles",
        include_graded=False,
        estimate_bytes=0,
        dates=["2026-01-29", "2026-01-30"],
    )
    records = Records(rollouts=rollouts, backfills=backfills)

    async def report(day: date) -> dict[str, list[str]]:
        built = await run_health(
            profile,
            warehouse,
            now=SANDBOX_NOW,
            as_of=day,
            drift_sources=lambda: sources,
            records=records,
        )
        return {r.name: [c.evidence for c in r.causes] for r in built.results}

    phase3 = (await report(date(2026, 1, 14)))["phase3_completion"][0]
    assert "its canary, rollout #1, complete (its data check was OK when it began)" in phase3
    grading = (await report(date(2026, 2, 5)))["grading_completeness"][0]
    assert "backfill #1 of 2026-01-29..01-30: running" in grading

    without = await run_health(
        profile, warehouse, now=SANDBOX_NOW, as_of=date(2026, 2, 5), drift_sources=lambda: sources
    )
    job = next(r for r in without.results if r.name == "grading_completeness").causes[0]
    assert job.kind is CauseKind.JOB and "backfill" not in job.evidence  # no store: not said
