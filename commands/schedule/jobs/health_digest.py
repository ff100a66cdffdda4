"""The health digest: the scored report, the checks whose status moved listed first."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import TYPE_CHECKING

from checks.result import HealthReport
from commands.schedule.digests import Findings, health_findings
from commands.schedule.job import Job
from config import JobConfig

if TYPE_CHECKING:
    from commands.schedule.runner import JobTools


def find(tools: JobTools, now: datetime) -> tuple[Findings, HealthReport]:
    from commands.health import run_health

    platform = tools.platform()
    report = asyncio.run(
        run_health(tools.profile, platform.warehouse, now=now, drift_sources=platform.drift_sources)
    )
    return health_findings(report), report


JOB = Job(
    id="health-digest",
    short="health",
    title="Health digest",
    about="the platform's scored health checks",
    default=JobConfig(cron="0 */6 * * *", channel="#orchestration-health"),
    sandbox_cron="*/5 * * * *",
    find=find,
)
