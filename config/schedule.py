"""The profile's [schedule]: how scheduled jobs fire, and each job's cron and channel.

The jobs themselves are in their registry (commands/schedule/registry.py), each with its default
cron and channel; a [schedule.jobs.<id>] table here overrides them. The loader passes the
registry's ids in the validation context, so an unknown id is refused without config importing
the jobs.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, ValidationInfo, field_validator

from config.common import ChannelRef, Strict

KNOWN_JOBS = "known_jobs"
"""Validation context key: the job ids the registry has."""


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


class ScheduleConfig(Strict):
    """Scheduled digests: how they fire, and each job's schedule and channel."""

    # in-process: APScheduler inside `opsbot serve` (Socket Mode, a VM, the sandbox);
    # cron-endpoint: Cloud Scheduler POSTs /cron/<job> with an OIDC token (Cloud Run).
    mode: Literal["in-process", "cron-endpoint"] = "in-process"
    misfire_grace_s: float = Field(default=3600.0, ge=0)  # a missed run still runs within this
    claim_lease_s: float = Field(default=600.0, gt=0)  # the longest a run may hold its claim
    # cron-endpoint: the service URL (a job's token is for `<it>/cron/<job>`, its target URL,
    # as `opsbot schedule export` has Cloud Scheduler ask for) and who may sign the tokens.
    endpoint_audience: str | None = None
    endpoint_service_accounts: list[str] = Field(default_factory=list)
    # cron-endpoint: X-CloudScheduler-ScheduleTime is believed within this of the token's `iat`;
    # otherwise the slot due at `iat` runs (so a token names one slot)
    schedule_time_window_s: float = Field(default=300.0, ge=0, le=86400)
    # job id → its schedule and channel; a job left out keeps its default (its module's)
    jobs: dict[str, JobConfig] = Field(default_factory=dict)

    def job_audience(self, job: str) -> str | None:
        """The audience of a token for `job`: its target URL `<endpoint_audience>/cron/<job>`,
        Cloud Scheduler's default audience (None when the endpoint is not configured)."""
        if not self.endpoint_audience:
            return None
        return f"{self.endpoint_audience.rstrip('/')}/cron/{job}"

    @field_validator("jobs")
    @classmethod
    def _known_jobs(cls, value: dict[str, JobConfig], info: ValidationInfo) -> dict[str, JobConfig]:
        context = info.context
        known: Collection[str] | None = (
            context.get(KNOWN_JOBS) if isinstance(context, dict) else None
        )
        unknown = sorted(set(value) - set(known)) if known is not None else []
        if known is not None and unknown:
            raise ValueError(f"unknown job(s) {unknown}; known: {', '.join(known)}")
        return value
