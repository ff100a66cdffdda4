"""How strongly each kind of evidence names a cause, and the order causes are shown in.

The rule, strongest first:

0. what the check itself names (deployment_drift: a service behind main, a split left on it);
1. a job did not run for the failing dates (grading: 0 graded on a date): the rows are missing
   because nothing made them, and regrading makes them;
2. a fix on main that names the failing check (its words in the subject) is not deployed to a
   service writing the check's table: its author tied it to this failure;
3. a service writing the table began serving a new revision inside the check's window;
4. a check upstream of it (the data it is built from) failed first;
5. a job ran for the failing dates but only partly (grading: some predictions graded);
6. a traffic split on a writer began before the data was due.

Ties: the one that began latest before the data was due first. Without any of these, none is
claimed: "no likely cause found" is an answer (when all could be read: reads.py).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from checks.result import Cause


class Strength(enum.IntEnum):
    FINDING = 95
    JOB_NOT_RUN = 90
    NAMED_FIX = 80
    DEPLOY = 70
    UPSTREAM = 60
    JOB_PARTIAL = 50
    TRAFFIC_SPLIT = 40


@dataclass(frozen=True)
class Candidate:
    strength: Strength
    cause: Cause


EARLIEST = datetime.min.replace(tzinfo=UTC)


def ranked(candidates: Iterable[Candidate], shown: int) -> list[Cause]:
    """The `shown` strongest causes, one per (kind, service, revision, commit)."""
    order = sorted(candidates, key=lambda c: (c.strength, c.cause.since or EARLIEST), reverse=True)
    seen: set[tuple[str, str | None, str | None, str | None]] = set()
    kept: list[Cause] = []
    for candidate in order:
        cause = candidate.cause
        key = (cause.kind.value, cause.service, cause.revision, cause.commit)
        if key in seen:
            continue
        seen.add(key)
        kept.append(cause)
    return kept[:shown]
