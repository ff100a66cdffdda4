"""Scheduled digests in Slack: /digest and Post now, the digest's Deploy button, the App Home,
Cloud Scheduler's POST /cron/<job> (OIDC), and APScheduler firing inside the bot."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from google.auth import crypt

from bot.actions import ActionId
from bot.digest_jobs import DigestJobs
from bot.oidc import google_verifier
from bot.scheduler import start_scheduler
from bot.slack_clients import slack_api, sync_web_client
from commands.schedule import cron
from commands.schedule.registry import JOB_IDS
from opsbot.profile import load_profile
from opsbot.sandbox_serve import SandboxBot, sandbox_bot
from sandbox.platform import Sandbox
from tests.google_oidc import FakeGoogle, google, id_token, leaks
from tests.slack.conftest import ROOT
from tests.slack.helpers import assert_slack_would_accept, wait_until
from tests.slack.test_hostile_requests import post, signed

__all__ = ["google"]  # the fixture, imported
AUDIENCE = "https://opsbot.example"  # the service URL; a job's token is for <it>/cron/<job>
SCHEDULER = "opsbot-scheduler@nba-props-platform.iam.gserviceaccount.com"
ONCALL, DEPLOYER = "U0DANAONCL", "U0SAMDEPLY"
ALERTS = "#deployment-alerts"


def _posted(bot: SandboxBot, channel: str) -> list[Any]:
    """What the bot posted in the channel for everyone (not the ephemeral answers)."""
    return [m for m in bot.slack.workspace.bot_messages(channel) if m.ephemeral_to is None]


@pytest.fixture
def digesting(sandbox: Sandbox, google: tuple[crypt.RSASigner, str]) -> Iterator[SandboxBot]:
    """A bot with a store of its own (digests remember what they posted), Cloud Scheduler allowed."""
    profile = load_profile(ROOT / "opsbot.toml")
    schedule = profile.schedule.model_copy(
        update={"endpoint_audience": AUDIENCE, "endpoint_service_accounts": [SCHEDULER]}
    )
    configured = profile.model_copy(update={"schedule": schedule})
    with sandbox_bot(configured, sandbox, push_verify=google_verifier(google[1])) as bot:
        thread = bot.server.start_in_thread()
        yield bot
        bot.server.stop(thread)
        assert_slack_would_accept(bot.slack.workspace)


def _cron(
    bot: SandboxBot, job: str, token: str | None, schedule_time: str | None
) -> tuple[int, Any]:
    headers = {"Content-Type": "application/octet-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    if schedule_time is not None:
        headers["X-CloudScheduler-ScheduleTime"] = schedule_time
    request = urllib.request.Request(f"{bot.server.url}/cron/{job}", b"", headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status, json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        return exc.code, None


def test_digest_lists_the_jobs_and_post_now_posts_the_digest_at_once(digesting: SandboxBot) -> None:
    ws = digesting.slack.workspace
    assert digesting.slack.command(ONCALL, ALERTS, "/digest drift").status == 200
    listing = wait_until(
        ws,
        lambda: next(
            (m for m in ws.messages if m.ephemeral_to == ONCALL and "Scheduled" in m.text), None
        ),
    )
    shown = json.dumps(listing.blocks)
    assert "drift-digest" in shown and "*/3 * * * *" in shown and "never run" in shown

    digesting.slack.click(ONCALL, listing, ActionId.DIGEST_POST_NOW)

    digest = wait_until(ws, lambda: next(iter(_posted(digesting, ALERTS)), None))
    assert digest.text.startswith("Drift digest: CRITICAL")
    said = wait_until(
        ws, lambda: next((m for m in ws.messages if "posted in full" in m.text), None)
    )
    assert said.ephemeral_to == ONCALL


def test_bad_digest_arguments_say_what_is_expected_and_post_nothing(digesting: SandboxBot) -> None:
    delivery = digesting.slack.command(ONCALL, ALERTS, "/digest everything")
    assert "unknown job 'everything'" in delivery.body
    assert _posted(digesting, ALERTS) == []


def test_the_digests_deploy_button_opens_the_checklist_for_a_deployer_only(
    digesting: SandboxBot,
) -> None:
    ws = digesting.slack.workspace
    jobs = DigestJobs(
        digesting.runtime.schedule_tools,  # type: ignore[arg-type]
        sync_web_client(slack_api(ws.bot_token, digesting.slack.api_url)),
    )
    asyncio.run(jobs.post_now("drift-digest"))
    digest = ws.bot_messages(ALERTS)[0]
    value = json.dumps({"service": "nba-phase4-precompute-processors"}, separators=(",", ":"))

    digesting.slack.click(ONCALL, digest, ActionId.DIGEST_DEPLOY, value)
    digesting.slack.click(DEPLOYER, digest, ActionId.DIGEST_DEPLOY, value)

    refused = wait_until(
        ws, lambda: next((m for m in ws.messages if m.ephemeral_to == ONCALL), None)
    )
    assert "deployer" in refused.text
    checklist = wait_until(
        ws,
        lambda: next(
            (m for m in ws.messages if m.ephemeral_to == DEPLOYER and "checklist" in m.text), None
        ),
    )
    assert "nba-phase4-precompute-processors" in checklist.text


def test_the_app_home_shows_the_platform_and_the_commands(digesting: SandboxBot) -> None:
    ws = digesting.slack.workspace
    jobs = DigestJobs(
        digesting.runtime.schedule_tools,  # type: ignore[arg-type]
        sync_web_client(slack_api(ws.bot_token, digesting.slack.api_url)),
    )
    asyncio.run(jobs.post_now("drift-digest"))

    assert digesting.slack.open_home(ONCALL).status == 200

    home = wait_until(ws, lambda: ws.homes.get(ONCALL))
    shown = json.dumps(home["blocks"])
    assert home["type"] == "home"
    assert "nba-phase4-precompute-processors` CRITICAL" in shown  # drift per service
    assert "no health digest yet" in shown
    assert all(
        c in shown for c in ("/health", "/drift", "/deploy", "/rollback", "/regrade", "/digest")
    )
    assert "health-digest" in shown  # the next digests


MALFORMED_HOME_EVENTS = {
    "without a user": {"type": "app_home_opened", "tab": "home"},
    "with a user object": {"type": "app_home_opened", "user": {"id": ONCALL}, "tab": "home"},
    "as a string": "app_home_opened",
    "as a string with a type in it": "type",
}


@pytest.mark.parametrize("event", MALFORMED_HOME_EVENTS.values(), ids=list(MALFORMED_HOME_EVENTS))
def test_a_malformed_app_home_opened_is_refused_in_one_log_line_and_publishes_nothing(
    bot: SandboxBot, event: object, caplog: pytest.LogCaptureFixture
) -> None:
    ws = bot.slack.workspace
    envelope = {
        "type": "event_callback",
        "team_id": "T0SANDBOX1",
        "api_app_id": "A0OPSBOT01",
        "event_id": f"Ev0{time.monotonic_ns()}",
        "event_time": int(time.time()),
        "event": event,
    }
    body = json.dumps(envelope).encode()
    with caplog.at_level(logging.INFO):
        status, _ = post(bot, body, signed(bot, body, "application/json"))
        assert bot.slack.open_home(ONCALL).status == 200  # then a well-formed one, served
        wait_until(ws, lambda: ws.homes.get(ONCALL))

    assert status < 500
    assert ws.calls.count("views.publish") == 1  # the well-formed one's
    warned = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.name for r in warned] == [warned[0].name] and not warned[0].exc_info


def _for(job: str) -> str:
    """The audience of a job's token: its target URL, as Cloud Scheduler sets it by default."""
    return f"{AUDIENCE}/cron/{job}"


