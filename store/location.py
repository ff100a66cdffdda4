"""Where the store is: a URL, chosen without importing SQLAlchemy (the ack path stays light)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from config import StoreConfig


def sqlite_url(path: Path) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def database_url(
    config: StoreConfig, profile_dir: Path, environ: Mapping[str, str] = os.environ
) -> str:
    """$DATABASE_URL (PostgreSQL, for several replicas), else the profile's SQLite file.

    A relative `sqlite_path` is taken from the profile's directory; `~` is expanded.
    """
    if url := environ.get("DATABASE_URL"):
        return url
    path = Path(config.sqlite_path).expanduser()
    return sqlite_url(path if path.is_absolute() else profile_dir / path)
