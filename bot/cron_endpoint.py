"""Cron-endpoint mode: Cloud Scheduler POSTs /cron/<job> with a Google-signed OIDC token.

On Cloud Run the CPU is throttled outside requests, so a background scheduler starves there;
Cloud Scheduler calls in instead and the job runs inside the request.

A token runs one job, one slot, once:

- Its audience must be the job's target URL, `<[schedule] endpoint_audience>/cron/<job>`
  (Cloud Scheduler's default audience; `opsbot schedule export` sets it per job), and its signer
  one of `endpoint_service_accounts` (bot/oidc.py checks it). A token for another job, or for the
  bare service URL, is 401 and runs nothing.
- The slot is Cloud Scheduler's `X-CloudScheduler-ScheduleTime` header (RFC 3339, UTC, sent for
  unix-cron jobs) when it is within `schedule_time_window_s` of the token's `iat`; otherwise
  (or without the header) the newest slot due at `iat`. The token's `iat` is read on the job
  clock (the sandbox's runs ahead of the wall clock; in production they are the same).
- Its first use is recorded by its hash (never the token) among the idempotency keys; a repeat
  answers 200 "taken" and posts nothing. A run that failed gives its token back, so a retry may
  run it again.

The request's body is never read: a Content-Length over CRON_MAX_BODY_BYTES is 413 before the
token is looked at, and any other body is left unread (the connection is closed after the
answer, bot/server.py).

A header that is not RFC 3339, or is not near the job clock's now (at most EARLY ahead, LATE
behind), is a 400 with a JSON error and runs nothing. A retry of a slot that was run answers 200
without posting again. A slot another replica is running now answers 503 and gives the token
back: Cloud Scheduler retries a non-2xx answer with exponential backoff (its RetryConfig;
`opsbot schedule export` sets the attempts and a first backoff longer than the claim's silence
window), and the retry takes the slot over if its holder died meanwhile, or finds it posted. A
failed run answers 500, so Cloud Scheduler retries it (a failed claim may be retaken).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from bot.digest_jobs import DigestJobs
from bot.oidc import Refused, Verify
from commands.schedule import cron
from commands.schedule.registry import BY_ID, JOB_IDS
from config import ScheduleConfig
from infra.clock import utc_now
from store.schedule_views import Outcome

log = logging.getLogger("opsbot.server")
SCHEDULE_TIME = "x-cloudscheduler-scheduletime"
EARLY = timedelta(minutes=5)  # Cloud Scheduler's clock may be a little ahead of ours
LATE = timedelta(days=1)  # its retries (3, backed off up to an hour each) come within hours
TOKEN_KEY = "cron-token:"  # + the token's SHA-256: its first use, among the idempotency keys
TOKEN_KEY_KEEP_S = 86400.0  # Google's ID tokens live an hour; their keys are kept a day
# A larger body is refused (413) from its Content-Length; none is ever read. Cloud Scheduler's
# job, its HTTP target's body included, is at most 1 MB ("Fixed maximum job size (payload): 1 MB
# total including ~1 KB request overhead", cloud.google.com/scheduler/quotas).
CRON_MAX_BODY_BYTES = 2**20


class CronEndpoint:
    def __init__(
        self,
        config: ScheduleConfig,
        verify: Verify,
        jobs: DigestJobs,
        wall_clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self.verify = verify
        self.jobs = jobs
        self.wall_clock = wall_clock

    async def handle(
        self, job: str, authorization: str, schedule_time: str | None
    ) -> tuple[int, dict[str, Any]]:
        """The HTTP status and JSON body for one call."""
        config = self.config
        audience = config.job_audience(job)
        if audience is None or not config.endpoint_service_accounts:
            log.warning(
                "refused a call to /cron/%s: the endpoint is not configured ([schedule] "
                "endpoint_audience and endpoint_service_accounts)",
                job[:40],
            )
            return 401, {}
        checked = await self.verify.check(authorization, audience, config.endpoint_service_accounts)
        if isinstance(checked, Refused):
            log.warning("refused a call to /cron/%s: %s", job[:40], checked)
            return 401, {}
        known = job if job in BY_ID else None
        if known is None:
            return 404, {"error": f"unknown job; known: {', '.join(JOB_IDS)}"}
        tools = await asyncio.to_thread(self.jobs.tools_of)
        now = tools.clock()
        issued = now + (checked.issued_at - self.wall_clock())  # its iat, on the job clock
        fired_at = issued
        if schedule_time:
            named, problem = fire_time(schedule_time, now)
            if problem is not None or named is None:
                log.warning("refused a call to /cron/%s: %s", known, problem)
                return 400, {"error": problem}
            apart = abs(named - issued)
            if apart <= timedelta(seconds=config.schedule_time_window_s):
                fired_at = named
            else:
                log.warning(
                    "/cron/%s: X-CloudScheduler-ScheduleTime is %s from the token's issue "
                    "(token %s); the slot due at its issue is the one run",
                    known,
                    _span(apart),
                    checked.ref,
                )
        key = TOKEN_KEY + checked.digest
        first = await asyncio.to_thread(
            tools.runs.first_use, key, prefix=TOKEN_KEY, keep_s=TOKEN_KEY_KEEP_S
        )
        if not first:
            log.info("/cron/%s: token %s was used already; nothing run", known, checked.ref)
            body = {
                "job": known,
                "slot": self._slot(known, fired_at).isoformat(),
                "outcome": Outcome.TAKEN,
                "summary": "this token was used already",
            }
            return 200, body
        done = await self.jobs.fire(known, trigger="cron-endpoint", fired_at=fired_at)
        if done.outcome is Outcome.FAILED or done.busy:  # not a use: the retry may run it
            await asyncio.to_thread(tools.runs.forget_use, key)
        body = {
            "job": known,
            "slot": done.slot.isoformat(),
            "outcome": done.outcome,
            "summary": done.summary,
        }
        if done.busy:  # its holder may yet die: the retry (after the silence window) takes over
            body["summary"] = "another replica is running this slot now; retry to take it over"
            return 503, body
        return (500 if done.outcome is Outcome.FAILED else 200), body

    def _slot(self, job: str, at: datetime) -> datetime:
        """The slot a run fired at `at` would claim (as commands.schedule.runner picks it)."""
        settings = BY_ID[job].config(self.config)
        slot = cron.latest_slot(settings.cron, settings.timezone, at + timedelta(seconds=1))
        return slot if slot is not None else at


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
