"""One task per running backfill: pulls completions, publishes what is due, keeps its message.

A backfill that starts is driven to its end whatever happens to its message. Its message goes
where it was asked from; when Slack refuses it there, to its starter's direct messages; when
Slack refuses that too, the failure is logged once, the backfill runs on, and its final state is
posted when it ends. A backfill whose driver died (nothing has pumped it for a lease) is taken
over by any replica's watch loop, so no date is held by a backfill that nothing drives.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.pubsub import Received
from bot.errors import describe
from bot.open_patiently import open_patiently
from bot.runtime import Runtime
from bot.views.kit import fallback
from bot.views.regrade import progress_view
from commands.regrade.completions import absorb, take_completions
from commands.regrade.engine import RegradeTools, pump
from config import RegradeConfig
from store.backfill_views import BackfillView

if TYPE_CHECKING:
    from store.backfills import Backfills

log = logging.getLogger("opsbot.regrade")
# A driver pumps its backfill every [regrade] poll_s: silent for [regrade] driver_lease_s (60 s
# by default), and for at least this many rounds when rounds are long, it is taken for dead
LEASE_ROUNDS = 12
UNSHOWN_WITHIN = timedelta(days=1)  # an ended backfill without a message gets it this late
# chat.postMessage in a thread whose parent was deleted: Slack answers `thread_not_found` (as
# its SDK maintainers describe it, slackapi/bolt-js#2307; the sandbox's emulator too);
# `message_not_found`, Slack's word for a missing message elsewhere, is taken the same way. The
# message then goes to the channel itself.
THREAD_GONE = frozenset({"thread_not_found", "message_not_found"})
UNANSWERED = (SlackClientError, aiohttp.ClientError, OSError, TimeoutError)


def driver_lease(config: RegradeConfig) -> timedelta:
    """How long a backfill's driver may go without pumping it before it is taken for dead."""
    return timedelta(seconds=max(config.driver_lease_s, LEASE_ROUNDS * config.poll_s))


