"""A canary's ERROR lines in a draft are those it logged while it had traffic (issue 31, item 4)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from adapters.cloud_logging import LogLine
from commands.postmortem.evidence import Evidence, error_lines
from commands.postmortem.tools import PostmortemTools

T0 = datetime(2026, 2, 5, 18, 14, tzinfo=UTC)
ROLLED_BACK = T0 + timedelta(seconds=40)


def _logged(*lines: LogLine) -> PostmortemTools:
    """Tools whose Cloud Logging answers `lines` (what the service may stamp late)."""

    def errors(*_: Any, **__: Any) -> list[LogLine]:
        return list(lines)

    return cast(
        PostmortemTools,
        SimpleNamespace(deploy=SimpleNamespace(logs=SimpleNamespace(errors=errors))),
    )


def test_lines_stamped_after_the_revision_lost_its_traffic_are_left_out_and_said() -> None:
    boom = "KeyError: 'vegas_line'"
    found = Evidence()
    kept = error_lines(
        _logged(
            LogLine(T0 + timedelta(seconds=10), "ERROR", boom),
            LogLine(T0 + timedelta(seconds=30), "ERROR", boom),
            LogLine(ROLLED_BACK + timedelta(seconds=90), "ERROR", boom),  # after the rollback
        ),
        found,
        "alpha",
        "alpha-canary-4",
        [(T0, ROLLED_BACK)],
    )
    assert kept == [T0 + timedelta(seconds=10), T0 + timedelta(seconds=30)]
    assert found.gaps == [
        "1 ERROR line of alpha-canary-4 stamped after 18:14:40 UTC, when it no longer had "
        "traffic, is left out (requests it was still finishing, or lines stamped late: Cloud "
        "Logging does not say which)"
    ]
    [(revision, group)] = found.logged
    assert revision == "alpha-canary-4" and group.count == 2
