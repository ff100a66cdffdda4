"""One task per active rollout: ticks it on schedule and keeps its one Slack message current."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict

from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import Block
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import CANNOT_POST
from bot.log_context import ROLLOUT
from bot.open_patiently import open_patiently
from bot.runtime import Runtime
from bot.views.deploy import rollout_view
from bot.views.kit import escape, fallback, mention
from bot.views.postmortem import offer
from commands.deploy.abort import abort_rollout
from commands.deploy.driver import (
    Tick,
    TickResult,
    active_rollouts,
    anything_to_resume,
    drive,
    recently_ended,
    reconcile,
    release_all_abandoned,
)
from commands.deploy.tools import DeployTools
from commands.deploy.verdict import Analysis
from store.states import DRIVEN, RolloutState
from store.views import RolloutView

log = logging.getLogger("opsbot.rollouts")
RENDERS_MAX = 5  # a rollout moves a few times a minute at most: renders settle long before
ENDED_BY_ITSELF = {Tick.ROLLED_BACK, Tick.EXPIRED}
POSTMORTEM_ENDINGS = (RolloutState.ROLLED_BACK, RolloutState.FAILED)


STRAY_WINDOW_S = 3600.0  # a stray message of a rollout is posted at most this long before its own
STRAY_SCAN_LIMIT = 200
ROLLOUT_EVENT = "opsbot_rollout"  # message metadata: which rollout a message shows


def posting_key(rollout_id: int) -> str:
    """Recorded before the rollout's message is first posted: a later post knows one may exist."""
    return f"rollout-message:{rollout_id}"


def rollout_metadata(rollout_id: int) -> dict[str, object]:
    return {"event_type": ROLLOUT_EVENT, "event_payload": {"rollout_id": rollout_id}}


def is_rollout_message(message: dict[str, object], rollout_id: int) -> bool:
    metadata = message.get("metadata")
    return (
        isinstance(metadata, dict)
        and metadata.get("event_type") == ROLLOUT_EVENT
        and isinstance(metadata.get("event_payload"), dict)
        and metadata["event_payload"].get("rollout_id") == rollout_id
    )


