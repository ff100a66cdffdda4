"""Counts in the digests, the weekly report, `/digest` and the App Home name their noun in the
number they take: never "1 services", "1 dates" or "1 backfills"."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

from slack_sdk.models.blocks import Block

from bot.views.schedule import home_view, schedule_list
from bot.views.weekly import weekly_report
from commands.schedule.jobs import weekly_report as weekly_job
from commands.schedule.registry import JOBS
from commands.schedule.status import JobStatus
from commands.schedule.weekly import WeekFigures, WeeklyReport
from config import ScheduleConfig
from store.backfill_views import BackfillDateView, BackfillState, BackfillView, DateState

NOW = datetime(2026, 2, 9, 17, tzinfo=UTC)
ONE_OF_EACH = re.compile(
    r"\b1 (deploys|backfills|dates|runs|rollbacks|recoveries|jobs|services|commits)\b"
)


def _week(end: datetime) -> WeekFigures:
    """A week with one of everything."""
    return WeekFigures(
        start=end - timedelta(days=7),
        end=end,
        deploys={"nba-scrapers": 1},
        started=1,
        restore_minutes=[4.0],
        check_restore_hours=[2.0],
        health_runs=4,
        health_ok_runs=3,
        worst_check="vegas_line_coverage",
        worst_check_failing_runs=1,
        backfills=1,
        backfill_dates=1,
    )


def _said(text: str, blocks: list[Block]) -> str:
    """The message's text and every text in its blocks."""
    return text + "\n" + json.dumps([b.to_dict() for b in blocks])


def test_the_weekly_report_says_one_of_each_in_the_singular() -> None:
    report = WeeklyReport(this=_week(NOW), before=_week(NOW - timedelta(days=7)))

    said = _said(*weekly_report(report, "America/Los_Angeles", []))

    assert ONE_OF_EACH.search(said) is None, ONE_OF_EACH.search(said)
    assert said.startswith("Weekly report: 1 deploy, change failure rate")
    assert "1 backfill" in said and "(1 date)" in said and "(1 run failing)" in said
    assert "over 1 rollback" in said and "over 1 recovery" in said
    assert weekly_job.weekly_summary(report.this) == "1 deploy, 0 rolled back, 1 backfill"


def test_digest_and_the_app_home_count_one_job_and_one_date_in_the_singular() -> None:
    job = JOBS[0]
    status = JobStatus(job, job.config(ScheduleConfig()), NOW + timedelta(hours=1), None)
    date = BackfillDateView(1, "2026-02-03", DateState.QUEUED, "c-1", None, None, None, None, "")
    backfill = BackfillView(
        1, "U0DANAONCL", "regrade", False, BackfillState.RUNNING, 0, None, None, NOW, NOW, (date,)
    )

    listed = _said(*schedule_list([status]))
    home = json.dumps(home_view([status], None, None, [], [backfill], {}, NOW))

    assert listed.startswith("Scheduled digests: 1 job\n")
    assert "backfill #1: 0 of 1 date done" in home
    assert ONE_OF_EACH.search(listed + home) is None
