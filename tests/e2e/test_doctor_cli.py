"""`opsbot doctor`: every permission opsbot needs, OK or MISSING with the role that grants it."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_health_cli import opsbot


def test_the_sandbox_has_everything_opsbot_needs() -> None:
    done = opsbot("doctor", "--sandbox", env=None)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert "OK          BigQuery: read nba_predictions.player_prop_predictions" in lines
    assert "OK          Cloud Run: read and update nba-scrapers" in lines
    assert "OK          Slack: post in #canary-alerts" in lines
    assert "OK          Pub/Sub: publish to nba-grading-trigger" in lines
    assert "MISSING" not in done.stdout


def test_what_is_missing_is_named_with_the_role_or_fix_and_exits_1(tmp_path: Path) -> None:
    plan = tmp_path / "faults.toml"
    plan.write_text(
        "[cloud_run]\noperation_s = 0\n"
        'denied_permissions = ["run.services.update"]\n'
        "[bigquery]\n"
        'denied_tables = ["nba_predictions.prediction_accuracy"]\n'
        "[slack]\n"
        'not_in_channel = ["#canary-alerts"]\n'
        'missing_scopes = ["channels:read"]\n'
    )
    done = opsbot("doctor", "--sandbox", env={"OPSBOT_SANDBOX_FAULTS": str(plan)})
    assert done.returncode == 1, done.stdout + done.stderr
    table = next(line for line in done.stdout.splitlines() if "prediction_accuracy" in line)
    assert table.startswith("MISSING") and "roles/bigquery.dataViewer" in table
    update = next(line for line in done.stdout.splitlines() if "update nba-scrapers" in line)
    assert "lacks run.services.update" in update and "roles/run.developer" in update
    canary = next(line for line in done.stdout.splitlines() if "post in #canary-alerts" in line)
    assert canary.startswith("MISSING") and "/invite @opsbot" in canary
    scope = next(line for line in done.stdout.splitlines() if "scope channels:read" in line)
    assert scope.startswith("MISSING")
    assert "missing" in done.stdout.splitlines()[-1]
