"""What counts as something bad: a rollout's first bad signal, and whether a hand rollback was
an incident at all."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from adapters.monitoring import RevisionMetrics
from store.views import AuditView

FAILED = ("deploy.auto_rollback", "deploy.failed")  # opsbot ended it for a failure
# What a draft says when nothing bad was seen (its Date and Duration name the exposure instead)
NO_BAD_SIGNAL = "no analysis failed and the canary logged no ERROR line while it had traffic"
BAD_WINDOW = timedelta(hours=1)  # a hand rollback judges what it replaced over the hour before it
NOT_AN_INCIDENT = (
    "the revisions it replaced answered 5xx within the canary policy's "
    "[deploy] max_5xx_percent in the hour before it"
)


def first_bad_signal(
    entries: Iterable[AuditView], error_times: Iterable[datetime]
) -> datetime | None:
    """The rule: a rollout's first bad signal is the earliest failing analysis, automatic
    rollback or failure in its audit log, or ERROR line its canary logged while it had traffic.
    A passing or held analysis, a promotion, a hand rollback or an expired approval is none:
    a rollout with only those has no bad signal (None), and its draft says so."""
    times = [e.at for e in entries if e.arguments.get("verdict") == "fail" or e.action in FAILED]
    times += list(error_times)
    return min(times) if times else None


def was_bad(metrics: RevisionMetrics | None, max_5xx_percent: float) -> bool:
    """The rule for a revision a hand rollback replaced: bad when, over BAD_WINDOW before the
    rollback, it answered a larger share of 5xx than the canary policy lets a canary
    (`[deploy] max_5xx_percent`). Unknown (Cloud Monitoring did not answer) counts as bad, so
    that no incident is hidden; a revision that served nothing then was not bad."""
    if metrics is None:
        return True
    ratio = metrics.error_ratio
    return ratio is not None and 100 * ratio > max_5xx_percent
