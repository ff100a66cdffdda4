"""Opening a bot's tools at start-up, again every minute until they open (a repository cloned or
credentials granted later), saying why in one log line each time instead of a traceback."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TypeVar

from bot.errors import describe

T = TypeVar("T")
RETRY_S = 60.0


async def open_patiently(open_tools: Callable[[], T], what: str, log: logging.Logger) -> T:
    """`open_tools()` on a thread, retried every RETRY_S until it succeeds; `what` names the
    work waiting on it in the log ("rollouts not resumed yet ...")."""
    while True:
        try:
            return await asyncio.to_thread(open_tools)
        except Exception as exc:
            log.error(
                "%s not resumed yet (trying again in %.0f s): %s",
                what,
                RETRY_S,
                describe(exc).text,
            )
            await asyncio.sleep(RETRY_S)
