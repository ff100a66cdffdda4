"""`opsbot doctor`: every permission opsbot needs, OK or MISSING with the role that grants it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from slack_sdk.web import base_client

from cli.doctor import LABEL_WIDTH
from opsbot import doctor
from opsbot.profile import load_profile
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import ROOT
from tests.e2e.test_health_cli import opsbot

LABELS = ("OK", "MISSING", "NOT")


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
    found = checks(done.stdout)
    table = next(line for line in found if "prediction_accuracy" in line)
    assert table.startswith("MISSING") and "roles/bigquery.dataViewer" in table
    update = next(line for line in found if "update nba-scrapers" in line)
    assert "lacks run.services.update" in update and "roles/run.developer" in update
    canary = next(line for line in found if "post in #canary-alerts" in line)
    assert canary.startswith("MISSING") and "/invite @opsbot" in canary
    scope = next(line for line in found if "scope channels:read" in line)
    assert scope.startswith("MISSING")
    assert "missing" in done.stdout.splitlines()[-1]


def checks(stdout: str) -> list[str]:
    """Each check's line, its wrapped lines (indented under its text) joined back to it."""
    found: list[str] = []
    for line in stdout.splitlines():
        if line.startswith(" " * LABEL_WIDTH) and found:
            found[-1] += " " + line.strip()
        else:
            found.append(line)
    return found


def test_no_line_runs_past_80_columns_nor_breaks_a_word() -> None:
    """At 80 columns each check wraps at spaces under its text, whole words and roles kept."""
    done = opsbot("doctor", "--sandbox", env={"COLUMNS": "80"})
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    act = next(line for line in checks(done.stdout) if "runtime service account" in line)
    assert "grant roles/iam.serviceAccountUser on that account, or the first Start canary" in act
    assert all(
        line.startswith(" " * LABEL_WIDTH) or line.split()[0] in LABELS for line in lines[:-1]
    )


@pytest.mark.parametrize("trailing", ["/", ""])
def test_the_slack_of_the_environment_is_asked_at_its_api_url_with_or_without_the_slash(
    trailing: str, slack: SlackEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`opsbot doctor`'s Slack half reads the environment as `opsbot serve` does, even with a
    slack_sdk that joins its base URL as given (3.33, which our pin allows). Google's half is
    left out: it needs the real project's credentials."""
    monkeypatch.setattr(base_client.BaseClient, "__init__", _base_url_as_given)
    monkeypatch.setattr(doctor, "_credentials_guard", lambda open_client: None)
    monkeypatch.setattr(doctor, "google_findings", lambda *args: [])
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.workspace.bot_token)
    monkeypatch.setenv("OPSBOT_SLACK_API_URL", slack.api_url.rstrip("/") + trailing)
    profile = load_profile(ROOT / "opsbot.toml")

    findings = doctor.diagnose(profile, ROOT / "opsbot.toml", sandbox=False, announce=print)

    assert [(f.what, f.detail) for f in findings if not f.ok] == []
    assert "Slack: post in #canary-alerts" in [f.what for f in findings]


_init = base_client.BaseClient.__init__


def _base_url_as_given(
    self: base_client.BaseClient, token: str | None = None, base_url: str = "", **options: Any
) -> None:
    """slack_sdk 3.33's client: its base URL as given (3.34 on appends the missing slash)."""
    _init(self, token, base_url or base_client.BaseClient.BASE_URL, **options)
    self.base_url = base_url or base_client.BaseClient.BASE_URL
