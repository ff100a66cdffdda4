"""What changed since the last drift digest is marked :new: on exactly the lines that changed,
and the legend that says so appears only when a line carries the mark.

Each test posts a digest on a sandbox of its own, changes one service (a deploy, a commit on
main) or nothing, and posts again at the next minute, through the store and the Slack emulator.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.cloudrun_model import TrafficShare
from bot.digest_jobs import slack_publisher
from bot.slack_clients import slack_api, sync_web_client
from commands.schedule.runner import JobTools, Publish, run_now
from opsbot.platform import sandbox_cloud_run, sandbox_platforms
from opsbot.profile import load_profile
from opsbot.schedule import job_tools
from sandbox.demo_repo import platform_repo
from sandbox.platform import Sandbox
from sandbox.slack_emulator import SlackEmulator
from store.database import Database
from tests.integration.conftest import Clock

ROOT = Path(__file__).resolve().parents[2]
ALERTS = "#deployment-alerts"
NEW = ":new:"
GRADING = "nba-grading-service"


@pytest.fixture
def own_sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """A sandbox of its own (its Cloud Run changes), on a clone of the demo monorepo (commits
    land on its main without touching the cache other tests share)."""
    repo = tmp_path / "platform"
    cached, _ = platform_repo()
    _git(tmp_path, "clone", "--quiet", "--local", str(cached), str(repo))
    with Sandbox(reads_only=True, repo=repo) as running:
        yield running


def _git(where: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        ["git", *args], cwd=where, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


def _digests(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> tuple[Clock, JobTools, Publish]:
    profile = load_profile(ROOT / "opsbot.toml")
    clock = Clock(sandbox.now)
    tools = job_tools(profile, database, sandbox_platforms(profile, sandbox), clock)
    client = sync_web_client(slack_api(slack.workspace.bot_token, slack.api_url))
    return clock, tools, slack_publisher(client)


def _post_twice(
    sandbox: Sandbox, database: Database, slack: SlackEmulator, change: Any
) -> tuple[str, list[str]]:
    """The second digest's legend and its lines, after `change` (each posted as Post now)."""
    clock, tools, publish = _digests(sandbox, database, slack)
    assert run_now(tools, "drift-digest", publish, by="a", force=True, full=True).outcome == "full"
    change()
    clock.now += timedelta(minutes=1)
    assert run_now(tools, "drift-digest", publish, by="a", force=True, full=True).outcome == "full"
    digest = slack.workspace.bot_messages(ALERTS)[-1]
    legend = digest.blocks[1]["elements"][0]["text"]
    lines = []
    for block in digest.blocks[2:]:
        if block["type"] == "section":
            lines += block["text"]["text"].split("\n")
        elif block["type"] == "context":
            lines += [e["text"] for e in block["elements"]]
    return legend, lines


def _marked(lines: list[str]) -> list[str]:
    return [line for line in lines if NEW in line]


def test_a_deployed_service_is_marked_new_and_no_other_line_is(
    own_sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    cloud_run = sandbox_cloud_run(load_profile(ROOT / "opsbot.toml"), own_sandbox)

    def finish_the_grading_split() -> None:  # the split's newer revision takes all traffic
        newer = min(cloud_run.get_service(GRADING).serving, key=lambda t: t.percent)
        cloud_run.route(GRADING, [TrafficShare(newer.revision, 100)])

    legend, lines = _post_twice(own_sandbox, database, slack, finish_the_grading_split)

    assert [line.split("*")[1] for line in _marked(lines)] == [GRADING]
    assert "changes since the last digest (10:00) are marked :new:" in legend
    assert not any("traffic split left behind" in line for line in lines)


def test_a_new_commit_on_main_marks_its_service_and_its_commit_only(
    own_sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    repo = own_sandbox.repo_path
    assert repo is not None

    def land_a_grading_commit() -> None:
        path = repo / "data_processors/grading/nba/fix.py"
        path.write_text("FIXED = True\n")
        stamp = (own_sandbox.now - timedelta(minutes=30)).isoformat()
        env = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp, "PATH": "/usr/bin:/bin"}
        _git(repo, "add", "data_processors/grading/nba/fix.py")
        _git(repo, "-c", "user.name=Dana", "-c", "user.email=dana@example.com", "commit",
             "--quiet", "-m", "fix(grading): settle pushes", env=env)  # fmt: skip

    legend, lines = _post_twice(own_sandbox, database, slack, land_a_grading_commit)

    marked = _marked(lines)
    assert marked[0].startswith(f"{NEW} :large_yellow_circle: *{GRADING}*")
    assert len(marked) == 2 and "are marked :new:" in legend
    assert "+1 since the last digest" in marked[0]
    assert "fix(grading): settle pushes" in marked[1]


def test_a_digest_with_nothing_changed_marks_nothing_and_says_so(
    own_sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    legend, lines = _post_twice(own_sandbox, database, slack, lambda: None)

    assert legend.endswith("no change since the last digest (10:00)")
    assert "marked" not in legend
    assert _marked(lines) == []


def test_the_first_digest_marks_nothing(
    own_sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    clock, tools, publish = _digests(own_sandbox, database, slack)
    run_now(tools, "drift-digest", publish, by="a", force=True, full=True)

    digest = slack.workspace.bot_messages(ALERTS)[-1]
    assert "first digest" in digest.blocks[1]["elements"][0]["text"]
    assert NEW not in str(digest.blocks)
    assert clock.now == own_sandbox.now and isinstance(clock.now, datetime)
