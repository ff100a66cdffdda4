"""`opsbot serve` and `opsbot sandbox`: the app on HTTP (or Socket Mode), wired to its platform."""

from __future__ import annotations

import asyncio
import logging
import secrets
import tempfile
import threading
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from bot.access import Access
from bot.app import SLASH_COMMANDS, assemble
from bot.deliveries import Deliveries
from bot.once import Once
from bot.pubsub_push import PushEndpoint, Verify, google_verifier
from bot.runtime import Runtime
from bot.server import Server, asgi_app, bind
from bot.settings import SlackSettings, load_slack_settings
from commands.platform import Platform
from config import Profile
from opsbot.platform import (
    SANDBOX_DEPLOY,
    production_platforms,
    sandbox_deploy_tools,
    sandbox_platforms,
    started_sandbox,
)
from store.background import STORE_WAIT_S, BackgroundStore, StoreNotReady
from store.location import database_url, sqlite_url

if TYPE_CHECKING:
    from commands.deploy.tools import DeployTools
    from commands.regrade.engine import RegradeTools
    from sandbox.platform import Sandbox
    from sandbox.slack_emulator import SlackEmulator

log = logging.getLogger("opsbot.serve")


def health_probe(
    store: BackgroundStore, deploy_tools: Once[DeployTools] | None = None
) -> Callable[[], dict[str, str]]:
    """/healthz: whether the bot can serve, and which part is not ready; never where or why.

    `store` is ready, opening (migrations running) or unavailable; 503 unless ready.
    `deploys` is ready, opening (until the start-up resume or the first rollout action has opened
    the clients), unavailable, or off. The reasons (which database, which path) go to the log,
    once per new reason, never to the unauthenticated endpoint.
    """
    logged: dict[str, str] = {}

    def note(part: str, reason: str) -> None:
        if logged.get(part) != reason:
            logged[part] = reason
            log.warning("/healthz: %s is unavailable: %s", part, reason)

    def store_state() -> str:
        try:
            store.get().ping()
        except StoreNotReady as exc:
            if store.opening:
                return "opening"
            note("store", str(exc))
            return "unavailable"
        except Exception as exc:  # the database stopped answering
            note("store", str(exc))
            return "unavailable"
        return "ready"

    def deploys_state() -> str:
        if deploy_tools is None:
            return "off"
        if deploy_tools.failure is not None and deploy_tools.state != "ready":
            note("deploys", deploy_tools.failure)
            return "unavailable"
        return deploy_tools.state

    def probe() -> dict[str, str]:
        parts = {"store": store_state(), "deploys": deploys_state()}
        return {"status": "ok" if parts["store"] == "ready" else "unavailable", **parts}

    return probe


def http_server(
    runtime: Runtime,
    settings: SlackSettings,
    store: BackgroundStore,
    host: str,
    port: int,
    push_verify: Verify | None = None,
) -> Server:
    assembled = assemble(runtime, settings)
    probe = health_probe(store, runtime.deploy_tools)
    on_start: list[Callable[[], Coroutine[Any, Any, object]]] = [assembled.identity.authorize]
    if assembled.rollouts is not None:  # drive the rollouts a previous process left active
        on_start.append(assembled.rollouts.resume)
    if assembled.backfills is not None:  # and the backfills
        on_start.append(assembled.backfills.resume)
    secret = settings.slack_signing_secret.get_secret_value()
    clock = lambda: datetime.now(UTC)  # noqa: E731
    deliveries = Deliveries(  # never waiting for a store still opening: memory answers meanwhile
        lambda key: store.rollouts(clock, wait_s=0).first_time(key),
        lambda seconds: store.rollouts(clock, wait_s=0).forget_older("delivery:", seconds),
    )
    push = None
    if assembled.backfills is not None:
        push = PushEndpoint(
            runtime.profile.regrade,
            push_verify or google_verifier(),
            assembled.backfills.completions,
        )
    app = asgi_app(assembled.app, probe, secret, on_start, deliveries, push)
    return Server(app, bind(host, port))


def serve_production(
    profile: Profile, profile_path: Path, host: str, port: int, announce: Callable[[str], None]
) -> None:
    """Serve Slack for the real platform: HTTP on `port`, or Socket Mode with SLACK_APP_TOKEN."""
    settings = load_slack_settings()
    store = BackgroundStore(database_url(profile.store, profile_path.parent))
    platforms = production_platforms(profile, profile_path)
    runtime = Runtime(
        profile,
        Access(profile.slack),
        platforms,
        deploy_tools=Once(lambda: production_deploy_tools(profile, profile_path, store, platforms)),
        regrade_tools=Once(lambda: production_regrade_tools(profile, store, platforms)),
    )
    serve_slack(runtime, settings, store, host, port, announce)


