"""`opsbot serve` and `opsbot sandbox`: the app on HTTP (or Socket Mode), wired to its platform."""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from opsbot.bot.access import Access
from opsbot.bot.app import build_app
from opsbot.bot.platform import production_platforms, sandbox_platforms, started_sandbox
from opsbot.bot.runtime import Runtime
from opsbot.bot.server import Server, asgi_app, bind
from opsbot.bot.settings import SlackSettings, load_slack_settings
from opsbot.bot.store_startup import BackgroundStore
from opsbot.config import Profile

if TYPE_CHECKING:
    from opsbot.sandbox.platform import Sandbox
    from opsbot.sandbox.slack_emulator import SlackEmulator
    from opsbot.store.database import Database


def health_probe(
    profile: Profile, profile_path: Path, store: BackgroundStore
) -> Callable[[], dict[str, Any]]:
    """/healthz: the profile served (validated at start) and the store answering."""

    def probe() -> dict[str, Any]:
        database = store.get()  # StoreNotReady: 503 with the reason
        database.ping()  # StoreUnavailable: 503 with the reason
        return {
            "profile": str(profile_path),
            "services": len(profile.services),
            "checks": len(profile.health.checks),
            "store": database.engine.dialect.name,
        }

    return probe


def open_database(profile: Profile, profile_path: Path) -> Database:
    """$DATABASE_URL (PostgreSQL, for several replicas), else the profile's SQLite file."""
    from opsbot.store.database import Database, sqlite_url

    url = os.environ.get("DATABASE_URL")
    if not url:
        path = Path(profile.store.sqlite_path).expanduser()
        url = sqlite_url(path if path.is_absolute() else profile_path.parent / path)
    return Database.open(url)


def http_server(
    runtime: Runtime,
    settings: SlackSettings,
    profile_path: Path,
    store: BackgroundStore,
    host: str,
    port: int,
) -> Server:
    app = build_app(runtime, settings)
    probe = health_probe(runtime.profile, profile_path, store)
    return Server(asgi_app(app, probe), bind(host, port))


def serve_production(
    profile: Profile, profile_path: Path, host: str, port: int, announce: Callable[[str], None]
) -> None:
    """Serve Slack for the real platform: HTTP on `port`, or Socket Mode with SLACK_APP_TOKEN."""
    settings = load_slack_settings()
    runtime = Runtime(profile, Access(profile.slack), production_platforms(profile, profile_path))
    if settings.slack_app_token is not None:
        from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

        announce("opsbot: Socket Mode (SLACK_APP_TOKEN is set); no HTTP port is opened")
        handler = AsyncSocketModeHandler(
            build_app(runtime, settings), settings.slack_app_token.get_secret_value()
        )
        asyncio.run(handler.start_async())  # type: ignore[no-untyped-call]
        return
    store = BackgroundStore(lambda: open_database(profile, profile_path))
    server = http_server(runtime, settings, profile_path, store, host, port)
    announce(f"opsbot: serving Slack at {server.url}/slack/events (health: {server.url}/healthz)")
    store.start()
    try:
        server.serve_forever()
    finally:
        store.close()


def open_sqlite(path: Path) -> Database:
    from opsbot.store.database import Database, sqlite_url

    return Database.open(sqlite_url(path))


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
    profile_path: Path,
    platform: Sandbox,
    *,
    port: int = 0,
    console_port: int = 0,
) -> Iterator[SandboxBot]:
    """The bot on loopback wired to a running sandbox and a Slack emulator; its server not started."""
    from opsbot.sandbox.slack_emulator import SlackEmulator

    slack = SlackEmulator()
    slack.start(port=console_port)
    state = tempfile.TemporaryDirectory(prefix="opsbot-sandbox-state-")
    store = BackgroundStore(lambda: open_sqlite(Path(state.name) / "opsbot.db")).start()
    try:
        settings = SlackSettings(
            slack_bot_token=SecretStr(slack.workspace.bot_token),
            slack_signing_secret=SecretStr(secrets.token_hex(16)),
            opsbot_slack_api_url=slack.api_url,
        )
        runtime = Runtime(profile, Access(profile.slack), sandbox_platforms(profile, platform))
        server = http_server(runtime, settings, profile_path, store, "127.0.0.1", port)
        slack.connect_app(
            f"{server.url}/slack/events", settings.slack_signing_secret.get_secret_value()
        )
        yield SandboxBot(platform, slack, server, runtime, store)
    finally:
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
    """`opsbot sandbox`: everything started, `ready` told where, served until interrupted."""
    with (
        started_sandbox(announce) as platform,
        sandbox_bot(profile, profile_path, platform, port=port, console_port=console_port) as bot,
    ):
        ready(bot)
        bot.server.serve_forever()
