"""What the drift and health digests find, normalised for comparison, and what is new since the last.

A fingerprint keeps what a person would call a change (a service's severity, the commit it runs,
how far behind; a check's status) and drops what only ages (minutes, durations, wording).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapters.git import CommitInfo
from checks.drift_model import ServiceDrift, Severity
from checks.result import HealthReport, Overall, Status
from commands.schedule.drift_rollouts import DriftDigest, ServiceRollout
from infra.wording import plural
from store.schedule_views import RunView


@dataclass(frozen=True)
class Findings:
    """One run's findings: compared (fingerprint), summarised (one line), kept (detail)."""

    fingerprint: dict[str, Any] | None  # None: the job posts in full every time (the weekly)
    summary: str
    critical: bool  # a CRITICAL digest also goes to the job's critical channel
    detail: dict[str, Any] = field(default_factory=dict)
    brief: str = ""  # the heartbeat's words, when shorter than the summary

    @property
    def heartbeat(self) -> str:
        return self.brief or self.summary


@dataclass(frozen=True)
class ServiceNews:
    """One service against the last digest: changed (marked :new:), new commits, its moves."""

    changed: bool  # its fingerprint entry differs from the last digest's (or it is new there)
    new_commits: list[CommitInfo]
    behind_change: int | None  # None: not in the last digest
    severity_before: str | None


def service_entry(service: ServiceDrift, running: ServiceRollout | None) -> list[Any]:
    """One service's part of the fingerprint (the rollout's id only while one runs)."""
    deployed = sorted(
        r.commit.sha if r.commit else (r.label or r.revision) for r in service.revisions
    )
    entry: list[Any] = [service.severity.value, deployed, service.commits_behind]
    if running is not None:
        entry.append(running.id)
    return entry


def drift_findings(digest: DriftDigest) -> Findings:
    report = digest.report
    fingerprint: dict[str, Any] = {}
    detail: dict[str, Any] = {}
    for service in report.services:
        running = digest.rollout_of(service.service)
        fingerprint[service.service] = service_entry(service, running)
        detail[service.service] = {
            "severity": service.severity.value,
            "behind": service.commits_behind,
            "shas": sorted({c.sha for r in service.revisions for c in r.undeployed.newest}),
        }
        if running is not None:
            detail[service.service]["rollout"] = running.id
    behind = [s for s in report.services if s.commits_behind > 0]
    critical = [s for s in behind if s.severity is Severity.CRITICAL]
    if behind:
        summary = f"{plural(len(behind), 'service')} behind"
        if critical:
            summary += f" ({len(critical)} critical)"
    else:
        summary = "every service runs main"
    return Findings(
        fingerprint,
        f"{report.severity.value}: {summary}",
        report.severity is Severity.CRITICAL,
        {"severity": report.severity.value, "services": detail, "main": report.main.sha},
        brief=summary,
    )


def drift_news(digest: DriftDigest, previous: RunView | None) -> dict[str, ServiceNews]:
    """Per service against the last full digest: its fingerprint entry changed, what is new."""
    before = (previous.fingerprint if previous else None) or {}
    services = (previous.detail if previous else {}).get("services", {})
    news: dict[str, ServiceNews] = {}
    for service in digest.report.services:
        was = services.get(service.service)
        known = set(was["shas"]) if was else set()
        fresh = [
            c
            for r in service.revisions
            for c in r.undeployed.newest
            if was is not None and c.sha not in known
        ]
        entry = service_entry(service, digest.rollout_of(service.service))
        news[service.service] = ServiceNews(
            changed=previous is not None and before.get(service.service) != entry,
            new_commits=list({c.sha: c for c in fresh}.values()),
            behind_change=None if was is None else service.commits_behind - int(was["behind"]),
            severity_before=None if was is None else str(was["severity"]),
        )
    return news


def gone(digest: DriftDigest, previous: RunView | None) -> list[str]:
    """Services the last digest listed that this one does not (taken out of the profile)."""
    before = (previous.fingerprint if previous else None) or {}
    now = {s.service for s in digest.report.services}
    return sorted(set(before) - now)


def health_findings(report: HealthReport) -> Findings:
    statuses = {r.name: r.status.value for r in report.results}
    failing = [
        r for r in report.results if r.status in (Status.WARN, Status.CRITICAL, Status.ERROR)
    ]
    tally = ", ".join(f"{r.name} {r.status.value}" for r in failing) or "every check OK"
    return Findings(
        dict(statuses),
        f"{report.status.value}, score {report.score:g}: {tally}",
        report.status is Overall.CRITICAL,
        {
            "status": report.status.value,
            "score": report.score,
            "as_of": report.as_of.isoformat(),
            "checks": statuses,
        },
    )


def changed_checks(report: HealthReport, before: dict[str, Any] | None) -> dict[str, str]:
    """Checks whose status moved since the last digest: name → the status it had."""
    was: dict[str, str] = (before or {}).get("checks", {})
    if not was:
        return {}
    return {
        r.name: was.get(r.name, "new") for r in report.results if was.get(r.name) != r.status.value
    }