def serve_sandbox_to_slack(
    profile: Profile, host: str, port: int, announce: Callable[[str], None]
) -> None:
    """`opsbot serve --sandbox` with a Slack app's tokens: the sandbox platform, your Slack.

    The emulators, demo season and store are the sandbox's (published for `--sandbox`
    commands to attach to); Slack is the workspace the tokens belong to, over HTTP or Socket
    Mode as for production.
    """
    import os

    from sandbox.attach import publish, withdraw
    from sandbox.platform import Sandbox

    settings = load_slack_settings()
    tuned = profile.model_copy(update={"deploy": profile.deploy.model_copy(update=SANDBOX_DEPLOY)})
    with (
        tempfile.TemporaryDirectory(prefix="opsbot-sandbox-") as state,
        started_sandbox(announce, attach=False) as platform,
    ):
        assert isinstance(platform, Sandbox)
        store_url = os.environ.get("DATABASE_URL") or sqlite_url(Path(state) / "opsbot.db")
        store = BackgroundStore(store_url)
        runtime = Runtime(
            tuned,
            Access(profile.slack),
            sandbox_platforms(tuned, platform),
            deploy_tools=Once(
                lambda: sandbox_deploy_tools(tuned, platform, store.rollouts(platform.clock))
            ),
            regrade_tools=Once(lambda: sandbox_regrade_tools(tuned, platform, store)),
        )
        publish(platform.address(store_url))
        try:
            serve_slack(runtime, settings, store, host, port, announce)
        finally:
            withdraw()


def serve_slack(
    runtime: Runtime,
    settings: SlackSettings,
    store: BackgroundStore,
    host: str,
    port: int,
    announce: Callable[[str], None],
) -> None:
    """Serve the app to Slack until interrupted: Socket Mode with an app token, else HTTP."""
    store.start()  # opened (and migrated) in the background, whichever way Slack connects
    try:
        if settings.slack_app_token is not None:
            announce("opsbot: Socket Mode (SLACK_APP_TOKEN is set); no HTTP port is opened")
            asyncio.run(_socket_mode(runtime, settings, settings.slack_app_token))
            return
        server = http_server(runtime, settings, store, host, port)
        announce(
            f"opsbot: serving Slack at {server.url}/slack/events (health: {server.url}/healthz)"
        )
        server.serve_forever()
    finally:
        store.close()


async def _socket_mode(runtime: Runtime, settings: SlackSettings, app_token: SecretStr) -> None:
    """Connect over Socket Mode and serve until cancelled (the client needs a running loop).

    As over HTTP, the bot learns who it is and resumes the rollouts left active, at start.
    """
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    assembled = assemble(runtime, settings)
    starting: list[asyncio.Task[object]] = [asyncio.create_task(assembled.identity.authorize())]
    if assembled.rollouts is not None:
        starting.append(asyncio.create_task(assembled.rollouts.resume()))
    if assembled.backfills is not None:
        starting.append(asyncio.create_task(assembled.backfills.resume()))
    handler = AsyncSocketModeHandler(assembled.app, app_token.get_secret_value())
    try:
        await handler.start_async()  # type: ignore[no-untyped-call]
    finally:
        for task in starting:
            task.cancel()


def sandbox_regrade_tools(
    profile: Profile, platform: Sandbox, store: BackgroundStore
) -> RegradeTools:
    """Backfills on the sandbox: its Pub/Sub emulator and warehouse, the bot's store."""
    from adapters.bigquery import BigQueryWarehouse
    from adapters.pubsub import PubSub
    from commands.regrade.engine import RegradeTools
    from store.backfills import Backfills

    return RegradeTools(
        Backfills(store.get(wait_s=STORE_WAIT_S), platform.clock),
        PubSub.connect(
            project=profile.platform.project, timeout_s=10.0, endpoint=platform.pubsub_url
        ),
        BigQueryWarehouse.from_profile(profile, endpoint=platform.bigquery_url),
        platform.clock,
    )


def production_regrade_tools(
    profile: Profile, store: BackgroundStore, platforms: Callable[[], Platform]
) -> RegradeTools:
    """Backfills on the real platform: ADC Pub/Sub, the shared warehouse and store."""
    from commands.regrade.engine import RegradeTools
    from store.backfills import Backfills

    platform = platforms()
    clock = lambda: datetime.now(UTC)  # noqa: E731
    database = store.get(wait_s=STORE_WAIT_S)
    return RegradeTools(Backfills(database, clock), platform.pubsub(), platform.warehouse, clock)


