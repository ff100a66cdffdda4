"""One sandbox for the whole run: the real BigQuery client against the emulator on loopback."""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest

from adapters.bigquery import BigQueryWarehouse
from adapters.warehouse import Warehouse
from checks.registry import CHECK_NAMES
from checks.result import HealthReport
from commands.health import run_health as run
from config import Profile
from opsbot.logs import configure_logging
from opsbot.profile import load_profile
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.demo_season import SANDBOX_NOW
from sandbox.platform import Sandbox
from sandbox.slack_emulator import SlackEmulator
from store.database import Database
from store.location import sqlite_url
from tests.pg import private_schema

ROOT = Path(__file__).resolve().parents[1]
# Sandboxes in tests (and the CLI processes they start) answer Cloud Run's writes at once, unless
# a test sets its own plan; the demo's default is a few seconds (sandbox/faults.py).
os.environ.setdefault("OPSBOT_SANDBOX_FAULTS", str(ROOT / "tests/fault_plans/instant.toml"))


@pytest.fixture(scope="session", autouse=True)
def seed_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A cache of the demo season private to this run (subprocesses inherit it)."""
    previous = os.environ.get("OPSBOT_CACHE_DIR")
    path = tmp_path_factory.mktemp("opsbot-cache")
    os.environ["OPSBOT_CACHE_DIR"] = str(path)
    yield path
    if previous is None:
        os.environ.pop("OPSBOT_CACHE_DIR", None)
    else:
        os.environ["OPSBOT_CACHE_DIR"] = previous


@pytest.fixture(scope="session")
def sandbox(seed_cache: Path) -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


WAREHOUSE_CHECKS = [name for name in CHECK_NAMES if name != "deployment_drift"]


@pytest.fixture(scope="session")
def profile() -> Profile:
    """The shipped profile with its warehouse checks (drift has its own tests and fixtures)."""
    shipped = load_profile(ROOT / "opsbot.toml")
    health = shipped.health.model_copy(update={"checks": WAREHOUSE_CHECKS})
    return shipped.model_copy(update={"health": health})


def connect(sandbox: Sandbox, profile: Profile) -> BigQueryWarehouse:
    """The real BigQuery client on the sandbox's emulator, configured by `profile`."""
    return BigQueryWarehouse.from_profile(profile, endpoint=sandbox.bigquery_url)


@pytest.fixture(scope="session")
def warehouse(sandbox: Sandbox, profile: Profile) -> BigQueryWarehouse:
    return connect(sandbox, profile)


async def run_health(
    profile: Profile, warehouse: Warehouse, as_of: date | None, now: datetime | None = None
) -> HealthReport:
    return await run(profile, warehouse, now=now or SANDBOX_NOW, as_of=as_of)


@pytest.fixture(scope="session")
def served_bot(sandbox: Sandbox) -> Iterator[SandboxBot]:
    """The bot served over HTTP on loopback, wired to the sandbox and a Slack emulator."""
    profile_path = ROOT / "opsbot.toml"
    with sandbox_bot(load_profile(profile_path), sandbox) as bot:
        thread = bot.server.start_in_thread()
        yield bot
        bot.server.stop(thread)


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    """A Slack emulator of its own (an empty workspace) for a test that posts without the bot."""
    emulator = SlackEmulator()
    emulator.start()
    yield emulator
    emulator.stop()


@pytest.fixture
def served_log() -> Iterator[io.StringIO]:
    """The log as `opsbot serve --log-format json` writes it; pytest's own handlers put back."""
    root, ours = logging.getLogger(), logging.getLogger("opsbot")
    kept = (root.handlers[:], root.level, ours.level)
    stream = io.StringIO()
    configure_logging("json", stream=stream, serving=True)
    yield stream
    root.handlers[:], _, _ = kept
    root.setLevel(kept[1])
    ours.setLevel(kept[2])


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database of each kind: a file for SQLite, a private schema for PostgreSQL."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "opsbot.db")
        return
    base = os.environ.get("OPSBOT_TEST_DATABASE_URL")
    if not base:
        pytest.skip(
            "OPSBOT_TEST_DATABASE_URL is not set (.ci/run sets it): PostgreSQL store tests skipped"
        )
    with private_schema(base) as url:
        yield url


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    opened = Database.open(database_url)
    yield opened
    opened.close()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The chaos soak takes minutes: it runs only when asked for (`-m chaos`)."""
    if "chaos" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="the chaos soak runs with: pytest -m chaos -n 0")
    for item in items:
        if item.get_closest_marker("chaos") is not None:
            item.add_marker(skip)
