"""/health's checks in a worker process, so the bot's process only acknowledges and renders.

Measured (bench/ack_latency.py, distinct mode): with reports built in the bot's process, their
check threads (BigQuery's and Cloud Run's clients parsing responses) held the GIL that the event
loop needs to acknowledge, and the bot's ack p99 was twice the minimal app's. The worker is one
child process running every report the bot asks for at once on its own event loop; it streams
each check's result back as it arrives (for the live message) and then the scored report. The
figures are the ones the same checks give in-process: the worker runs the same `run_health`.

The process itself (spawned, jobs and results framed over a pipe, a report run again on a new
worker if one dies, a worker killed after `deadline_s` without an answer) is
infra/worker_process.py's, and the bot's side of it bot/report_worker.py's (which also has the
child show reports in Slack); here is what the child gets: the profile, a recipe for its platform
(module-level function and arguments), and jobs that carry the time of the request.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from checks.result import CheckResult, HealthReport
from commands.health_causes.records import Records
from commands.platform import Platform
from config import Profile
from infra.clock import utc_now
from infra.worker_process import Handler
from store.background import BackgroundStore, StoreNotReady

log = logging.getLogger("opsbot.health_worker")
# A report waits this long for opsbot's store to open (it opens in well under a second), then
# finds causes from the platform alone: a store that never answers must not hold reports.
CAUSES_STORE_WAIT_S = 2.0

# Builds, in the child, what gives a Platform per request (picklable: a module-level function,
# or functools.partial of one with picklable arguments).
PlatformsRecipe = Callable[[], Callable[[], Platform]]


@dataclass(frozen=True)
class HealthJob:
    as_of: date | None
    now: datetime
    checks: list[str] | None = None
    store_url: str | None = None  # opsbot's store, for what it remembers of causes (read only)


def health_jobs(
    profile: Profile, recipe: PlatformsRecipe
) -> Handler[HealthJob, CheckResult, HealthReport]:
    """In the child, once: the platforms opened as the recipe says, and what builds one report."""
    from commands.health import run_health

    platforms = recipe()
    stores: dict[str, BackgroundStore] = {}  # opened in the background, once per store
    opening_lock = threading.Lock()

    def records_of(url: str | None) -> Records | None:
        """The store's records if it opens within CAUSES_STORE_WAIT_S (blocking); else None.
        The bot's process migrates it; the worker only reads it once it is migrated."""

        from store.backfills import Backfills  # SQLAlchemy: in the worker only, when needed
        from store.rollouts import Store

        if url is None:
            return None
        with opening_lock:
            opening = stores.get(url) or stores.setdefault(
                url, BackgroundStore(url, migrated=False).start()
            )
        try:
            database = opening.get(wait_s=CAUSES_STORE_WAIT_S)
        except StoreNotReady as exc:  # causes are then found from the platform alone
            if not opening.opening:
                stores.pop(url, None)  # it failed: the next report tries again
            log.warning("likely causes without the store's records: %s", exc)
            return None
        return Records(rollouts=Store(database, utc_now), backfills=Backfills(database, utc_now))

    async def one(job: HealthJob, on_result: Callable[[CheckResult], None]) -> HealthReport:
        platform = platforms()
        warehouse = await asyncio.to_thread(lambda: platform.warehouse)
        records = await asyncio.to_thread(records_of, job.store_url)
        return await run_health(
            profile,
            warehouse,
            now=job.now,
            as_of=job.as_of,
            on_result=on_result,
            drift_sources=platform.drift_sources,
            checks=job.checks,
            records=records,
        )

    return one
