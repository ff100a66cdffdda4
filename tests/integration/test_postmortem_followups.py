"""What follows a postmortem: the draft's nudge, action items' reminders, the weekly report's list,
and the offer when a CRITICAL check recovers, through the scheduled jobs on a real store."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.digest_jobs import slack_publisher
from bot.slack_clients import slack_api, sync_web_client
from commands.schedule.runner import JobTools, Publish, run_job, run_scheduled
from opsbot.platform import sandbox_platforms
from opsbot.profile import load_profile
from opsbot.schedule import job_tools
from sandbox.platform import Sandbox
from sandbox.slack_emulator import SlackEmulator
from store.database import Database
from store.postmortem_views import PostmortemView
from store.postmortems import Postmortems
from tests.integration.conftest import Clock

ROOT = Path(__file__).resolve().parents[2]
PROFILE = load_profile(ROOT / "opsbot.toml")
STARTED = datetime(2026, 2, 5, 18, tzinfo=UTC)  # 10:00 PT
ONCALL, DEPLOYER = "U0DANAONCL", "U0SAMDEPLY"


def _jobs(
    sandbox: Sandbox, database: Database, slack: SlackEmulator, clock: Clock
) -> tuple[JobTools, Publish]:
    tools = job_tools(PROFILE, database, sandbox_platforms(PROFILE, sandbox), clock)
    client = sync_web_client(slack_api(slack.workspace.bot_token, slack.api_url))
    return tools, slack_publisher(client, PROFILE)


def _started(postmortems: Postmortems, slack: SlackEmulator, subject: str) -> PostmortemView:
    """A postmortem started by on-call, shown in #deployment-alerts."""
    stored, created = postmortems.open_or_create(
        subject=subject,
        kind="rollout",
        title=f"the incident {subject}",
        severity="SEV4",
        document={},
        incident_start=STARTED - timedelta(hours=1),
        incident_end=STARTED,
        created_by=ONCALL,
    )
    assert created
    shown = slack.workspace.post("#deployment-alerts", f"Postmortem {subject}", None, "U0OPSBOT00")
    assert postmortems.attach_message(stored.id, shown.channel, shown.ts)
    found = postmortems.get(stored.id)
    assert found is not None
    return found


def _reminders(tools: JobTools, publish: Publish, clock: Clock) -> str:
    slot = clock().replace(minute=0, second=0, microsecond=0)
    done = run_job(tools, "postmortem-reminders", slot, publish, trigger="scheduler", by="a")
    return done.outcome


