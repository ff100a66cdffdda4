"""The platform's record of a bad revision: traffic changes, ERROR lines, commits, backfills.

Each source is read on its own; one that cannot answer leaves a note in the draft ("Cloud
Logging did not answer: …") and the rest of the draft is still built.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from adapters.errors import AdapterError
from adapters.monitoring import RevisionMetrics
from commands.postmortem.model import TimelineEvent
from commands.postmortem.tools import PostmortemTools
from commands.requests import select_services

log = logging.getLogger("opsbot.postmortem")
T = TypeVar("T")
ERROR_LINES = 10  # the first ERROR lines quoted in the timeline (Impact counts the 5xx)


@dataclass
class Evidence:
    """Events and figures gathered so far, and what could not be read."""

    events: list[TimelineEvent] = field(default_factory=list)
    impact: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)

    def read(self, what: str, reading: Callable[[], T]) -> T | None:
        """`reading()`, or None with a gap noted when the platform does not answer."""
        try:
            return reading()
        except AdapterError as exc:
            log.warning("postmortem: %s unavailable: %s", what, exc)
            self.gaps.append(f"{what}: unavailable ({exc})")
            return None


def split_text(split: dict[str, int]) -> str:
    return " · ".join(f"{percent}% {revision}" for revision, percent in split.items())


def traffic(
    tools: PostmortemTools, found: Evidence, service: str, since: datetime, until: datetime
) -> None:
    """Cloud Run's traffic changes of `service` in [since, until] as events."""
    logs = tools.deploy.logs
    changes = found.read(
        f"{service}'s traffic changes (Cloud Audit Logs)",
        lambda: logs.traffic_changes(service, since, until),
    )
    for change in changes or []:
        who = f" (by {change.principal})" if change.principal else ""
        found.events.append(
            TimelineEvent(
                change.at, "cloud-run", f"{service} traffic: {split_text(change.split)}{who}"
            )
        )


def error_lines(
    tools: PostmortemTools, found: Evidence, service: str, revision: str, since: datetime
) -> None:
    """The revision's first ERROR lines as events: when it began, and what it said."""
    lines = found.read(
        f"{revision}'s ERROR lines (Cloud Logging)",
        lambda: tools.deploy.logs.errors(
            service, revision, since=since, limit=ERROR_LINES, oldest_first=True
        ),
    )
    for line in lines or []:
        found.events.append(
            TimelineEvent(line.at, "logs", f"{revision} {line.severity}: {line.text}")
        )


def served(
    tools: PostmortemTools,
    found: Evidence,
    service: str,
    revision: str,
    since: datetime,
    until: datetime,
) -> RevisionMetrics | None:
    """What the revision served in [since, until], said in the impact."""
    metrics = found.read(
        f"{revision}'s requests (Cloud Monitoring)",
        lambda: tools.deploy.monitoring.revision_metrics(service, revision, since, until),
    )
    if metrics is not None:
        share = f" ({100 * metrics.error_ratio:.1f}%)" if metrics.error_ratio is not None else ""
        found.impact.append(
            f"{revision} served {metrics.requests:,} requests, {metrics.server_errors:,} of them "
            f"answered 5xx{share}"
        )
    return metrics


def commits_shipped(
    tools: PostmortemTools, found: Evidence, service: str, base: str | None, tip: str
) -> list[str]:
    """The commits `tip` added over `base` that touch the service, as events (with authors)."""
    repo = tools.deploy.repo
    if base is None:  # the stable revision has no commit label: the shipped commit alone
        found.gaps.append(
            f"the commits shipped before {tip[:8]}: {service}'s stable revision has no commit label"
        )
        commit = found.read("the commit shipped (git)", lambda: repo.resolve(tip))
        if commit is None:
            return []
        found.events.append(
            TimelineEvent(
                commit.committed,
                "git",
                f"commit {commit.short} by {commit.author}: {commit.subject}",
            )
        )
        return [f"{commit.short} {commit.subject} ({commit.author})"]
    paths = select_services(tools.profile, [service])[0].source_paths
    shipped = found.read(
        "the commits shipped (git)", lambda: repo.commits_between(base, tip, paths, keep=20)
    )
    if shipped is None:
        return []
    for commit in shipped.newest:
        found.events.append(
            TimelineEvent(
                commit.committed,
                "git",
                f"commit {commit.short} by {commit.author}: {commit.subject}",
            )
        )
    if shipped.count > len(shipped.newest):
        found.gaps.append(
            f"{shipped.count - len(shipped.newest)} older commits shipped are not listed"
        )
    return [f"{c.short} {c.subject} ({c.author})" for c in shipped.newest]


def backfills(tools: PostmortemTools, found: Evidence, since: datetime, until: datetime) -> None:
    """Grading backfills started in the window."""
    for backfill in tools.backfills.recent(limit=200):
        if since <= backfill.created_at <= until:
            days = [d.game_date for d in backfill.dates]
            span = f"{days[0]}..{days[-1]}" if days else "no dates"
            found.events.append(
                TimelineEvent(
                    backfill.created_at,
                    "backfill",
                    f"grading backfill #{backfill.id} of {span} ({len(days)} dates): {backfill.state}",
                    backfill.requested_by,
                )
            )
