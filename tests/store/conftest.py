"""The same store tests on SQLite and on PostgreSQL (OPSBOT_TEST_DATABASE_URL; skipped without)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from store.database import Database
from store.location import sqlite_url
from store.rollouts import Store
from tests.pg import private_schema

T0 = datetime(2026, 2, 5, 18, tzinfo=UTC)


class Clock:
    """A settable clock for the store's timestamps."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


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


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database: Database, clock: Clock) -> Store:
    return Store(database, clock)
