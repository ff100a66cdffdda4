"""A postmortem's timeline in its Slack message: whole when it fits in one section, else what
on-call needs of it (commands/postmortem/excerpt.py), saying what was left out and where all of
it is."""

from __future__ import annotations

import re

from slack_sdk.models.blocks import Block

from bot.views.kit import MAX_TEXT, clip, escape, escape_but_mentions, section
from commands.postmortem.excerpt import Shown, excerpt
from commands.postmortem.model import Document, TimelineEvent
from infra.wording import plural

SAFE_LINK = re.compile(r"https?://[^\s<>|]+")  # a permalink Slack gave: shown as a link
EVENT_TEXT = 400  # an event's text in the message, at most (the Markdown file has it whole)


def _event_line(event: TimelineEvent) -> str:
    """One timeline event in Slack: people it names as live mentions (never escaped markup);
    a long text clipped (the Markdown file has it whole)."""
    text = escape_but_mentions(clip(" ".join(event.text.split()), EVENT_TEXT))
    link = (
        f" (<{event.link}|the message>)" if event.link and SAFE_LINK.fullmatch(event.link) else ""
    )
    return f"`{event.at:%m-%d %H:%M}Z` {escape(event.source)}: {text}{link}"


def _timeline_text(shown: list[Shown]) -> str:
    return "\n".join(
        _event_line(e)
        if isinstance(e, TimelineEvent)
        else f"_… {plural(e.count, 'event')} left out_"
        for e in shown
    )


def _whole_timeline(doc: Document) -> str:
    """Where the whole timeline is read: the Markdown file, and `opsbot postmortem`."""
    kind, _, key = doc.draft.subject.partition(":")
    where = ["the *Markdown file* button below"] if doc.postmortem_id is not None else []
    flag = {"rollout": f"--rollout {key}", "date": f"--date {key}"}.get(kind)
    if flag:
        where.append(f"`opsbot postmortem {flag}`")
    return " and ".join(where) or "the Markdown file"


def timeline_blocks(doc: Document) -> list[Block]:
    """The timeline in one section (3,000 characters): whole, or what on-call needs of it
    (commands/postmortem/excerpt.py), saying how much was left out and where all of it is."""
    events, draft = doc.timeline, doc.draft
    kept = excerpt(
        events, draft.started, draft.recovered, lambda s: len(_timeline_text(s)) <= MAX_TEXT
    )
    count, total = sum(isinstance(e, TimelineEvent) for e in kept), len(events)
    if count == total:
        title = f"*Timeline* ({plural(total, 'event')}, UTC; the Markdown file has both time zones)"
    else:
        recovery = ", the recovery" if draft.recovered is not None else ""
        title = (
            f"*Timeline* ({count} of {total} events shown, UTC: every event people added, the "
            f"{draft.start_words}{recovery} and the newest; {total - count} left out). The "
            f"whole timeline, in both time zones: {_whole_timeline(doc)}."
        )
    return [section(title), section(_timeline_text(kept) or " ")]
