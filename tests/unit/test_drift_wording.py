"""Drift's words in Slack: counts agree with their nouns and with the lists below them (issue 31: 15)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from adapters.git import CommitInfo, Undeployed
from bot.views.drift import contains_report, drift_progress, drift_report
from checks.drift_model import Basis, DriftReport, RevisionDrift, ServiceDrift, Severity
from commands.drift import ContainsEntry, ContainsReport
from infra.wording import plural, said

NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)
COMMIT = CommitInfo("7e04998b" + "0" * 32, "Jonas Weber", NOW, "feat(worker): guard")


def _entry(service: str, relevant: bool, deployed: str = "80414dbe" + "1" * 32) -> ContainsEntry:
    return ContainsEntry(service, f"{service}-00001-aaa", 100, Basis.COMMIT, deployed, relevant)


def test_a_commit_missing_nowhere_it_matters_says_so_and_counts_the_untouched_apart() -> None:
    """ "live on 1 service, missing on 0" was followed by services listed under "Missing"."""
    report = ContainsReport(
        COMMIT,
        live=[_entry("prediction-worker", True)],
        missing=[_entry("nba-scrapers", False), _entry("nba-grading-service", False)],
    )
    text, blocks = contains_report(report)
    assert text == (
        "Commit 7e04998b: live on 1 service, missing on 0 services, "
        "not in 2 services whose sources it does not touch"
    )
    shown = str([b.to_dict() for b in blocks])
    assert "80414dbe1" not in shown and "`80414dbe`" in shown  # one short length


def test_a_report_of_one_service_one_commit_behind_says_each_in_the_singular() -> None:
    one = Undeployed(1, NOW - timedelta(hours=3), [COMMIT])
    revision = RevisionDrift(
        "alpha-00001-aaa", 100, Basis.COMMIT, "80414dbe", COMMIT, NOW, one, Severity.WARN
    )
    report = DriftReport(
        COMMIT, NOW, Severity.WARN, [ServiceDrift("alpha", Severity.WARN, [], [revision])]
    )
    text, blocks = drift_report(report)
    assert text == "Drift WARN: 1 of 1 service needs attention"
    assert "1 commit behind" in str([b.to_dict() for b in blocks])
    assert drift_progress(1)[0] == "Drift: checking 1 service against main"


def test_the_wording_rules() -> None:
    assert [plural(n, "date") for n in (0, 1, 2)] == ["0 dates", "1 date", "2 dates"]
    assert plural(2, "failing analysis") == "2 failing analyses"
    assert said("rolled_back") == "rolled back" and said("timed_out") == "timed out"
