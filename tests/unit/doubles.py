"""What unit tests of pure check logic stand on: a context whose warehouse must never be asked."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from checks.base import CheckContext
from config import Profile


class NoWarehouse:
    def run(self, query: Any) -> list[dict[str, Any]]:
        raise AssertionError("pure logic under test must not query")


def minimal_profile() -> Profile:
    return Profile.model_validate(
        {"platform": {"project": "nba-props-platform", "region": "us-west2"}}
    )


def context(
    profile: Profile | None = None,
    as_of: date = date(2026, 2, 5),
    now: datetime = datetime(2026, 2, 5, 18, tzinfo=UTC),
) -> CheckContext:
    return CheckContext(
        as_of=as_of, now=now, profile=profile or minimal_profile(), warehouse=NoWarehouse()
    )