def test_cloud_scheduler_posts_once_per_slot_with_a_valid_token_and_nothing_otherwise(
    digesting: SandboxBot, google: tuple[crypt.RSASigner, str]
) -> None:
    signer = google[0]
    good = id_token(signer, aud=_for("drift-digest"), email=SCHEDULER)
    slot = "2026-02-05T18:00:00Z"
    refused = [
        _cron(digesting, "drift-digest", None, slot),
        _cron(
            digesting,
            "drift-digest",
            id_token(signer, aud="https://elsewhere", email=SCHEDULER),
            slot,
        ),
        _cron(
            digesting,
            "drift-digest",
            id_token(signer, aud=_for("drift-digest"), email=SCHEDULER, exp=1),
            slot,
        ),
        _cron(
            digesting,
            "drift-digest",
            id_token(signer, aud=_for("drift-digest"), email="eve@evil.example"),
            slot,
        ),
    ]
    assert [status for status, _ in refused] == [401, 401, 401, 401]
    assert _posted(digesting, ALERTS) == []

    first = _cron(digesting, "drift-digest", good, slot)
    retry = _cron(digesting, "drift-digest", good, slot)  # the same call again
    # Cloud Scheduler's retry of the slot, with a token of its own
    fresh = id_token(signer, aud=_for("drift-digest"), email=SCHEDULER, iat=int(time.time()) - 1)
    retried = _cron(digesting, "drift-digest", fresh, slot)

    assert first == (200, first[1]) and first[1]["outcome"] == "full"
    assert first[1]["slot"] == "2026-02-05T18:00:00+00:00"
    assert retry[0] == 200 and retry[1]["outcome"] == "taken"
    assert retried[0] == 200 and retried[1]["outcome"] == "taken"
    assert len(_posted(digesting, ALERTS)) == 1
    unknown = id_token(signer, aud=_for("no-such-job"), email=SCHEDULER)
    assert _cron(digesting, "no-such-job", unknown, slot)[0] == 404
    assert _cron(digesting, "no-such-job", good, slot)[0] == 401  # not its token


