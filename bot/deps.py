"""What listeners need, put into every request's context by one middleware (`Provide`).

A listener reads `deps(context)`: the runtime (profile, access, the platform, tools opened on
first use) and the background tasks that drive rollouts, backfills and digests. Nothing here
opens a client: tools are opened by the listener after it has acknowledged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

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


class Provide(AsyncMiddleware):
    """Global middleware: every request's log lines name its Slack ids; its listener finds `deps`.

    A class, not a function: Bolt builds a function middleware's arguments anew per request.
    """

    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        remember_request(req.context)
        req.context[KEY] = self.deps
        return await next()


def deps(context: AsyncBoltContext) -> Deps:
    found = context[KEY]
    assert isinstance(found, Deps), "the app was assembled without Provide"
    return found
