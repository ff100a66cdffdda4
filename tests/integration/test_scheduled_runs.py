"""Scheduled runs end to end: the sandbox platform, a real store, posts to the Slack emulator.

Each run goes through what production runs: the claim in the store, the report on the sandbox's
emulators, the decision, the Block Kit rendering and slack_sdk's WebClient posting.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.digest_jobs import slack_publisher
from bot.slack_clients import slack_api, sync_web_client
from commands.schedule.cron import slots
from commands.schedule.runner import JobTools, Publish, catch_up, run_job, run_scheduled
from config import Profile
from opsbot.platform import sandbox_platforms
from opsbot.profile import load_profile
from opsbot.schedule import job_tools
from sandbox.platform import Sandbox
from sandbox.slack_emulator import SlackEmulator
from store.database import Database
from tests.integration.conftest import Clock

ROOT = Path(__file__).resolve().parents[2]
PT = "America/Los_Angeles"
TEN_AM = datetime(2026, 2, 5, 18, tzinfo=UTC)  # 10:00 PT, a drift-digest slot


def _profile() -> Profile:
    return load_profile(ROOT / "opsbot.toml")


def _tools(sandbox: Sandbox, database: Database, clock: Clock) -> JobTools:
    profile = _profile()
    return job_tools(profile, database, sandbox_platforms(profile, sandbox), clock)


def _started(
    sandbox: Sandbox, database: Database, slack: SlackEmulator, at: datetime
) -> tuple[Clock, JobTools, Publish]:
    """A job clock at `at`, the jobs' tools on the store, and a publisher to the emulator."""
    clock = Clock(at)
    publish = slack_publisher(sync_web_client(slack_api(slack.workspace.bot_token, slack.api_url)))
    return clock, _tools(sandbox, database, clock), publish


def _posts(slack: SlackEmulator, channel: str) -> list[str]:
    return [m.text for m in slack.workspace.bot_messages(channel)]


