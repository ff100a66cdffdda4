"""No input reaches SQL text: every value travels as a named query parameter."""

from __future__ import annotations

from typing import Any

import pytest

from checks.result import Status
from commands.errors import RequestError
from commands.health import parse_game_date
from config import ConfigError, Profile
from opsbot.profile import load_profile
from tests.conftest import ROOT, connect, run_health
from tests.integration.test_checks_on_sandbox import QUIET_DAY

HOSTILE = "x'); DROP TABLE nba_reference.nba_schedule; --\" OR 1=1 @as_of `"


async def test_hostile_text_in_every_string_input_stays_a_parameter(
    profile: Profile, sandbox: Any
) -> None:
    hostile = Profile.model_validate(
        {
            **profile.model_dump(),
            "checks": {
                **profile.model_dump()["checks"],
                "grading_completeness": {"gradable_line_sources": [HOSTILE]},
                "phase3_completion": {
                    "phase": HOSTILE,
                    "success_status": HOSTILE,
                    "expected_processors": [HOSTILE],
                },
                "recent_predictions": {"model": HOSTILE},
            },
        }
    )
    first = len(sandbox.bigquery.received)
    report = await run_health(hostile, connect(sandbox, hostile), QUIET_DAY)
    received = sandbox.bigquery.received[first:]
    assert len(received) == len(report.results)
    for query in received:
        assert HOSTILE not in query.sql and "DROP TABLE" not in query.sql
    sent_values = [v for q in received for v in q.parameters.values()]
    assert HOSTILE in sent_values or [HOSTILE] in sent_values
    # The text matched nothing, so the checks judged empty data instead of erroring...
    assert all(r.status is not Status.ERROR for r in report.results), [
        r.detail for r in report.results
    ]
    # ...and nothing was dropped.
    again = await run_health(profile, connect(sandbox, profile), QUIET_DAY)
    assert again.score == 100.0


def test_hostile_table_names_are_refused_by_the_profile(tmp_path: Any) -> None:
    text = (
        (ROOT / "opsbot.toml")
        .read_text()
        .replace('schedule = "nba_reference.nba_schedule"', 'schedule = "a.b` WHERE 1=1 --"')
    )
    path = tmp_path / "opsbot.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=r"tables\.schedule"):
        load_profile(path)


@pytest.mark.parametrize("text", [HOSTILE, "2026-02-05' OR '1'='1", "yesterday", ""])
def test_hostile_dates_never_reach_a_query(text: str) -> None:
    with pytest.raises(RequestError, match="expected YYYY-MM-DD"):
        parse_game_date(text)
