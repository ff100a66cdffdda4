"""The rules that decide what /health may call a failing check's likely cause (pure: no
platform), each as on-call would notice it broken."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from adapters.cloudrun_model import Revision
from checks.result import Cause, CauseKind, CheckResult, FixKind, Status, Window
from commands.fix_names import names_check
from commands.health_causes.deploys import ended_with
from commands.health_causes.jobs import job_causes
from commands.health_causes.rank import Candidate, Strength, ranked
from commands.health_causes.records import Records
from commands.health_causes.span import span_of
from commands.health_causes.upstream import upstream_causes
from opsbot.profile import load_profile

PROFILE = load_profile(Path(__file__).resolve().parents[2] / "opsbot.toml")
NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)


def _result(
    name: str, window: Window, status: Status = Status.CRITICAL, **more: object
) -> CheckResult:
    return CheckResult(name=name, status=status, detail="", window=window, **more)  # type: ignore[arg-type]


def test_a_deploy_after_the_judged_data_was_due_is_not_inside_the_window() -> None:
    """Phase 3 of 2026-01-13 is judged on the 14th at noon ET: the 13th's deploy made that
    data, the 14th's afternoon rollback did not."""
    phase3 = _result("phase3_completion", Window.day(date(2026, 1, 13)))
    span = span_of(phase3, date(2026, 1, 14), PROFILE, NOW)
    assert span is not None and span.opened
    assert span.holds(datetime(2026, 1, 13, 15, tzinfo=UTC))
    assert not span.holds(datetime(2026, 1, 14, 18, 30, tzinfo=UTC))  # 13:30 ET
    assert span.holds(datetime(2026, 1, 12, 6, tzinfo=UTC))  # the day before: lead_hours
    assert not span.holds(datetime(2026, 1, 11, 4, tzinfo=UTC))


def test_a_baseline_window_does_not_move_the_day_judged() -> None:
    """Vegas lines are judged on their own day; the window also holds 28 days of baseline."""
    vegas = _result("vegas_line_coverage", Window(date(2025, 12, 20), date(2026, 1, 27)))
    span = span_of(vegas, date(2026, 1, 27), PROFILE, NOW)
    assert span is not None and span.first_day == date(2026, 1, 27) and span.opened


def test_a_week_failing_since_its_first_day_names_no_deploy_inside_it() -> None:
    """catboost_v8 failed since before the window began: a deploy in it did not begin it."""
    grading = _result(
        "grading_completeness",
        Window(date(2026, 1, 15), date(2026, 1, 21)),
        Status.WARN,
        breakdown=[{"model": "catboost_v8", "status": "WARN", "dates_behind": ["2026-01-15"]}],
    )
    span = span_of(grading, date(2026, 1, 22), PROFILE, NOW)
    assert span is not None and span.first_day == date(2026, 1, 15) and not span.opened


def test_only_a_fixs_own_words_name_the_check_not_its_area() -> None:
    words = ["grading", "completeness"]
    assert not names_check("fix(grading): faster player lookup", words)
    assert names_check("fix(phase4): restore Vegas line coverage", ["vegas", "line", "coverage"])
    assert not names_check("fix(phase4): pipeline cleanup", ["line"])  # whole words only


def test_dates_not_graded_at_all_outrank_a_deploy_and_regrade_exactly_those_dates() -> None:
    grading = _result(
        "grading_completeness",
        Window(date(2026, 1, 29), date(2026, 2, 4)),
        breakdown=[
            {"model": "catboost_v9", "status": "OK", "dates_behind": []},
            {
                "model": "ensemble_v1",
                "status": "CRITICAL",
                "worst_date_pct": 0.0,
                "dates_behind": ["2026-01-29", "2026-02-03"],
            },
        ],
    )
    [job] = job_causes(grading, PROFILE, Records())
    assert job.strength > Strength.DEPLOY
    assert "did not run" in job.cause.evidence and "ensemble_v1" in job.cause.evidence
    fix = job.cause.fix
    assert fix is not None and fix.kind is FixKind.REGRADE
    assert (fix.start, fix.end) == (date(2026, 1, 29), date(2026, 2, 3))
    assert job.cause.action == "/regrade 2026-01-29 2026-02-03"


def test_the_strongest_evidence_comes_first_and_a_cause_is_said_once() -> None:
    def cause(kind: CauseKind, service: str, day: int) -> Cause:
        return Cause(kind, "…", service=service, since=datetime(2026, 1, day, tzinfo=UTC))

    deploy_old, deploy_new = cause(CauseKind.DEPLOY, "a", 1), cause(CauseKind.DEPLOY, "b", 3)
    fix = cause(CauseKind.DRIFT, "a", 2)
    found = ranked(
        [
            Candidate(Strength.DEPLOY, deploy_old),
            Candidate(Strength.DEPLOY, deploy_new),
            Candidate(Strength.NAMED_FIX, fix),
            Candidate(Strength.NAMED_FIX, fix),
        ],
        shown=3,
    )
    assert found == [fix, deploy_new, deploy_old]  # then the latest before the data was due


