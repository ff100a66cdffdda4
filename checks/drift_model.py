"""What drift is and how bad: the report's types and the pure judging rules."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from adapters.cloudrun import CloudRun
from adapters.git import CommitInfo, GitRepo, Undeployed
from config import DriftConfig, DriftThresholds


@dataclass(frozen=True)
class DriftSources:
    """Where drift is read from: the platform's Cloud Run and a checkout of its monorepo."""

    cloud_run: CloudRun
    repo: GitRepo
    fetched_at: datetime | None = None  # when main was last fetched (None: read as it is)
    background_fetch: bool = False  # a serving bot: main is fetched apart from the report


class Severity(enum.StrEnum):
    OK = "OK"  # nothing undeployed
    INFO = "INFO"  # undeployed commits, all younger than the warning age
    WARN = "WARN"
    CRITICAL = "CRITICAL"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)

    @property
    def exit_code(self) -> int:
        return {Severity.WARN: 1, Severity.CRITICAL: 2}.get(self, 0)


def worst(severities: list[Severity]) -> Severity:
    return max(severities, key=lambda s: s.rank, default=Severity.OK)


class Basis(enum.StrEnum):
    """How a revision's drift was measured."""

    COMMIT = "commit"  # its commit-sha label, resolved through git
    TIME = "time"  # no usable label: commits on main newer than the revision


class FindingKind(enum.StrEnum):
    NO_COMMIT_LABEL = "no_commit_label"
    UNKNOWN_COMMIT = "unknown_commit"
    NOT_ON_MAIN = "not_on_main"
    MISSING_SOURCE_PATH = "missing_source_path"
    TRAFFIC_SPLIT = "traffic_split"
    SERVICE_NOT_FOUND = "service_not_found"
    CLOUD_RUN_ERROR = "cloud_run_error"


@dataclass(frozen=True)
class Finding:
    """Something on-call should know that is not (only) a count of commits."""

    kind: FindingKind
    severity: Severity
    message: str

    def to_json(self) -> dict[str, str]:
        return {"kind": self.kind.value, "severity": self.severity.value, "message": self.message}


def commit_json(commit: CommitInfo) -> dict[str, str]:
    return {
        "sha": commit.sha,
        "author": commit.author,
        "subject": commit.subject,
        "committed_at": commit.committed.isoformat(),
    }


@dataclass(frozen=True)
class RevisionDrift:
    revision: str
    percent: int
    basis: Basis
    label: str | None  # the commit-sha label as found
    commit: CommitInfo | None  # the label resolved through git
    created: datetime
    undeployed: Undeployed
    severity: Severity

    def to_json(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "percent": self.percent,
            "basis": self.basis.value,
            "label": self.label,
            "commit": self.commit.sha if self.commit else None,
            "created_at": self.created.isoformat(),
            "commits_behind": self.undeployed.count,
            "oldest_undeployed_at": (
                self.undeployed.oldest_at.isoformat() if self.undeployed.oldest_at else None
            ),
            "severity": self.severity.value,
            "commits": [commit_json(c) for c in self.undeployed.newest],
        }


def deploy_command(service: str) -> str:
    """The fix for a service behind main, as people run it: opsbot's canary deploy in Slack."""
    return f"/deploy {service}"


@dataclass(frozen=True)
class ServiceDrift:
    service: str
    severity: Severity
    findings: list[Finding] = field(default_factory=list)
    revisions: list[RevisionDrift] = field(default_factory=list)
    action: str | None = None  # the fix when a revision drifts: `/deploy`, or the profile's own

    @property
    def commits_behind(self) -> int:
        """The most any serving revision is behind."""
        return max((r.undeployed.count for r in self.revisions), default=0)

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "severity": self.severity.value,
            "findings": [f.to_json() for f in self.findings],
            "revisions": [r.to_json() for r in self.revisions],
            "action": self.action,
        }


@dataclass(frozen=True)
class DriftReport:
    main: CommitInfo
    checked_at: datetime
    severity: Severity
    services: list[ServiceDrift]
    duration_s: float = 0.0
    main_fetched_at: datetime | None = None  # a serving bot's last fetch of main
    main_fetched_in_background: bool = False  # then the report says how fresh main is

    @property
    def freshness(self) -> str:
        """How fresh main is, when a serving bot fetches it apart from the report ("" else)."""
        if not self.main_fetched_in_background:
            return ""
        if self.main_fetched_at is None:
            return "main not fetched since the bot started (a fetch is under way)"
        seconds = (self.checked_at - self.main_fetched_at).total_seconds()
        if seconds < 60:
            return f"main fetched {max(0, int(seconds))} s ago"
        return f"main fetched {age_text(self.main_fetched_at, self.checked_at)} ago"

    @property
    def drifting(self) -> list[ServiceDrift]:
        return [s for s in self.services if s.severity.rank >= Severity.WARN.rank]

    def to_json(self) -> dict[str, Any]:
        found: dict[str, Any] = {
            "main": self.main.sha,
            "checked_at": self.checked_at.isoformat(),
            "severity": self.severity.value,
            "services": [s.to_json() for s in self.services],
        }
        if self.main_fetched_in_background:  # a serving bot's: how fresh main is
            fetched = self.main_fetched_at
            found["main_fetched_at"] = fetched.isoformat() if fetched else None
        return found


def judge(undeployed: Undeployed, thresholds: DriftThresholds, now: datetime) -> Severity:
    """One revision: CRITICAL at N commits or an old one, WARN past the grace age, else INFO."""
    if undeployed.count == 0 or undeployed.oldest_at is None:
        return Severity.OK
    age = now - undeployed.oldest_at
    if undeployed.count >= thresholds.critical_commits or age >= timedelta(
        hours=thresholds.critical_age_hours
    ):
        return Severity.CRITICAL
    if age > timedelta(hours=thresholds.warn_age_hours):
        return Severity.WARN
    return Severity.INFO


def digest_severity(services: list[ServiceDrift], policy: DriftConfig) -> Severity:
    """The worst service, raised by how many services drift (the original digest's rule)."""
    drifting = sum(1 for s in services if s.severity.rank >= Severity.WARN.rank)
    by_count = Severity.OK
    if drifting >= policy.digest_critical_services:
        by_count = Severity.CRITICAL
    elif drifting >= policy.digest_warn_services:
        by_count = Severity.WARN
    return worst([by_count, *(s.severity for s in services)])


def age_text(moment: datetime | None, now: datetime) -> str:
    """'3d 4h', '5h', '12m' — how long ago; '—' for none."""
    if moment is None:
        return "—"
    minutes = max(0, int((now - moment).total_seconds() // 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    return f"{hours}h" if hours else f"{minutes}m"
