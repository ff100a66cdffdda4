"""The report worker reads opsbot's store beside the bot's process, which owns and migrates it:
a reader that migrated too made two SQLite migrations run at once, and the bot's failed with
"no such table: rollouts" (seen in CI: /healthz then said the store could not be opened)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from store.database import Database, StoreUnavailable
from store.location import sqlite_url


def test_a_reader_of_a_store_not_yet_migrated_is_refused_and_changes_nothing(
    tmp_path: Path,
) -> None:
    path = tmp_path / "opsbot.db"
    with pytest.raises(StoreUnavailable, match="not migrated yet"):
        Database.open(sqlite_url(path), migrated=False)
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_master").fetchall()
    assert tables == []  # nothing created: the owner migrates it, once


def test_a_reader_opens_a_store_its_owner_migrated(tmp_path: Path) -> None:
    url = sqlite_url(tmp_path / "opsbot.db")
    Database.open(url).engine.dispose()  # the bot's process: migrated
    reader = Database.open(url, migrated=False)
    try:
        with reader.engine.connect() as connection:
            assert connection.exec_driver_sql("SELECT count(*) FROM rollouts").scalar() == 0
    finally:
        reader.engine.dispose()
