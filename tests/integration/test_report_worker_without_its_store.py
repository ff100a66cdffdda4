"""A store that does not answer must not take /health down with it.

Since today the report worker opens opsbot's store (the bot's $DATABASE_URL) before each report,
to say what it remembers of a cause (commands/health_worker.py `records_of`), and waits for it
before running a single check. "The causes never fail a report" (commands/health_causes/
finder.py), and without a store "causes are then found from the platform alone". But a database
that accepts the connection and never answers (a PostgreSQL host failing over, a proxy with no
backend) holds the report until the worker's deadline: the worker is killed, every report in it
with it, and on-call gets "something went wrong" instead of the report. The next report opens
it again, and waits again.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from datetime import date
from functools import partial

import pytest

from bot.report_worker import ReportWorker
from bot.slack_clients import slack_api
from commands.health_worker import HealthJob
from config import Profile
from opsbot.platform import attached_sandbox_platforms
from sandbox.platform import Sandbox

DAY = date(2026, 1, 14)  # phase 3's bad deploy: a failing check whose causes are looked for
NO_SLACK = slack_api("xoxb-unused", "http://127.0.0.1:9/api/")  # report jobs never call Slack
DEADLINE_S = 20.0  # the worker's own deadline (production: check timeout + 30 s)


@pytest.fixture
def silent_database() -> Iterator[str]:
    """A PostgreSQL URL whose server accepts connections and never says a word."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"postgresql://opsbot@127.0.0.1:{listener.getsockname()[1]}/opsbot"
    stop.set()
    thread.join(5)
    for connection in held:
        connection.close()
    listener.close()


def test_a_store_that_never_answers_does_not_hold_the_report_past_the_worker_deadline(
    sandbox: Sandbox, profile: Profile, silent_database: str
) -> None:
    recipe = partial(attached_sandbox_platforms, profile, sandbox.address("sqlite://"))
    worker = ReportWorker(profile, recipe, NO_SLACK, deadline_s=DEADLINE_S)
    try:
        job = HealthJob(DAY, sandbox.now, store_url=silent_database)
        report = asyncio.run(worker.report(job))  # was: WorkerTimedOut after DEADLINE_S
    finally:
        worker.stop()
    phase3 = next(r for r in report.results if r.name == "phase3_completion")
    assert phase3.causes and phase3.causes[0].kind.value == "deploy"  # from the platform alone