def production_deploy_tools(
    profile: Profile,
    profile_path: Path,
    store: BackgroundStore,
    platforms: Callable[[], Platform],
) -> DeployTools:
    """Rollouts on the real platform: ADC clients and the shared store, opened once per process.

    The repo is fetched before each checklist (one fetch at a time), not on every click.
    """
    from datetime import UTC

    from adapters.cloudrun import CloudRun
    from adapters.git import GitRepo
    from opsbot.platform import deploy_tools, repo_path

    git = profile.git
    repo = GitRepo.open(repo_path(profile, profile_path), branch=git.branch, remote=git.remote)
    fetching = threading.Lock()

    def refresh_repo() -> None:
        if git.fetch:
            with fetching:
                repo.fetch(git.fetch_timeout_s)

    cloud_run = CloudRun.connect(
        project=profile.platform.project,
        region=profile.platform.region,
        timeout_s=profile.drift.cloud_run_timeout_s,
        operation_timeout_s=profile.deploy.revision_ready_timeout_s,
    )
    clock = lambda: datetime.now(UTC)  # noqa: E731
    return deploy_tools(
        profile,
        cloud_run,
        repo,
        store.rollouts(clock),
        clock,
        platforms=platforms,
        refresh_repo=refresh_repo,
    )


@dataclass
class SandboxBot:
    """Everything `opsbot sandbox` runs: the platform's emulators, Slack's, and the bot."""

    platform: Sandbox
    slack: SlackEmulator
    server: Server
    runtime: Runtime
    store: BackgroundStore  # a fresh SQLite store per run


@contextmanager
def sandbox_bot(
    profile: Profile,
    platform: Sandbox,
    *,
    port: int = 0,
    console_port: int = 0,
    deploy_timing: dict[str, float] | None = None,
    store_url: str | None = None,  # default: a fresh SQLite store for this run
    push_verify: Verify | None = None,  # how Pub/Sub push tokens are verified (tests: a test CA)
) -> Iterator[SandboxBot]:
    """The bot on loopback wired to a running sandbox and a Slack emulator; its server not started."""
    from sandbox.slack_emulator import SlackEmulator

    slack = SlackEmulator(commands=set(SLASH_COMMANDS))  # manifest.yml's (test_manifest)
    slack.workspace.clock = lambda: platform.clock().timestamp()  # messages at the sandbox's time
    slack.workspace.leave(platform.faults.slack.not_in_channel)
    missing = platform.faults.slack.missing_scopes
    slack.workspace.scopes = [s for s in slack.workspace.scopes if s not in missing]
    slack.start(port=console_port)
    state = tempfile.TemporaryDirectory(prefix="opsbot-sandbox-state-")
    store = BackgroundStore(store_url or sqlite_url(Path(state.name) / "opsbot.db")).start()
    try:
        settings = SlackSettings(
            slack_bot_token=SecretStr(slack.workspace.bot_token),
            slack_signing_secret=SecretStr(secrets.token_hex(16)),
            opsbot_slack_api_url=slack.api_url,
        )
        tuned = profile.model_copy(
            update={
                "deploy": profile.deploy.model_copy(update=SANDBOX_DEPLOY | (deploy_timing or {}))
            }
        )
        runtime = Runtime(
            tuned,
            Access(profile.slack),
            sandbox_platforms(tuned, platform),
            deploy_tools=Once(
                lambda: sandbox_deploy_tools(tuned, platform, store.rollouts(platform.clock))
            ),
            regrade_tools=Once(lambda: sandbox_regrade_tools(tuned, platform, store)),
        )
        server = http_server(runtime, settings, store, "127.0.0.1", port, push_verify)
        slack.connect_app(
            f"{server.url}/slack/events", settings.slack_signing_secret.get_secret_value()
        )
        yield SandboxBot(platform, slack, server, runtime, store)
    finally:
        slack.stop()
        store.close()
        state.cleanup()


def stop_on_sigterm() -> None:
    """SIGTERM ends the process as Ctrl-C does: cleanups (the published address) still run."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return

    def stop(signum: int, frame: object) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def run_sandbox(
    profile: Profile,
    profile_path: Path,
    port: int,
    console_port: int,
    announce: Callable[[str], None],
    ready: Callable[[SandboxBot], None],
) -> None:
    """`opsbot sandbox`: everything started, `ready` told where, served until interrupted.

    Its address is published while it runs, so `--sandbox` commands use its emulators, store
    and clock (sandbox/attach.py). Its store is $DATABASE_URL when set, else a SQLite file kept
    for the run.
    """
    import os

    from sandbox.attach import publish, withdraw
    from sandbox.platform import Sandbox

    with (
        tempfile.TemporaryDirectory(prefix="opsbot-sandbox-") as state,
        started_sandbox(announce, attach=False) as platform,
    ):
        assert isinstance(platform, Sandbox)
        store_url = os.environ.get("DATABASE_URL") or sqlite_url(Path(state) / "opsbot.db")
        with sandbox_bot(
            profile, platform, port=port, console_port=console_port, store_url=store_url
        ) as bot:
            publish(platform.address(store_url))
            stop_on_sigterm()  # `kill`, a process manager: the same orderly stop as Ctrl-C
            try:
                ready(bot)
                bot.server.serve_forever()
            finally:
                withdraw()
