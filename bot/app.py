"""The Bolt AsyncApp, assembled from the listeners of each entry point."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization import AuthorizeResult

from bot.deps import Deps, Provide
from bot.digest_jobs import DigestJobs
from bot.errors import last_resort
from bot.identity import BotIdentity
from bot.listeners import deploy, digest, drift, health, postmortem, regrade, rollback
from bot.regrade_tasks import RegradeTasks
from bot.rollout_tasks import RolloutTasks
from bot.runtime import Runtime
from bot.settings import SlackSettings
from bot.slack_clients import sync_web_client, web_client

log = logging.getLogger("opsbot.slack")
SLASH_COMMANDS = (
    *health.COMMANDS,
    *drift.COMMANDS,
    *deploy.COMMANDS,
    *rollback.COMMANDS,
    *regrade.COMMANDS,
    *digest.COMMANDS,
    *postmortem.COMMANDS,
)  # manifest.yml declares exactly these
MESSAGE_SHORTCUTS = {  # callback id → name, as manifest.yml declares them
    regrade.SHORTCUT: "Regrade dates in this message",
    postmortem.SHORTCUT: "Add to postmortem timeline",
}


def _token_is_in_the_client(record: logging.LogRecord) -> bool:
    """Bolt warns that $SLACK_BOT_TOKEN is unused when a client and `authorize` are given: our
    client carries the token, and `authorize` answers with it."""
    message = record.getMessage()
    return "`token` will be unused" not in message and "will be ignored" not in message


@dataclass(frozen=True)
class Assembled:
    app: AsyncApp
    identity: BotIdentity  # auth.test, asked once: the server asks at start-up
    rollouts: RolloutTasks | None  # None when this bot does not deploy
    backfills: RegradeTasks | None = None  # None when this bot does not regrade
    digests: DigestJobs | None = None  # None when this bot runs no scheduled jobs


def assemble(runtime: Runtime, settings: SlackSettings) -> Assembled:
    bolt_logger = logging.getLogger("slack_bolt.AsyncApp")
    if _token_is_in_the_client not in bolt_logger.filters:
        bolt_logger.addFilter(_token_is_in_the_client)
    client = web_client(settings)
    identity = BotIdentity(client)

    async def authorize() -> AuthorizeResult:  # Bolt passes the arguments a function names
        return await identity.authorize()

    app = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret.get_secret_value(),
        authorize=authorize,
    )

    health.register(app, runtime.access)
    drift.register(app, runtime.access)
    rollouts = None
    if runtime.deploy_tools is not None:
        rollouts = RolloutTasks(runtime, app.client)
        deploy.register(app, runtime.access)
        rollback.register(app, runtime.access)
    backfills = None
    if runtime.regrade_tools is not None:
        backfills = RegradeTasks(runtime, app.client)
        regrade.register(app, runtime.access)
    digests = None
    if runtime.schedule_tools is not None:
        digests = DigestJobs(
            runtime.schedule_tools,
            sync_web_client(settings),  # posts from worker threads (bot/slack_clients.py)
            runtime.profile if runtime.postmortem_tools is not None else None,
        )
        digest.register(app, runtime.access)

    if runtime.postmortem_tools is not None:
        postmortem.register(app, runtime)

    # Every listener finds what it needs in its context (global middleware runs before any).
    app.use(Provide(Deps(runtime, rollouts, backfills, digests)))
    app.error(last_resort)
    return Assembled(app, identity, rollouts, backfills, digests)
