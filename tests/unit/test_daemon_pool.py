"""Daemon threads for blocking work: results and errors come back, and a call left hanging
never holds the process open at exit (asyncio's default executor included)."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest

from checks.daemon_pool import DaemonExecutor

HANGING_EXIT = """
import asyncio, threading
from checks.daemon_pool import DaemonExecutor

async def main():
    asyncio.get_running_loop().set_default_executor(DaemonExecutor(4, "test"))
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
