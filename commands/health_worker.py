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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from checks.result import CheckResult, HealthReport
from commands.health_causes.records import Records
from commands.platform import Platform
from config import Profile
from infra.clock import utc_now
from infra.worker_process import Handler

log = logging.getLogger("opsbot.health_worker")

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
    stores: dict[str, Records] = {}  # opened once per store, on the first report that names it

    def records_of(url: str | None) -> Records | None:
        if url is None:
            return None
        if url not in stores:
            try:
                stores[url] = store_records(url)
            except Exception:  # causes are then found from the platform alone, as without one
                log.warning("the store could not be read for likely causes", exc_info=True)
                return None
        return stores[url]

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


def store_records(url: str) -> Records:
    """The rollouts and backfills of the store at `url`, for reading (migrated if it is not yet:
    idempotent, and safe beside the bot's own process, store/database.py)."""
    from store.backfills import Backfills
    from store.database import Database
    from store.rollouts import Store

    database = Database.open(url)
    return Records(rollouts=Store(database, utc_now), backfills=Backfills(database, utc_now))
