"""Block Kit views stay inside Slack's limits whatever the report's size."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from slack_sdk.models.blocks import Block

from adapters.git import CommitInfo, Undeployed
from bot.actions import CheckDetails, DriftExpand, RegradeStart, decode
from bot.views.drift import drift_report, undeployed_commits
from bot.views.health import check_details, health_progress, health_report
from bot.views.kit import MAX_TEXT, clip, escape, lines_section
from checks.drift_model import Basis, DriftReport, RevisionDrift, ServiceDrift, Severity
from checks.result import CheckResult, HealthReport, Status
from commands.errors import RequestError

NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)
DAY = date(2026, 2, 5)


def _valid(blocks: list[Block]) -> list[dict[str, object]]:
    assert len(blocks) <= 50
    for block in blocks:
        block.validate_json()
    return [b.to_dict() for b in blocks]


def _result(name: str, status: Status, detail: str = "ok") -> CheckResult:
    return CheckResult(
        name, status, detail, value=50.0, unit="%", threshold="OK ≥ 80%", baseline=90.0
    )


def test_a_report_of_sixty_failing_checks_says_how_many_were_left_out() -> None:
    results = [_result(f"check_{i}", Status.CRITICAL, "x" * 5000) for i in range(60)]
    text, blocks = health_report(HealthReport(DAY, results, 1.0))
    rendered = _valid(blocks)
    assert "and " in str(rendered[-1]) and "more checks not shown" in str(rendered[-1])
    assert "score 0" in text


def test_progress_shows_finished_checks_and_the_rest_as_running() -> None:
    _, blocks = health_progress(
        DAY, ["a_check", "b_check"], {"a_check": _result("a_check", Status.OK)}
    )
    text = str(_valid(blocks))
    assert "1 of 2 done" in text and "*b_check* running…" in text


def test_details_of_a_thousand_row_breakdown_fit_one_section_and_say_the_rest() -> None:
    rows = [
        {"model": f"m{i}", "graded_pct": 12.5, "dates_behind": ["2026-02-01"]} for i in range(1000)
    ]
    result = CheckResult(
        "grading_completeness", Status.CRITICAL, "low", breakdown=rows, action="fix it"
    )
    _, blocks = check_details(result, DAY)
    text = str(_valid(blocks))
    assert "model *m0* · graded % *12.5* · dates behind *2026-02-01*" in text
    assert "more_" in text


def test_mrkdwn_control_characters_in_git_text_are_escaped() -> None:
    assert escape("fix <b> & co") == "fix &lt;b&gt; &amp; co"


def test_clip_keeps_texts_within_the_limit() -> None:
    assert len(clip("y" * 10_000)) == MAX_TEXT
    assert clip("short") == "short"
    assert "_and 3 more_" in str(lines_section(["z" * 1400] * 5).to_dict())


def service_of(name: str, count: int) -> ServiceDrift:
    commit = CommitInfo("a" * 40, "Dana <dana@x>", NOW, "fix <thing>")
    undeployed = Undeployed(count=count, oldest_at=NOW, newest=[commit] * min(count, 20))
    revision = RevisionDrift(
        f"{name}-00001-abc", 100, Basis.COMMIT, "a" * 8, commit, NOW, undeployed, Severity.CRITICAL
    )
    return ServiceDrift(name, Severity.CRITICAL, revisions=[revision], action=f"./deploy {name}")


def test_a_drift_report_of_sixty_services_stays_within_fifty_blocks() -> None:
    report = DriftReport(
        CommitInfo("b" * 40, "x", NOW, "main"),
        NOW,
        Severity.CRITICAL,
        [service_of(f"svc-{i}", 30) for i in range(60)],
    )
    _, blocks = drift_report(report)
    assert "more services not shown" in str(_valid(blocks)[-1])


def test_expanding_a_service_lists_its_commits_escaped_and_the_count_not_shown() -> None:
    _, blocks = undeployed_commits(service_of("svc", 250), NOW)
    text = str(_valid(blocks))
    assert "fix &lt;thing&gt; — Dana &lt;dana@x&gt;" in text and "_and 230 more_" in text


def test_button_values_round_trip_and_foreign_values_are_refused_clearly() -> None:
    value = CheckDetails(check="bdb_coverage", as_of=DAY).encode()
    assert decode(CheckDetails, value) == CheckDetails(check="bdb_coverage", as_of=DAY)
    assert (
        decode(DriftExpand, DriftExpand(service="prediction-worker").encode()).service
        == "prediction-worker"
    )
    with pytest.raises(RequestError, match="run the command again"):
        decode(CheckDetails, '{"check": "DROP TABLE", "as_of": "2026-02-05"}')


def test_grading_dates_voided_far_above_usual_are_offered_for_a_regrade_with_those_behind() -> None:
    result = CheckResult(
        name="grading_completeness",
        status=Status.WARN,
        detail="voided above baseline",
        breakdown=[
            {"model": "a", "status": "WARN", "dates_behind": [], "dates_voided": ["2026-01-27"]},
            {"model": "b", "status": "WARN", "dates_behind": ["2026-01-25"], "dates_voided": []},
            {"model": "c", "status": "OK", "dates_behind": [], "dates_voided": ["2026-01-20"]},
        ],
    )
    report = HealthReport(as_of=date(2026, 1, 28), results=[result], duration_s=0.1)
    _, blocks = health_report(report)
    regrade = [
        element
        for block in _valid(blocks)
        if block["type"] == "actions"
        for element in block["elements"]  # type: ignore[attr-defined]
        if str(element["action_id"]).startswith("regrade")
    ]
    assert [r["text"]["text"] for r in regrade] == ["Regrade 2 dates"]
    assert decode(RegradeStart, regrade[0]["value"]) == RegradeStart(
        start=date(2026, 1, 25), end=date(2026, 1, 27)
    )
