"""The drift digest while a rollout runs: the canary's split is that rollout (linked to its
message), not a split "left behind", and no Deploy is offered for the service meanwhile."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.digest_jobs import slack_publisher
from bot.slack_clients import slack_api, sync_web_client
from bot.views.schedule import home_view
from commands.schedule.runner import run_now
from commands.schedule.status import job_statuses
from opsbot.platform import sandbox_platforms
from opsbot.sandbox_serve import sandbox_bot
from opsbot.schedule import job_tools
from sandbox.slack_emulator import SlackEmulator
from store.database import Database
from tests.integration.conftest import Clock
from tests.slack.conftest import left_rollout
from tests.slack.helpers import (
    HEALTH_CHANNEL,
    ONCALL,
    assert_slack_would_accept,
    block_text,
    finished,
    wait_until,
)

ALERTS = "#deployment-alerts"


def _sections(message: Any) -> dict[str, tuple[str, str | None]]:
    """Each service's section of a digest: its text, and its button's text (None: no button)."""
    found = {}
    for block in message.blocks:
        if block["type"] != "section":
            continue
        text = block["text"]["text"]
        service = text.split("*")[1]
        accessory = block.get("accessory")
        found[service] = (text, accessory["text"]["text"] if accessory else None)
    return found


def test_a_split_a_live_rollout_owns_is_that_rollout_linked_and_its_service_offers_no_deploy(
    tmp_path: Path, slack: SlackEmulator
) -> None:
    with left_rollout(tmp_path, "nba-scrapers") as left:
        rollout_message = left.posted_in(slack.workspace)
        client = sync_web_client(slack_api(slack.workspace.bot_token, slack.api_url))
        link = client.chat_getPermalink(
            channel=rollout_message.channel, message_ts=rollout_message.ts
        )["permalink"]
        serving = left.tools.cloud_run.get_service("nba-scrapers").serving
        assert {t.revision for t in serving} == {
            left.rollout.stable_revision,
            left.rollout.canary_revision,
        }  # the canary's split, as the rollout made it
        database = Database.open(left.store_url)
        try:
            clock = Clock(left.platform.clock())
            platforms = sandbox_platforms(left.profile, left.platform)
            tools = job_tools(left.profile, database, platforms, clock)
            run_now(tools, "drift-digest", slack_publisher(client), by="a", force=True)
            statuses = job_statuses(tools.profile, tools.runs, clock())
            last = tools.runs.last_full("drift-digest")
            rollouts = tools.active_rollouts()
            home = home_view(statuses, None, last, rollouts, [], {}, clock())
        finally:
            database.close()

    digest = slack.workspace.bot_messages(ALERTS)[-1]
    sections = _sections(digest)
    scrapers, button = sections["nba-scrapers"]
    assert "left behind" not in scrapers and "finish the rollout" not in scrapers
    assert f"rollout #{left.rollout.id} of `{left.rollout.commit_sha[:8]}` under way" in scrapers
    assert f"its canary {left.rollout.canary_revision} serves" in scrapers
    assert f"<{link}|its message>" in scrapers
    assert button is None  # no Deploy nba-scrapers while its rollout runs
    # a split no rollout owns is still left behind, and its service still offers Deploy
    grading, grading_button = sections["nba-grading-service"]
    assert "traffic split left behind" in grading
    assert grading_button == "Deploy nba-grading-service"
    assert_slack_would_accept(slack.workspace)
    # the App Home's drift, from that digest: the service's rollout, while it is under way
    blocks: list[dict[str, Any]] = home["blocks"]  # type: ignore[assignment]
    drift = next(b["text"]["text"] for b in blocks if "*Drift*" in str(b))
    scrapers_home = next(line for line in drift.split("\n") if "`nba-scrapers`" in line)
    assert scrapers_home.endswith(f"behind · rollout #{left.rollout.id} under way")


def test_drift_in_slack_says_a_live_canarys_split_is_that_rollout_not_one_left_behind(
    tmp_path: Path,
) -> None:
    """/drift said "traffic split left behind: finish the rollout or roll back" of a canary
    under way, inviting on-call to roll back a healthy rollout."""
    with (
        left_rollout(tmp_path, "nba-scrapers") as left,
        sandbox_bot(left.fast, left.platform, store_url=left.store_url) as bot,
    ):
        thread = bot.server.start_in_thread()
        try:
            ws = bot.slack.workspace
            bot.slack.command(ONCALL, HEALTH_CHANNEL, "/drift nba-scrapers nba-grading-service")
            report = wait_until(ws, finished(ws, "Drift", HEALTH_CHANNEL))
        finally:
            bot.server.stop(thread)
    text = block_text(report)
    assert f"the split is rollout #{left.rollout.id} under way, canary 10%" in text
    assert "nba-grading-service" in text and text.count("traffic split left behind") == 1
