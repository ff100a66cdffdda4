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
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from adapters.pubsub import Received
from bot.backfill_messages import backfill_metadata, is_backfill_message
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
# chat.update replaces the message with the last call Slack took, whoever made it: a replica's
# render of an older state can land after another's of the ended state. So an update, once it
# has landed, is checked against the store and drawn again (this many times at most).
REDRAWS = 3
FINAL_TRIES = LEASE_ROUNDS  # an ended backfill whose message Slack would not update: retried
# A replica killed after chat.postMessage answered and before the ts was recorded leaves a
# message nothing knows of; a post that is not the backfill's first (`first_post`) looks for it
# first by its metadata, among the channel's newest messages or its thread's
# (conversations.history / .replies with include_all_metadata, which need channels:history /
# groups:history, docs.slack.dev/reference/methods/conversations.history, .replies)
POSTED_SCAN_LIMIT = 200


def drawn(backfill: BackfillView) -> tuple[object, ...]:
    """What the backfill's message shows of it: its state and each date's."""
    return (backfill.state, tuple((d.state, d.graded_count) for d in backfill.dates))


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
        self._behind: set[int] = set()  # its message's last update was refused or unanswered
        self._ends_tried: set[int] = set()  # ended, not drawn so: drawn once here on resume
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
        await self._draw_ends(tools.backfills, tools.clock())
        return [b.id for b in found]

    async def _draw_ends(self, store: Backfills, before: datetime) -> None:
        """Draw, once in this process, each ended backfill whose end its killed driver did not
        draw (found by the backfill soak, seed 7 at N=30)."""
        for ended in await asyncio.to_thread(store.undrawn_ends, before, UNSHOWN_WITHIN):
            if ended.id not in self._ends_tried:
                self._ends_tried.add(ended.id)
                await self._show_safely(ended.id)

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
        await self._draw_ends(store, since)
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
                await self._drawn(tools, backfill, backfill.slack_channel, backfill.slack_ts)
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
        if not await asyncio.to_thread(tools.backfills.first_post, backfill.id):
            found = await self._posted_before(backfill.id, channel, thread)
            if found is not None:
                return await self._adopt(tools, backfill, channel, found)
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
                channel=channel,
                text=fallback(text),
                blocks=blocks,
                thread_ts=thread,
                metadata=backfill_metadata(backfill.id),
            )
        except SlackApiError as exc:
            return str(exc.response.get("error"))
        except UNANSWERED as exc:  # the client's retries are spent
            return type(exc).__name__

    async def _posted_before(
        self, backfill_id: int, channel: str, thread: str | None
    ) -> str | None:
        """The ts of the backfill's message in `channel` (in `thread`, else in the channel when
        the thread is gone) that a process posted and was killed before recording (found by the
        backfill soak, seed 3 at N=30); None: none, or Slack cannot say (then one is posted)."""
        try:
            answer = await self._newest(channel, thread)
        except SlackApiError as exc:
            log.warning(
                "backfill #%s: cannot look for a message a stopped process posted in %s (%s)",
                backfill_id,
                channel,
                exc.response.get("error"),
            )
            return None
        except UNANSWERED:
            return None
        for message in answer.get("messages") or []:
            if is_backfill_message(message, backfill_id):
                return str(message["ts"])
        return None

    async def _newest(self, channel: str, thread: str | None) -> AsyncSlackResponse:
        """The thread's messages (conversations.replies), or the channel's newest (.history)."""
        if thread is not None:
            try:
                return await self.client.conversations_replies(
                    channel=channel, ts=thread, limit=POSTED_SCAN_LIMIT, include_all_metadata=True
                )
            except SlackApiError as exc:
                if exc.response.get("error") not in THREAD_GONE:
                    raise
        return await self.client.conversations_history(
            channel=channel, limit=POSTED_SCAN_LIMIT, include_all_metadata=True
        )

    async def _adopt(
        self, tools: RegradeTools, backfill: BackfillView, channel: str, ts: str
    ) -> str | None:
        """Record the message a stopped process posted and show the backfill in it."""
        log.info(
            "backfill #%s: its message %s/%s, posted before a stop, kept", backfill.id, channel, ts
        )
        if not await asyncio.to_thread(tools.backfills.attach_message, backfill.id, channel, ts):
            recorded = await asyncio.to_thread(tools.backfills.get, backfill.id)
            if recorded is not None and recorded.slack_ts != ts:  # another replica's won
                await self._delete_stray(backfill.id, channel, ts)
            return recorded.slack_channel if recorded else None
        await self._drawn(tools, backfill, channel, ts)
        return channel

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
        await self._delete_stray(backfill_id, channel, ts)
        found = await asyncio.to_thread(tools.backfills.get, backfill_id)
        return found.slack_channel if found else None

    async def _delete_stray(self, backfill_id: int, channel: str, ts: str) -> None:
        """chat.delete of a message of the backfill that is not the one recorded."""
        try:
            await self.client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as exc:
            log.warning(
                "backfill #%s: a second message left: %s", backfill_id, exc.response.get("error")
            )

    async def _drawn(
        self, tools: RegradeTools, backfill: BackfillView, channel: str, ts: str
    ) -> None:
        """Update the message until it shows what the store has (found by the backfill soak,
        seed 8 at N=30: a Cancel's render of "2/4 ended (running)", held by 429s, landed after
        the other replica's "4/4 ended (canceled)" and stayed)."""
        for _ in range(REDRAWS):
            if not await self._update(tools, backfill, channel, ts):
                self._behind.add(backfill.id)  # its driver draws it again (`_drive`)
                return
            self._behind.discard(backfill.id)
            now = await asyncio.to_thread(tools.backfills.get, backfill.id)
            if now is None or drawn(now) == drawn(backfill):
                if now is not None and now.ended:
                    await asyncio.to_thread(tools.backfills.mark_end_drawn, backfill.id)
                return
            backfill = now

    async def _update(
        self, tools: RegradeTools, backfill: BackfillView, channel: str, ts: str
    ) -> bool:
        """chat.update of the recorded message; False (logged) when Slack refused it or its
        client's retries are spent."""
        text, blocks = progress_view(backfill, tools.clock(), posted_in=channel)
        try:
            await self.client.chat_update(
                channel=channel, ts=ts, text=fallback(text), blocks=blocks
            )
            return True
        except SlackApiError as exc:
            why = str(exc.response.get("error"))
        except UNANSWERED as exc:
            why = type(exc).__name__
        log.warning(
            "backfill #%s: its message %s/%s was not updated: %s", backfill.id, channel, ts, why
        )
        return False

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
            if await asyncio.to_thread(backfills.running):
                return True
            if await asyncio.to_thread(backfills.unshown, UNSHOWN_WITHIN):
                return True
            now = backfills.clock()
            return bool(await asyncio.to_thread(backfills.undrawn_ends, now, UNSHOWN_WITHIN))
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
        shown, final_tries = None, FINAL_TRIES
        while True:
            try:
                tools: RegradeTools = await asyncio.to_thread(self.tools_of)
                await asyncio.to_thread(take_completions, profile, tools)
                backfill = await asyncio.to_thread(pump, profile, tools, backfill_id)
                state = drawn(backfill)
                if state != shown or backfill_id in self._behind:
                    await self.show(backfill_id)
                    shown = state
                final_tries -= backfill.ended
                # an ended backfill's message Slack would not update is tried again a while
                if backfill.ended and (backfill_id not in self._behind or final_tries <= 0):
                    return
            except Exception:
                log.exception("backfill #%s: a round failed; trying again", backfill_id)
            await asyncio.sleep(profile.regrade.poll_s)