def test_a_token_for_one_job_runs_no_other(
    digesting: SandboxBot, google: tuple[crypt.RSASigner, str]
) -> None:
    """A token is good for the job its audience names (`<service URL>/cron/<job>`). One made for
    drift-digest ran /cron/health-digest and /cron/weekly-report too, and so did one whose
    audience was the bare service URL (what `schedule export` asked Cloud Scheduler for)."""
    signer = google[0]
    slot = "2026-02-05T18:00:00Z"
    drift = id_token(signer, aud=_for("drift-digest"), email=SCHEDULER)
    bare = id_token(signer, aud=AUDIENCE, email=SCHEDULER)
    others = [_cron(digesting, job, drift, slot)[0] for job in JOB_IDS if job != "drift-digest"]
    service_wide = [_cron(digesting, job, bare, slot)[0] for job in JOB_IDS]
    assert others == [401] * (len(JOB_IDS) - 1) and service_wide == [401] * len(JOB_IDS)
    assert digesting.slack.workspace.messages == [], "nothing posted anywhere"
    assert _cron(digesting, "drift-digest", drift, slot)[1]["outcome"] == "full"


def test_a_replayed_token_posts_once_whatever_schedule_time_it_names(
    digesting: SandboxBot, google: tuple[crypt.RSASigner, str]
) -> None:
    """One valid token sent 20 times, each naming another slot of the last hour: one post.
    X-CloudScheduler-ScheduleTime is believed only near the token's `iat`; the token is used
    once. It made a post for (nearly) every slot named."""
    token = id_token(google[0], aud=_for("drift-digest"), email=SCHEDULER)
    now = digesting.platform.clock()
    newest = cron.latest_slot("*/3 * * * *", "UTC", now)
    assert newest is not None
    slots = [newest - timedelta(minutes=3 * n) for n in range(20)]
    answers = [
        _cron(digesting, "drift-digest", token, s.isoformat().replace("+00:00", "Z")) for s in slots
    ]
    assert [status for status, _ in answers] == [200] * 20
    outcomes = [body["outcome"] for _, body in answers]
    assert outcomes.count("taken") == 19, outcomes
    assert len(_posted(digesting, ALERTS)) == 1


def test_a_schedule_time_far_from_the_tokens_issue_is_not_believed(
    digesting: SandboxBot, google: tuple[crypt.RSASigner, str]
) -> None:
    """A token issued about ten minutes ago, naming the slot of now: the slot due when the token
    was issued is the one run (the window is `[schedule] schedule_time_window_s`, five minutes)."""
    now, wall_now = digesting.platform.clock(), time.time()
    named = cron.latest_slot("*/3 * * * *", "UTC", now)
    due_then = cron.latest_slot("*/3 * * * *", "UTC", now - timedelta(seconds=600))
    assert named is not None and due_then is not None and named != due_then
    # issued in the middle of that slot, 8½–11½ minutes ago: far from any slot's start, as the
    # runner takes a time within 1 s of a slot for that slot (a scheduler a moment early) and
    # `iat` is whole seconds; issued 600 s ago exactly, 1 in 180 runs landed in that second
    issued_then = due_then + timedelta(seconds=90)
    issued = int(wall_now - (now - issued_then).total_seconds())
    token = id_token(google[0], aud=_for("drift-digest"), email=SCHEDULER, iat=issued)
    status, body = _cron(digesting, "drift-digest", token, named.isoformat())
    assert status == 200 and body["slot"] == due_then.isoformat()


