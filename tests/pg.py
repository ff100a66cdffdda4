"""A private PostgreSQL schema for one test or benchmark run, dropped afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

from store.database import normalise_url


@contextmanager
def private_schema(base: str, prefix: str = "opsbot_test") -> Iterator[str]:
    """A URL of the database at `base` whose search_path is a fresh schema of its own."""
    schema = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(normalise_url(base))
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
