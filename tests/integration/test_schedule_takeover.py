"""A digest slot whose holder was killed (kill -9) is posted, once (issue 30, defect 4).

A killed replica leaves its run as it was: claimed, `running`, no longer renewed, and maybe with
its post already in Slack but not recorded. The rows here are left exactly so: by a real claim
that is then abandoned, or by a real run whose Slack client kills it right after Slack accepted
its post. Each run then goes through what production runs (the store, the sandbox's platform,
the Block Kit rendering, slack_sdk's WebClient posting to the Slack emulator).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk.web import WebClient

from bot.digest_jobs import slack_publisher
from bot.listeners.digest import post_now_said
from bot.slack_clients import slack_api, sync_web_client
from commands.schedule.runner import (
    JobTools,
    Publication,
    Publish,
    catch_up,
    run_now,
    run_scheduled,
    take_over,
)
from opsbot.platform import sandbox_platforms
from opsbot.profile import load_profile
from opsbot.schedule import job_tools
from sandbox.platform import Sandbox
from sandbox.slack_emulator import SlackEmulator
from store.database import Database
from store.schedule_views import SILENCE_S, Outcome
from tests.conftest import ROOT
from tests.integration.conftest import Clock

JOB = "drift-digest"
ALERTS, CRITICAL = "#deployment-alerts", "#app-error-alerts"
TEN_AM = datetime(2026, 2, 5, 18, tzinfo=UTC)  # 10:00 PT, a drift-digest slot
DEAD = "replica-a:41"  # the killed replica
PAST_SILENCE = timedelta(seconds=SILENCE_S + 5)


class Killed(BaseException):
    """kill -9: nothing after it runs in that process (no except, no finish)."""


class KilledAfterPosting:
    """A WebClient whose process is killed right after Slack accepted its first post."""

    def __init__(self, client: WebClient) -> None:
        self.client = client

    def chat_postMessage(self, **message: Any) -> Any:
        self.client.chat_postMessage(**message)
        raise Killed

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


def _client(slack: SlackEmulator) -> WebClient:
    return sync_web_client(slack_api(slack.workspace.bot_token, slack.api_url))


def _tools(sandbox: Sandbox, database: Database, clock: Clock) -> JobTools:
    profile = load_profile(ROOT / "opsbot.toml")  # the shipped claim_lease_s: 600 s
    return job_tools(profile, database, sandbox_platforms(profile, sandbox), clock)


def _digests(slack: SlackEmulator) -> list[str]:
    return [m.text for m in slack.workspace.bot_messages(ALERTS)]


def test_a_slot_left_running_by_a_killed_replica_is_posted_once_by_catch_up(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    clock = Clock(TEN_AM)
    tools, publish = _tools(sandbox, database, clock), slack_publisher(_client(slack))
    assert tools.runs.claim(JOB, TEN_AM, by=DEAD, trigger="scheduler") is not None  # then killed

    clock.now = TEN_AM + timedelta(seconds=10)  # restarted at once: the claim may still be live
    early = catch_up(tools, JOB, publish, by="replica-a:97")
    clock.now = TEN_AM + PAST_SILENCE  # its holder has been silent past the window: dead
    caught = catch_up(tools, JOB, publish, by="replica-a:97")
    again = take_over(tools, JOB, publish, by="replica-b:12")  # the other replica's sweep

    assert early is None and caught is not None and again == []
    assert (caught.outcome, caught.slot, caught.took_over) == (Outcome.FULL, TEN_AM, DEAD)
    assert _digests(slack) == ["Drift digest: CRITICAL: 3 services behind (1 critical)"]
    run = tools.runs.slot(JOB, TEN_AM)
    assert run is not None and run.outcome is Outcome.FULL
    shown = [*slack.workspace.bot_messages(ALERTS), *slack.workspace.bot_messages(CRITICAL)]
    assert sorted(ts for _, ts in run.posted) == sorted(m.ts for m in shown)  # both recorded


def test_a_replica_killed_after_slack_took_its_post_is_not_posted_again_on_takeover(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    clock = Clock(TEN_AM)
    tools = _tools(sandbox, database, clock)
    dying = slack_publisher(KilledAfterPosting(_client(slack)))  # type: ignore[arg-type]
    with pytest.raises(Killed):
        run_scheduled(tools, JOB, clock(), dying, trigger="scheduler", by=DEAD)
    assert len(_digests(slack)) == 1  # out, but never recorded; its critical part never posted
    left = tools.runs.slot(JOB, TEN_AM)
    assert left is not None and left.outcome is Outcome.RUNNING and left.posted == ()

    clock.now = TEN_AM + PAST_SILENCE
    [taken] = take_over(tools, JOB, slack_publisher(_client(slack)), by="replica-b:12")

    assert taken.outcome is Outcome.FULL and taken.took_over == DEAD
    posted = slack.workspace.bot_messages(ALERTS)
    assert len(posted) == 1, "the post the killed replica made is found, not made again"
    assert len(slack.workspace.bot_messages(CRITICAL)) == 1  # its critical part: posted now, once
    run = tools.runs.slot(JOB, TEN_AM)
    assert run is not None and run.outcome is Outcome.FULL
    assert posted[0].ts in [ts for _, ts in run.posted]


def test_post_now_on_a_claim_whose_holder_died_posts_and_says_it_took_over(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    """Post now at 10:00:05, its replica killed; clicked again at 10:00:50: the same minute."""
    clock = Clock(TEN_AM + timedelta(seconds=5))
    tools, publish = _tools(sandbox, database, clock), slack_publisher(_client(slack))
    assert tools.runs.claim(JOB, TEN_AM, by=DEAD, trigger="manual", manual=True) is not None

    clock.now = TEN_AM + timedelta(seconds=50)
    done = run_now(tools, JOB, publish, by="replica-b:12", force=True, full=True)
    said = post_now_said(done, ALERTS, "https://slack.example/archives/C1/p1")

    assert done.outcome is Outcome.FULL and done.took_over == DEAD
    assert len(_digests(slack)) == 1
    assert "posted in full" in said and "already posted" not in said
    assert f"another replica, {DEAD}, had claimed this minute's post and stopped" in said


def test_a_post_now_whose_replica_was_killed_is_posted_by_the_sweep_once(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    """Nobody clicks again: the sweep every replica runs posts it, in full, once."""
    clock = Clock(TEN_AM + timedelta(seconds=5))
    tools, publish = _tools(sandbox, database, clock), slack_publisher(_client(slack))
    assert tools.runs.claim(JOB, TEN_AM, by=DEAD, trigger="manual", manual=True) is not None

    clock.now = TEN_AM + timedelta(seconds=20)
    alive = take_over(tools, JOB, publish, by="replica-b:12")
    clock.now = TEN_AM + timedelta(seconds=5) + PAST_SILENCE
    swept = take_over(tools, JOB, publish, by="replica-b:12")
    again = take_over(tools, JOB, publish, by="replica-c:3")

    assert alive == [] and again == []
    assert [(r.outcome, r.slot, r.took_over) for r in swept] == [(Outcome.FULL, TEN_AM, DEAD)]
    assert len(_digests(slack)) == 1
    run = tools.runs.slot(JOB, TEN_AM, manual=True)
    assert run is not None and run.outcome is Outcome.FULL and run.posted


def test_post_now_on_a_live_claim_says_it_is_being_posted_and_posts_once(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    """A click on replica A is posting; another click reaches replica B in the same minute."""
    clock = Clock(TEN_AM + timedelta(seconds=5))
    tools, publish = _tools(sandbox, database, clock), slack_publisher(_client(slack))
    posting, go_on = threading.Event(), threading.Event()

    def slow(publication: Publication) -> list[tuple[str, str]]:
        posting.set()
        assert go_on.wait(timeout=30)
        return publish(publication)

    first: list[Any] = []
    clicked = threading.Thread(
        target=lambda: first.append(
            run_now(tools, JOB, slow, by="replica-a", force=True, full=True)
        )
    )
    clicked.start()
    assert posting.wait(timeout=60)
    clock.now = TEN_AM + timedelta(seconds=20)  # within the silence window of A's claim
    second = run_now(tools, JOB, publish, by="replica-b", force=True, full=True)
    go_on.set()
    clicked.join(timeout=60)

    said = post_now_said(second, ALERTS, None)
    assert second.outcome is Outcome.TAKEN and second.busy
    assert said.startswith(f"{JOB}: being posted by another replica (replica-a) right now")
    assert "already posted" not in said
    assert [r.outcome for r in first] == [Outcome.FULL]
    assert len(_digests(slack)) == 1
    then = run_now(tools, JOB, publish, by="replica-b", force=True, full=True)
    link = "https://slack.example/archives/C1/p2"
    assert (
        post_now_said(then, ALERTS, link) == f"{JOB}: already posted this minute: <{link}|see it>."
    )


def test_two_replicas_racing_to_take_over_a_dead_slot_post_it_once(
    sandbox: Sandbox, database_url: str, slack: SlackEmulator
) -> None:
    """Two replicas (each its own connection pool) restart at once after a kill: SQLite, and
    PostgreSQL's conditional UPDATE under concurrency."""
    databases = [Database.open(database_url) for _ in range(2)]
    try:
        clock = Clock(TEN_AM)
        replicas = [_tools(sandbox, db, clock) for db in databases]
        publish: Publish = slack_publisher(_client(slack))
        assert replicas[0].runs.claim(JOB, TEN_AM, by=DEAD, trigger="scheduler") is not None
        clock.now = TEN_AM + PAST_SILENCE
        start = threading.Barrier(2)
        outcomes: list[object] = []

        def restart(tools: JobTools, name: str) -> None:
            start.wait(timeout=30)
            done = catch_up(tools, JOB, publish, by=name)
            outcomes.append(None if done is None else done.outcome)

        threads = [
            threading.Thread(target=restart, args=(t, f"replica-{i}"))
            for i, t in enumerate(replicas)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)

        assert sorted(outcomes, key=str) == [None, Outcome.FULL]
        assert len(_digests(slack)) == 1
    finally:
        for opened in databases:
            opened.close()


def test_a_slot_whose_post_failed_is_tried_again_by_the_sweep_once_a_window_passed(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    """Found by the backfill soak (seed 1): a takeover's post was rate-limited past the client's
    retries, the run was recorded failed, and nothing in in-process mode ran the slot again."""
    clock = Clock(TEN_AM)
    tools, publish = _tools(sandbox, database, clock), slack_publisher(_client(slack))
    claimed = tools.runs.claim(JOB, TEN_AM, by=DEAD, trigger="scheduler")
    assert claimed is not None
    assert tools.runs.finish(claimed, outcome=Outcome.FAILED, summary="ratelimited")

    clock.now = TEN_AM + timedelta(seconds=5)  # just failed: not at once again
    early = take_over(tools, JOB, publish, by="replica-b:12")
    clock.now = TEN_AM + PAST_SILENCE
    retried = take_over(tools, JOB, publish, by="replica-b:12")
    again = take_over(tools, JOB, publish, by="replica-a:97")  # the other replica's sweep

    assert early == [] and again == []
    assert [(r.outcome, r.slot) for r in retried] == [(Outcome.FULL, TEN_AM)]
    assert _digests(slack) == ["Drift digest: CRITICAL: 3 services behind (1 critical)"]
