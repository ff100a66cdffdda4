"""Cron-endpoint mode: Cloud Scheduler POSTs /cron/<job> with a Google-signed OIDC token.

On Cloud Run the CPU is throttled outside requests, so a background scheduler starves there;
Cloud Scheduler calls in instead and the job runs inside the request. The token is verified
with google-auth (bot/oidc.py): the audience is `[schedule] endpoint_audience` (the service URL)
and the signer one of `endpoint_service_accounts`; anything else is 401 and runs nothing.

The slot is Cloud Scheduler's `X-CloudScheduler-ScheduleTime` header (RFC 3339, UTC, sent for
unix-cron jobs), else the newest cron slot now. A time that is not RFC 3339, or is not near the
job clock's now (at most EARLY ahead, LATE behind: Cloud Scheduler's retries come within hours),
is a 400 with a JSON error and runs nothing. A retry of the same slot, another replica or
the in-process scheduler find it claimed and answer 200 without posting again. A failed run
answers 500, so Cloud Scheduler retries it (a failed claim may be retaken).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.digest_jobs import DigestJobs
from bot.oidc import Verify, refusal
from commands.schedule.registry import BY_ID, JOB_IDS
from config import ScheduleConfig
from store.schedule_views import Outcome

log = logging.getLogger("opsbot.server")
SCHEDULE_TIME = "x-cloudscheduler-scheduletime"
EARLY = timedelta(minutes=5)  # Cloud Scheduler's clock may be a little ahead of ours
LATE = timedelta(days=1)  # its retries (3, backed off up to an hour each) come within hours


class CronEndpoint:
    def __init__(self, config: ScheduleConfig, verify: Verify, jobs: DigestJobs) -> None:
        self.config = config
        self.verify = verify
        self.jobs = jobs

    async def handle(
        self, job: str, authorization: str, schedule_time: str | None
    ) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON body for one call."""
        refused = refusal(
            self.verify,
            authorization,
            self.config.endpoint_audience,
            self.config.endpoint_service_accounts,
        )
        if refused is not None:
            log.warning("refused a call to /cron/%s: %s", job[:40], refused)
            return 401, {}
        known = job if job in BY_ID else None
        if known is None:
            return 404, {"error": f"unknown job; known: {', '.join(JOB_IDS)}"}
        fired_at = None
        if schedule_time:
            tools = await asyncio.to_thread(self.jobs.tools_of)
            fired_at, problem = fire_time(schedule_time, tools.clock())
            if problem is not None:
                log.warning("refused a call to /cron/%s: %s", known, problem)
                return 400, {"error": problem}
        done = await self.jobs.fire(known, trigger="cron-endpoint", fired_at=fired_at)
        body = {
            "job": known,
            "slot": done.slot.isoformat(),
            "outcome": done.outcome,
            "summary": done.summary,
        }
        return (500 if done.outcome is Outcome.FAILED else 200), body


def fire_time(header: str, now: datetime) -> tuple[datetime | None, str | None]:
    """The fire time X-CloudScheduler-ScheduleTime names (UTC), or why it is not one to run:
    not RFC 3339, no offset, or not within [now - LATE, now + EARLY]. Compared as a difference,
    so no date near the ends of the calendar is ever converted (0001-01-01, 9999-12-31)."""
    name = "X-CloudScheduler-ScheduleTime"
    try:
        at = datetime.fromisoformat(header.replace("Z", "+00:00"))
    except ValueError:
        return None, f"{name} is not RFC 3339"
    if at.tzinfo is None:
        return None, f"{name} has no offset"
    ahead = at - now  # aware datetimes: a timedelta, whatever their offsets
    if ahead > EARLY:
        return None, f"{name} is {_span(ahead)} ahead of opsbot's clock; nothing was run"
    if -ahead > LATE:
        return None, f"{name} is {_span(-ahead)} in the past; nothing was run"
    return at.astimezone(UTC), None


def _span(delta: timedelta) -> str:
    if delta.days >= 2:
        return f"{delta.days} days"
    if delta >= timedelta(hours=2):
        return f"{delta.total_seconds() / 3600:.0f} hours"
    return f"{delta.total_seconds() / 60:.0f} minutes"
