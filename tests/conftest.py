"""One sandbox for the whole run: the real BigQuery client against the emulator on loopback."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


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
def sandbox(seed_cache: Path) -> Iterator[Any]:
    from opsbot.sandbox.platform import Sandbox

    with Sandbox() as running:
        yield running


@pytest.fixture(scope="session")
def profile() -> Any:
    from opsbot.config import load_profile

    return load_profile(ROOT / "opsbot.toml")


def connect(sandbox: Any, profile: Any, **overrides: Any) -> Any:
    from opsbot.adapters.bigquery import BigQueryWarehouse

    settings: dict[str, Any] = {
        "project": profile.platform.project,
        "location": profile.bigquery.location,
        "maximum_bytes_billed": profile.bigquery.maximum_bytes_billed,
        "timeout_s": profile.bigquery.query_timeout_s,
        "endpoint": sandbox.bigquery_url,
    }
    settings.update(overrides)
    return BigQueryWarehouse.connect(**settings)


@pytest.fixture(scope="session")
def warehouse(sandbox: Any, profile: Any) -> Any:
    return connect(sandbox, profile)


def run_health(
    profile: Any, warehouse: Any, as_of: date | None, now: datetime | None = None
) -> Any:
    from opsbot.commands.health import run_health as run
    from opsbot.sandbox.demo_season import SANDBOX_NOW

    return asyncio.run(run(profile, warehouse, now=now or SANDBOX_NOW, as_of=as_of))
