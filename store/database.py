"""Opening the store: SQLite by default, PostgreSQL with DATABASE_URL; migrated on open."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class StoreUnavailable(Exception):
    """The database cannot be opened or reached; the message says which and how to fix it."""


def normalise_url(url: str) -> str:
    """postgres:// and postgresql:// use psycopg 3 (the driver opsbot ships with)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url.removeprefix(prefix)
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers do not block the writer
    cursor.execute("PRAGMA busy_timeout=10000")  # wait for a writer instead of failing
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str, **options: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, **options)


@cache
def head_revision() -> str | None:
    """The newest migration's revision, read from the migration files without importing alembic.

    None unless the files form one chain with one head (then alembic decides).
    """
    revisions, parents = set(), set()
    for script in (MIGRATIONS / "versions").glob("[0-9]*.py"):
        source = script.read_text(encoding="utf-8")
        revision = re.search(r'^revision: str = "([^"]+)"$', source, re.MULTILINE)
        parent = re.search(r"^down_revision: .* = (.+)$", source, re.MULTILINE)
        if revision is None or parent is None:
            return None
        revisions.add(revision.group(1))
        parents.add(parent.group(1).strip('"'))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def at_head(engine: Engine) -> bool:
    """Whether the database's schema is already the newest migration's (a restart's usual case)."""
    head = head_revision()
    if head is None:
        return False
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
    except DBAPIError:  # no version table yet, or no database: alembic says which
        return False
    return [row[0] for row in versions] == [head]


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent; safe with several replicas).

    A schema already at the newest migration is left alone without importing alembic
    (~0.1 s and 11 MB a process), so a replica restarting on a migrated store skips it.
    """
    if at_head(engine):
        return
    from alembic import command  # ~0.3 s to import: only when a store is opened
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":  # one replica migrates; the others wait
            connection.execute(text("SELECT pg_advisory_xact_lock(7350001)"))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


class Database:
    """An engine and its sessions; `session()` commits on success and rolls back on error."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sessions = sessionmaker(engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str, *, migrated: bool = True, **options: Any) -> Database:
        """The store at `url`, migrated to the newest schema; with `migrated=False` it is only
        read as it is and refused unless already at the newest (a reader beside the process
        that owns the store: two SQLite migrations at once break each other)."""
        engine = make_engine(url, **options)
        try:
            if migrated:
                migrate(engine)
            elif not at_head(engine):
                engine.dispose()
                raise StoreUnavailable(f"the store at {engine.url!r} is not migrated yet")
        except OperationalError as exc:
            engine.dispose()
            raise StoreUnavailable(f"cannot open the store at {engine.url!r}: {exc.orig}") from None
        return cls(engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def ping(self) -> None:
        """Raise StoreUnavailable unless the database answers."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except OperationalError as exc:
            raise StoreUnavailable(f"the store does not answer: {exc.orig}") from None

    def close(self) -> None:
        self.engine.dispose()
