"""Jobs run in a child process: spawned on first use, results streamed back, restarted if it dies,
killed if it stops answering.

The protocol: the parent sends `(job_id, job)` down a pipe; the child answers `(job_id, kind,
payload)`, any number of ("progress", value) as they come and then ("done", value) or ("error",
exception). The child runs every job it is sent at once, on its own event loop, and its blocking
work on infra/blocking.py's executor.

The child is started with "spawn" (a parent with threads makes fork unsafe) and gets only
picklable things: its `setup` (a module-level function, or functools.partial of one with picklable
arguments), run once in the child to give the coroutine function that runs one job, and the jobs.
If the child dies, the jobs it was running are run once more on a new one; if it stops answering,
it is killed after `deadline_s` and the job fails with WorkerTimedOut.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing
import pickle
import sys
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any, Generic, TypeVar

from infra.blocking import shared

J = TypeVar("J")  # a job
P = TypeVar("P")  # what a job streams as it goes
R = TypeVar("R")  # what a job ends with

# In the child: runs one job, handing each progress value to the callable as it comes.
Handler = Callable[[J, Callable[[P], None]], Awaitable[R]]
# Picklable: gives the child its Handler (run once, in the child, before any job).
Setup = Callable[[], Handler[J, P, R]]


class WorkerStopped(RuntimeError):
    """The worker process ended while running a job."""


class WorkerTimedOut(WorkerStopped):
    """The worker did not answer in time (it is killed and started afresh for the next job)."""


@dataclass
class _Waiting(Generic[P, R]):
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[R]
    on_progress: Callable[[P], None] | None
    conn: Connection

    def deliver(self, kind: str, payload: Any) -> None:
        """In the event loop: progress as it arrives, or the end of the job."""
        if self.done.done():
            return
        if kind == "progress" and self.on_progress is not None:
            self.on_progress(payload)
        elif kind == "done":
            self.done.set_result(payload)
        elif kind == "error":
            self.done.set_exception(payload)


class WorkerProcess(Generic[J, P, R]):
    """The parent's side: starts the child on first use (or `start()`), sends jobs, gets results.

    `name` names the process (and its threads); `what` the job in messages ("the {what} worker
    stopped"); `log` is where a restart is told."""

    def __init__(
        self,
        setup: Setup[J, P, R],
        *,
        name: str,
        what: str,
        deadline_s: float,
        log: logging.Logger,
    ) -> None:
        self._setup = setup
        self._name = name
        self._what = what
        self._deadline_s = deadline_s
        self._log = log
        self._lock = threading.Lock()
        self._process: multiprocessing.process.BaseProcess | None = None
        self._conn: Connection | None = None
        self._waiting: dict[int, _Waiting[P, R]] = {}
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
            args=(theirs, self._setup, self._name, logging_of_this_process()),
            name=self._name,
            daemon=True,
        )
        process.start()
        theirs.close()
        self._process, self._conn = process, ours
        threading.Thread(
            target=self._read, args=(ours,), name=f"{self._name}-reader", daemon=True
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
            stopped = WorkerStopped(f"the {self._what} worker stopped")
            waiting.loop.call_soon_threadsafe(waiting.deliver, "error", stopped)

    async def run(self, job: J, on_progress: Callable[[P], None] | None = None) -> R:
        """What `job` ends with, run in the worker; run once more if the worker died meanwhile."""
        try:
            return await self._run_once(job, on_progress)
        except WorkerTimedOut:
            raise
        except WorkerStopped:
            self._log.warning(
                "the %s worker stopped; running the %s again on a new one", self._what, self._what
            )
            return await self._run_once(job, on_progress)

    async def _run_once(self, job: J, on_progress: Callable[[P], None] | None) -> R:
        loop = asyncio.get_running_loop()
        job_id = next(self._ids)
        conn = await asyncio.to_thread(self._started)
        waiting: _Waiting[P, R] = _Waiting(loop, loop.create_future(), on_progress, conn)
        self._waiting[job_id] = waiting
        try:
            with self._lock:
                conn.send((job_id, job))
            return await asyncio.wait_for(waiting.done, self._deadline_s)
        except TimeoutError:
            self._kill()
            raise WorkerTimedOut(
                f"the {self._what} worker did not answer within {self._deadline_s:g}s "
                "(it was restarted)"
            ) from None
        except (BrokenPipeError, OSError) as exc:
            self._forget(conn)
            raise WorkerStopped(f"the {self._what} worker could not be reached: {exc}") from None
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


@dataclass(frozen=True)
class LoggingAsHere:
    """How this process logs (its stream handler's format and filters, the levels set), for a
    spawned child to log the same way: a spawned process starts with logging unconfigured, and
    a reference it shows a person must be in the same structured log as the parent's."""

    formatter: logging.Formatter | None
    filters: tuple[Any, ...]
    root_level: int
    levels: tuple[tuple[str, int], ...]

    def apply(self) -> None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(self.formatter)
        for kept in self.filters:
            handler.addFilter(kept)
        root = logging.getLogger()
        root.handlers[:] = [handler]
        root.setLevel(self.root_level)
        for name, level in self.levels:
            logging.getLogger(name).setLevel(level)


def logging_of_this_process() -> LoggingAsHere | None:
    """This process's logging as a picklable recipe (its first stream handler whose format can
    cross to the child); None if there is none (the child then logs as Python's defaults do)."""
    root = logging.getLogger()
    levels = tuple(
        (name, found.level)
        for name, found in list(root.manager.loggerDict.items())
        if isinstance(found, logging.Logger) and found.level != logging.NOTSET
    )
    for handler in root.handlers:
        if not isinstance(handler, logging.StreamHandler):
            continue
        recipe = LoggingAsHere(handler.formatter, tuple(handler.filters), root.level, levels)
        try:
            pickle.loads(pickle.dumps(recipe))
        except Exception:  # a format of the test runner's, say: try the next
            continue
        return recipe
    return None


def serve_jobs(
    conn: Connection, setup: Setup[J, P, R], name: str, logs: LoggingAsHere | None = None
) -> None:
    """The child: logging as the parent's, `setup()` once, then jobs read on a thread and run
    concurrently on this process's event loop."""
    if logs is not None:
        logs.apply()
    handler = setup()
    sending = threading.Lock()

    def send(job_id: int, kind: str, payload: Any) -> None:
        with sending:
            conn.send((job_id, kind, payload))

    async def one(job_id: int, job: J) -> None:
        try:
            value = await handler(job, lambda progress: send(job_id, "progress", progress))
            send(job_id, "done", value)
        except Exception as exc:  # the parent raises it as the job's failure
            send(job_id, "error", _picklable(exc))

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_default_executor(shared())  # the process's one executor for blocking work
        ended = loop.create_future()
        tasks: set[asyncio.Task[None]] = set()

        def start(job_id: int, job: J) -> None:
            task = loop.create_task(one(job_id, job))
            tasks.add(task)
            task.add_done_callback(tasks.discard)

        def read() -> None:
            while True:
                try:
                    job_id, job = conn.recv()
                except (EOFError, OSError):  # the parent is gone: so is its worker
                    loop.call_soon_threadsafe(ended.set_result, None)
                    return
                loop.call_soon_threadsafe(start, job_id, job)

        threading.Thread(target=read, name=f"{name}-jobs", daemon=True).start()
        await ended

    asyncio.run(main())


def _picklable(exc: Exception) -> Exception:
    """The exception itself when it crosses a pipe intact, else a RuntimeError with its text."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RuntimeError(f"{type(exc).__name__}: {exc}")
    return exc
