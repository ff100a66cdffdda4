"""The wall clock: the one `utc_now` that code passes where it needs "now" (tests pass their own)."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_now() -> datetime:
    """Now, timezone-aware in UTC."""
    return datetime.now(UTC)
