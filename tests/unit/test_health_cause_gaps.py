"""What could not be read while a failing check's likely causes were looked for is said with
them, in the terminal, in Slack and in --json; "no likely cause found" is said only when all
could be read (pure: the platform's sources are a callable that fails as Cloud Run would)."""

from __future__ import annotations

import pickle
from datetime import UTC, date, datetime
from pathlib import Path

from adapters.cloudrun_model import CloudRunError
from bot.views.health_causes import cause_blocks
from checks.drift_model import DriftSources
from checks.result import Cause, CauseKind, CheckResult, HealthReport, Status, Window
from cli.health_output import NO_CAUSE, cause_lines
from commands.health_causes.finder import CauseFinder
from opsbot.profile import load_profile

PROFILE = load_profile(Path(__file__).resolve().parents[2] / "opsbot.toml")
NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)
DAY = date(2026, 1, 28)
DENIED = "Cloud Run: permission denied (reads need roles/run.viewer)"


def _denied() -> DriftSources:
    raise CloudRunError(DENIED)


def _failing(name: str, window: Window, **more: object) -> CheckResult:
    return CheckResult(name, Status.CRITICAL, "below the floor", window=window, **more)  # type: ignore[arg-type]


def _slack(result: CheckResult) -> str:
    return "\n".join(str(block.to_dict()) for block in cause_blocks(result, DAY))


async def test_each_failing_check_says_what_could_not_be_read_not_that_there_is_no_cause() -> None:
    """Both checks' writers are read from Cloud Run, which refuses: the second check asks for
    what the first already failed to read (read once per report) and says it too."""
    opened: list[int] = []

    def sources() -> DriftSources:
        opened.append(1)
        return _denied()

    finder = CauseFinder(PROFILE, DAY, NOW, sources)
    vegas = _failing("vegas_line_coverage", Window(date(2025, 12, 31), DAY))
    play = _failing("bdb_coverage", Window.day(date(2026, 1, 27)))  # not upstream of vegas
    report = await finder.finish(HealthReport(DAY, [vegas, play], 1.0))
    assert len(opened) == 1  # one attempt for the report, not one per check
    for result in report.results:
        assert result.causes == []
        assert result.causes_incomplete == [f"Cloud Run and git could not be opened ({DENIED})"], (
            result.name
        )
        terminal = "\n".join(cause_lines(result))
        for said in (terminal, _slack(result)):
            assert "no likely cause found" not in said.lower(), said
            assert "likely causes not fully looked for" in said.lower(), said
            assert DENIED in said, said
        assert result.to_json()["causes_incomplete"] == result.causes_incomplete


async def test_a_cause_finder_that_breaks_says_so_instead_of_no_cause() -> None:
    """A breakdown the cause rules cannot read (a date that is none) leaves the check without
    causes, said as not looked for, and the report whole."""
    grading = _failing(
        "grading_completeness",
        Window(date(2026, 1, 21), date(2026, 1, 27)),
        breakdown=[{"model": "catboost_v8", "status": "CRITICAL", "dates_behind": ["01/27"]}],
    )
    report = await CauseFinder(PROFILE, DAY, NOW, None).finish(HealthReport(DAY, [grading], 1.0))
    [result] = report.results
    assert result.causes == []
    assert result.causes_incomplete, "its causes are said not looked for"
    for gap in result.causes_incomplete:
        assert " could not be looked for (ValueError: " in gap, gap
    assert cause_lines(result)[0].startswith("likely causes not fully looked for: its causes")


async def test_all_read_and_nothing_found_is_still_no_likely_cause_found() -> None:
    """Without Cloud Run to read (a warehouse-only run) nothing is missing: none is an answer."""
    phase3 = _failing("phase3_completion", Window.day(date(2026, 1, 27)))
    report = await CauseFinder(PROFILE, DAY, NOW, None).finish(HealthReport(DAY, [phase3], 1.0))
    [result] = report.results
    assert result.causes_incomplete == []
    assert cause_lines(result) == [NO_CAUSE]
    assert "No likely cause found" in _slack(result)


def test_a_cause_found_with_reads_missing_is_said_with_them() -> None:
    """A cause was found, but another writer could not be read: both are said, so on-call does
    not take the first for the only one. The result crosses processes (the report worker)."""
    cause = Cause(CauseKind.JOB, "ensemble_v1: 2 dates behind", action="/regrade 2026-01-29")
    gap = "Cloud Run could not be read for prediction-worker's revisions (timed out)"
    result = _failing(
        "recent_predictions", Window.day(DAY), causes=[cause], causes_incomplete=[gap]
    )
    result = pickle.loads(pickle.dumps(result))
    lines = cause_lines(result)
    assert lines[0] == "likely cause (job): ensemble_v1: 2 dates behind"
    assert lines[1].startswith(f"likely causes not fully looked for: {gap}")
    assert "a cause may be missing" in lines[1]
    slack = _slack(result)
    assert "*1. job* · ensemble_v1: 2 dates behind" in slack
    assert f"Likely causes not fully looked for: {gap}" in slack
    assert result.to_json()["causes_incomplete"] == [gap]