class RolloutTasks:
    def __init__(self, runtime: Runtime, client: AsyncWebClient) -> None:
        assert runtime.deploy_tools is not None
        self.runtime = runtime
        self.client = client
        self.tools = runtime.deploy_tools
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._showing: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._analyses: dict[int, Analysis] = {}  # the last one seen, shown on every render

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
        done now, so traffic matches the store before the next analysis. A rollout whose message
        was never posted (killed between the start and the post) gets it now, and the rollouts
        that ended lately are shown as they ended (found by the chaos soak, seed 3: a replica
        killed between completing a rollout and updating its message left "100%, watched").
        """
        if not await self._anything_to_resume():
            return []
        tools = await open_patiently(self.tools, "rollouts", log)
        await asyncio.to_thread(release_all_abandoned, tools)
        found = await asyncio.to_thread(active_rollouts, tools)
        for ended in await asyncio.to_thread(recently_ended, tools.store):
            await self.show(ended.id)  # its end may have been recorded by a process killed
            # before it updated the message: the message shows the store's final state now
        for rollout in found:
            try:
                await asyncio.to_thread(reconcile, self.runtime.profile, tools, rollout.id)
            except Exception:
                log.exception("rollout #%s: could not reconcile; driving it as it is", rollout.id)
            current = await asyncio.to_thread(tools.store.get, rollout.id)
            if current is not None and current.state in DRIVEN:
                self.arm(rollout.id)
            await self.show(rollout.id)
        return [r.id for r in found]

    async def _anything_to_resume(self) -> bool:
        opener = self.runtime.rollout_store
        if opener is None:
            return True
        try:
            store = await asyncio.to_thread(opener)
            return await asyncio.to_thread(anything_to_resume, store)
        except Exception:  # the store is not open yet: the tools' loop below says why
            return True

    async def show(self, rollout_id: int, analysis: Analysis | None = None) -> None:
        """Render the rollout as the store has it now: post its message if it has none yet.

        One render at a time per rollout in this process, each reading the store inside the lock;
        across replicas, a render whose rollout moved meanwhile is made again (up to RENDERS_MAX),
        so the message always ends on the store's final state, never on an older copy.
        """
        if analysis is not None:
            self._analyses[rollout_id] = analysis
        async with self._showing[rollout_id]:
            tools = await asyncio.to_thread(self.tools)
            rollout = await asyncio.to_thread(tools.store.get, rollout_id)
            for _ in range(RENDERS_MAX):
                if rollout is None:
                    return
                seen = self._analyses.get(rollout_id)
                text, blocks = rollout_view(
                    rollout, self.runtime.profile.deploy, seen, tools.clock()
                )
                if rollout.slack_channel is None or rollout.slack_ts is None:
                    await self._post(tools, rollout_id, text, blocks)
                    return
                await self.client.chat_update(
                    channel=rollout.slack_channel,
                    ts=rollout.slack_ts,
                    text=fallback(text),
                    blocks=blocks,
                )
                await self._offer_postmortem(tools, rollout)
                # Another replica may have moved the rollout and rendered it before this update
                # landed (found by the chaos soak, seed 4: "100%, watched" left over "complete").
                # The last update of any replica is followed by this check, so the message ends
                # on the store's final state.
                after = await asyncio.to_thread(tools.store.get, rollout_id)
                if after is None or after.version == rollout.version:
                    return
                rollout = after

    async def _offer_postmortem(self, tools: DeployTools, rollout: RolloutView) -> None:
        """Once a rollout that moved traffic ended badly: "Start postmortem" in its thread (once,
        whichever replica or render sees the end first)."""
        if (
            self.runtime.postmortem_tools is None
            or rollout.state not in POSTMORTEM_ENDINGS
            or rollout.canary_revision is None
            or rollout.slack_channel is None
            or rollout.slack_ts is None
        ):
            return
        if not await asyncio.to_thread(tools.store.first_time, f"postmortem-offer:{rollout.id}"):
            return
        how = "rolled back" if rollout.state is RolloutState.ROLLED_BACK else "failed"
        text, blocks = offer(
            f"rollout:{rollout.id}", f"Rollout #{rollout.id} of {rollout.service} {how}"
        )
        await self.client.chat_postMessage(
            channel=rollout.slack_channel, thread_ts=rollout.slack_ts, text=text, blocks=blocks
        )

    async def _post(
        self, tools: DeployTools, rollout_id: int, text: str, blocks: list[Block]
    ) -> None:
        """The rollout's one message; if another replica posted first, ours is deleted.

        A live rollout is never left unseen: when the canary channel refuses the post (the bot
        is not in it), the message goes to the deployments channel, saying why in its thread;
        when that refuses too, the rollout is rolled back, saying why in its reason.
        """
        channels = self.runtime.profile.channels
        refused: str | None = None
        first = await asyncio.to_thread(tools.store.first_time, posting_key(rollout_id))
        metadata = rollout_metadata(rollout_id)
        try:
            posted = await self.client.chat_postMessage(
                channel=channels.canary, text=fallback(text), blocks=blocks, metadata=metadata
            )
        except SlackApiError as exc:
            refused = str(exc.response.get("error"))
            if refused not in CANNOT_POST:
                raise
            try:
                posted = await self.client.chat_postMessage(
                    channel=channels.deployments,
                    text=fallback(text),
                    blocks=blocks,
                    metadata=metadata,
                )
            except SlackApiError as again:
                if again.response.get("error") not in CANNOT_POST:
                    raise
                reason = (
                    f"its message could not be posted in {channels.canary} ({refused}) nor in "
                    f"{channels.deployments} ({again.response.get('error')}): rolled back so "
                    "that no canary runs unseen"
                )
                log.error("rollout #%s: %s", rollout_id, reason)
                await asyncio.to_thread(
                    abort_rollout, tools.cloud_run, tools.store, rollout_id, "opsbot", reason
                )
                await self._tell_requester(tools, rollout_id, reason)
                return
        channel, ts = str(posted["channel"]), str(posted["ts"])
        if not await asyncio.to_thread(tools.store.attach_message, rollout_id, channel, ts):
            await self._delete(channel, ts)
            return
        if not first:  # a process may have posted before and died before recording it
            await self._delete_strays(rollout_id, channel, ts)
        if refused is not None:
            await self.client.chat_postMessage(
                channel=channel,
                thread_ts=ts,
                text=(
                    f":warning: opsbot cannot post in {channels.canary} ({refused}), so this "
                    f"rollout is followed here. Invite @opsbot to {channels.canary}."
                ),
            )

    async def _delete_strays(self, rollout_id: int, channel: str, kept: str) -> None:
        """Delete the rollout's other messages in `channel`: posted by a process killed before it
        recorded them, they would show a stale state for good (found by the chaos soak, seed 1).

        They are found by their metadata among the messages posted up to STRAY_WINDOW_S before
        the kept one. Without channels:history (or when Slack cannot say) they are left, logged.
        """
        try:
            answer = await self.client.conversations_history(
                channel=channel,
                latest=kept,
                oldest=f"{float(kept) - STRAY_WINDOW_S:.6f}",
                limit=STRAY_SCAN_LIMIT,
                include_all_metadata=True,
            )
        except SlackApiError as exc:
            log.warning(
                "rollout #%s: cannot look for a message a stopped process posted for it in %s "
                "(%s); grant channels:history and groups:history",
                rollout_id,
                channel,
                exc.response.get("error"),
            )
            return
        for message in answer.get("messages") or []:
            if message.get("ts") != kept and is_rollout_message(message, rollout_id):
                log.info("rollout #%s: deleting a message a stopped process posted", rollout_id)
                await self._delete(channel, str(message["ts"]))

    async def _delete(self, channel: str, ts: str) -> None:
        """chat.delete; a message already deleted (by another replica) is fine."""
        try:
            await self.client.chat_delete(channel=channel, ts=ts)
        except SlackApiError as exc:
            if exc.response.get("error") != "message_not_found":
                raise

    async def _tell_requester(self, tools: DeployTools, rollout_id: int, reason: str) -> None:
        """A direct message to whoever started the rollout (no channel would take it)."""
        rollout = await asyncio.to_thread(tools.store.get, rollout_id)
        if rollout is None:
            return
        try:
            await self.client.chat_postMessage(
                channel=rollout.requested_by,
                text=f":rewind: Rollout #{rollout.id} of {rollout.service} was rolled back: {reason}.",
            )
        except SlackApiError as exc:
            log.error(
                "rollout #%s: could not tell its requester: %s",
                rollout_id,
                exc.response.get("error"),
            )

    async def announce_end(self, result: TickResult) -> None:
        """An automatic rollback is said where rollbacks go, to the person who started it."""
        rollout = result.rollout
        if result.tick is Tick.FAILED and rollout.state is RolloutState.FAILED:
            text = (
                f":x: {mention(rollout.requested_by)}, rollout #{rollout.id} of {rollout.service} "
                f"({rollout.commit_sha[:8]}) failed before any traffic moved: "
                f"{escape(rollout.reason or '')}. {rollout.stable_revision} still serves 100%."
            )
            await self.client.chat_postMessage(
                channel=self.runtime.profile.channels.deployments, text=fallback(text)
            )
            return
        if result.tick not in ENDED_BY_ITSELF or rollout.state is not RolloutState.ROLLED_BACK:
            return
        how = "rolled itself back" if result.tick is Tick.ROLLED_BACK else "expired"
        text = (
            f":rewind: {mention(rollout.requested_by)}, rollout #{rollout.id} of {rollout.service} "
            f"({rollout.commit_sha[:8]}) {how}: 100% of traffic is back on "
            f"{rollout.stable_revision}. {escape(rollout.reason or '')}"
        )
        await self.client.chat_postMessage(
            channel=self.runtime.profile.channels.deployments, text=fallback(text.strip())
        )

    async def _drive(self, rollout_id: int) -> None:
        ROLLOUT.set(rollout_id)  # this task's log lines name the rollout
        tools = await asyncio.to_thread(self.tools)

        async def shown(result: TickResult) -> bool:
            await self.show(rollout_id, result.outcome.analysis if result.outcome else None)
            await self.announce_end(result)
            return True

        await drive(self.runtime.profile, tools, rollout_id, shown)
        # Ended: shown once more as the store has it. A tick that recorded the end and then
        # failed (Cloud Run refusing the commit label after COMPLETE) left no render of it, and
        # the loop stops at an ended rollout (found by the chaos soak, seed 4).
        await self.show(rollout_id)
