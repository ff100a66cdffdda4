"""`opsbot serve`: the app on HTTP (or Socket Mode), wired to the real platform.

The sandbox's faces (`opsbot sandbox`, `serve --sandbox`) are in opsbot/sandbox_serve.py.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Coroutine
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from bot.access import Access
from bot.app import assemble
from bot.cron_endpoint import CronEndpoint
from bot.deliveries import Deliveries
from bot.digest_jobs import DigestJobs
from bot.oidc import Verify, google_verifier
from bot.pubsub_push import PushEndpoint
from bot.report_worker import ReportWorker
from bot.runtime import Runtime
from bot.server import Server, asgi_app, bind
from bot.settings import SlackApi, SlackSettings, load_slack_settings
from bot.slack_clients import slack_api
from commands.health_worker import PlatformsRecipe
from commands.platform import Platform
from config import Profile
from infra.clock import utc_now
from infra.once import Once
from opsbot.platform import production_platforms
from opsbot.postmortem import postmortem_tools
from opsbot.process import freeze_long_lived, stop_on_signals, tune_for_serving
from opsbot.schedule import job_tools
from store.background import STORE_WAIT_S, BackgroundStore, StoreNotReady
from store.location import database_url

if TYPE_CHECKING:
    from commands.deploy.tools import DeployTools
    from commands.regrade.engine import RegradeTools
    from store.backfills import Backfills

log = logging.getLogger("opsbot.serve")
RETRY_STORE_WAIT_S = 2.0  # within Slack's 3 s for the retry's own acknowledgement


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
    scheduler: bool = True,
) -> Server:
    """`scheduler`: run the in-process scheduler when the profile's mode says so (tests: off)."""
    assembled = assemble(runtime, settings)
    probe = health_probe(store, runtime.deploy_tools)
    on_start: list[Callable[[], Coroutine[Any, Any, object]]] = [
        lambda: asyncio.to_thread(store.start),  # HTTP: after the first ack (bot/server.py)
        assembled.identity.authorize,
    ]
    worker = runtime.health_worker
    if worker is not None:  # started now, so that the first /health does not wait for it
        on_start.append(lambda: asyncio.to_thread(worker.start))
    if assembled.rollouts is not None:  # drive the rollouts a previous process left active
        on_start.append(assembled.rollouts.resume)
    if assembled.backfills is not None:  # and the backfills
        on_start.append(assembled.backfills.resume)
    cron = None
    if assembled.digests is not None:
        on_start.extend(schedule_starts(runtime, assembled.digests, scheduler))
        cron = CronEndpoint(
            runtime.profile.schedule, push_verify or google_verifier(), assembled.digests
        )
    secret = settings.slack_signing_secret.get_secret_value()
    clock = utc_now
    deliveries = store_deliveries(store, clock)
    push = None
    if assembled.backfills is not None:
        push = PushEndpoint(
            runtime.profile.regrade,
            push_verify or google_verifier(),
            assembled.backfills.completions,
        )
    app = asgi_app(
        assembled.app, probe, secret, on_start, deliveries, push, cron, freeze_long_lived
    )
    return Server(app, bind(host, port))


def store_deliveries(store: BackgroundStore, clock: Callable[[], datetime]) -> Deliveries:
    """Slack's deliveries, shared by the replicas through the store: a retry waits at most
    RETRY_STORE_WAIT_S for a store still opening (a replica just restarted), then is acted on;
    acknowledged deliveries are written once it opens (off the acknowledgement path)."""
    return Deliveries(
        seen_durably=lambda key: store.rollouts(clock, wait_s=RETRY_STORE_WAIT_S).seen(key),
        remember_durably=lambda keys: store.rollouts(clock, wait_s=STORE_WAIT_S).remember(keys),
        forget_durably=lambda s: store.rollouts(clock, wait_s=0).forget_older("delivery:", s),
    )


