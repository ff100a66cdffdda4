"""One task per active rollout: ticks it on schedule and keeps its Slack message current."""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import describe
from bot.runtime import Runtime
from bot.views.deploy import rollout_view
from bot.views.kit import fallback
from commands.deploy.driver import TickResult, active_rollouts, drive, reconcile
from commands.deploy.verdict import Analysis
from store.states import DRIVEN

if TYPE_CHECKING:
    from store.views import RolloutView

log = logging.getLogger("opsbot.rollouts")
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

    async def show(self, rollout: RolloutView, analysis: Analysis | None = None) -> None:
        if rollout.slack_channel is None or rollout.slack_ts is None:
            return
        text, blocks = rollout_view(rollout, self.runtime.profile.deploy, analysis)
        await self.client.chat_update(
            channel=rollout.slack_channel, ts=rollout.slack_ts, text=fallback(text), blocks=blocks
        )

    async def _drive(self, rollout_id: int) -> None:
        tools = await asyncio.to_thread(self.tools)

        async def shown(result: TickResult) -> bool:
            await self.show(result.rollout, result.outcome.analysis if result.outcome else None)
            return True

        await drive(self.runtime.profile, tools, rollout_id, shown)
