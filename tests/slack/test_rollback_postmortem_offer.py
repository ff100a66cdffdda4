"""A hand rollback offers "Start postmortem" only when it was an incident: when a revision it took
traffic from was bad (issue 31: 5)."""

from __future__ import annotations

from bot.actions import ActionId
from opsbot.sandbox_serve import SandboxBot
from sandbox.slack_workspace import Message
from tests.slack.conftest import checklist_for, rollout_message
from tests.slack.helpers import DEPLOYER, block_text, buttons, ephemeral_for, wait_until

SERVICE = "nba-scrapers"
CHANNEL = "#deployment-alerts"


def _failed_canary(bot: SandboxBot) -> tuple[str, str]:
    """/deploy nba-scrapers, started: it rolls itself back. Its canary and stable revisions."""
    ws = bot.slack.workspace
    bot.slack.command(DEPLOYER, CHANNEL, f"/deploy {SERVICE}")
    bot.slack.click(DEPLOYER, checklist_for(ws, DEPLOYER), ActionId.DEPLOY_START)
    rollout_message(ws, "rolled back")
    assert bot.runtime.deploy_tools is not None
    [rollout] = bot.runtime.deploy_tools().store.recent()
    assert rollout.canary_revision is not None
    return rollout.canary_revision, rollout.stable_revision


def _roll_back_by_hand(bot: SandboxBot, revision: str) -> tuple[Message, str]:
    """`/rollback nba-scrapers REVISION`, confirmed: the channel's message, and what the person
    was told once it was done."""
    ws = bot.slack.workspace
    bot.slack.command(DEPLOYER, CHANNEL, f"/rollback {SERVICE} {revision}")
    asked = wait_until(ws, ephemeral_for(ws, DEPLOYER, f"Roll back {SERVICE} to {revision}?"))
    bot.slack.click(DEPLOYER, asked, ActionId.ROLLBACK_TO)
    said = wait_until(
        ws,
        lambda: next(
            (
                m
                for m in ws.bot_messages(CHANNEL)
                if m.ephemeral_to is None and f"100% of traffic on {revision}, verified" in m.text
            ),
            None,
        ),
    )

    def answered() -> str | None:
        text = ws.find(asked.channel, asked.ts).text
        return text if text.startswith("Done:") else None

    return said, wait_until(ws, answered)


def _thread_of(bot: SandboxBot, message: Message) -> list[Message]:
    return [m for m in bot.slack.workspace.messages if m.thread_ts == message.ts]


def test_a_hand_rollback_offers_a_postmortem_only_when_what_it_replaced_was_bad(
    deploying: SandboxBot,
) -> None:
    """Every hand rollback offered "Start postmortem", whatever it replaced."""
    canary, stable = _failed_canary(deploying)

    # to the failed canary, from the normal stable revision (0.2% 5xx): no incident
    said, done = _roll_back_by_hand(deploying, canary)
    assert _thread_of(deploying, said) == []  # any offer is posted before "Done"
    assert "No postmortem offered: the revisions it replaced answered 5xx within" in done

    # back to stable, from the canary answering 12% 5xx: an incident, offered in the thread
    said, done = _roll_back_by_hand(deploying, stable)
    [offer] = _thread_of(deploying, said)
    assert f"{SERVICE} was rolled back" in offer.text
    assert [b["action_id"] for b in buttons(offer)] == [ActionId.POSTMORTEM_START]
    assert done == f"Done: {SERVICE} serves {stable}."


def test_the_markdown_export_names_people_where_slack_mentions_them(
    deploying: SandboxBot,
) -> None:
    """The exported file said `@U0SAMDEPLY`: nothing gave opsbot people's names (issue 31: 6)."""
    ws = deploying.slack.workspace
    canary, stable = _failed_canary(deploying)
    _roll_back_by_hand(deploying, canary)
    said, _ = _roll_back_by_hand(deploying, stable)
    [offer] = _thread_of(deploying, said)
    deploying.slack.click(DEPLOYER, offer, ActionId.POSTMORTEM_START)
    draft = wait_until(
        ws, lambda: next((m for m in _thread_of(deploying, said) if "Postmortem (" in m.text), None)
    )
    assert f"<@{DEPLOYER}> rolled it back by hand" in block_text(draft)  # Slack: a mention

    deploying.slack.click(DEPLOYER, draft, ActionId.POSTMORTEM_EXPORT)
    shared = wait_until(
        ws, lambda: next((m for m in ws.messages if m.files and m.thread_ts == draft.ts), None)
    )
    exported = deploying.slack.files.files[shared.files[0]["id"]].content or b""
    markdown = exported.decode()
    assert "@sam rolled it back by hand" in markdown and " · by @sam · " in markdown
    assert DEPLOYER not in markdown and "<@" not in markdown
