"""What a check reports, and the scored report of a whole run."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any


class Status(enum.StrEnum):
    OK = "OK"
    WARN = "WARN"
    CRITICAL = "CRITICAL"
    NOT_APPLICABLE = "NOT_APPLICABLE"
    ERROR = "ERROR"


class Overall(enum.StrEnum):
    OK = "OK"
    DEGRADED = "DEGRADED"
    CRITICAL = "CRITICAL"

    @property
    def exit_code(self) -> int:
        return {Overall.OK: 0, Overall.DEGRADED: 1, Overall.CRITICAL: 2}[self]


SEVERITY = {
    Status.OK: 0,
    Status.NOT_APPLICABLE: 0,
    Status.WARN: 1,
    Status.ERROR: 1,
    Status.CRITICAL: 2,
}


def worst(*statuses: Status) -> Status:
    """The most severe of OK/WARN/CRITICAL (the order a check's rules combine in)."""
    return max(statuses, key=lambda status: SEVERITY[status])


@dataclass(frozen=True)
class Window:
    """The game dates a check's SQL looked at (inclusive)."""

    start: date
    end: date

    @classmethod
    def day(cls, day: date) -> Window:
        return cls(day, day)

    def __str__(self) -> str:
        return self.start.isoformat() if self.start == self.end else f"{self.start}..{self.end}"

    def to_json(self) -> dict[str, str]:
        return {"start": self.start.isoformat(), "end": self.end.isoformat()}


class CauseKind(enum.StrEnum):
    """What a likely cause of a failing check is (commands/health_causes finds them)."""

    DEPLOY = "deploy"  # a service writing the check's table began serving inside its window
    DRIFT = "drift"  # a fix touching that service's sources is on main, not deployed
    TRAFFIC_SPLIT = "traffic_split"  # a split left on that service
    JOB = "job"  # a job or backfill that failed or did not run (grading: dates not graded)
    UPSTREAM = "upstream"  # a check of the data this one's is built from failed first


class FixKind(enum.StrEnum):
    """The operation that acts on a cause (Slack offers its button, a terminal its command)."""

    DEPLOY = "deploy"
    ROLLBACK = "rollback"
    REGRADE = "regrade"
    POSTMORTEM = "postmortem"


@dataclass(frozen=True)
class Fix:
    """What acting on a cause means: deploy `service`, roll it back to `revision`, regrade
    `start`..`end` (for `dates`, those of them that went wrong), or start the postmortem of game
    day `start`."""

    kind: FixKind
    service: str | None = None
    revision: str | None = None
    start: date | None = None
    end: date | None = None
    dates: tuple[date, ...] = ()  # a regrade's dates behind (start..end may hold others)


@dataclass(frozen=True)
class Cause:
    """One likely cause of a failing check, with the evidence that names it (picklable: the
    report is built in a worker process)."""

    kind: CauseKind
    evidence: str
    service: str | None = None
    revision: str | None = None
    commit: str | None = None  # the commit concerned: deployed, or the fix not deployed
    since: datetime | None = None  # when it began: deployed, committed, first failing
    action: str | None = None  # the command that acts on it
    fix: Fix | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "service": self.service,
            "revision": self.revision,
            "commit": self.commit,
            "since": self.since.isoformat() if self.since else None,
            "evidence": self.evidence,
            "action": self.action,
        }


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    detail: str
    value: float | None = None
    unit: str = ""
    threshold: str | None = None
    baseline: float | None = None
    window: Window | None = None
    action: str | None = None
    breakdown: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0
    causes: list[Cause] = field(default_factory=list)  # most likely first; none when it passes
    # what could not be read while its causes were looked for (Cloud Run, git): the causes may
    # be incomplete, and none found is no proof there is none
    causes_incomplete: list[str] = field(default_factory=list)

    def format_value(self, value: float | None) -> str:
        """A number of this check (its value or baseline) with the check's unit; — for none."""
        if value is None:
            return "—"
        number = f"{value:.1f}" if self.unit == "%" else f"{value:g}"
        return f"{number}{self.unit}"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status.value,
            "value": self.value,
            "unit": self.unit,
            "threshold": self.threshold,
            "baseline": self.baseline,
            "window": self.window.to_json() if self.window else None,
            "detail": self.detail,
            "action": self.action,
            "breakdown": self.breakdown,
            "duration_s": round(self.duration_s, 3),
            "causes": [c.to_json() for c in self.causes],
            "causes_incomplete": list(self.causes_incomplete),
        }


@dataclass(frozen=True)
class HealthReport:
    as_of: date
    results: list[CheckResult]
    duration_s: float

    @property
    def applicable(self) -> list[CheckResult]:
        return [r for r in self.results if r.status is not Status.NOT_APPLICABLE]

    @property
    def score(self) -> float:
        """100 × passed / applicable; 100 when no check applies (nothing failed)."""
        applicable = self.applicable
        if not applicable:
            return 100.0
        passed = sum(1 for r in applicable if r.status is Status.OK)
        return round(100.0 * passed / len(applicable), 1)

    @property
    def status(self) -> Overall:
        statuses = {r.status for r in self.results}
        if Status.CRITICAL in statuses or self.score < 50:
            return Overall.CRITICAL
        if Status.WARN in statuses or self.score < 80:
            return Overall.DEGRADED
        return Overall.OK

    def to_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "status": self.status.value,
            "score": self.score,
            "duration_s": round(self.duration_s, 3),
            "checks": [r.to_json() for r in self.results],
        }
