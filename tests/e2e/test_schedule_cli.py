"""`opsbot schedule list | run | export`, as a scheduler or a person runs them."""

from __future__ import annotations

import json
from pathlib import Path

from sandbox.slack_emulator import SlackEmulator
from store.location import sqlite_url
from tests.e2e.test_health_cli import opsbot

# on PYTHONPATH: slack_sdk joins its base URL as 3.33 did (tests/e2e/slack_sdk_3_33/sitecustomize.py)
SLACK_SDK_3_33 = str(Path(__file__).with_name("slack_sdk_3_33"))


def test_list_prints_each_job_with_its_next_and_last_run_as_json() -> None:
    done = opsbot("schedule", "list", "--sandbox", "--json")
    assert done.returncode == 0, done.stderr
    jobs = json.loads(done.stdout)
    assert [j["id"] for j in jobs] == [
        "drift-digest",
        "health-digest",
        "weekly-report",
        "postmortem-reminders",
    ]
    assert all({"next_run", "last_run", "last_result"} <= set(j) for j in jobs)
    assert jobs[0]["next_run"] == "2026-02-05T18:03:00+00:00"  # the sandbox's compressed cron


def test_run_posts_once_per_slot_through_the_slack_of_the_environment(
    slack: SlackEmulator, tmp_path: Path
) -> None:
    env = {
        "SLACK_BOT_TOKEN": slack.workspace.bot_token,
        "OPSBOT_SLACK_API_URL": slack.api_url,
        "DATABASE_URL": sqlite_url(tmp_path / "opsbot.db"),  # both runs share one store
    }
    first = opsbot("schedule", "run", "drift-digest", "--sandbox", "--json", env=env)
    again = opsbot("schedule", "run", "drift", "--sandbox", env=env)
    forced = opsbot("schedule", "run", "drift", "--sandbox", "--force", env=env)

    assert first.returncode == 0, first.stderr
    ran = json.loads(first.stdout)
    assert ran["outcome"] == "full" and ran["slot"] == "2026-02-05T18:00:00+00:00"
    assert again.returncode == 0 and "already ran for this slot" in again.stdout
    assert forced.returncode == 0 and ": full" in forced.stdout
    posted = [m for m in slack.workspace.bot_messages("#deployment-alerts")]
    assert len(posted) == 2  # the slot's run and the forced one, not the repeat


def test_run_posts_where_the_api_url_says_with_or_without_its_trailing_slash(
    slack: SlackEmulator,
) -> None:
    """`OPSBOT_SLACK_API_URL=http://host/api` is the Web API at `http://host/api/`, as for `opsbot
    serve`, even with a slack_sdk that joins the URL as given (3.33, which our pin allows)."""
    token = slack.workspace.bot_token
    for url in (slack.api_url.rstrip("/"), slack.api_url):
        env = {"SLACK_BOT_TOKEN": token, "OPSBOT_SLACK_API_URL": url, "PYTHONPATH": SLACK_SDK_3_33}
        done = opsbot("schedule", "run", "drift", "--sandbox", "--force", env=env)
        assert done.returncode == 0, done.stdout + done.stderr
    assert len(slack.workspace.bot_messages("#deployment-alerts")) == 2


def test_run_help_names_every_job_in_the_registry() -> None:
    done = opsbot("schedule", "run", "--help")
    assert done.returncode == 0, done.stderr
    said = " ".join(done.stdout.split())
    for job in ("drift-digest", "health-digest", "weekly-report", "postmortem-reminders"):
        assert job in said


def test_run_without_a_slack_token_says_what_to_set_and_posts_nothing() -> None:
    done = opsbot("schedule", "run", "drift-digest", "--sandbox", env={"SLACK_BOT_TOKEN": ""})
    assert done.returncode == 4
    assert "set SLACK_BOT_TOKEN" in done.stderr


def test_an_unknown_job_is_a_usage_error_naming_the_jobs() -> None:
    done = opsbot("schedule", "run", "everything", env={"SLACK_BOT_TOKEN": "x"})
    assert done.returncode == 3
    assert "drift-digest, health-digest, weekly-report" in done.stderr


def test_export_without_the_endpoint_configured_says_which_keys_to_set() -> None:
    done = opsbot("schedule", "export", "--cloud-scheduler")
    assert done.returncode == 4
    assert "endpoint_audience" in done.stderr