def test_an_upstream_check_that_failed_after_this_one_began_is_not_its_cause() -> None:
    grading = _result(
        "grading_completeness",
        Window(date(2026, 1, 7), date(2026, 1, 13)),
        Status.WARN,
        breakdown=[{"model": "catboost_v8", "status": "WARN", "dates_behind": ["2026-01-10"]}],
    )
    later = _result("phase3_completion", Window.day(date(2026, 1, 13)))
    assert upstream_causes(grading, {"phase3_completion": later}, PROFILE, date(2026, 1, 14)) == []
    earlier = _result("phase3_completion", Window.day(date(2026, 1, 9)))
    [found] = upstream_causes(grading, {"phase3_completion": earlier}, PROFILE, date(2026, 1, 14))
    assert found.cause.kind is CauseKind.UPSTREAM and "phase3_completion failed first" in (
        found.cause.evidence
    )


def test_a_week_failing_since_before_its_window_names_what_served_until_it_ended() -> None:
    """catboost_v8, judged on 2026-01-20: failing since the window's first day (01-13) until
    01-16; the grading revision of 01-10 served through those days and was replaced on 01-17."""
    grading = _result(
        "grading_completeness",
        Window(date(2026, 1, 13), date(2026, 1, 19)),
        Status.WARN,
        breakdown=[
            {
                "model": "catboost_v8",
                "status": "WARN",
                "dates_behind": ["2026-01-13", "2026-01-16"],
            }
        ],
    )
    span = span_of(grading, date(2026, 1, 20), PROFILE, NOW)
    assert span is not None and not span.opened

    def revision(name: str, day: int, hour: int) -> Revision:
        return Revision(name, "svc", datetime(2026, 1, day, hour, tzinfo=UTC), "image")

    served = [revision("a", 2, 10), revision("b", 10, 10), revision("c", 17, 10)]
    assert ended_with(served, 1, span)  # b: replaced after the failing days, as they ended
    assert not ended_with(served, 0, span)  # a: replaced before they began
    later = [*served[:2], revision("c", 25, 10)]
    assert not ended_with(later, 1, span)  # replaced long after: the failures ended without it


def test_when_the_failure_began_is_said_as_the_check_shows_it() -> None:
    """Only a window with passing days before its first failing date shows where it began; a
    window failing from its first day, or a check judging one day, shows no more than that."""
    shown = _result(
        "grading_completeness",
        Window(date(2026, 1, 4), date(2026, 1, 10)),
        breakdown=[{"model": "catboost_v8", "status": "WARN", "dates_behind": ["2026-01-10"]}],
    )
    since = _result(
        "grading_completeness",
        Window(date(2026, 1, 14), date(2026, 1, 20)),
        breakdown=[{"model": "catboost_v8", "status": "WARN", "dates_behind": ["2026-01-14"]}],
    )
    vegas = _result("vegas_line_coverage", Window(date(2025, 12, 30), date(2026, 1, 27)))
    spans = [
        span_of(result, date(2026, 1, as_of), PROFILE, NOW)
        for result, as_of in ((shown, 11), (since, 21), (vegas, 27))
    ]
    assert [span.failing() if span else None for span in spans] == [
        "first failing game day 2026-01-10",
        "failing since at least 2026-01-14, the first day of its window",
        "failing on game day 2026-01-27, the one day it judges",
    ]


def test_a_deploy_is_placed_against_game_days_in_the_game_timezone() -> None:
    """03:00 UTC on 01-11 is the evening of game day 01-10 in New York (EST; EDT in March)."""
    grading = _result(
        "grading_completeness",
        Window(date(2026, 1, 10), date(2026, 1, 16)),
        breakdown=[{"model": "catboost_v8", "status": "WARN", "dates_behind": ["2026-01-10"]}],
    )
    span = span_of(grading, date(2026, 1, 17), PROFILE, NOW)
    assert span is not None
    assert span.game_day(datetime(2026, 1, 11, 3, tzinfo=UTC)) == "22:00 EST, game day 2026-01-10"
    assert span.game_day(datetime(2026, 1, 10, 10, tzinfo=UTC)) == "05:00 EST, game day 2026-01-10"
    assert span.game_day(datetime(2026, 1, 9, 4, tzinfo=UTC)) == (
        "23:00 EST, game day 2026-01-08, before 2026-01-10"
    )
    assert span.game_day(datetime(2026, 3, 10, 3, 30, tzinfo=UTC)).startswith("23:30 EDT, game")
