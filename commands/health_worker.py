"""/health's checks in a worker process, so the bot's process only acknowledges and renders.

Measured (bench/ack_latency.py, distinct mode): with reports built in the bot's process, their
check threads (BigQuery's and Cloud Run's clients parsing responses) held the GIL that the event
loop needs to acknowledge, and the bot's ack p99 was twice the minimal app's. The worker is one
child process running every report the bot asks for at once on its own event loop; it streams
each check's result back as it arrives (for the live message) and then the scored report. The
figures are the ones the same checks give in-process: the worker runs the same `run_health`.

The child is started with "spawn" (the bot's threads make fork unsafe) and gets only picklable
things: the profile, a recipe for its platform (module-level function and arguments), and jobs
that carry the time of the request. If it dies, the reports it was building are run once more on
a new one; if it stops answering, it is killed after `deadline_s` and the report says so.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from multiprocessing.connection import Connection
from typing import Any

from checks.result import CheckResult, HealthReport
from checks.runner import OnResult
from commands.platform import Platform
from config import Profile

log = logging.getLogger("opsbot.health_worker")

# Builds, in the child, what gives a Platform per request (picklable: a module-level function,
# or functools.partial of one with picklable arguments).
PlatformsRecipe = Callable[[], Callable[[], Platform]]


class WorkerStopped(RuntimeError):
    """The worker process ended while building a report."""


class WorkerTimedOut(WorkerStopped):
    """The worker did not answer in time (it is killed and started afresh for the next job)."""


@dataclass(frozen=True)
class HealthJob:
    as_of: date | None
    now: datetime
    checks: list[str] | None = None


@dataclass
class _Waiting:
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[HealthReport]
    on_result: OnResult | None
    conn: Connection

    def deliver(self, kind: str, payload: Any) -> None:
        """In the event loop: a result as it arrives, or the end of the job."""
        if self.done.done():
            return
        if kind == "result" and self.on_result is not None:
            self.on_result(payload)
        elif kind == "report":
            self.done.set_result(payload)
        elif kind == "error":
            self.done.set_exception(payload)


class HealthWorker:
    """The bot's side: starts the child on first use (or `start()`), sends jobs, gets results."""

    def __init__(self, profile: Profile, recipe: PlatformsRecipe, *, deadline_s: float) -> None:
        self._profile = profile
        self._recipe = recipe
        self._deadline_s = deadline_s
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._waiting: dict[int, _Waiting] = {}
        self._ids = itertools.count(1)

    def start(self) -> None:
        """Start the child now (blocking: call it off the event loop)."""
        self._started()

    def _ensure_started(self) -> Connection:
        if self._conn is not None and self._process is not None and self._process.is_alive():
            return self._conn
        context = multiprocessing.get_context("spawn")
        ours, theirs = context.Pipe()
        process = context.Process(
            target=serve_jobs,
            args=(theirs, self._profile, self._recipe),
            name="opsbot-health-worker",
            daemon=True,
        )
        process.start()
        theirs.close()
        self._process, self._conn = process, ours
        threading.Thread(
            target=self._read, args=(ours,), name="opsbot-health-worker-reader", daemon=True
        ).start()
        return ours

    def _read(self, conn: Connection) -> None:
        """Hands each message to the job's event loop; on EOF fails the jobs still waiting."""
        while True:
            try:
                job_id, kind, payload = conn.recv()
            except (EOFError, OSError):
                break
            waiting = self._waiting.get(job_id)
            if waiting is not None:
                waiting.loop.call_soon_threadsafe(waiting.deliver, kind, payload)
        self._forget(conn)  # the next job starts a new worker, even before this one is reaped
        for waiting in [w for w in list(self._waiting.values()) if w.conn is conn]:
            stopped = WorkerStopped("the report worker stopped")
            waiting.loop.call_soon_threadsafe(waiting.deliver, "error", stopped)

    async def run(self, job: HealthJob, on_result: OnResult | None = None) -> HealthReport:
        """The report of `job`, built in the worker; run once more if the worker died meanwhile."""
        try:
            return await self._run_once(job, on_result)
        except WorkerTimedOut:
            raise
        except WorkerStopped:
            log.warning("the report worker stopped; running the report again on a new one")
            return await self._run_once(job, on_result)

    async def _run_once(self, job: HealthJob, on_result: OnResult | None) -> HealthReport:
        loop = asyncio.get_running_loop()
        job_id = next(self._ids)
        conn = await asyncio.to_thread(self._started)
        waiting = _Waiting(loop, loop.create_future(), on_result, conn)
        self._waiting[job_id] = waiting
        try:
            with self._lock:
                conn.send((job_id, job))
            return await asyncio.wait_for(waiting.done, self._deadline_s)
        except TimeoutError:
            self._kill()
            raise WorkerTimedOut(
                f"the report worker did not answer within {self._deadline_s:g}s (it was restarted)"
            ) from None
        except (BrokenPipeError, OSError) as exc:
            self._forget(conn)
            raise WorkerStopped(f"the report worker could not be reached: {exc}") from None
        finally:
            self._waiting.pop(job_id, None)

    def _started(self) -> Connection:
        with self._lock:
            return self._ensure_started()

    def _forget(self, conn: Connection) -> None:
        """Stop using the worker behind `conn` (it ended): the next job starts another."""
        with self._lock:
            if self._conn is not conn:
                return
            process, self._process, self._conn = self._process, None, None
        if process is not None:
            process.kill()  # if not ended yet; and reaped off the caller's thread
            threading.Thread(target=process.join, args=(5,), daemon=True).start()

    def _kill(self) -> None:
        with self._lock:
            process, self._process, self._conn = self._process, None, None
        if process is not None and process.is_alive():
            process.kill()
            process.join(5)

    def stop(self) -> None:
        self._kill()

    @property
    def pid(self) -> int | None:
        process = self._process
        return process.pid if process is not None else None


def serve_jobs(conn: Connection, profile: Profile, recipe: PlatformsRecipe) -> None:
    """The child: jobs read on a thread, run concurrently on this process's event loop."""
    from commands.health import run_health

    platforms = recipe()
    sending = threading.Lock()

    def send(job_id: int, kind: str, payload: Any) -> None:
        with sending:
            conn.send((job_id, kind, payload))

    async def one(job_id: int, job: HealthJob) -> None:
        try:
            platform = platforms()
            warehouse = await asyncio.to_thread(lambda: platform.warehouse)

            def on_result(result: CheckResult) -> None:
                send(job_id, "result", result)

            report = await run_health(
                profile,
                warehouse,
                now=job.now,
                as_of=job.as_of,
                on_result=on_result,
                drift_sources=platform.drift_sources,
                checks=job.checks,
            )
            send(job_id, "report", report)
        except Exception as exc:  # the bot shows it as the report's failure
            send(job_id, "error", _picklable(exc))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        ended = loop.create_future()
        tasks: set[asyncio.Task[None]] = set()

        def start(job_id: int, job: HealthJob) -> None:
            task = loop.create_task(one(job_id, job))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        def read() -> None:
            while True:
                try:
                    job_id, job = conn.recv()
                except (EOFError, OSError):  # the bot is gone: so is its worker
                    loop.call_soon_threadsafe(ended.set_result, None)
                    return
                loop.call_soon_threadsafe(start, job_id, job)

        threading.Thread(target=read, name="opsbot-health-jobs", daemon=True).start()
        await ended

    asyncio.run(main())


def _picklable(exc: Exception) -> Exception:
    """The exception itself when it crosses a pipe intact, else a RuntimeError with its text."""
    import pickle

    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