class RegradeTasks:
    def __init__(self, runtime: Runtime, client: AsyncWebClient) -> None:
        assert runtime.regrade_tools is not None
        self.runtime = runtime
        self.client = client
        self.tools_of = runtime.regrade_tools
        self.lease = driver_lease(runtime.profile.regrade)
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._showing: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._refused: set[int] = set()  # Slack took its message nowhere (logged once)
        self._refused_ended: set[int] = set()  # ... nor when it had ended
        self._watcher: asyncio.Task[None] | None = None

    def arm(self, backfill_id: int) -> None:
        """Drive the backfill from now on (once: arming twice keeps the one task)."""
        running = self._tasks.get(backfill_id)
        if running is None or running.done():
            self._tasks[backfill_id] = asyncio.create_task(
                self._drive(backfill_id), name=f"backfill-{backfill_id}"
            )

    def driver(self, backfill_id: int) -> asyncio.Task[None] | None:
        """The task driving the backfill in this process, if any."""
        return self._tasks.get(backfill_id)

    async def resume(self) -> list[int]:
        """After a (re)start: every running backfill is driven again, and shown; one that ended
        without a message (its process killed before it posted one) gets its final message;
        and from now on, backfills whose driver died are taken over (`adopt_unattended`).

        With none left over (the store says so), Pub/Sub and the warehouse are not opened. When
        they cannot be opened yet (credentials granted later), this says so in one line and
        tries again every minute.
        """
        if self._watcher is None:
            self._watcher = asyncio.create_task(self._watch(), name="backfill-watch")
        if not await self._anything_left():
            return []
        tools = await open_patiently(self.tools_of, "backfills", log)
        found = await asyncio.to_thread(tools.backfills.running)
        for backfill in found:
            self.arm(backfill.id)
        for ended in await asyncio.to_thread(tools.backfills.unshown, UNSHOWN_WITHIN):
            await self._show_safely(ended.id)
        return [b.id for b in found]

    async def adopt_unattended(self) -> list[int]:
        """Drive here every running backfill that nothing has pumped for a lease."""
        store = await self._store()
        since = store.clock() - self.lease
        left = await asyncio.to_thread(store.unattended, since)
        for backfill in left:
            log.warning(
                "backfill #%s: not driven for %.0f s (its driver died); driven here now",
                backfill.id,
                self.lease.total_seconds(),
            )
            self.arm(backfill.id)
        return [b.id for b in left]

    async def completions(self, messages: list[Received]) -> None:
        """Completions pushed by Pub/Sub: absorbed, their backfills pumped and shown."""
        tools = await asyncio.to_thread(self.tools_of)
        touched = await asyncio.to_thread(absorb, tools, messages)
        for backfill_id in touched:
            await asyncio.to_thread(pump, self.runtime.profile, tools, backfill_id)
            await self.show(backfill_id)

    async def show(self, backfill_id: int) -> str | None:
        """Render the backfill as the store has it; the channel its message is in (None: none).

        A backfill asked for in Slack without a message yet gets one (`_place`): tried once in
        this process while it runs, and once more when it has ended.
        """
        async with self._showing[backfill_id]:
            tools = await asyncio.to_thread(self.tools_of)
            backfill = await asyncio.to_thread(tools.backfills.get, backfill_id)
            if backfill is None:
                return None
            if backfill.slack_channel and backfill.slack_ts:
                await self._update(tools, backfill, backfill.slack_channel, backfill.slack_ts)
                return backfill.slack_channel
            if not self._may_place(backfill):
                return None
            return await self._place(tools, backfill)

    def _may_place(self, backfill: BackfillView) -> bool:
        if backfill.place is None:
            return False  # started from a terminal: no message to keep
        if backfill.id not in self._refused:
            return True
        return backfill.ended and backfill.id not in self._refused_ended

    async def _place(self, tools: RegradeTools, backfill: BackfillView) -> str | None:
        """Post the backfill's message where it was asked from (in its thread, else in the
        channel when the thread is gone), else in its starter's DMs; record it."""
        assert backfill.place is not None
        channel, thread = backfill.place.channel, backfill.place.thread
        posted = await self._post(tools, backfill, channel, thread)
        if isinstance(posted, str) and thread is not None and posted in THREAD_GONE:
            posted = await self._post(tools, backfill, channel, None)
        if isinstance(posted, str):
            # chat.postMessage is limited to about one message per second per channel (and a
            # workspace-wide limit; docs.slack.dev/apis/web-api/rate-limits), so the DM, another
            # channel (a user id as `channel`), is taken while the channel's posts are refused
            refused = posted
            posted = await self._post(tools, backfill, backfill.requested_by, None)
            if isinstance(posted, str):
                self._gave_up(backfill, f"{channel}: {refused}; direct message: {posted}")
                return None
        return await self._attach(tools, backfill.id, posted)

    async def _post(
        self, tools: RegradeTools, backfill: BackfillView, channel: str, thread: str | None
    ) -> AsyncSlackResponse | str:
        """chat.postMessage of the backfill's message; Slack's answer, or why it refused."""
        text, blocks = progress_view(backfill, tools.clock(), posted_in=channel)
        try:
            return await self.client.chat_postMessage(
                channel=channel, text=fallback(text), blocks=blocks, thread_ts=thread
            )
        except SlackApiError as exc:
            return str(exc.response.get("error"))
        except UNANSWERED as exc:  # the client's retries are spent
            return type(exc).__name__

    def _gave_up(self, backfill: BackfillView, why: str) -> None:
        if backfill.id in self._refused:
            self._refused_ended.add(backfill.id)
            return
        self._refused.add(backfill.id)
        log.error(
            "backfill #%s: Slack took its message nowhere (%s); it runs to its end all the same",
            backfill.id,
            why,
        )

    async def _attach(
        self, tools: RegradeTools, backfill_id: int, posted: AsyncSlackResponse
    ) -> str | None:
        """Record the posted message; if another replica recorded one first, delete ours."""
        channel, ts = str(posted["channel"]), str(posted["ts"])
        if await asyncio.to_thread(tools.backfills.attach_message, backfill_id, channel, ts):
            return channel
        try:
            await self.client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as exc:
            log.warning(
                "backfill #%s: a second message left: %s", backfill_id, exc.response.get("error")
            )
        found = await asyncio.to_thread(tools.backfills.get, backfill_id)
        return found.slack_channel if found else None

    async def _update(
        self, tools: RegradeTools, backfill: BackfillView, channel: str, ts: str
    ) -> None:
        """chat.update of the recorded message (a refusal is logged: the next state retries)."""
        text, blocks = progress_view(backfill, tools.clock(), posted_in=channel)
        try:
            await self.client.chat_update(
                channel=channel, ts=ts, text=fallback(text), blocks=blocks
            )
        except SlackApiError as exc:
            log.warning(
                "backfill #%s: its message %s/%s was not updated: %s",
                backfill.id,
                channel,
                ts,
                exc.response.get("error"),
            )

    async def _show_safely(self, backfill_id: int) -> None:
        try:
            await self.show(backfill_id)
        except Exception:
            log.exception("backfill #%s: could not be shown", backfill_id)

    async def _anything_left(self) -> bool:
        """Whether the store holds a backfill to drive or show (True when it cannot say yet)."""
        opener = self.runtime.backfill_store
        if opener is None:
            return True
        try:
            backfills = await asyncio.to_thread(opener)
            running = await asyncio.to_thread(backfills.running)
            return bool(running or await asyncio.to_thread(backfills.unshown, UNSHOWN_WITHIN))
        except Exception:  # the store is not open yet: the tools' loop says why
            return True

    async def _store(self) -> Backfills:
        """The store alone when the bot has it (no platform client opened), else the tools'."""
        opener = self.runtime.backfill_store
        if opener is not None:
            return await asyncio.to_thread(opener)
        return (await asyncio.to_thread(self.tools_of)).backfills

    async def _watch(self) -> None:
        """Every quarter lease: take over the backfills whose driver died."""
        while True:
            await asyncio.sleep(self.lease.total_seconds() / 4)
            try:
                await self.adopt_unattended()
            except Exception as exc:  # the store is down: said in one line, tried again
                log.warning("backfills: unattended ones not looked for: %s", describe(exc).text)

    async def _drive(self, backfill_id: int) -> None:
        profile = self.runtime.profile
        shown = None
        while True:
            try:
                tools: RegradeTools = await asyncio.to_thread(self.tools_of)
                await asyncio.to_thread(take_completions, profile, tools)
                backfill = await asyncio.to_thread(pump, profile, tools, backfill_id)
                state = (backfill.state, tuple((d.state, d.graded_count) for d in backfill.dates))
                if state != shown:
                    await self.show(backfill_id)
                    shown = state
                if backfill.ended:
                    return
            except Exception:
                log.exception("backfill #%s: a round failed; trying again", backfill_id)
            await asyncio.sleep(profile.regrade.poll_s)
