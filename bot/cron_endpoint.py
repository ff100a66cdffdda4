"""Cron-endpoint mode: Cloud Scheduler POSTs /cron/<job> with a Google-signed OIDC token.

On Cloud Run the CPU is throttled outside requests, so a background scheduler starves there;
Cloud Scheduler calls in instead and the job runs inside the request. The token is verified
with google-auth (bot/oidc.py): the audience is `[schedule] endpoint_audience` (the service URL)
and the signer one of `endpoint_service_accounts`; anything else is 401 and runs nothing.

The slot is Cloud Scheduler's `X-CloudScheduler-ScheduleTime` header (RFC 3339, UTC, sent for
unix-cron jobs), else the newest cron slot now. A retry of the same slot, another replica or
the in-process scheduler find it claimed and answer 200 without posting again. A failed run
answers 500, so Cloud Scheduler retries it (a failed claim may be retaken).
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from bot.digest_jobs import DigestJobs
from bot.oidc import Verify, refusal
from config import JOB_IDS, ScheduleConfig

log = logging.getLogger("opsbot.server")
SCHEDULE_TIME = "x-cloudscheduler-scheduletime"


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
        known = next((j for j in JOB_IDS if j == job), None)
        if known is None:
            return 404, {"error": f"unknown job; known: {', '.join(JOB_IDS)}"}
        fired_at = None
        if schedule_time:
            try:
                fired_at = datetime.fromisoformat(schedule_time.replace("Z", "+00:00"))
            except ValueError:
                return 400, {"error": "X-CloudScheduler-ScheduleTime is not RFC 3339"}
            if fired_at.tzinfo is None:
                return 400, {"error": "X-CloudScheduler-ScheduleTime has no offset"}
        done = await self.jobs.fire(known, trigger="cron-endpoint", fired_at=fired_at)
        body = {
            "job": known,
            "slot": done.slot.isoformat(),
            "outcome": done.outcome,
            "summary": done.summary,
        }
        return (500 if done.outcome == "failed" else 200), body
