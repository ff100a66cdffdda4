"""The store tests' clock and store; `database` (SQLite, then PostgreSQL) is in tests/conftest.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from store.database import Database
from store.rollouts import Store

T0 = datetime(2026, 2, 5, 18, tzinfo=UTC)


class Clock:
    """A settable clock for the store's timestamps."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(database: Database, clock: Clock) -> Store:
    return Store(database, clock)
