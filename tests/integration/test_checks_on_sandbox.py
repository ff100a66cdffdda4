"""Every check's OK, WARN, CRITICAL and NOT_APPLICABLE paths, driven by the sandbox's dates.

docs/sandbox.md lists the planted incidents these dates exercise.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest

from checks.result import Overall, Status
from config import Profile
from tests.conftest import connect, run_health

OK, WARN, CRIT, NA, ERR = (
    Status.OK,
    Status.WARN,
    Status.CRITICAL,
    Status.NOT_APPLICABLE,
    Status.ERROR,
)
QUIET_DAY = date(2025, 12, 5)


def with_overrides(profile: Profile, changes: dict[str, Any]) -> Profile:
    data = profile.model_dump()
    for section, values in changes.items():
        data[section].update(values)
    return Profile.model_validate(data)


@pytest.fixture(scope="module")
def statuses(profile: Profile, warehouse: Any) -> Any:
    cache: dict[date, Any] = {}

    async def at(day: date) -> dict[str, Any]:
        if day not in cache:
            report = await run_health(profile, warehouse, day)
            cache[day] = {r.name: r for r in report.results}
        found: dict[str, Any] = cache[day]
        return found

    return at


@pytest.mark.parametrize(
    ("check", "day", "expected", "why"),
    [
        ("vegas_line_coverage", QUIET_DAY, OK, "a normal ~42% day"),
        ("vegas_line_coverage", date(2026, 2, 2), WARN, "partial recovery at 27%"),
        ("vegas_line_coverage", date(2026, 1, 28), CRIT, "the undeployed-fix regression at 14%"),
        ("vegas_line_coverage", date(2025, 11, 27), NA, "Thanksgiving: no games"),
        ("grading_completeness", QUIET_DAY, OK, "every model graded"),
        ("grading_completeness", date(2026, 1, 17), WARN, "catboost_v8 60% graded for a week"),
        ("grading_completeness", date(2026, 2, 5), CRIT, "ensembles left ungraded for a week"),
        (
            "grading_completeness",
            date(2025, 10, 21),
            NA,
            "opening night: no finished dates before it",
        ),
        ("phase3_completion", QUIET_DAY, OK, "5 of 5"),
        ("phase3_completion", date(2026, 1, 16), WARN, "3 of 5 on 2026-01-15"),
        ("phase3_completion", date(2025, 12, 11), CRIT, "1 of 5 on 2025-12-10"),
        (
            "phase3_completion",
            date(2026, 1, 14),
            CRIT,
            "player_game_summary reported success on 2026-01-13 having written nothing",
        ),
        ("phase3_completion", date(2025, 11, 28), NA, "yesterday was Thanksgiving"),
        ("recent_predictions", QUIET_DAY, OK, "a full slate"),
        ("recent_predictions", date(2025, 12, 16), OK, "one-game slate: thresholds scale down"),
        ("recent_predictions", date(2026, 1, 8), WARN, "30% of players predicted"),
        ("recent_predictions", date(2026, 1, 9), CRIT, "the worker wrote nothing"),
        ("recent_predictions", date(2025, 11, 27), NA, "Thanksgiving: no games"),
        ("bdb_coverage", QUIET_DAY, OK, "all games covered"),
        ("bdb_coverage", date(2026, 1, 21), WARN, "5 of 9 on 2026-01-20"),
        ("bdb_coverage", date(2026, 1, 22), CRIT, "0 of 8 on 2026-01-21"),
        (
            "bdb_coverage",
            date(2025, 11, 28),
            NA,
            "yesterday was Thanksgiving (the original divided by zero)",
        ),
    ],
)
async def test_check_paths(
    statuses: Any, check: str, day: date, expected: Status, why: str
) -> None:
    result = (await statuses(day))[check]
    assert result.status is expected, f"{check} on {day} ({why}): {result.detail}"
    if expected in (WARN, CRIT):
        assert result.action, "a failing check suggests what to run"
    if expected is NA:
        assert result.value is None


async def test_a_quiet_day_is_all_ok(profile: Profile, warehouse: Any) -> None:
    report = await run_health(profile, warehouse, QUIET_DAY)
    assert (report.status, report.score) == (Overall.OK, 100.0)


async def test_default_sandbox_day_is_critical_for_the_ungraded_ensembles(
    profile: Profile, warehouse: Any
) -> None:
    report = await run_health(profile, warehouse, None)
    assert report.as_of == date(2026, 2, 5)
    grading = next(r for r in report.results if r.name == "grading_completeness")
    failing = {row["model"] for row in grading.breakdown if row["status"] != "OK"}
    assert failing == {"ensemble_v1", "ensemble_v1_1"}
    # both definitions side by side: graded rows vs predictions whose player has actuals
    ensemble = next(row for row in grading.breakdown if row["model"] == "ensemble_v1")
    assert ensemble["graded_pct"] < 50 and ensemble["with_actuals_pct"] == 100.0
    assert "2026-01-29" in ensemble["dates_behind"] and "2026-02-04" not in ensemble["dates_behind"]
    assert grading.action and '"target_date": "2026-02-03"' in grading.action
    assert (report.status, report.score, report.status.exit_code) == (Overall.CRITICAL, 80.0, 2)


async def test_vegas_coverage_carries_value_baseline_and_window(statuses: Any) -> None:
    result = (await statuses(date(2026, 1, 28)))["vegas_line_coverage"]
    assert result.value is not None and result.value < 20
    assert result.baseline is not None and 38 < result.baseline < 46
    assert result.window is not None and result.window.end == date(2026, 1, 28)
    # the window is the 28 game days of the baseline, not the SQL's wider calendar range
    assert 28 <= (result.window.end - result.window.start).days <= 35


async def test_recent_predictions_do_not_apply_before_the_generation_hour(
    profile: Profile, warehouse: Any
) -> None:
    morning = datetime(
        2026, 2, 5, 14, 0, tzinfo=UTC
    )  # 09:00 ET, before the 12:00 ET generation hour
    report = await run_health(profile, warehouse, None, now=morning)
    result = next(r for r in report.results if r.name == "recent_predictions")
    assert result.status is NA
    assert "09:00 ET" in result.detail


async def test_a_missing_table_is_an_error_naming_it_and_the_rest_still_report(
    profile: Profile, sandbox: Any
) -> None:
    broken = with_overrides(profile, {"tables": {"bdb_play_by_play": "nba_raw.bdb_gone"}})
    report = await run_health(broken, connect(sandbox, broken), QUIET_DAY)
    by_name = {r.name: r for r in report.results}
    assert by_name["bdb_coverage"].status is ERR
    assert "nba_raw.bdb_gone" in by_name["bdb_coverage"].detail
    assert all(r.status is OK for name, r in by_name.items() if name != "bdb_coverage")
    assert report.score == 80.0


async def test_a_slow_query_times_out_as_an_error_and_the_rest_still_report(
    profile: Profile, sandbox: Any
) -> None:
    # 2 s: far under the slow query's 5 s, and enough for the other checks on a busy CI machine
    # (the suite runs three workers on two cores)
    impatient = with_overrides(
        profile, {"health": {"check_timeout_s": 2.0}, "bigquery": {"query_timeout_s": 2.0}}
    )
    sandbox.bigquery.set_latency(5.0, matching="phase_completions")
    try:
        report = await run_health(impatient, connect(sandbox, impatient), QUIET_DAY)
    finally:
        sandbox.bigquery.clear_latency()
    by_name = {r.name: r for r in report.results}
    assert by_name["phase3_completion"].status is ERR
    assert "timed out" in by_name["phase3_completion"].detail
    assert [r.status for n, r in by_name.items() if n != "phase3_completion"] == [OK] * 4


async def test_the_byte_cap_from_the_profile_reaches_every_query(
    profile: Profile, sandbox: Any
) -> None:
    capped = with_overrides(profile, {"bigquery": {"maximum_bytes_billed": 10_000}})
    report = await run_health(capped, connect(sandbox, capped), QUIET_DAY)
    assert {r.status for r in report.results} == {ERR}
    assert all("maximum_bytes_billed" in r.detail for r in report.results)
    assert report.status is Overall.CRITICAL


async def test_a_table_without_permission_is_an_error_naming_it(
    profile: Profile, sandbox: Any
) -> None:
    sandbox.bigquery.denied_tables.add("nba_orchestration.phase_completions")
    try:
        report = await run_health(profile, connect(sandbox, profile), QUIET_DAY)
    finally:
        sandbox.bigquery.denied_tables.clear()
    phase3 = next(r for r in report.results if r.name == "phase3_completion")
    assert phase3.status is ERR
    assert phase3.detail.startswith("permission denied reading nba_orchestration.phase_completions")
    assert sum(r.status is OK for r in report.results) == 4


async def test_the_query_timeout_bounds_the_client_and_its_retries(
    profile: Profile, sandbox: Any
) -> None:
    # The runner's 20 s check timeout would answer if the client kept retrying (it used to: the
    # client's own job retry defaults to 40 minutes); the adapter must give up after its 0.5 s.
    patient = with_overrides(
        profile, {"health": {"check_timeout_s": 20}, "bigquery": {"query_timeout_s": 0.5}}
    )
    sandbox.bigquery.set_latency(3.0, matching="bigdataball")
    try:
        report = await run_health(patient, connect(sandbox, patient), QUIET_DAY)
    finally:
        sandbox.bigquery.clear_latency()
    bdb = next(r for r in report.results if r.name == "bdb_coverage")
    assert bdb.status is ERR
    assert bdb.detail.startswith("timed out after 0.5s reading nba_raw.bigdataball_play_by_play")


async def test_a_processor_that_reported_success_having_written_nothing_is_critical(
    statuses: Any,
) -> None:
    """The planted 2026-01-13: all five processors say `success`; one wrote 0 of 130 rows."""
    result = (await statuses(date(2026, 1, 14)))["phase3_completion"]
    assert result.status is CRIT and result.value == 4.0
    assert "player_game_summary reported success but wrote 0 of 130 expected rows" in result.detail
    empty = next(row for row in result.breakdown if row["processor"] == "player_game_summary")
    assert empty == {
        "processor": "player_game_summary",
        "state": "empty",
        "complete": False,
        "rows": 0,
        "expected_rows": 130,  # 5 games × 26 active players
        "baseline_rows": 130,  # its median per game over the previous 28 game days
    }
    assert result.action and "player_game_summary" in result.action


async def test_every_volume_check_shows_expected_against_actual_on_a_normal_day(
    statuses: Any,
) -> None:
    by_name = await statuses(QUIET_DAY)
    phase3 = by_name["phase3_completion"].breakdown
    assert all(row["rows"] == row["expected_rows"] == row["baseline_rows"] for row in phase3)
    predictions = by_name["recent_predictions"].breakdown
    assert [row["model"] for row in predictions] == [
        "catboost_v9",
        "catboost_v8",
        "ensemble_v1",
        "ensemble_v1_1",
    ]
    assert all(
        row["players"] == row["expected"] and row["rows_per_player"] == 1.0 for row in predictions
    )
    games = by_name["bdb_coverage"].breakdown
    assert games and all(row["events"] == row["expected_events"] for row in games)
    grading = by_name["grading_completeness"].breakdown
    assert all(
        row["voided_baseline_pct"] is not None and not row["dates_voided"] for row in grading
    )
