"""The takeover sweep beside APScheduler: it keeps sweeping through a failed round, and stops with
the scheduler (issue 30, defect 4: nothing else retakes a slot whose holder was killed)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from bot.scheduler import start_scheduler, sweep
from commands.schedule.runner import RunResult
from config import ScheduleConfig


class Jobs:
    """DigestJobs as the sweep sees it: each round counted, the first one failing."""

    def __init__(self, rounds: int) -> None:
        self.calls = 0
        self.rounds = rounds
        self.done = asyncio.Event()

    async def take_over(self) -> list[RunResult]:
        self.calls += 1
        if self.calls == 1:
            raise RuntimeError("the store did not answer")
        if self.calls >= self.rounds:
            self.done.set()
        return []


def test_a_failed_round_does_not_end_the_sweep() -> None:
    async def swept() -> int:
        jobs = Jobs(rounds=3)
        task = asyncio.create_task(sweep(jobs, 0))  # type: ignore[arg-type]
        await asyncio.wait_for(jobs.done.wait(), timeout=10)
        task.cancel()
        return jobs.calls

    assert asyncio.run(swept()) >= 3


def test_the_sweep_stops_with_the_scheduler() -> None:
    async def stopped() -> Any:
        jobs = Jobs(rounds=10**9)
        scheduler = start_scheduler(jobs, ScheduleConfig(), lambda: datetime.now(UTC))  # type: ignore[arg-type]
        [task] = [t for t in asyncio.all_tasks() if t.get_name() == "opsbot-takeover-sweep"]
        scheduler.shutdown(wait=False)
        await asyncio.wait({task}, timeout=10)
        return task.cancelled()

    assert asyncio.run(stopped()) is True