def test_no_log_line_carries_any_part_of_a_cron_token(
    digesting: SandboxBot, google: FakeGoogle, caplog: pytest.LogCaptureFixture
) -> None:
    """Junk, expired, another job's audience, one extra dot, a replay: no log record (any
    logger, any level, tracebacks included) has 16 characters in a row of a token sent."""
    signer = google.signer
    valid = id_token(signer, aud=_for("drift-digest"), email=SCHEDULER)
    sent = [
        "a.b.c",
        "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.e30.e30",
        valid + ".",
        valid + "..",
        valid[:-10],
        id_token(signer, aud=_for("drift-digest"), email=SCHEDULER, exp=1),
        id_token(signer, aud=_for("health-digest"), email=SCHEDULER),
        id_token(signer, aud=_for("drift-digest"), email="eve@evil.example"),
        valid,
        valid,  # a replay
    ]
    with caplog.at_level(logging.DEBUG):
        for token in sent:
            _cron(digesting, "drift-digest", token, None)
    formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
    said = [formatter.format(record) for record in caplog.records]
    assert any("refused" in line for line in said), "the refusals are logged"
    assert leaks(sent, said) == []


def test_apscheduler_in_the_bot_fires_a_job_on_the_job_clock(digesting: SandboxBot) -> None:
    ws = digesting.slack.workspace
    tools_of = digesting.runtime.schedule_tools
    assert tools_of is not None
    jobs = DigestJobs(tools_of, sync_web_client(slack_api(ws.bot_token, digesting.slack.api_url)))
    clock = digesting.platform.clock

    async def fire_once() -> list[datetime]:
        scheduler = start_scheduler(jobs, digesting.runtime.profile.schedule, clock)
        planned = [job.next_run_time for job in scheduler.get_jobs()]
        scheduler.get_job("drift-digest").modify(next_run_time=datetime.now(UTC))
        seen = ws.version
        for _ in range(200):  # the job posts from a worker thread: wait on the workspace
            if _posted(digesting, ALERTS):
                break
            seen = await asyncio.to_thread(ws.wait_for_change, seen, 0.5)
        tools = tools_of()
        for _ in range(200):  # and until the run is recorded as ended
            last = await asyncio.to_thread(tools.runs.latest, "drift-digest")
            if last is not None and last.outcome != "running":
                break
            await asyncio.sleep(0.05)
        scheduler.shutdown(wait=False)
        return planned

    planned = asyncio.run(fire_once())

    assert [m.text[:22] for m in _posted(digesting, ALERTS)] == ["Drift digest: CRITICAL"]
    offset = clock() - datetime.now(UTC)
    on_the_job_clock = sorted(  # to the second: the offset is read a moment after the planning
        (p + offset + timedelta(milliseconds=500)).replace(microsecond=0) for p in planned
    )
    # each job's next run, read on the sandbox's clock, is its cron's next slot there
    assert [(t.second, t.minute % 3 == 0 or t.minute % 5 == 0) for t in on_the_job_clock] == [
        (0, True)
    ] * len(JOB_IDS)


def test_a_slot_another_replica_is_running_is_503_and_its_retry_takes_it_over_once_it_died(
    digesting: SandboxBot, google: tuple[crypt.RSASigner, str]
) -> None:
    """Cloud Scheduler retries a non-2xx answer: a 200 "taken" while the holder was alive lost
    the slot for good when that holder was then killed."""
    from sqlalchemy import update

    from store.schema import ScheduleRun

    assert digesting.runtime.schedule_tools is not None
    runs = digesting.runtime.schedule_tools().runs
    slot = datetime(2026, 2, 5, 18, tzinfo=UTC)
    assert runs.claim("drift-digest", slot, by="replica-a:7", trigger="scheduler") is not None
    token = id_token(google[0], aud=_for("drift-digest"), email=SCHEDULER)

    busy = _cron(digesting, "drift-digest", token, "2026-02-05T18:00:00Z")
    assert busy[0] == 503 and _posted(digesting, ALERTS) == []

    with runs.database.session() as session:  # replica-a is killed: its claim goes unrenewed
        session.execute(
            update(ScheduleRun)
            .where(ScheduleRun.job == "drift-digest")
            .values(claimed_at=runs.now() - runs.silence - timedelta(seconds=5))
        )
    retried = _cron(digesting, "drift-digest", token, "2026-02-05T18:00:00Z")
    assert retried[0] == 200 and retried[1]["outcome"] == "full"
    again = _cron(digesting, "drift-digest", token, "2026-02-05T18:00:00Z")
    assert again[0] == 200 and again[1]["outcome"] == "taken"
    assert len(_posted(digesting, ALERTS)) == 1
