"""Alembic's environment: migrate the connection opsbot hands over (see store/database.py)."""

from __future__ import annotations

from alembic import context

from store.schema import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - opsbot always passes its own connection
    raise RuntimeError("run migrations through store.database.migrate()")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying them
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
