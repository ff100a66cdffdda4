"""`/drift [service ...]`, `/drift contains <sha>`, and the button listing undeployed commits.

Every listener is module-level and typed; `register` only wires (each with its parsed payload in
front of the access check).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.access import Access
from bot.actions import ActionId, DriftExpand
from bot.deps import deps
from bot.in_flight import Claim
from bot.listeners.replies import (
    HELP_WORDS,
    already_running,
    button,
    ephemeral,
    report_failure,
    usage_answer,
)
from bot.live_message import LiveMessage
from bot.parsed import Parsed, payload, value
from bot.payloads import Command
from bot.runtime import Runtime
from bot.views.drift import contains_report, drift_progress, drift_report, undeployed_commits
from bot.views.kit import fallback
from bot.views.messages import notice
from checks.drift_model import DriftReport
from commands.deploy.history import ROLLOUTS_READ
from commands.drift import DeployAdvice, deploy_advice, needs_deploy, run_contains, run_drift
from commands.errors import RequestError
from commands.platform import Platform
from commands.requests import parse_commit_ref, select_services
from commands.schedule.drift_rollouts import with_rollouts_named
from config import Profile
from infra.wording import plural

log = logging.getLogger("opsbot.drift")
EXPANDED_COMMITS = 20  # commits listed per revision when a service is expanded


@dataclass(frozen=True)
class DriftRequest:
    services: list[str]
    contains: str | None = None


def parse_drift_args(text: str, profile: Profile) -> DriftRequest:
    """Services and an optional `contains <sha>`, or a RequestError (empty for help)."""
    words = text.split()
    if any(word.lower() in HELP_WORDS for word in words):
        raise RequestError("")
    contains = None
    if words and words[0].lower() == "contains":
        if len(words) < 2:
            raise RequestError("`contains` needs a commit SHA")
        contains = parse_commit_ref(words[1])
        words = words[2:]
    names = list(dict.fromkeys(words))  # a service named twice is one service
    select_services(profile, names)
    return DriftRequest(names, contains)


COMMANDS = ("/drift",)


async def on_drift(
    ack: AsyncAck, client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """`/drift`: the report in the channel; `/drift contains <sha>`: where that commit runs."""
    command, runtime = payload(context, Command), deps(context).runtime
    profile = runtime.profile
    try:
        request = parse_drift_args(command.text, profile)
    except RequestError as exc:
        await ack(**usage_answer("/drift", str(exc), [s.name for s in profile.services]))
        return
    channel = command.channel_id
    key = ("drift", channel, request.contains, tuple(sorted(request.services)))
    claim = runtime.in_flight.claim(key)
    if claim is None:
        await ack(**ephemeral(*notice(already_running(f"/drift {command.text}".strip()))))
        return
    if request.contains is not None:
        count = len(request.services) or len(profile.services)
        looking = f"Looking for {request.contains} in {plural(count, 'service')}…"
        await ack(**ephemeral(*notice(looking)))
        await post_contains(runtime, client, respond, channel, request, claim)
    else:
        await ack()
        await post_drift(runtime, client, respond, channel, request.services, claim)


async def on_expand(ack: AsyncAck, respond: AsyncRespond, context: AsyncBoltContext) -> None:
    """A service's "Undeployed commits": up to EXPANDED_COMMITS of them per revision, ephemeral."""
    wanted = value(context, DriftExpand)
    await ack()
    runtime = deps(context).runtime
    try:
        select_services(runtime.profile, [wanted.service])
        drift = runtime.profile.drift.model_copy(update={"commits_shown": EXPANDED_COMMITS})
        detailed = runtime.profile.model_copy(update={"drift": drift})
        platform = runtime.platform()
        report, advice = await asyncio.to_thread(
            lambda: drift_and_advice(runtime, detailed, platform, [wanted.service])
        )
        service = report.services[0]
        expanded = undeployed_commits(service, report.checked_at, advice.get(service.service))
        await respond(**ephemeral(*expanded), replace_original=False)
    except Exception as exc:
        await report_failure(exc, respond, None, "Undeployed commits")


def drift_and_advice(
    runtime: Runtime, profile: Profile, platform: Platform, services: list[str]
) -> tuple[DriftReport, dict[str, DeployAdvice]]:
    """The report, and per drifting service the `/deploy` that fixes it, checked against the
    canaries the store remembers; without /deploy in this app, the profile's own fix stays."""
    sources = platform.drift_sources()
    report = run_drift(profile, sources, services, platform.now)
    if runtime.deploy_tools is None:
        return report, {}
    opener = runtime.rollout_store
    try:
        store = opener() if opener is not None else runtime.deploy_tools().store
        # a split a live rollout owns is that rollout, not one left behind (as the digest says)
        report = with_rollouts_named(report, store.recent(ROLLOUTS_READ), profile.drift)
        if not any(needs_deploy(s) for s in report.services):
            return report, {}
        return report, deploy_advice(profile, sources, report, store)
    except Exception:  # the report still posts: its fix, unchecked against past canaries
        log.warning("drift: past canaries could not be read from the store", exc_info=True)
        return report, deploy_advice(profile, sources, report, None)


def register(app: AsyncApp, access: Access) -> None:
    anyone_here = access.middleware()
    app.command(COMMANDS[0], middleware=[Parsed(Command), anyone_here])(on_drift)
    app.action(ActionId.DRIFT_EXPAND, middleware=button(DriftExpand, anyone_here))(on_expand)


async def post_drift(
    runtime: Runtime,
    client: AsyncWebClient,
    respond: AsyncRespond,
    channel: str,
    services: list[str],
    claim: Claim,
) -> None:
    """The report in place of a progress line; `claim` is released before the report shows."""
    count = len(services) or len(runtime.profile.services)
    live: LiveMessage | None = None
    try:
        queued = runtime.slots.full
        live = await LiveMessage.post(client, channel, *drift_progress(count, queued))
        async with runtime.slots.semaphore:
            if queued:
                live.show(lambda: drift_progress(count))
            platform = runtime.platform()
            report, advice = await asyncio.to_thread(
                lambda: drift_and_advice(runtime, runtime.profile, platform, services)
            )
        claim.release()
        await live.finish(*drift_report(report, advice))
    except Exception as exc:
        claim.release()  # whoever reads the failure may ask again at once
        await report_failure(exc, respond, live, "Drift")
    finally:
        claim.release()


async def post_contains(
    runtime: Runtime,
    client: AsyncWebClient,
    respond: AsyncRespond,
    channel: str,
    request: DriftRequest,
    claim: Claim,
) -> None:
    """The answer in the channel; an unknown commit is the asker's to fix, so it stays ephemeral."""
    assert request.contains is not None
    sha = request.contains
    try:
        platform = runtime.platform()
        found = await asyncio.to_thread(
            lambda: run_contains(runtime.profile, platform.drift_sources(), sha, request.services)
        )
        text, blocks = contains_report(found)
        claim.release()
        await client.chat_postMessage(channel=channel, text=fallback(text), blocks=blocks)
        await respond(delete_original=True)  # "Looking for …" has its answer in the channel
    except Exception as exc:
        claim.release()  # whoever reads the failure may ask again at once
        await report_failure(exc, respond, None, f"Commit {sha}", replace=True)
    finally:
        claim.release()
