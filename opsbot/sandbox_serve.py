"""The sandbox's faces: `opsbot sandbox` (the bot and a Slack console), `serve --sandbox` with a
Slack app's tokens (your workspace), and the bot the tests and benchmarks serve."""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import SecretStr

from bot.access import Access
from bot.app import MESSAGE_SHORTCUTS, SLASH_COMMANDS
from bot.oidc import Verify
from bot.runtime import Runtime
from bot.server import Server
from bot.settings import SlackApi, SlackSettings, load_slack_settings
from config import Profile
from infra.once import Once
from opsbot.platform import (
    SANDBOX_DEPLOY,
    attached_sandbox_platforms,
    sandbox_deploy_tools,
    sandbox_platforms,
    started_sandbox,
)
from opsbot.postmortem import postmortem_tools
from opsbot.process import stop_on_signals, tune_for_serving
from opsbot.schedule import compressed_schedule, job_tools
from opsbot.serve import health_worker, http_server, serve_slack
from store.background import STORE_WAIT_S, BackgroundStore
from store.location import sqlite_url

if TYPE_CHECKING:
    from bot.report_worker import ReportWorker
    from commands.regrade.engine import RegradeTools
    from sandbox.attach import SandboxAddress
    from sandbox.platform import Sandbox
    from sandbox.slack_emulator import SlackEmulator


def sandbox_runtime(
    profile: Profile,
    platform: Sandbox,
    store: BackgroundStore,
    slack: SlackApi,
    deploy_timing: dict[str, float] | None = None,
    report_worker: SandboxAddress | None = None,
) -> Runtime:
    """The bot's runtime on the sandbox: its platform, deploys and backfills, demo timings; with
    `report_worker` (the sandbox's address), /health reports built and shown in a worker process
    (which calls Slack as `slack` says)."""
    tuned = compressed_schedule(profile).model_copy(
        update={"deploy": profile.deploy.model_copy(update=SANDBOX_DEPLOY | (deploy_timing or {}))}
    )
    platforms = sandbox_platforms(tuned, platform)
    deploys = Once(lambda: sandbox_deploy_tools(tuned, platform, store.rollouts(platform.clock)))
    return Runtime(
        tuned,
        Access(profile.slack),
        platforms,
        deploy_tools=deploys,
        regrade_tools=Once(lambda: sandbox_regrade_tools(tuned, platform, store)),
        schedule_tools=Once(
            lambda: job_tools(tuned, store.get(wait_s=STORE_WAIT_S), platforms, platform.clock)
        ),
        postmortem_tools=Once(lambda: postmortem_tools(deploys(), platforms)),
        health_worker=(
            health_worker(tuned, partial(attached_sandbox_platforms, tuned, report_worker), slack)
            if report_worker is not None
            else None
        ),
        store_url=store.url,
    )


def shared_store_url(state: str) -> str:
    """A sandbox's store: $DATABASE_URL when set, else a SQLite file in `state` for the run."""
    return os.environ.get("DATABASE_URL") or sqlite_url(Path(state) / "opsbot.db")


def serve_sandbox_to_slack(
    profile: Profile, host: str, port: int, announce: Callable[[str], None]
) -> None:
    """`opsbot serve --sandbox` with a Slack app's tokens: the sandbox platform, your Slack.

    The emulators, demo season and store are the sandbox's (published for `--sandbox`
    commands to attach to); Slack is the workspace the tokens belong to, over HTTP or Socket
    Mode as for production.
    """
    from sandbox.attach import publish, withdraw
    from sandbox.platform import Sandbox

    settings = load_slack_settings()
    stop_on_signals()
    with (
        tempfile.TemporaryDirectory(prefix="opsbot-sandbox-", ignore_cleanup_errors=True) as state,
        started_sandbox(announce, attach=False) as platform,
    ):
        assert isinstance(platform, Sandbox)
        store_url = shared_store_url(state)
        store = BackgroundStore(store_url)
        address = platform.address(store_url)
        worker = address if profile.health.worker_process else None
        runtime = sandbox_runtime(profile, platform, store, settings, report_worker=worker)
        publish(address)
        try:
            serve_slack(runtime, settings, store, host, port, announce)
        finally:
            withdraw()


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
    push_verify: Verify | None = None,  # how pushed tokens are verified (tests: a test CA)
    scheduler: bool = False,  # run the scheduled digests (`opsbot sandbox`); tests fire them
    report_worker: bool = False,  # /health in a worker process (`opsbot sandbox`, as the profile says)
) -> Iterator[SandboxBot]:
    """The bot on loopback wired to a running sandbox and a Slack emulator; its server not started."""
    from sandbox.slack_emulator import SlackEmulator

    slack = SlackEmulator(  # manifest.yml's commands and shortcuts (test_manifest)
        commands=set(SLASH_COMMANDS), shortcuts=MESSAGE_SHORTCUTS
    )
    slack.workspace.clock = lambda: platform.clock().timestamp()  # messages at the sandbox's time
    slack.workspace.leave(platform.faults.slack.not_in_channel)
    missing = platform.faults.slack.missing_scopes
    slack.workspace.scopes = [s for s in slack.workspace.scopes if s not in missing]
    slack.start(port=console_port)
    # A daemon thread still finishing a write when the bot stops (its SQLite journal) must not
    # turn the stop into an error: what is left in the temp directory is only this run's state.
    state = tempfile.TemporaryDirectory(prefix="opsbot-sandbox-state-", ignore_cleanup_errors=True)
    store = BackgroundStore(store_url or sqlite_url(Path(state.name) / "opsbot.db")).start()
    worker: ReportWorker | None = None
    try:
        settings = SlackSettings(
            slack_bot_token=SecretStr(slack.workspace.bot_token),
            slack_signing_secret=SecretStr(secrets.token_hex(16)),
            opsbot_slack_api_url=slack.api_url,
        )
        address = platform.address(store.url) if report_worker else None
        runtime = sandbox_runtime(profile, platform, store, settings, deploy_timing, address)
        worker = runtime.health_worker
        server = http_server(
            runtime, settings, store, "127.0.0.1", port, push_verify, scheduler=scheduler
        )
        slack.connect_app(
            f"{server.url}/slack/events", settings.slack_signing_secret.get_secret_value()
        )
        yield SandboxBot(platform, slack, server, runtime, store)
    finally:
        if worker is not None:
            worker.stop()
        slack.stop()
        store.close()
        state.cleanup()


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
    for the run, in a directory removed at the end without failing the stop: a thread still
    opening or writing the store (its -wal and -shm files) as Ctrl-C lands would otherwise turn
    the exit into "Directory not empty" (exit 1, seen under load).
    """
    from sandbox.attach import publish, withdraw
    from sandbox.platform import Sandbox

    stop_on_signals()  # Ctrl-C and `kill` stop it in order from here on
    with (
        tempfile.TemporaryDirectory(prefix="opsbot-sandbox-", ignore_cleanup_errors=True) as state,
        started_sandbox(announce, attach=False) as platform,
    ):
        assert isinstance(platform, Sandbox)
        store_url = shared_store_url(state)
        with sandbox_bot(
            profile,
            platform,
            port=port,
            console_port=console_port,
            store_url=store_url,
            scheduler=True,  # the digests arrive in the console, on the sandbox's clock
            report_worker=profile.health.worker_process,
        ) as bot:
            publish(platform.address(store_url))
            try:
                ready(bot)
                tune_for_serving()
                bot.server.serve_forever()
            finally:
                withdraw()
