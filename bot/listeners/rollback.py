"""`/rollback SERVICE [revision]`: choose a revision, confirm, traffic moves, the result is posted.

Every listener is module-level and typed; `register` only wires (each with its parsed payload in
front of the deployer role).
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from functools import partial

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Access
from bot.actions import REVISION_NAME, ActionId, RollbackTo
from bot.deps import deps
from bot.listeners.acting import acked_then, rollout_tasks, with_tools
from bot.listeners.replies import HELP_WORDS, button, ephemeral, replacement, usage_answer
from bot.parsed import Parsed, payload, value
from bot.payloads import Click, Command
from bot.postmortem_messages import tools_of
from bot.runtime import Runtime
from bot.views.messages import notice
from bot.views.postmortem import offer
from bot.views.rollback import candidates_view, confirm_view
from commands import rollback
from commands.deploy.history import revision_setbacks
from commands.deploy.tools import DeployTools
from commands.errors import RequestError
from commands.postmortem.rollback import is_incident, rollback_entry
from commands.postmortem.signals import NOT_AN_INCIDENT
from commands.requests import select_services
from config import Profile

COMMANDS = ("/rollback",)
log = logging.getLogger("opsbot.slack")


def parse_rollback_args(text: str, runtime: Runtime) -> tuple[str, str | None]:
    words = text.split()
    if not words or any(w.lower() in HELP_WORDS for w in words):
        raise RequestError("" if words else "name the service to roll back")
    if len(words) > 2:
        raise RequestError(f"expected a service and at most one revision, got {len(words)} words")
    select_services(runtime.profile, words[:1])
    if len(words) == 2 and not re.fullmatch(REVISION_NAME, words[1]):
        shown = words[1] if len(words[1]) <= 40 else words[1][:40] + "…"
        raise RequestError(
            f"bad revision {shown!r}: expected a Cloud Run revision name, "
            "e.g. nba-grading-service-00083-499 (lowercase letters, digits and dashes)"
        )
    return words[0], words[1] if len(words) == 2 else None


async def on_rollback(ack: AsyncAck, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    """`/rollback SERVICE`: its revisions to pick from; with a revision, straight to confirming."""
    command, runtime = payload(context, Command), deps(context).runtime
    try:
        service, revision = parse_rollback_args(command.text, runtime)
    except RequestError as exc:
        known = [s.name for s in runtime.profile.services]
        await ack(**usage_answer("/rollback", str(exc), known))
        return
    work: Callable[[DeployTools], Awaitable[None]]
    if revision is not None:  # the confirmation, once the store says whether it went bad
        await ack(**ephemeral(*notice(f"Checking {revision}…")))
        work = partial(confirm_revision, respond=respond, service=service, revision=revision)
    else:
        await ack(**ephemeral(*notice(f"Reading {service}'s revisions…")))
        work = partial(list_candidates, runtime.profile, respond=respond, service=service)
    await with_tools(context, respond, "Rollback", work, replace_placeholder=True)


async def list_candidates(
    profile: Profile, tools: DeployTools, *, respond: AsyncRespond, service: str
) -> None:
    picked = await asyncio.to_thread(
        rollback.choices, profile, tools.cloud_run, tools.repo, service, tools.store
    )
    view = candidates_view(service, picked.found, tools.clock(), serving=picked.serving)
    await respond(**ephemeral(*view), replace_original=True)  # for "Reading …'s revisions…"


async def confirm_revision(
    tools: DeployTools, *, respond: AsyncRespond, service: str, revision: str
) -> None:
    """The confirmation of `/rollback SERVICE REVISION`, warning when the revision went bad;
    its button carries what serves now (a click after that changed is refused)."""
    marked = await asyncio.to_thread(revision_setbacks, tools.store, service)
    state = await asyncio.to_thread(tools.cloud_run.get_service, service)
    serving = [t.revision for t in state.serving]
    view = confirm_view(service, revision, serving, marked.get(revision))
    await respond(**ephemeral(*view), replace_original=True)  # for "Checking …"


async def on_roll_back(
    ack: AsyncAck, client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """A confirmed Roll back: all traffic to the revision, once per message however often clicked."""
    await acked_then(ack, client, respond, context, "Rollback", roll_back)


async def roll_back(
    tools: DeployTools, context: AsyncBoltContext, client: AsyncWebClient, respond: AsyncRespond
) -> None:
    click, wanted = payload(context, Click), value(context, RollbackTo)
    runtime, user, where = deps(context).runtime, click.user.id, click.container
    once = f"rollback:{where.channel_id}:{where.message_ts}:{wanted.service}:{wanted.revision}"
    done = await asyncio.to_thread(
        lambda: rollback.roll_back(
            runtime.profile,
            tools.cloud_run,
            tools.store,
            wanted.service,
            wanted.revision,
            user,
            once_key=once,
            drawn=drawn_of(wanted),
        )
    )
    if done is None:
        already = notice("Already done: this rollback was confirmed once already.")
        await respond(**ephemeral(*already), replace_original=False)
        return
    aborted = f" (rollout #{done.aborted_rollout} aborted)" if done.aborted_rollout else ""
    text = f":rewind: <@{user}> rolled {done.service} back: 100% of traffic on {done.revision}, verified{aborted}"
    said = await client.chat_postMessage(channel=runtime.profile.channels.deployments, text=text)
    incident = await was_incident(runtime, done.audit_id)
    if incident:
        note, blocks = offer(f"rollback:{done.audit_id}", f"{done.service} was rolled back")
        await client.chat_postMessage(
            channel=str(said["channel"]), thread_ts=str(said["ts"]), text=note, blocks=blocks
        )
    why = f" No postmortem offered: {NOT_AN_INCIDENT}." if incident is False else ""
    await respond(**replacement(f"Done: {done.service} serves {done.revision}.{why}"))
    if done.aborted_rollout is not None:
        await rollout_tasks(context).show(done.aborted_rollout)


def drawn_of(wanted: RollbackTo) -> rollback.Drawn | None:
    """What the button saw serving when drawn (None on a button drawn before it said)."""
    if wanted.serving is None and wanted.seen is None:
        return None
    serving = frozenset(wanted.serving) if wanted.serving is not None else None
    return rollback.Drawn(serving, frozenset(wanted.seen or ()))


async def was_incident(runtime: Runtime, audit_id: int | None) -> bool | None:
    """Whether the hand rollback was an incident (something it replaced was bad, as
    `is_incident` rules), so a postmortem is offered; None when this app writes none."""
    if audit_id is None or runtime.postmortem_tools is None:
        return None
    try:
        tools = await tools_of(runtime)
        entry = await asyncio.to_thread(rollback_entry, tools, audit_id)
        return entry is not None and await asyncio.to_thread(is_incident, tools, entry)
    except Exception:  # unknown counts as bad (signals.was_bad): no incident goes unoffered
        log.warning("rollback %s: could not judge it an incident", audit_id, exc_info=True)
        return True


def register(app: AsyncApp, access: Access) -> None:
    deployer = access.middleware("deployer")
    app.command(COMMANDS[0], middleware=[Parsed(Command), deployer])(on_rollback)
    app.action(ActionId.ROLLBACK_TO, middleware=button(RollbackTo, deployer))(on_roll_back)
