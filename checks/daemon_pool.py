"""Long-lived daemon threads for the checks' blocking work.

A thread started per check made the event loop wait in `Thread.start()` until the new thread got
the GIL, which under load took milliseconds per check while acknowledgements queued behind it.
Here a job is handed over with a queue put, which never waits. The threads are daemons, so a
query that hangs never holds the process open at exit; one that hangs for good costs one thread,
and a new one is started in its place while there is room.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, TypeVar

log = logging.getLogger(__name__)

Job = Callable[[], None]
T = TypeVar("T")


class DaemonPool:
    """Runs jobs on up to `max_threads` daemon threads, started as they are needed."""

    def __init__(self, max_threads: int = 64, name: str = "opsbot-check") -> None:
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


_SHARED = DaemonPool()


def run_in_daemon(job: Job) -> None:
    """Run `job` on the process's shared pool of daemon threads."""
    _SHARED.submit(job)


class DaemonExecutor(ThreadPoolExecutor):
    """An executor on daemon threads (see DaemonPool), usable as asyncio's default executor.

    `shutdown` waits for nothing: a call left hanging (a service gone while it answered) is
    abandoned with its thread when the process exits, instead of holding the exit up, as
    ThreadPoolExecutor's joined threads (and asyncio.run's shutdown of its executor) would.
    It is a ThreadPoolExecutor only because asyncio's set_default_executor requires one; none
    of that class's threads is ever started.
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

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to wait for: the threads are daemons."""
