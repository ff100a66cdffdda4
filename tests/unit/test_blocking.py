"""The executor for blocking work: results and errors come back, a call left hanging never holds
the process open at exit (asyncio's default executor included), and work on the executor that
waits on work on the same executor never deadlocks, however few its threads."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

from infra.blocking import DaemonExecutor, shared

HANGING_EXIT = """
import asyncio, threading
from infra.blocking import shared

async def main():
    asyncio.get_running_loop().set_default_executor(shared())
    asyncio.get_running_loop().run_in_executor(None, threading.Event().wait)  # never returns
    await asyncio.sleep(0)

asyncio.run(main())
print("exited")
"""


def test_results_and_errors_come_back_through_the_futures() -> None:
    executor = DaemonExecutor(2, "test")
    assert [f.result(5) for f in [executor.submit(pow, 2, n) for n in range(5)]] == [
        1,
        2,
        4,
        8,
        16,
    ]
    with pytest.raises(ZeroDivisionError):
        executor.submit(divmod, 1, 0).result(5)


def test_more_jobs_than_threads_all_run_and_the_threads_are_daemons() -> None:
    executor = DaemonExecutor(2, "test-daemons")
    names = [executor.submit(lambda: threading.current_thread()) for _ in range(10)]
    threads = {f.result(5) for f in names}
    assert len(threads) <= 2 and all(t.daemon for t in threads)


def test_a_hanging_call_does_not_hold_up_the_exit() -> None:
    done = subprocess.run(
        [sys.executable, "-c", HANGING_EXIT], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0 and "exited" in done.stdout, done.stderr


def test_the_shared_executor_is_one_for_the_process() -> None:
    assert shared() is shared()


def test_nested_waits_finish_when_every_thread_is_taken_by_a_waiter() -> None:
    """Twice as many jobs as threads, each waiting on parallel work on the same executor: with
    waits on queued jobs every thread would wait for good; the waiters take the work themselves."""
    executor = DaemonExecutor(2, "test-nested")
    all_waiting = threading.Barrier(2, timeout=5)

    def outer(n: int) -> list[int]:
        if n < 2:
            all_waiting.wait()  # both threads are waiters before any nested work is handed over
        prepared = executor.soon(lambda: n * 100)
        squares = executor.in_parallel(lambda i: i * i, list(range(6)), width=4)
        return [prepared.result(), *squares]

    outers = [executor.submit(outer, n) for n in range(4)]
    assert [f.result(10) for f in outers] == [[n * 100, 0, 1, 4, 9, 16, 25] for n in range(4)]


def test_in_parallel_keeps_the_order_and_raises_the_first_failure() -> None:
    executor = DaemonExecutor(4, "test-parallel")
    assert executor.in_parallel(str, list(range(20)), width=8) == [str(n) for n in range(20)]

    def fails_on_odd(n: int) -> int:
        if n % 2:
            raise ValueError(f"item {n}")
        return n

    with pytest.raises(ValueError, match="item 1"):
        executor.in_parallel(fails_on_odd, list(range(8)), width=3)


def test_in_parallel_runs_at_most_width_items_at_once() -> None:
    executor = DaemonExecutor(16, "test-width")
    running, most = [0], [0]
    lock = threading.Lock()

    def item(_: int) -> None:
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.01)
        with lock:
            running[0] -= 1

    executor.in_parallel(item, list(range(30)), width=3)
    assert 1 <= most[0] <= 3
