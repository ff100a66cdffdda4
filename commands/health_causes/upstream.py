"""Upstream causes: a check of the data the failing one's is built from failed first.

The order is the platform's ([causes.checks] upstream: play-by-play before phase 3, phase 3
before the features, the features before predictions). It failed first when the game day it
judges is not after the failing check's first failing day. Acting on it is acting on the
upstream check's own likely cause, when it has one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from checks.result import Cause, CauseKind, CheckResult, Fix, FixKind, Status
from commands.health_causes.rank import Candidate, Strength
from commands.health_causes.span import first_failing_day
from config import Profile

FAILED = (Status.WARN, Status.CRITICAL)


def upstream_causes(
    result: CheckResult,
    results: Mapping[str, CheckResult],
    profile: Profile,
    as_of: date,
) -> list[Candidate]:
    """The failing checks upstream of `result` (with their own top cause, already found)."""
    config = profile.causes.checks.get(result.name)
    first = first_failing_day(result)
    found = []
    for name in config.upstream if config else []:
        upstream = results.get(name)
        if upstream is None or upstream.status not in FAILED:
            continue
        began = first_failing_day(upstream)
        if first is not None and began is not None and began > first:
            continue  # it failed after this one began failing: not first
        top = upstream.causes[0] if upstream.causes else None
        window = f" (game day {began})" if began else ""
        evidence = f"{name} failed first, {upstream.status.value}{window}: {upstream.detail}"
        if top is not None:
            evidence += f"; its likely cause: {top.evidence}"
        zone = ZoneInfo(profile.platform.game_timezone)
        cause = Cause(
            kind=CauseKind.UPSTREAM,
            evidence=evidence,
            service=top.service if top else None,
            revision=top.revision if top else None,
            commit=top.commit if top else None,
            since=datetime.combine(began or as_of, time(0), zone),
            action=top.action if top else f"/postmortem {as_of}",
            fix=top.fix if top and top.fix else Fix(FixKind.POSTMORTEM, start=as_of),
        )
        found.append(Candidate(Strength.UPSTREAM, cause))
    return found