def schedule_starts(
    runtime: Runtime, digests: DigestJobs, scheduler: bool = True
) -> list[Callable[[], Coroutine[Any, Any, object]]]:
    """In in-process mode: catch up what was missed while down, then start APScheduler."""
    schedule = runtime.profile.schedule
    if not scheduler or schedule.mode != "in-process" or runtime.schedule_tools is None:
        return []
    tools_of = runtime.schedule_tools

    async def start() -> None:
        """Runs as long as the server: when its loop ends, the scheduler stops with it (no job
        starts while the process shuts down)."""
        from bot.scheduler import start_scheduler

        tools = await asyncio.to_thread(tools_of)
        await digests.catch_up()
        running = start_scheduler(digests, schedule, tools.clock)
        try:
            await asyncio.Event().wait()  # until cancelled, as the loop closes
        finally:
            running.shutdown(wait=False)

    return [start]


def serve_production(
    profile: Profile, profile_path: Path, host: str, port: int, announce: Callable[[str], None]
) -> None:
    """Serve Slack for the real platform: HTTP on `port`, or Socket Mode with SLACK_APP_TOKEN."""
    stop_on_signals()  # Cloud Run's SIGTERM and a Ctrl-C stop it in order, even during start-up
    settings = load_slack_settings()
    store = BackgroundStore(database_url(profile.store, profile_path.parent))
    platforms = production_platforms(profile, profile_path)
    deploys = Once(lambda: production_deploy_tools(profile, profile_path, store, platforms))
    runtime = Runtime(
        profile,
        Access(profile.slack),
        platforms,
        deploy_tools=deploys,
        regrade_tools=Once(lambda: production_regrade_tools(profile, store, platforms)),
        schedule_tools=Once(
            lambda: job_tools(profile, store.get(wait_s=STORE_WAIT_S), platforms, utc_now)
        ),
        postmortem_tools=Once(lambda: postmortem_tools(deploys(), platforms)),
        health_worker=health_worker(
            profile, partial(production_platforms, profile, profile_path), settings
        ),
        rollout_store=lambda: store.rollouts(utc_now),
        backfill_store=lambda: production_backfills(store),
        store_url=store.url,
    )
    serve_slack(runtime, settings, store, host, port, announce)


def production_backfills(store: BackgroundStore) -> Backfills:
    from store.backfills import Backfills

    return Backfills(store.get(wait_s=STORE_WAIT_S), utc_now)


def health_worker(
    profile: Profile, recipe: PlatformsRecipe, slack: SlackApi
) -> ReportWorker | None:
    """The /health worker process the profile asks for (`[health] worker_process`), or None.

    It shows reports in Slack itself: it gets the bot token and the Web API's URL, nothing more.
    """
    if not profile.health.worker_process:
        return None
    web_api = slack_api(slack.slack_bot_token.get_secret_value(), slack.opsbot_slack_api_url)
    return ReportWorker(profile, recipe, web_api, deadline_s=profile.health.check_timeout_s + 30)


def serve_slack(
    runtime: Runtime,
    settings: SlackSettings,
    store: BackgroundStore,
    host: str,
    port: int,
    announce: Callable[[str], None],
) -> None:
    """Serve the app to Slack until interrupted: Socket Mode with an app token, else HTTP."""
    try:
        if settings.slack_app_token is not None:
            announce("opsbot: Socket Mode (SLACK_APP_TOKEN is set); no HTTP port is opened")
            store.start()  # opened (and migrated) in the background
            asyncio.run(_socket_mode(runtime, settings, settings.slack_app_token))
            return
        server = http_server(runtime, settings, store, host, port)
        tune_for_serving()
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
    if assembled.digests is not None:
        starting += [asyncio.create_task(s()) for s in schedule_starts(runtime, assembled.digests)]
    handler = AsyncSocketModeHandler(assembled.app, app_token.get_secret_value())
    try:
        await handler.start_async()  # type: ignore[no-untyped-call]
    finally:
        for task in starting:
            task.cancel()


def production_regrade_tools(
    profile: Profile, store: BackgroundStore, platforms: Callable[[], Platform]
) -> RegradeTools:
    """Backfills on the real platform: ADC Pub/Sub, the shared warehouse and store."""
    from commands.regrade.engine import RegradeTools
    from store.backfills import Backfills

    platform = platforms()
    clock = utc_now
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
    clock = utc_now
    return deploy_tools(
        profile,
        cloud_run,
        repo,
        store.rollouts(clock),
        clock,
        platforms=platforms,
        refresh_repo=refresh_repo,
    )