def test_a_first_digest_posts_in_full_and_a_critical_one_also_reaches_app_error_alerts(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    clock, tools, publish = _started(sandbox, database, slack, TEN_AM)

    done = run_scheduled(tools, "drift-digest", clock(), publish, trigger="scheduler", by="a")

    assert done.outcome == "full" and done.slot == TEN_AM
    assert _posts(slack, "#deployment-alerts") == [
        "Drift digest: CRITICAL: 3 services behind (1 critical)"
    ]
    assert _posts(slack, "#app-error-alerts") == _posts(slack, "#deployment-alerts")  # routed
    digest = slack.workspace.bot_messages("#deployment-alerts")[0]
    buttons = [b["accessory"]["text"]["text"] for b in digest.blocks if "accessory" in b]
    assert buttons and all(text.startswith("Deploy ") for text in buttons)


def test_unchanged_findings_post_nothing_more_that_day_and_one_heartbeat_line_the_next(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    friday = TEN_AM + timedelta(hours=22)  # 08:00 PT Friday: every drift has settled by then
    clock, tools, publish = _started(sandbox, database, slack, friday)
    run_scheduled(tools, "drift-digest", clock(), publish, trigger="scheduler", by="a")

    outcomes = []
    for slot in slots("0 8-20/2 * * *", PT, friday, friday + timedelta(hours=26)):
        clock.now = slot  # every slot through Friday, then Saturday 08:00 and 10:00
        done = run_scheduled(tools, "drift-digest", clock(), publish, trigger="scheduler", by="a")
        outcomes.append(done.outcome)

    assert outcomes == ["quiet"] * 6 + ["heartbeat", "quiet"]
    posts = _posts(slack, "#deployment-alerts")
    assert len(posts) == 2
    assert posts[1] == "Drift digest: unchanged since Fri 08:00: 3 services behind (3 critical)"
    assert len(_posts(slack, "#app-error-alerts")) == 1  # a heartbeat is not routed again


def test_a_change_posts_in_full_with_the_checks_that_changed_first(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    clock, tools, publish = _started(
        sandbox, database, slack, datetime(2026, 1, 24, 20, tzinfo=UTC)
    )  # before the Vegas-line incident
    first = run_scheduled(tools, "health-digest", clock(), publish, trigger="scheduler", by="a")
    clock.now = datetime(2026, 1, 28, 20, tzinfo=UTC)  # in it
    second = run_scheduled(tools, "health-digest", clock(), publish, trigger="scheduler", by="a")

    assert (first.outcome, second.outcome) == ("full", "full")
    message = slack.workspace.bot_messages("#orchestration-health")[-1]
    texts = [
        b.get("text", {}).get("text", "") if b["type"] == "section" else str(b)
        for b in message.blocks
    ]
    changed_at = next(i for i, t in enumerate(texts) if "vegas_line_coverage* was OK" in t)
    first_check = next(i for i, t in enumerate(texts) if "*" in t and "·" in t and i > 2)
    assert changed_at < first_check  # the changed check leads
    assert "1 changed since the last digest" in str(message.blocks[1])


def test_two_replicas_firing_the_same_slot_post_once(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    clock = Clock(TEN_AM)
    replicas = [_tools(sandbox, database, clock) for _ in range(2)]
    publish = slack_publisher(sync_web_client(slack_api(slack.workspace.bot_token, slack.api_url)))
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def fire(tools: JobTools, name: str) -> None:
        start.wait(timeout=10)
        done = run_scheduled(tools, "drift-digest", clock(), publish, trigger="scheduler", by=name)
        outcomes.append(done.outcome)

    threads = [threading.Thread(target=fire, args=(t, f"r{i}")) for i, t in enumerate(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(outcomes) == ["full", "taken"]
    assert len(_posts(slack, "#deployment-alerts")) == 1


def test_a_bot_down_across_two_slots_posts_one_catch_up_naming_them(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    clock, tools, publish = _started(
        sandbox, database, slack, TEN_AM - timedelta(hours=2)
    )  # 08:00 PT: the last run before the outage
    run_scheduled(tools, "drift-digest", clock(), publish, trigger="scheduler", by="a")

    clock.now = TEN_AM + timedelta(hours=2, minutes=30)  # back at 12:30: 10:00 and 12:00 missed
    caught = catch_up(tools, "drift-digest", publish, by="b")
    again = catch_up(tools, "drift-digest", publish, by="c")  # another replica starting

    assert caught is not None and caught.outcome == "heartbeat"
    assert caught.slot == TEN_AM + timedelta(hours=2)
    assert again is None
    posts = _posts(slack, "#deployment-alerts")
    assert len(posts) == 2
    assert posts[1].startswith(":hourglass: catching up: the 10:00 and 12:00 runs were missed")


def test_past_the_grace_there_is_no_catch_up_and_the_next_run_names_what_was_missed(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    clock, tools, publish = _started(sandbox, database, slack, TEN_AM - timedelta(hours=2))
    run_scheduled(tools, "drift-digest", clock(), publish, trigger="scheduler", by="a")

    clock.now = TEN_AM + timedelta(hours=3, minutes=30)  # 13:30: 12:00 is 90 min old (> 1 h)
    assert catch_up(tools, "drift-digest", publish, by="b") is None
    clock.now = TEN_AM + timedelta(hours=4)  # the 14:00 slot
    done = run_scheduled(tools, "drift-digest", clock(), publish, trigger="scheduler", by="b")

    assert done.outcome == "heartbeat"
    assert _posts(slack, "#deployment-alerts")[-1].startswith(
        ":hourglass: catching up: the 10:00 and 12:00 runs were missed"
    )


def test_a_run_claimed_by_a_replica_that_died_is_taken_over_after_the_lease(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    clock, tools, publish = _started(sandbox, database, slack, TEN_AM)
    assert tools.runs.claim("drift-digest", TEN_AM, by="dead", trigger="scheduler") is not None

    soon = run_job(tools, "drift-digest", TEN_AM, publish, trigger="scheduler", by="b")
    clock.now = TEN_AM + timedelta(seconds=tools.profile.schedule.claim_lease_s + 1)
    later = run_job(tools, "drift-digest", TEN_AM, publish, trigger="scheduler", by="b")

    assert (soon.outcome, later.outcome) == ("taken", "full")
    assert len(_posts(slack, "#deployment-alerts")) == 1
