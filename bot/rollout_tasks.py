"""One task per active rollout: ticks it on schedule and keeps its Slack message current."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import describe
from bot.runtime import Runtime
from bot.views.deploy import rollout_view
from bot.views.kit import fallback
from commands.canary_analysis import Analysis
from commands.rollout_driver import Tick, active_rollouts, next_due, reconcile, tick
from store.states import DRIVEN

if TYPE_CHECKING:
    from store.schema import Rollout

log = logging.getLogger("opsbot.rollouts")
MIN_SLEEP_S = 0.05
RESUME_RETRY_S = 60.0


class RolloutTasks:
    def __init__(self, runtime: Runtime, client: AsyncWebClient) -> None:
        assert runtime.deploy_tools is not None
        self.runtime = runtime
        self.client = client
        self.tools = runtime.deploy_tools
        self._tasks: dict[int, asyncio.Task[None]] = {}

    def arm(self, rollout_id: int) -> None:
        """Drive the rollout from now on (once: arming twice keeps the one task)."""
        running = self._tasks.get(rollout_id)
        if running is None or running.done():
            self._tasks[rollout_id] = asyncio.create_task(
                self._drive(rollout_id), name=f"rollout-{rollout_id}"
            )

    async def resume(self) -> list[int]:
        """After a (re)start: every rollout the store says is active is driven again.

        Each is first reconciled: what a killed process claimed but did not do in Cloud Run is
        done now, so traffic matches the store before the next analysis.
        """
        while True:  # until the clients open: a repo cloned or credentials granted later
            try:
                tools = await asyncio.to_thread(self.tools)
                break
            except Exception as exc:
                log.error(
                    "rollouts not resumed yet (trying again in %.0f s): %s",
                    RESUME_RETRY_S,
                    describe(exc).text,
                )
                await asyncio.sleep(RESUME_RETRY_S)
        found = await asyncio.to_thread(active_rollouts, tools)
        for rollout in found:
            try:
                current = await asyncio.to_thread(
                    reconcile, self.runtime.profile, tools, rollout.id
                )
            except Exception:
                log.exception("rollout #%s: could not reconcile; driving it as it is", rollout.id)
                current = rollout
            shown = current or await asyncio.to_thread(tools.store.get, rollout.id) or rollout
            if shown.state in DRIVEN:
                self.arm(rollout.id)
            await self.show(shown)
        return [r.id for r in found]

    async def show(self, rollout: Rollout, analysis: Analysis | None = None) -> None:
        if rollout.slack_channel is None or rollout.slack_ts is None:
            return
        text, blocks = rollout_view(rollout, self.runtime.profile.deploy, analysis)
        await self.client.chat_update(
            channel=rollout.slack_channel, ts=rollout.slack_ts, text=fallback(text), blocks=blocks
        )

    async def _drive(self, rollout_id: int) -> None:
        profile = self.runtime.profile
        tools = await asyncio.to_thread(self.tools)
        interval = timedelta(seconds=profile.deploy.interval_s)
        while True:
            rollout = await asyncio.to_thread(tools.store.get, rollout_id)
            if rollout is None or rollout.state not in DRIVEN:
                return
            wait = (next_due(profile, rollout) - tools.clock()).total_seconds()
            await asyncio.sleep(min(max(wait, MIN_SLEEP_S), interval.total_seconds()))
            try:
                result = await asyncio.to_thread(tick, profile, tools, rollout_id)
            except Exception:
                log.exception("rollout #%s: tick failed; retrying next interval", rollout_id)
                continue
            if result is None:
                return
            if result.tick is not Tick.WAITING:
                await self.show(result.rollout, result.outcome.analysis if result.outcome else None)
