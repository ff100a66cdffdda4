"""Counts in the health checks, the /health message and postmortem evidence take their noun's
number: never "1 services", "1 games" or "1 checks" (issue 31: 15). Only words change: each
check's status is the one it had."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

from adapters.git import CommitInfo, Undeployed
from adapters.monitoring import RevisionMetrics
from bot.views.health import health_progress, health_report
from checks.deployment_drift import DeploymentDrift
from checks.drift_model import Basis, DriftReport, RevisionDrift, ServiceDrift, Severity
from checks.phase3_completion import Phase3Completion
from checks.recent_predictions import RecentPredictions
from checks.result import CheckResult, HealthReport, Status
from checks.vegas_line_coverage import VegasLineCoverage
from commands.postmortem.evidence import Evidence, commits_shipped, served
from commands.postmortem.tools import PostmortemTools
from config import DriftConfig, RecentPredictionsConfig, VegasLineCoverageConfig
from opsbot.profile import load_profile
from tests.conftest import ROOT
from tests.unit.doubles import context

NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)
COMMIT = CommitInfo("7e04998b" + "0" * 32, "Jonas Weber", NOW, "feat(worker): guard")
PROFILE = load_profile(ROOT / "opsbot.toml")


def _texts(result: CheckResult) -> str:
    return " | ".join(
        [result.detail, result.threshold or "", result.format_value(result.value), result.unit]
    )


def test_a_one_game_slate_says_game_in_the_singular_in_every_check() -> None:
    phase3 = Phase3Completion(PROFILE.checks.phase3_completion)
    ctx = context(PROFILE, now=datetime(2026, 2, 5, 20, tzinfo=UTC))
    running = phase3.evaluate([{"games": 1, "final_games": 0, "processor_name": None}], ctx)
    assert running.status is Status.NOT_APPLICABLE
    assert running.detail == "the 1 game on 2026-02-04 is not final yet; phase 3 runs after it ends"
    one_final = phase3.evaluate([{"games": 3, "final_games": 1, "processor_name": None}], ctx)
    assert "1 of 3 games on 2026-02-04 is final;" in one_final.detail
    done = [{"games": 1, "final_games": 1, "processor_name": "player_game_summary"}]
    missing = phase3.evaluate(done, ctx)
    assert missing.status is Status.CRITICAL
    assert missing.detail.startswith("1 of 5 processors complete for 1 game on 2026-02-04;")

    vegas = VegasLineCoverage(VegasLineCoverageConfig())
    rows = [{"games_on_day": 1, "game_date": None, "feature_rows": 0, "with_line": 0}]
    none = vegas.evaluate(rows, context(as_of=date(2026, 2, 5)))
    assert none.status is Status.CRITICAL
    assert none.detail == "no feature-store rows for the 1 game on 2026-02-05"

    predictions = RecentPredictions(RecentPredictionsConfig())
    result = predictions.evaluate(
        [{"games": 1, "predictions": 26}], context(as_of=date(2026, 2, 4))
    )
    assert result.status is Status.OK
    assert "(1 game × 26 players)" in (result.threshold or "")
    assert result.detail.endswith("(100%) for 1 game on 2026-02-04")
    assert "1 games" not in _texts(phase3.evaluate(done, ctx)) + _texts(none) + _texts(result)


def _service(name: str, behind: int, severity: Severity) -> ServiceDrift:
    undeployed = Undeployed(behind, NOW - timedelta(hours=30) if behind else None, [])
    revision = RevisionDrift(
        f"{name}-00001-aaa", 100, Basis.COMMIT, "80414dbe", COMMIT, NOW, undeployed, severity
    )
    return ServiceDrift(name, severity, [], [revision], f"/deploy {name}" if behind else None)


def test_drift_in_the_health_report_says_one_service_and_one_commit_in_the_singular() -> None:
    check = DeploymentDrift(DriftConfig(critical_commits=1))
    alone = DriftReport(COMMIT, NOW, Severity.CRITICAL, [_service("alpha", 1, Severity.CRITICAL)])
    result = check.evaluate(alone, context())
    assert result.status is Status.CRITICAL and result.value == 1
    assert result.detail.startswith("1 of 1 service needs attention: alpha 1 behind (oldest")
    assert result.format_value(result.value) == "1 service"
    assert "CRITICAL: 1 commit or 24h" in (result.threshold or "")
    assert result.action == "/deploy alpha"

    current = DriftReport(COMMIT, NOW, Severity.OK, [_service("alpha", 0, Severity.OK)])
    fine = check.evaluate(current, context())
    assert fine.status is Status.OK
    assert fine.detail == "the 1 service runs main's code for its sources (main 7e04998b)"
    two = DriftReport(
        COMMIT,
        NOW,
        Severity.CRITICAL,
        [_service("alpha", 3, Severity.CRITICAL), _service("beta", 0, Severity.OK)],
    )
    assert check.evaluate(two, context()).detail.startswith("1 of 2 services needs attention")
    for said in (result, fine):
        assert "1 services" not in _texts(said) and "1 commits" not in _texts(said)


def test_health_in_slack_counts_one_check_as_one_check() -> None:
    one = CheckResult("bdb_coverage", Status.OK, "fine", 100.0, "%")
    text, blocks = health_progress(date(2026, 2, 5), ["bdb_coverage"], {})
    shown = str([b.to_dict() for b in blocks])
    assert text == "Health 2026-02-05: running 1 check"
    assert "running 1 check" in shown and "1 checks" not in shown
    _, blocks = health_report(HealthReport(date(2026, 2, 5), [one], 0.4))
    shown = str([b.to_dict() for b in blocks])
    assert "1 check in 0.4s" in shown and "1 checks" not in shown


def _tools(**deploy: Any) -> PostmortemTools:
    """Only what the evidence under test reads."""
    return cast(PostmortemTools, SimpleNamespace(profile=PROFILE, deploy=SimpleNamespace(**deploy)))


def test_postmortem_evidence_says_one_request_and_one_older_commit_in_the_singular() -> None:
    one_request = SimpleNamespace(revision_metrics=lambda *_: RevisionMetrics("c", 1, 1, 90.0))
    found = Evidence()
    served(_tools(monitoring=one_request), found, "nba-scrapers", "c", NOW, NOW)
    assert found.impact == ["c served 1 request, 1 of them answered 5xx (100.0%)"]

    shipped = Undeployed(21, NOW, [COMMIT] * 20)
    repo = SimpleNamespace(commits_between=lambda *_, keep: shipped)
    found = Evidence()
    commits_shipped(_tools(repo=repo), found, "nba-scrapers", "a" * 40, "b" * 40)
    assert found.gaps == ["1 older commit shipped is not listed"]
