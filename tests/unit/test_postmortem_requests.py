"""What `/postmortem` accepts: a rollout by its number, a game day that has been played, `last`."""

from __future__ import annotations

import re
from datetime import date

import pytest

from commands.errors import RequestError
from commands.postmortem.build import Subject, parse_request

TODAY = date(2026, 2, 5)


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("rollout 1", Subject("rollout", "1")),
        ("rollout #12", Subject("rollout", "12")),
        ("rollout 007", Subject("rollout", "7")),
        (f"rollout {2**31 - 1}", Subject("rollout", str(2**31 - 1))),
        ("2000-01-01", Subject("date", "2000-01-01")),
        ("2026-02-05", Subject("date", "2026-02-05")),
        ("last", None),
    ],
)
def test_a_request_within_bounds_names_its_incident(text: str, subject: Subject | None) -> None:
    assert parse_request(text, today=TODAY) == subject


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("rollout ²", "bad rollout '²'"),  # str.isdigit() says yes; int() says no
        ("rollout ١٢", "bad rollout '١٢'"),  # Arabic-Indic digits: int() would take them
        ("rollout 99999999999999999999", "bad rollout '99999999999999999999'"),
        (f"rollout {2**31}", f"bad rollout '{2**31}'"),
        ("rollout 0", "bad rollout '0'"),
        ("rollout #", "bad rollout '#'"),
        ("rollout -3", "bad rollout '-3'"),
        ("0001-01-01", "0001-01-01 is before 2000-01-01"),
        ("1999-12-31", "1999-12-31 is before 2000-01-01"),
        ("9999-12-31", "9999-12-31 is in the future"),
        ("2026-02-06", "2026-02-06 is in the future"),
        ("２０２６-01-28", "expected rollout N"),  # full-width digits are not a date
    ],
)
def test_an_impossible_incident_is_a_usage_error(text: str, said: str) -> None:
    with pytest.raises(RequestError, match=re.escape(said)):
        parse_request(text, today=TODAY)


def test_without_today_only_the_floor_is_checked() -> None:
    assert parse_request("2030-01-01") == Subject("date", "2030-01-01")
    with pytest.raises(RequestError, match="before 2000-01-01"):
        parse_request("0001-01-01")
