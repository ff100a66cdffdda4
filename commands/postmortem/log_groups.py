"""Identical log lines said once: how many times, and from when to when."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol


class Line(Protocol):
    """A log line as Cloud Logging gives it (adapters.cloud_logging.LogLine is one)."""

    @property
    def at(self) -> datetime: ...
    @property
    def severity(self) -> str: ...
    @property
    def text(self) -> str: ...


@dataclass(frozen=True)
class LineGroup:
    """Lines of one severity and one text: how many, the first and the last one's time."""

    severity: str
    text: str
    count: int
    first: datetime
    last: datetime

    def said(self, *, more: bool = False) -> str:
        """`ERROR: text` once; `ERROR, 7 times from 18:14:05 to 18:17:50 UTC: text` for several.

        `more`: the lines read were cut at a limit, so the count is a floor and the last time
        unknown: `ERROR, at least 1000 times from 18:14:05 UTC: text`.
        """
        if self.count == 1 and not more:
            return f"{self.severity}: {self.text}"
        form = "%H:%M:%S" if self.first.date() == self.last.date() else "%Y-%m-%d %H:%M:%S"
        if more:
            return f"{self.severity}, at least {self.count} times from {self.first:{form}} UTC: {self.text}"
        span = f"from {self.first:{form}} to {self.last:{form}} UTC"
        return f"{self.severity}, {self.count} times {span}: {self.text}"


def group_lines(lines: Iterable[Line]) -> list[LineGroup]:
    """One group per distinct (severity, text), in the order each was first logged.

    The rule: a line that repeats another's severity and text word for word (whitespace
    collapsed) adds to that line's count and moves its last time; it is never listed again.
    Lines may come in any order (Cloud Logging pages newest or oldest first).
    """
    groups: dict[tuple[str, str], LineGroup] = {}
    for line in lines:
        key = (line.severity, " ".join(line.text.split()))
        seen = groups.get(key)
        if seen is None:
            groups[key] = LineGroup(key[0], key[1], 1, line.at, line.at)
        else:
            groups[key] = LineGroup(
                key[0], key[1], seen.count + 1, min(seen.first, line.at), max(seen.last, line.at)
            )
    return sorted(groups.values(), key=lambda g: g.first)
