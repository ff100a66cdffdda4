"""The store a terminal command reads and writes: the profile's, or a fresh one for the sandbox."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from config import Profile
from store.location import database_url, sqlite_url

if TYPE_CHECKING:
    from store.rollouts import Store


@contextmanager
def opened_store(
    profile: Profile,
    profile_path: Path,
    sandbox: bool,
    clock: Callable[[], datetime],
    shared: str | None = None,
) -> Iterator[Store]:
    """$DATABASE_URL or the profile's SQLite file. With `sandbox`: the running sandbox's store
    (`shared`), else $DATABASE_URL, else a fresh store for this run."""
    from store.database import Database
    from store.rollouts import Store

    with tempfile.TemporaryDirectory(prefix="opsbot-cli-") as scratch:
        if sandbox:
            url = (
                shared or os.environ.get("DATABASE_URL") or sqlite_url(Path(scratch) / "opsbot.db")
            )
        else:
            url = database_url(profile.store, profile_path.parent)
        database = Database.open(url)
        try:
            yield Store(database, clock)
        finally:
            database.close()


@contextmanager
def remembering_store(
    profile: Profile,
    profile_path: Path,
    sandbox: bool,
    clock: Callable[[], datetime],
    shared: str | None = None,
) -> Iterator[Store | None]:
    """The store that remembers past rollouts, only to read: as `opened_store`, but None when
    there is none (a sandbox run without a store of its own; a profile's SQLite file not yet
    created: reading never creates one)."""
    named = shared or os.environ.get("DATABASE_URL")
    if sandbox and not named:
        yield None
        return
    if not sandbox and not named:
        path = Path(profile.store.sqlite_path).expanduser()
        if not (path if path.is_absolute() else profile_path.parent / path).is_file():
            yield None
            return
    with opened_store(profile, profile_path, sandbox, clock, shared) as store:
        yield store
