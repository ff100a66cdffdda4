"""A /health report's channel message: each check as it finishes, then the scored report.

The same code runs in the bot's process or, with `[health] worker_process`, in the report worker
(bot/report_worker.py): there the worker builds the report *and* draws and sends the message's
updates, so that the bot's event loop only acknowledges, posts the first state and waits.
Measured (bench/ack_latency.py, `distinct`): the live messages' Slack calls and Block Kit were a
third of the bot process's time under load, on the loop that must acknowledge within 3 s.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from bot.errors import describe
from bot.live_message import LiveMessage
from bot.views.health import health_progress, health_report
from bot.views.messages import could_not_finish
from checks.result import CheckResult, HealthReport
from checks.runner import OnResult

# Builds the report, handing each check's result to the callable as it arrives.
BuildReport = Callable[[OnResult], Awaitable[HealthReport]]


@dataclass(frozen=True)
class ShownReport:
    """A job for the report worker: build `as_of`'s report (at the request's `now`) and show it in
    the message already posted at (`channel`, `ts`); `queued`: that message says it waits."""

    as_of: date
    now: datetime
    channel: str
    ts: str
    queued: bool = False
    store_url: str | None = None  # opsbot's store, for what it remembers of causes


@dataclass(frozen=True)
class Finishing:
    """Streamed back by the worker just before the final state is shown."""


async def show_report(
    live: LiveMessage,
    as_of: date,
    names: Sequence[str],
    queued: bool,
    build: BuildReport,
    on_finishing: Callable[[], None],
) -> None:
    """Progress as checks finish (at most once a second), then the report or why it failed.

    `on_finishing` runs just before the final state is shown, so that whoever sees the report
    finished can ask for a new one. A failure to show the final state is raised.
    """
    done: dict[str, CheckResult] = {}
    if queued:  # the slot it waited for is ours now
        live.show(lambda: health_progress(as_of, names, {}))

    def on_result(result: CheckResult) -> None:
        done[result.name] = result
        live.show(lambda: health_progress(as_of, names, dict(done)))

    try:
        report = await build(on_result)
    except Exception as exc:
        on_finishing()
        await live.finish(*could_not_finish(f"Health {as_of}", describe(exc).text))
        return
    on_finishing()
    await live.finish(*health_report(report))
