"""A bot in its own process for the benchmarks, wired to emulators another process runs.

    python -m bench.bot_process opsbot|minimal --slack-api URL --token T --secret S
        [--bigquery URL --cloud-run URL --repo PATH --now ISO]

Prints `READY <url>` once it listens, then serves until killed. In production the bot shares
its process with nothing; here neither does it (the emulators' CPU would otherwise be counted).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from time import monotonic
from typing import Any

from pydantic import SecretStr
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot.access import Access
from bot.runtime import Runtime
from bot.server import Server, bind
from bot.settings import SlackSettings
from commands.deploy.tools import DeployTools
from commands.platform import Platform
from infra.once import Once
from opsbot.logs import configure_logging
from opsbot.platform import deploy_tools
from opsbot.process import tune_for_serving
from opsbot.profile import load_profile
from opsbot.serve import health_worker, http_server
from store.background import BackgroundStore
from store.location import sqlite_url

ROOT = Path(__file__).resolve().parents[1]


def minimal_server(api_url: str, token: str, secret: str) -> Server:
    """The peer: the smallest Bolt app answering /health, on opsbot's server stack and nothing
    else of opsbot's.

    The same uvicorn server and settings (bot.server.Server, its socket from bind), Starlette,
    and Bolt's own Starlette adapter in front of an AsyncApp with one /health listener that acks
    with an empty 200. Bolt does per request what any Bolt app does: its middleware chain (the
    ssl_check, its signature check, its single-workspace authorization: auth.test once, then
    cached, self-event and url_verification checks), listener matching, and its listener runner
    (the listener started as a task, its ack polled every 10 ms). None of opsbot's gate (the
    signature checked before Bolt, the body's shape), Slack-retry bookkeeping, context
    middleware, payload parsing, access check or in-flight claim.
    """
    app = AsyncApp(signing_secret=secret, client=AsyncWebClient(token=token, base_url=api_url))

    @app.command("/health")
    async def ack_only(ack: Any) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(app)

    async def events(request: Request) -> Response:
        return await handler.handle(request)

    routes = [Route("/slack/events", events, methods=["POST"])]
    return Server(Starlette(routes=routes), bind("127.0.0.1", 0))


def emulated_platforms(
    bigquery: str, cloud_run_url: str, repo: str, now_iso: str
) -> Callable[[], Platform]:
    """A Platform per request on the emulators (one client each), the clock running from `now`;
    module-level, so that the /health worker process can build the same (a picklable recipe)."""
    from adapters.bigquery import BigQueryWarehouse
    from adapters.cloudrun import CloudRun
    from adapters.git import GitRepo
    from checks.drift_model import DriftSources

    profile = load_profile(ROOT / "opsbot.toml")
    warehouse = BigQueryWarehouse.from_profile(profile, endpoint=bigquery)
    cloud_run = CloudRun.connect(
        project=profile.platform.project,
        region=profile.platform.region,
        timeout_s=profile.drift.cloud_run_timeout_s,
        endpoint=cloud_run_url,
    )
    started, now = monotonic(), datetime.fromisoformat(now_iso)

    def sources() -> DriftSources:
        return DriftSources(cloud_run, GitRepo.open(Path(repo), branch=profile.git.branch))

    def platform() -> Platform:
        return Platform(
            profile, now + timedelta(seconds=monotonic() - started), lambda: warehouse, sources
        )

    return platform


def opsbot_server(options: argparse.Namespace) -> Server:
    from adapters.cloudrun import CloudRun
    from adapters.git import GitRepo
    from checks.drift_model import DriftSources

    profile_path = ROOT / "opsbot.toml"
    profile = load_profile(profile_path)
    if options.deploy_timing:  # e.g. a canary in seconds, as the chaos soak runs them
        timing = json.loads(options.deploy_timing)
        profile = profile.model_copy(update={"deploy": profile.deploy.model_copy(update=timing)})
    if options.in_process_reports:
        profile = profile.model_copy(
            update={"health": profile.health.model_copy(update={"worker_process": False})}
        )
    recipe = partial(
        emulated_platforms, options.bigquery, options.cloud_run, options.repo, options.now
    )
    platform = recipe()
    started, now = monotonic(), datetime.fromisoformat(options.now)

    def sources() -> DriftSources:
        cloud_run = CloudRun.connect(
            project=profile.platform.project,
            region=profile.platform.region,
            timeout_s=profile.drift.cloud_run_timeout_s,
            endpoint=options.cloud_run,
        )
        return DriftSources(cloud_run, GitRepo.open(Path(options.repo), branch=profile.git.branch))

    # Replicas share one store (--database-url); otherwise a fresh SQLite file.
    scratch = Path(tempfile.mkdtemp(prefix="opsbot-bench-")) / "opsbot.db"
    store = BackgroundStore(options.database_url or sqlite_url(scratch)).start()

    def clock() -> datetime:
        return now + timedelta(seconds=monotonic() - started)

    def tools() -> DeployTools:
        found = sources()
        shared = store.rollouts(clock)
        return deploy_tools(
            profile,
            found.cloud_run,
            found.repo,
            shared,
            clock,
            monitoring_endpoint=options.monitoring,
            logging_endpoint=options.logging,
        )

    settings = SlackSettings(
        slack_bot_token=SecretStr(options.token),
        slack_signing_secret=SecretStr(options.secret),
        opsbot_slack_api_url=options.slack_api,
    )
    deploying = Once(tools) if options.monitoring else None
    return http_server(
        Runtime(
            profile,
            Access(profile.slack),
            platform,
            deploy_tools=deploying,
            health_worker=health_worker(profile, recipe, settings),
        ),
        settings,
        store,
        "127.0.0.1",
        0,
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("kind", choices=["opsbot", "minimal"])
    parser.add_argument("--slack-api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--bigquery")
    parser.add_argument("--cloud-run")
    parser.add_argument("--repo")
    parser.add_argument("--now")
    parser.add_argument("--monitoring", help="Monitoring emulator endpoint: enables /deploy")
    parser.add_argument("--logging", help="Logging emulator URL")
    parser.add_argument("--database-url", help="a store shared with other replicas")
    parser.add_argument(
        "--deploy-timing", help='JSON of [deploy] settings to override, e.g. {"interval_s": 1}'
    )
    parser.add_argument(
        "--in-process-reports",
        action="store_true",
        help="build /health reports in the bot's process ([health] worker_process = false)",
    )
    parser.add_argument(
        "--logs",
        action="store_true",
        help="opsbot's log lines on stderr, as `opsbot serve` has them",
    )
    options = parser.parse_args()
    if options.logs:
        configure_logging("text", serving=True)
    if options.kind == "minimal":
        server = minimal_server(options.slack_api, options.token, options.secret)
    else:
        server = opsbot_server(options)
    print(f"READY {server.url}", flush=True)
    sys.stdout.flush()
    tune_for_serving()  # both apps: the process knobs `opsbot serve` sets
    server.serve_forever()


if __name__ == "__main__":
    main()
