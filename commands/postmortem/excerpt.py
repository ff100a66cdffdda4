"""Which events of a timeline too long for its message are shown: what on-call needs.

The rule, in order: every event a person added (the message shortcut), the first bad signal
(the first event at or after the incident's start), the recovery (the last event at or before
it), then the newest events, as many as fit. The rest are left out where they stood, each run of
them said with its count, so the message never hides that it is an excerpt; the full timeline
is in the postmortem's Markdown file and `opsbot postmortem`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from commands.postmortem.model import TimelineEvent


@dataclass(frozen=True)
class LeftOut:
    """A run of consecutive events the excerpt leaves out."""

    count: int


Shown = TimelineEvent | LeftOut


def first_bad(events: Sequence[TimelineEvent], started: datetime) -> int | None:
    """The index of the first event at or after the incident's start (its first bad signal, or
    when the canary first served when there was none)."""
    return next((i for i, e in enumerate(events) if e.at >= started), None)


def recovery(events: Sequence[TimelineEvent], recovered: datetime | None) -> int | None:
    """The index of the last event at or before the recovery (None: not recovered)."""
    if recovered is None:
        return None
    return next((i for i in reversed(range(len(events))) if events[i].at <= recovered), None)


def shown(events: Sequence[TimelineEvent], kept: set[int]) -> list[Shown]:
    """The events kept, in their order, with each run of left-out ones as one LeftOut."""
    out: list[Shown] = []
    run = 0
    for index, event in enumerate(events):
        if index in kept:
            if run:
                out.append(LeftOut(run))
                run = 0
            out.append(event)
        else:
            run += 1
    if run:
        out.append(LeftOut(run))
    return out


def excerpt(
    events: Sequence[TimelineEvent],
    started: datetime,
    recovered: datetime | None,
    fits: Callable[[list[Shown]], bool],
) -> list[Shown]:
    """The whole timeline when it `fits`; else what on-call needs of it that fits (the rule).

    `events` are in time order. People's events come newest first, so that when even they do
    not all fit (a message holds about 3,000 characters), the oldest of them are the ones left
    out; an event that does not fit on its own is left out and the next one tried.
    """
    every: list[Shown] = list(events)
    if fits(every):
        return every
    needed = [first_bad(events, started), recovery(events, recovered)]
    needed += [i for i in reversed(range(len(events))) if events[i].added]
    kept: set[int] = set()
    for index in needed:
        if index is not None and index not in kept and fits(shown(events, kept | {index})):
            kept.add(index)
    for index in reversed(range(len(events))):  # then the newest, until one does not fit
        if index in kept:
            continue
        if not fits(shown(events, kept | {index})):
            break
        kept.add(index)
    return shown(events, kept)
