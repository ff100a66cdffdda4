"""A stop is a stop: Ctrl-C or `kill` ends the process even when its orderly stop hangs, and
says where (infra/stop_watchdog.py). Each case runs in a process of its own, as `opsbot serve`
and `opsbot sandbox` do, with a 1 s grace."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

from infra.stop_watchdog import STOP_HUNG_MARK
from tests.conftest import ROOT

SERVING = "SERVING\n"

# A stop whose cleanup waits on a lock nobody will release (a thread, a child or a server that
# never answers stands for any of them).
HUNG_CLEANUP = """
import threading, time
from opsbot.process import stop_on_signals
stop_on_signals(grace_s=1.0)
never = threading.Lock()
never.acquire()

def cleanup_that_never_ends():
    never.acquire()

try:
    print("SERVING", flush=True)
    while True:
        time.sleep(0.05)
finally:
    cleanup_that_never_ends()
"""

# uvicorn takes the signals while it serves, and waits without bound for an app's lifespan to
# finish its shutdown; here that shutdown never does.
HUNG_LIFESPAN = """
import asyncio, contextlib, threading
from starlette.applications import Starlette
from bot.server import Server, bind
from opsbot.process import stop_on_signals
stop_on_signals(grace_s=1.0)

@contextlib.asynccontextmanager
async def lifespan(app):
    yield
    await asyncio.Event().wait()  # a shutdown step that never ends

server = Server(Starlette(lifespan=lifespan), bind("127.0.0.1", 0))
threading.Thread(
    target=lambda: (server.ready.wait(30), print("SERVING", flush=True)), daemon=True
).start()
server.serve_forever()
"""

IN_TIME = """
import time
from opsbot.process import stop_on_signals
stop_on_signals(grace_s=1.0)
try:
    print("SERVING", flush=True)
    while True:
        time.sleep(0.05)
finally:
    print("CLEANED UP", flush=True)
"""


def _stopped(script: str, signum: signal.Signals) -> tuple[int, str]:
    """`script` run until it serves, sent `signum`: its exit status and everything it wrote."""
    process = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script)],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first == SERVING, first + process.stdout.read()
        process.send_signal(signum)
        status = process.wait(timeout=30)
        return status, process.stdout.read()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


@pytest.mark.parametrize(("signum", "status"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_stop_whose_cleanup_hangs_ends_with_the_signals_status_and_says_where(
    signum: signal.Signals, status: int
) -> None:
    ended, said = _stopped(HUNG_CLEANUP, signum)
    assert ended == status
    assert STOP_HUNG_MARK in said
    assert "cleanup_that_never_ends" in said  # the hung thread's stack names where it waits


def test_a_stop_hung_inside_uvicorn_is_bounded_too() -> None:
    ended, said = _stopped(HUNG_LIFESPAN, signal.SIGTERM)
    assert ended == 143
    assert STOP_HUNG_MARK in said
    assert "serve_forever" in said  # the main thread, in the event loop uvicorn runs


def test_a_stop_in_time_runs_its_cleanups_and_says_nothing_of_the_watchdog() -> None:
    ended, said = _stopped(IN_TIME, signal.SIGTERM)
    assert ended == 143
    assert "CLEANED UP" in said
    assert STOP_HUNG_MARK not in said
