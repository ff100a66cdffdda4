"""The weekly report: delivery (DORA's four) and health, this week against the last, and the
postmortems' open action items."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from commands.platform import Platform
from commands.schedule.digests import Findings
from commands.schedule.job import Job
from commands.schedule.jobs import health_digest
from commands.schedule.weekly import WEEK, WeekFigures, WeeklyReport, week_figures
from config import JobConfig
from infra.wording import plural

if TYPE_CHECKING:
    from commands.schedule.runner import JobTools

log = logging.getLogger("opsbot.schedule")


def find(tools: JobTools, now: datetime) -> tuple[Findings, WeeklyReport]:
    weekly = weekly_report(tools, tools.platform(), now)
    return Findings(None, weekly_summary(weekly.this), False), weekly


def weekly_summary(week: WeekFigures) -> str:
    """The run's line (`schedule list`, the App Home): "1 deploy, 0 rolled back, 2 backfills"."""
    return (
        f"{plural(week.deploy_count, 'deploy')}, {week.rolled_back} rolled back, "
        f"{plural(week.backfills, 'backfill')}"
    )


def weekly_report(tools: JobTools, platform: Platform, now: datetime) -> WeeklyReport:
    """The week up to `now` and the week before it."""
    audit = list(tools.audit())
    commits = tools.rollout_commits()
    health = tools.runs.between(health_digest.JOB.id, now - 3 * WEEK, now)
    backfills = list(tools.backfills())
    repo = None

    def commit_time(sha: str) -> datetime | None:
        nonlocal repo
        try:
            repo = repo or platform.drift_sources().repo
            found = repo.resolve(sha)
        except Exception:  # git unreachable: lead time is left out, the rest still counts
            log.warning("weekly report: no commit time for %s", sha, exc_info=True)
            return None
        return found.committed if found else None

    def figures(end: datetime) -> WeekFigures:
        return week_figures(end - WEEK, end, audit, commits, commit_time, health, backfills)

    items = tools.postmortems.open_items() if tools.postmortems is not None else []
    today = now.astimezone(ZoneInfo(tools.profile.platform.human_timezone)).date()
    return WeeklyReport(
        this=figures(now), before=figures(now - WEEK), open_items=items, today=today
    )


JOB = Job(
    id="weekly-report",
    short="weekly",
    title="Weekly report",
    about="deploys, lead time, change failure rate, time to restore and health, week on week",
    default=JobConfig(cron="0 9 * * 1", channel="#deployment-alerts"),  # Mondays 09:00
    sandbox_cron="*/30 * * * *",
    find=find,
)
