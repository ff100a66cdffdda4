"""The profile's [schedule]: how scheduled jobs fire, and each job's cron and channel."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, field_validator

from config.common import ChannelRef, Strict

JobId = Literal["drift-digest", "health-digest", "weekly-report", "postmortem-reminders"]
JOB_IDS: tuple[JobId, ...] = (
    "drift-digest",
    "health-digest",
    "weekly-report",
    "postmortem-reminders",
)


def _unix_cron(value: str) -> str:
    """Five fields (minute hour day-of-month month day-of-week), as Cloud Scheduler reads them."""
    fields = value.split()
    if len(fields) != 5 or not all(re.fullmatch(r"[0-9A-Za-z*/,-]+", f) for f in fields):
        raise ValueError(f"{value!r} is not a unix-cron line (5 fields, e.g. '0 8-20/2 * * *')")
    return " ".join(fields)


def _timezone(value: str) -> str:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {value!r} (e.g. America/Los_Angeles)") from None
    return value


class JobConfig(Strict):
    """One scheduled job: when (unix-cron in `timezone`; 0 or 7 is Sunday) and where it posts."""

    cron: Annotated[str, AfterValidator(_unix_cron)]
    timezone: Annotated[str, AfterValidator(_timezone)] = "America/Los_Angeles"
    channel: ChannelRef
    critical_channel: ChannelRef | None = None  # a CRITICAL digest goes here too
    enabled: bool = True


def _default_jobs() -> dict[JobId, JobConfig]:
    return {
        "drift-digest": JobConfig(
            cron="0 8-20/2 * * *",
            channel="#deployment-alerts",
            critical_channel="#app-error-alerts",  # the original monitor's routing
        ),
        "health-digest": JobConfig(cron="0 */6 * * *", channel="#orchestration-health"),
        "weekly-report": JobConfig(cron="0 9 * * 1", channel="#deployment-alerts"),
        # drafts near their 48 h mark, action items due: said in threads and to owners
        "postmortem-reminders": JobConfig(cron="0 * * * *", channel="#deployment-alerts"),
    }


class ScheduleConfig(Strict):
    """Scheduled digests: how they fire, and each job's schedule and channel."""

    # in-process: APScheduler inside `opsbot serve` (Socket Mode, a VM, the sandbox);
    # cron-endpoint: Cloud Scheduler POSTs /cron/<job> with an OIDC token (Cloud Run).
    mode: Literal["in-process", "cron-endpoint"] = "in-process"
    misfire_grace_s: float = Field(default=3600.0, ge=0)  # a missed run still runs within this
    claim_lease_s: float = Field(default=600.0, gt=0)  # a run claimed but never ended: retaken
    # cron-endpoint: the OIDC token's audience (the service URL) and who may sign it.
    endpoint_audience: str | None = None
    endpoint_service_accounts: list[str] = Field(default_factory=list)
    jobs: dict[JobId, JobConfig] = Field(default_factory=_default_jobs)

    @field_validator("jobs")
    @classmethod
    def _every_job(cls, value: dict[JobId, JobConfig]) -> dict[JobId, JobConfig]:
        return {**_default_jobs(), **value}  # a job left out keeps its default
