"""The process's one executor for blocking work, on long-lived daemon threads.

A thread started per job made the event loop wait in `Thread.start()` until the new thread got
the GIL, which under load took milliseconds per check while acknowledgements queued behind it.
Here a job is handed over with a queue put, which never waits. The threads are daemons, so a
query that hangs never holds the process open at exit; one that hangs for good costs one thread,
and a new one is started in its place while there is room.

One executor for the process (`shared()`), not one per user: asyncio's default executor (what
`asyncio.to_thread` runs on, set by the HTTP server and by a worker process), the checks' fetches
(checks/runner.py) and the drift engine's parallel reads (checks/drift_engine.py) all run on it.
Threads start as work needs them, up to MAX_THREADS: more than the three pools it replaces had
together (32 for asyncio, 64 for the checks, 8 for drift), so a few hung calls do not starve the
rest; idle threads cost nothing but their stacks.

Waiting on the pool from work on the pool never deadlocks, whatever the cap. Such waits exist: the
`deployment_drift` check runs on the pool and reads every service in parallel on it, and so does a
drift report run by `asyncio.to_thread`. In a bounded pool where threads wait for jobs that are
still queued, enough concurrent waiters fill every thread and nothing moves again; no cap is big
enough, since requests decide how many wait at once. So work on the pool waits only through
`soon` and `in_parallel`, never on `submit(...).result()`: both let the waiting thread run itself
any part of the work that no pool thread has started. Each part is claimed once, by whichever
thread reaches it first; after that the waiter waits only for parts already running on a thread
of their own, which finish without it (and wait, by the same rule, only on running work). With
every thread busy, nested work runs inline in the caller, as if there were no pool: the cap
bounds the threads, never progress.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

Job = Callable[[], None]
T = TypeVar("T")
R = TypeVar("R")

MAX_THREADS = 128


class DaemonPool:
    """Runs jobs on up to `max_threads` daemon threads, started as they are needed."""

    def __init__(self, max_threads: int, name: str) -> None:
        self._jobs: queue.SimpleQueue[Job] = queue.SimpleQueue()
        self._max = max_threads
        self._name = name
        self._lock = threading.Lock()
        self._threads = 0
        self._idle = 0

    def submit(self, job: Job) -> None:
        """Queue `job`; a thread is started only when none is idle (and there is room)."""
        with self._lock:
            start = False
            if self._idle > 0:
                self._idle -= 1  # claimed: the next job does not count on the same thread
            elif self._threads < self._max:
                self._threads += 1
                start = True
            # else every thread is busy and there is no room: the job waits its turn
        self._jobs.put(job)
        if start:
            threading.Thread(target=self._work, name=self._name, daemon=True).start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                job()
            except BaseException:  # the job reports its own errors; the thread keeps serving
                log.exception("a job on %s failed", self._name)
            with self._lock:
                self._idle += 1


class Pending(Generic[T]):
    """`fn` run once: by a pool thread if one reaches it first, else by whoever asks `result()`."""

    def __init__(self, fn: Callable[[], T]) -> None:
        self._fn = fn
        self._claimed = threading.Lock()
        self._done: Future[T] = Future()

    def _run(self) -> None:
        if not self._claimed.acquire(blocking=False):
            return  # claimed already: running, or ran, elsewhere
        try:
            self._done.set_result(self._fn())
        except BaseException as exc:  # handed to whoever asks for the result
            self._done.set_exception(exc)

    def result(self) -> T:
        """The value of `fn`: computed here if no thread has started it, else waited for."""
        self._run()
        return self._done.result()


class DaemonExecutor(ThreadPoolExecutor):
    """An executor on daemon threads (see DaemonPool), usable as asyncio's default executor.

    `shutdown` waits for nothing: a call left hanging (a service gone while it answered) is
    abandoned with its thread when the process exits, instead of holding the exit up, as
    ThreadPoolExecutor's joined threads (and asyncio.run's shutdown of its executor) would.
    It is a ThreadPoolExecutor only because asyncio's set_default_executor requires one; none
    of that class's threads is ever started.

    From work running on this executor, wait only through `soon` and `in_parallel` (see the
    module's docstring): a future of `submit` may still be queued behind the waiter itself.
    """

    def __init__(self, max_threads: int, name: str) -> None:
        super().__init__(max_workers=max_threads, thread_name_prefix=name)
        self._pool = DaemonPool(max_threads, name)

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        future: Future[T] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                future.set_result(fn(*args, **kwargs))
            except BaseException as exc:  # handed to whoever waits on the future
                future.set_exception(exc)

        self._pool.submit(run)
        return future

    def start(self, job: Job) -> None:
        """Run `job` on a pool thread; there is nothing to wait on (it reports its own outcome)."""
        self._pool.submit(job)

    def soon(self, fn: Callable[[], T]) -> Pending[T]:
        """`fn` started on a pool thread when one is free; `result()` runs it in the caller if
        none has started it by then."""
        pending = Pending(fn)
        self._pool.submit(pending._run)
        return pending

    def in_parallel(self, fn: Callable[[T], R], items: Sequence[T], *, width: int) -> list[R]:
        """`fn` over `items`, at most `width` at a time: the caller and up to `width - 1` pool
        threads take the items one by one, so the call never waits for a thread to be free.
        The first failure (in the items' order) is raised once the items under way are done."""
        if len(items) <= 1 or width <= 1:
            return [fn(item) for item in items]
        results: dict[int, R] = {}
        errors: dict[int, BaseException] = {}
        claiming = threading.Lock()
        upcoming = iter(range(len(items)))

        def take_items() -> None:
            while not errors:
                with claiming:
                    index = next(upcoming, None)
                if index is None:
                    return
                try:
                    results[index] = fn(items[index])
                except BaseException as exc:  # raised by the caller, below
                    errors[index] = exc

        helpers = [self.soon(take_items) for _ in range(min(width, len(items)) - 1)]
        take_items()
        for helper in helpers:
            helper.result()  # one not started yet runs here, and finds no item left
        if errors:
            raise errors[min(errors)]
        return [results[index] for index in range(len(items))]

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to wait for: the threads are daemons."""


_SHARED = DaemonExecutor(MAX_THREADS, "opsbot-blocking")


def shared() -> DaemonExecutor:
    """The process's one executor for blocking work (asyncio's default executor too)."""
    return _SHARED
