"""The platform's record of a bad revision: traffic changes, ERROR lines, commits, backfills.

Each source is read on its own; one that cannot answer leaves a note in the draft ("Cloud
Logging did not answer: …") and the rest of the draft is still built.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from adapters.cloud_logging import TrafficChange
from adapters.errors import AdapterError
from adapters.monitoring import RevisionMetrics
from commands.postmortem.bounds import SKEW, Span, backfills_concern, own_changes, within
from commands.postmortem.log_groups import LineGroup, group_lines
from commands.postmortem.model import TimelineEvent
from commands.postmortem.tools import PostmortemTools
from commands.requests import select_services
from infra.wording import noun, plural, said, verb

log = logging.getLogger("opsbot.postmortem")
T = TypeVar("T")
ERROR_LINES_READ = 1000  # the first ERROR lines read (one page), grouped; Impact counts the 5xx


@dataclass
class Evidence:
    """Events and figures gathered so far, and what could not be read."""

    events: list[TimelineEvent] = field(default_factory=list)
    impact: list[str] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)
    logged: list[tuple[str, LineGroup]] = field(default_factory=list)  # (revision, its lines)

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
    tools: PostmortemTools,
    found: Evidence,
    service: str,
    since: datetime,
    until: datetime,
    *,
    own: set[str] | None = None,
    first_of: str | None = None,
) -> list[TrafficChange] | None:
    """Cloud Run's traffic changes of `service` in [since, until] as events; with `own`, only
    the incident's own (bounds.own_changes). The changes kept; None when none could be read."""
    logs = tools.deploy.logs
    low, high = (since - SKEW, until + SKEW) if own is not None else (since, until)
    changes = found.read(
        f"{service}'s traffic changes (Cloud Audit Logs)",
        lambda: logs.traffic_changes(service, low, high),
    )
    if changes is None:
        return None
    if own is not None:
        changes = own_changes(changes, own, since, until, first_of=first_of)
    for change in changes:
        who = f" (by {change.principal})" if change.principal else ""
        found.events.append(
            TimelineEvent(
                change.at, "cloud-run", f"{service} traffic: {split_text(change.split)}{who}"
            )
        )
    return changes


def error_lines(
    tools: PostmortemTools,
    found: Evidence,
    service: str,
    revision: str,
    spans: list[Span],
) -> list[datetime]:
    """The ERROR lines the revision logged while it had traffic (`spans`), identical ones as one
    event with their count and first and last time; the times of those kept.

    A line stamped when the revision had no traffic (after a rollback moved it all away: a
    request it was still finishing, or a line stamped late) is left out, and the draft says how
    many were and why.
    """
    if not spans:
        return []
    since = min(start for start, _ in spans)
    lines = found.read(
        f"{revision}'s ERROR lines (Cloud Logging)",
        lambda: tools.deploy.logs.errors(
            service, revision, since=since, limit=ERROR_LINES_READ, oldest_first=True
        ),
    )
    if not lines:
        return []
    kept = [line for line in lines if within(line.at, spans)]
    left_out = len(lines) - len(kept)
    if left_out:
        ended = max(end for _, end in spans)
        found.gaps.append(
            f"{left_out} ERROR line{'' if left_out == 1 else 's'} of {revision} stamped after {ended:%H:%M:%S} UTC, when it no "
            f"longer had traffic, {'is' if left_out == 1 else 'are'} left out (requests it was still finishing, or lines stamped "
            "late: Cloud Logging does not say which)"
        )
    more = len(lines) >= ERROR_LINES_READ
    for group in group_lines(kept):
        found.logged.append((revision, group))
        found.events.append(
            TimelineEvent(group.first, "logs", f"{revision} {group.said(more=more)}")
        )
    return [line.at for line in kept]


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
            f"{revision} served {metrics.requests:,} {noun(metrics.requests, 'request')}, "
            f"{metrics.server_errors:,} of them answered 5xx{share}"
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
    older = shipped.count - len(shipped.newest)
    if older > 0:
        found.gaps.append(
            f"{plural(older, 'older commit')} shipped {verb(older, 'is', 'are')} not listed"
        )
    return [f"{c.short} {c.subject} ({c.author})" for c in shipped.newest]


def backfills(
    tools: PostmortemTools,
    found: Evidence,
    since: datetime,
    until: datetime,
    checks: Iterable[str | None],
) -> None:
    """Grading backfills started in the window, when the incident is about grading
    (bounds.backfills_concern: `checks` are its failing checks, or its service's data check)."""
    if not backfills_concern(checks):
        return
    for backfill in tools.backfills.recent(limit=200):
        if since <= backfill.created_at <= until:
            days = [d.game_date for d in backfill.dates]
            span = f"{days[0]}..{days[-1]} ({plural(len(days), 'date')})" if days else "no dates"
            found.events.append(
                TimelineEvent(
                    backfill.created_at,
                    "backfill",
                    f"grading backfill #{backfill.id} of {span}: {said(backfill.state)}",
                    backfill.requested_by,
                )
            )
