"""Every source of a draft bounded to the incident's own window, service and revisions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta

from adapters.cloud_logging import TrafficChange

# Cloud Audit Logs stamp a change with Google's clock, the store with opsbot's: this far apart
# at most. A wider margin took in the traffic changes of the rollouts just before and after.
SKEW = timedelta(seconds=5)

Span = tuple[datetime, datetime]
GRADING_CHECK = "grading_completeness"  # the check that judges what a grading backfill redoes


def own_changes(
    changes: Iterable[TrafficChange],
    own: set[str],
    since: datetime,
    until: datetime,
    *,
    first_of: str | None = None,
) -> list[TrafficChange]:
    """The traffic changes that are the incident's own, oldest first.

    The rule: a change belongs to the incident when it was made between the incident's start
    and its end (give or take SKEW) and names no revision but the incident's own (a rollout's
    stable and canary; a rollback's replaced revisions and its target), so another rollout's
    canary split is never in it. With `first_of` (a rollout's canary), none before the first
    change that names it: a split still standing from before (the previous rollout's restore
    to the same stable revision) is not this incident's.
    """
    kept: list[TrafficChange] = []
    for change in sorted(changes, key=lambda c: c.at):
        if not since - SKEW <= change.at <= until + SKEW or not set(change.split) <= own:
            continue
        if first_of is not None and not kept and first_of not in change.split:
            continue
        kept.append(change)
    return kept


def traffic_spans(changes: Sequence[TrafficChange], revision: str, until: datetime) -> list[Span]:
    """When `revision` had traffic: from each change that gave it some to the next change that
    took all of it away, or to `until` (the incident's end) when none did."""
    spans: list[Span] = []
    began: datetime | None = None
    for change in sorted(changes, key=lambda c: c.at):
        serving = change.split.get(revision, 0) > 0
        if serving and began is None:
            began = change.at
        elif not serving and began is not None:
            spans.append((began, change.at))
            began = None
    if began is not None:
        spans.append((began, max(began, until)))
    return spans


def within(moment: datetime, spans: Sequence[Span]) -> bool:
    """Whether `moment` falls in one of the spans (both ends included)."""
    return any(start <= moment <= end for start, end in spans)


def backfills_concern(data_checks: Iterable[str | None]) -> bool:
    """The rule for grading backfills: they are an incident's own only when it is about the
    grading they redo: a data incident where GRADING_CHECK failed, or a deploy of a service
    whose data check is GRADING_CHECK. A backfill someone ran meanwhile for another reason is
    not in another incident's timeline."""
    return GRADING_CHECK in data_checks
