"""`opsbot drift` as on-call and schedulers run it, on the sandbox's planted drift."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sandbox.demo_repo import VEGAS_FIX_SUBJECT, platform_repo
from tests.conftest import ROOT
from tests.e2e.test_health_cli import opsbot
from tests.gitcli import git_out

pytestmark = pytest.mark.slow
PHASE4 = "nba-phase4-precompute-processors"


def vegas_fix_sha() -> str:
    repo, _ = platform_repo()
    return git_out(
        repo,
        "log",
        "-1",
        "--format=%H",
        f"--grep={VEGAS_FIX_SUBJECT[:40]}",
        "--fixed-strings",
        "main",
    )


def by_service(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["service"]: s for s in report["services"]}


def test_the_sandbox_drift_is_critical_with_every_planted_case_explained() -> None:
    done = opsbot("drift", "--sandbox", "--json")
    assert done.returncode == 2, done.stderr
    report = json.loads(done.stdout)
    assert (
        set(report) == {"main", "checked_at", "severity", "services"}
        and report["severity"] == "CRITICAL"
    )
    services = by_service(report)
    phase4 = services[PHASE4]
    assert phase4["severity"] == "CRITICAL"
    assert phase4["revisions"][0]["commits_behind"] >= 150
    assert len(phase4["revisions"][0]["label"]) == 8 and phase4["revisions"][0]["commit"]
    assert phase4["revisions"][0]["commits"][0].keys() >= {
        "sha",
        "author",
        "subject",
        "committed_at",
    }
    worker = services["prediction-worker"]["revisions"][0]
    assert (len(worker["label"]), worker["commits_behind"], worker["basis"]) == (7, 0, "commit")
    scrapers = services["nba-scrapers"]
    assert scrapers["revisions"][0]["basis"] == "time"
    assert [f["kind"] for f in scrapers["findings"]] == ["no_commit_label"]
    grading = services["nba-grading-service"]
    assert [r["percent"] for r in grading["revisions"]] == [90, 10]
    assert "traffic_split" in [f["kind"] for f in grading["findings"]]
    for current in (
        "prediction-coordinator",
        "nba-phase2-raw-processors",
        "nba-phase3-analytics-processors",
    ):
        assert services[current]["severity"] == "OK"


def test_the_table_names_the_services_and_the_missing_commits() -> None:
    done = opsbot("drift", "--sandbox", PHASE4)
    assert done.returncode == 2, done.stderr
    assert PHASE4 in done.stdout and "newest undeployed commits" in done.stdout
    assert "\n    opsbot deploy nba-phase4-precompute-processors\n" in done.stdout  # to copy
    assert "drift CRITICAL" in done.stdout


def test_contains_shows_the_vegas_fix_is_not_live_on_phase4() -> None:
    fix = vegas_fix_sha()
    done = opsbot("drift", "--sandbox", "--contains", fix[:8], "--json")
    assert done.returncode == 1, done.stderr
    found = json.loads(done.stdout)
    assert found["commit"] == fix
    assert [e["service"] for e in found["missing"]] == [PHASE4]
    assert found["missing"][0]["relevant"] is True and found["missing"][0]["commits_to_reach"] > 0
    assert "prediction-worker" in {e["service"] for e in found["live"]}


def test_contains_a_commit_every_service_runs_exits_zero() -> None:
    first = git_out(platform_repo()[0], "rev-list", "--max-parents=0", "main")
    done = opsbot("drift", "--sandbox", "--contains", first)
    assert done.returncode == 0, done.stderr
    assert "live wherever it matters" in done.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["drift", "--sandbox", "no-such-service"], "known: prediction-worker"),
        (["drift", "--sandbox", "--contains", "xyz"], "expected 4 to 40 hex digits"),
        (["drift", "--sandbox", "--contains", "abcdef0123"], "not in the platform repo"),
    ],
)
def test_bad_input_is_a_usage_error_that_says_what_to_do(args: list[str], message: str) -> None:
    done = opsbot(*args)
    assert done.returncode == 3
    assert message in done.stderr and not done.stdout


def test_a_profile_pointing_at_no_repo_is_a_config_error(tmp_path: Path) -> None:
    profile = tmp_path / "opsbot.toml"
    text = (
        (ROOT / "opsbot.toml")
        .read_text()
        .replace('path = "../nba-props-platform"', 'path = "no-repo-here"')
    )
    profile.write_text(text)
    done = opsbot("drift", "--config", str(profile), env={"NO_GCE_CHECK": "true"})
    assert done.returncode == 4, done.stderr
    assert "git.path" in done.stderr and "no-repo-here" in done.stderr


def test_health_reports_drift_as_its_sixth_check() -> None:
    done = opsbot("health", "--sandbox", "--json")
    checks = {c["name"]: c for c in json.loads(done.stdout)["checks"]}
    drift = checks["deployment_drift"]
    assert drift["status"] == "CRITICAL" and drift["value"] == 3
    assert PHASE4 in drift["detail"]
    # the fix is opsbot's canary deploy, one per service behind main (issue 31: 13), not a script
    fixes = drift["action"].splitlines()
    assert f"/deploy {PHASE4}" in fixes and len(fixes) == 3
    assert all(fix.startswith("/deploy ") for fix in fixes)
    past = json.loads(opsbot("health", "--sandbox", "--json", "--date", "2026-01-28").stdout)
    assert {c["name"]: c["status"] for c in past["checks"]}["deployment_drift"] == "NOT_APPLICABLE"
