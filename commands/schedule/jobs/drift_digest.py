"""The drift digest: per service its severity, the commits it lacks, the rollout under way for
it, and what changed since the last."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from commands.schedule.digests import Findings, drift_findings
from commands.schedule.drift_rollouts import DriftDigest, drift_digest
from commands.schedule.job import Job
from config import JobConfig

if TYPE_CHECKING:
    from commands.schedule.runner import JobTools


def find(tools: JobTools, now: datetime) -> tuple[Findings, DriftDigest]:
    from commands.drift import run_drift

    report = run_drift(tools.profile, tools.platform().drift_sources(), [], now)
    digest = drift_digest(report, list(tools.active_rollouts()), tools.profile.drift)
    return drift_findings(digest), digest


JOB = Job(
    id="drift-digest",
    short="drift",
    title="Drift digest",
    about="what each service runs against main; a CRITICAL one also to the critical channel",
    default=JobConfig(
        cron="0 8-20/2 * * *",
        channel="#deployment-alerts",
        critical_channel="#app-error-alerts",  # the original monitor's routing
    ),
    sandbox_cron="*/3 * * * *",
    find=find,
)
