"""Short ephemeral messages: usage with an example, refusals, errors."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.views.kit import context, escape, header, section

# Descriptions are mrkdwn: a placeholder is written &lt;like this&gt;, or Slack reads a link.
USAGE = {
    "/health": (
        "`/health [YYYY-MM-DD]`: run the platform's health checks for a game day "
        "(today in ET when no date is given) and post the scored report in this channel.",
        "/health 2026-02-05",
    ),
    "/deploy": (
        "`/deploy SERVICE [commit]`: a checklist of what would ship (default: main's newest commit "
        "touching the service), then a canary with Promote and Roll back buttons.",
        "/deploy prediction-worker   ·   /deploy nba-scrapers 3f18b34b",
    ),
    "/rollback": (
        "`/rollback SERVICE [revision]`: the service's recent revisions, each with a Roll back "
        "button; with a revision, straight to the confirmation. Moves 100% of traffic and verifies it.",
        "/rollback nba-grading-service   ·   /rollback nba-grading-service nba-grading-service-00083-499",
    ),
    "/drift": (
        "`/drift [service ...]`: what each service runs against main, counting only commits "
        "that touch its sources.\n`/drift contains &lt;sha&gt;`: which services already run a commit.",
        "/drift prediction-worker   ·   /drift contains 3f18b34b",
    ),
    "/regrade": (
        "`/regrade START [END] [--include-graded]`: a plan of the grading backfill of those game "
        "dates (each regraded or skipped, and why), with Start. `/regrade` alone opens a form.",
        "/regrade 2026-01-28   ·   /regrade 2026-01-28 2026-02-03   ·   /regrade",
    ),
    "/digest": (
        "`/digest [drift|health|weekly]`: the scheduled digests (schedule, channel, next and last "
        "run), each with a Post now button that posts it in full at once.",
        "/digest   ·   /digest drift",
    ),
    "/postmortem": (
        "`/postmortem rollout N | YYYY-MM-DD | last`: a postmortem draft prefilled from what opsbot "
        "recorded (a rollout, a data incident around a game day, or the newest rollback), with "
        "Edit, Markdown and Final buttons. Add any message to its timeline with the message "
        "shortcut *Add to postmortem timeline*.",
        "/postmortem rollout 12   ·   /postmortem 2026-01-28   ·   /postmortem last",
    ),
}


def usage(
    command: str, problem: str | None = None, known: list[str] | None = None
) -> tuple[str, list[Block]]:
    """How to use `command`, led by what was wrong with the last try, if anything."""
    description, example = USAGE[command]
    blocks: list[Block] = []
    if problem:
        blocks.append(section(f":warning: {escape(problem)}"))
    blocks.append(section(f"{description}\nExample: `{example}`"))
    if known:
        blocks.append(context("services: " + ", ".join(f"`{name}`" for name in known)))
    text = f"{escape(problem)}. " if problem else ""
    return f"{text}Usage: {description}", blocks


def notice(text: str) -> tuple[str, list[Block]]:
    """A one-line answer: plain mrkdwn text, no blocks (cheap enough for the ack path)."""
    return escape(text), []


def could_not_finish(title: str, said: str) -> tuple[str, list[Block]]:
    """What a message being built shows when its work failed: `said` is what the person is told."""
    return f"{title}: failed", [
        header(f"{title} · could not finish"),
        section(f":x: {said}"),
        context("run the command again once fixed"),
    ]