def test_a_draft_is_nudged_once_in_its_thread_24_hours_before_its_48_hour_mark(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    clock = Clock(STARTED)
    tools, publish = _jobs(sandbox, database, slack, clock)
    postmortems = Postmortems(database, clock)
    draft = _started(postmortems, slack, "rollout:1")
    finished = _started(postmortems, slack, "rollout:2")
    assert postmortems.edit(finished.id, finished.version, ONCALL, status="final") is not None

    outcomes = []
    for hours in (1, 23, 25, 26):
        clock.now = STARTED + timedelta(hours=hours)
        outcomes.append(_reminders(tools, publish, clock))

    assert outcomes == ["quiet", "quiet", "full", "quiet"]
    replies = [m for m in slack.workspace.messages if m.thread_ts is not None]
    assert [m.thread_ts for m in replies] == [draft.slack_ts]  # the draft's thread, once
    assert replies[0].text.startswith(f":hourglass: <@{ONCALL}>, the postmortem *the incident")
    assert "still a draft; it is due by 2026-02-07 18:00:00 UTC (Sat 10:00 PST)" in replies[0].text


def test_action_items_remind_their_owner_on_the_due_day_and_once_overdue(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    clock = Clock(STARTED)
    tools, publish = _jobs(sandbox, database, slack, clock)
    postmortems = Postmortems(database, clock)
    stored = _started(postmortems, slack, "rollout:1")
    postmortems.edit(stored.id, stored.version, ONCALL, status="final")  # no draft nudge here
    due = date(2026, 2, 10)
    item = postmortems.add_item(
        stored.id, text="Alert on a missing bookmaker id", owner=DEPLOYER, due=due, actor=ONCALL
    )
    closed = postmortems.add_item(
        stored.id, text="Already done", owner=DEPLOYER, due=due, actor=ONCALL
    )
    assert postmortems.close_item(closed.id, ONCALL) is not None

    said = []
    for moment in (
        datetime(2026, 2, 9, 18, tzinfo=UTC),  # the day before
        datetime(2026, 2, 10, 17, tzinfo=UTC),  # 09:00 PT on the due day
        datetime(2026, 2, 10, 21, tzinfo=UTC),  # later that day
        datetime(2026, 2, 11, 17, tzinfo=UTC),  # overdue
        datetime(2026, 2, 12, 17, tzinfo=UTC),  # still overdue: said once already
    ):
        clock.now = moment
        said.append(_reminders(tools, publish, clock))

    assert said == ["quiet", "full", "quiet", "full", "quiet"]
    direct = [m.text for m in slack.workspace.bot_messages(f"D{DEPLOYER[1:]}")]
    assert len(direct) == 2
    assert (
        "“Alert on a missing bookmaker id” (postmortem: the incident rollout:1) is due today"
        in direct[0]
    )
    assert "was due 2026-02-10 and is overdue" in direct[1]
    assert [(i.id, i.reminded) for i in postmortems.open_items()] == [(item.id, "overdue")]


def test_the_weekly_report_lists_open_and_overdue_action_items(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    clock = Clock(STARTED)
    tools, publish = _jobs(sandbox, database, slack, clock)
    postmortems = Postmortems(database, clock)
    stored = _started(postmortems, slack, "rollout:1")
    postmortems.add_item(
        stored.id, text="Late one", owner=DEPLOYER, due=date(2026, 2, 1), actor=ONCALL
    )
    postmortems.add_item(
        stored.id, text="Next week", owner=ONCALL, due=date(2026, 2, 12), actor=ONCALL
    )

    done = run_scheduled(
        tools,
        "weekly-report",
        datetime(2026, 2, 9, 17, tzinfo=UTC),
        publish,
        trigger="scheduler",
        by="a",
    )

    assert done.outcome == "full"
    report = slack.workspace.bot_messages("#deployment-alerts")[-1]
    text = str(report.blocks)
    assert "*Postmortem action items*: 2 open, 1 overdue" in text
    assert f"Late one — <@{DEPLOYER}>, due 2026-02-01 *overdue*" in text
    assert f"Next week — <@{ONCALL}>, due 2026-02-12" in text


def test_a_critical_check_that_recovered_offers_a_postmortem_for_its_day(
    sandbox: Sandbox, database: Database, slack: SlackEmulator
) -> None:
    clock = Clock(datetime(2026, 1, 28, 20, tzinfo=UTC))  # inside the Vegas-line incident
    tools, publish = _jobs(sandbox, database, slack, clock)
    run_scheduled(tools, "health-digest", clock(), publish, trigger="scheduler", by="a")
    clock.now = datetime(2026, 2, 4, 20, tzinfo=UTC)  # vegas_line_coverage is OK again
    run_scheduled(tools, "health-digest", clock(), publish, trigger="scheduler", by="a")

    digests = [
        m for m in slack.workspace.bot_messages("#orchestration-health") if m.thread_ts is None
    ]
    offers = [m for m in slack.workspace.messages if m.thread_ts is not None]
    assert len(digests) == 2 and [m.thread_ts for m in offers] == [digests[1].ts]
    assert "vegas_line_coverage recovered (CRITICAL on 2026-01-28)" in offers[0].text
    value = offers[0].blocks[0]["accessory"]["value"]
    assert value == '{"subject":"date:2026-01-28"}'
