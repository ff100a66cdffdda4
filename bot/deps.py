"""What listeners need, put into every request's context by one middleware (as Dispatch does).

A listener reads `deps(context)`: the runtime (profile, access, the platform, tools opened on
first use) and the background tasks that drive rollouts, backfills and digests. Nothing here
opens a client: tools are opened by the listener after it has acknowledged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_bolt.context.async_context import AsyncBoltContext

from bot.log_context import remember_request
from bot.runtime import Runtime

if TYPE_CHECKING:
    from bot.digest_jobs import DigestJobs
    from bot.regrade_tasks import RegradeTasks
    from bot.rollout_tasks import RolloutTasks

KEY = "opsbot"


@dataclass(frozen=True)
class Deps:
    runtime: Runtime
    rollouts: RolloutTasks | None = None  # None when this bot does not deploy
    backfills: RegradeTasks | None = None  # None when this bot does not regrade
    digests: DigestJobs | None = None  # None when this bot runs no scheduled jobs

    async def provide(self, context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        """Global middleware: every request's log lines name its Slack ids; its listener finds us."""
        remember_request(context)
        context[KEY] = self
        await next()


def deps(context: AsyncBoltContext) -> Deps:
    found = context[KEY]
    assert isinstance(found, Deps), "the app was assembled without Deps.provide"
    return found
