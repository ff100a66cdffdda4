"""The likely-cause rules attacked with commit subjects and breakdowns the sandbox does not
plant, each as on-call would notice it wrong: a commit that is no fix named as the fix waiting
on main, and a grading failure seen only in its voided share placed on the wrong day."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from checks.result import CheckResult, Status, Window
from commands.fix_names import check_words, is_fix, names_check
from commands.health_causes.span import span_of
from opsbot.profile import load_profile

PROFILE = load_profile(Path(__file__).resolve().parents[2] / "opsbot.toml")
NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)


def _named_as_fix(subject: str, check: str) -> bool:
    """The rule commands/health_causes/drift.py applies to an undeployed commit."""
    return is_fix(subject) and names_check(subject, check_words(check))


FIXES = (  # what the rule must keep calling a fix
    "fix(phase4): restore Vegas line coverage",
    "Fixes vegas line coverage for late games",
    "fixed: coverage of Vegas lines",
    "fix!: vegas lines for every player",
)


@pytest.mark.parametrize(
    "subject",
    [
        "fixtures(phase4): refresh the vegas line coverage samples",
        "fixture: vegas coverage test data for 2026-01",
        "fixup! feat(phase4): vegas lines from BettingPros",
    ],
)
def test_a_commit_that_only_begins_with_the_letters_fix_is_no_fix(subject: str) -> None:
    """Was: any subject starting with the three letters ("fixtures", "fixup!") counted as a fix,
    so test data for the Vegas check was named the undeployed fix of its alarm, outranking the
    deploy that caused it. A fix is still one, whatever its form."""
    assert not _named_as_fix(subject, "vegas_line_coverage")
    assert all(_named_as_fix(fix, "vegas_line_coverage") for fix in FIXES)


def test_a_date_failing_only_by_its_voided_share_is_the_first_failing_day() -> None:
    """grading_completeness on 2026-01-22 fails because 2026-01-16 was voided far above its
    baseline (grading ran before the actuals), every date fully graded. The cause's window must
    be that day's, not the window's last day (2026-01-21): a deploy is judged against the day
    that went wrong, and "first failing game day" says that day."""
    grading = CheckResult(
        name="grading_completeness",
        status=Status.CRITICAL,
        detail="voided above baseline: catboost_v9 on 2026-01-16",
        window=Window(date(2026, 1, 15), date(2026, 1, 21)),
        breakdown=[
            {
                "model": "catboost_v9",
                "status": "CRITICAL",
                "worst_date_pct": 100.0,
                "dates_behind": [],
                "dates_voided": ["2026-01-16"],
            }
        ],
    )
    span = span_of(grading, date(2026, 1, 22), PROFILE, NOW)
    assert span is not None and span.first_day == date(2026, 1, 16)


@pytest.mark.parametrize(
    ("subject", "check"),
    [
        ("fix: line endings in the CSV export", "vegas_line_coverage"),
        ("fix: recent schema change to the lookup table", "recent_predictions"),
        ("fix(shared): completion callback retried twice", "phase3_completion"),
    ],
)
def test_a_fix_about_something_else_is_not_named_the_checks_fix(subject: str, check: str) -> None:
    """Each is a fix touching the writer's sources whose words happen to include one of the
    check's: it would be the top likely cause ("the fix … is on main but not deployed")."""
    assert not _named_as_fix(subject, check)
