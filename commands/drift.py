"""The drift operation: what each service runs and lacks, and "is commit X live yet?"."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from adapters.git import AmbiguousCommit, CommitInfo
from checks.drift_engine import (
    Deployment,
    ServiceDeployments,
    drift_report,
    in_parallel,
    read_deployments,
)
from checks.drift_model import (
    Basis,
    DriftReport,
    DriftSources,
    ServiceDrift,
    Severity,
    deploy_command,
)
from commands.deploy.history import Setback, commit_setback
from commands.errors import RequestError
from commands.requests import parse_commit_ref, select_services
from config import Profile, ServiceConfig
from infra.wording import noun, plural, verb

if TYPE_CHECKING:
    from store.rollouts import Store


def attention(report: DriftReport) -> str:
    """ "1 of 7 services needs attention": the count, its noun and its verb agreeing."""
    drifting = len(report.drifting)
    total = len(report.services)
    return (
        f"{drifting} of {total} {noun(total, 'service')} "
        f"{verb(drifting, 'needs', 'need')} attention"
    )


def run_drift(
    profile: Profile, sources: DriftSources, names: list[str], now: datetime
) -> DriftReport:
    return drift_report(profile, sources, select_services(profile, names), now)


@dataclass(frozen=True)
class DeployAdvice:
    """The fix for a service's drift: `/deploy SERVICE`, the commit it would ship (main's newest
    touching the service's sources), and the canary of that commit that failed, if one did."""

    service: str
    ships: CommitInfo | None
    setback: Setback | None = None

    @property
    def slack(self) -> str:
        return deploy_command(self.service)

    @property
    def terminal(self) -> str:
        return f"opsbot deploy {self.service}"

    @property
    def warning(self) -> str | None:
        """Why shipping that commit again needs care, in plain words (None: no setback)."""
        if self.setback is None or self.ships is None:
            return None
        return (
            f"{self.setback.text(with_commit=True)}. Fix it on main first, or ship an earlier "
            f"commit: /deploy {self.service} COMMIT"
        )


def needs_deploy(service: ServiceDrift) -> bool:
    """Whether a deploy is the fix: a serving revision drifts to WARN or worse (the rule the
    report's `action` follows)."""
    return any(r.severity.rank >= Severity.WARN.rank for r in service.revisions)


def deploy_advice(
    profile: Profile, sources: DriftSources, report: DriftReport, store: Store | None
) -> dict[str, DeployAdvice]:
    """Per service the report says to fix: `/deploy` and what it would ship, checked against the
    canaries the store remembers (None: no store, so nothing to check it against)."""
    advice = {}
    for service in report.services:
        if not needs_deploy(service):
            continue
        config = select_services(profile, [service.service])[0]
        ships = sources.repo.newest_touching(list(config.source_paths))
        setback = (
            commit_setback(store, service.service, ships.sha)
            if store is not None and ships is not None
            else None
        )
        advice[service.service] = DeployAdvice(service.service, ships, setback)
    return advice


@dataclass(frozen=True)
class ContainsEntry:
    """One serving revision of a service, and where it stands against the commit asked about."""

    service: str
    revision: str
    percent: int
    basis: Basis
    deployed: str | None
    relevant: bool  # does the commit touch this service's sources?
    commits_to_reach: int | None = None  # missing: commits touching its sources up to the commit
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "revision": self.revision,
            "percent": self.percent,
            "basis": self.basis.value,
            "deployed": self.deployed,
            "relevant": self.relevant,
            "commits_to_reach": self.commits_to_reach,
            "note": self.note,
        }


@dataclass(frozen=True)
class ContainsReport:
    commit: CommitInfo
    live: list[ContainsEntry] = field(default_factory=list)
    missing: list[ContainsEntry] = field(default_factory=list)
    unknown: list[dict[str, str]] = field(default_factory=list)  # services Cloud Run did not show

    @property
    def exit_code(self) -> int:
        """0 when every service the commit touches serves it everywhere, else 1."""
        return 1 if any(e.relevant for e in self.missing) or self.unknown else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "commit": self.commit.sha,
            "subject": self.commit.subject,
            "live": [e.to_json() for e in self.live],
            "missing": [e.to_json() for e in self.missing],
            "unknown": self.unknown,
        }


def _place(
    sources: DriftSources, commit: CommitInfo, config: ServiceConfig, deployment: Deployment
) -> tuple[bool, ContainsEntry]:
    paths = list(config.source_paths)
    revision = deployment.revision
    entry = ContainsEntry(
        service=config.name,
        revision=revision.name,
        percent=deployment.share.percent,
        basis=Basis.COMMIT,
        deployed=deployment.commit.sha if deployment.commit else revision.commit_label,
        relevant=sources.repo.touches(commit.sha, paths),
    )
    if deployment.commit is None:
        why = "no commit-sha label" if revision.commit_label is None else "label does not resolve"
        note = f"{why}: judged by time (revision created {revision.created:%Y-%m-%d %H:%M} UTC)"
        return revision.created >= commit.committed, replace(entry, basis=Basis.TIME, note=note)
    if sources.repo.is_ancestor(commit.sha, deployment.commit.sha):
        return True, entry
    return False, replace(
        entry,
        commits_to_reach=sources.repo.count_between(deployment.commit.sha, commit.sha, paths),
        note="" if entry.relevant else "the commit does not touch this service's sources",
    )


def run_contains(
    profile: Profile, sources: DriftSources, sha: str, names: list[str]
) -> ContainsReport:
    """Which services serve a revision whose commit includes `sha`, which do not, how far off."""
    text = parse_commit_ref(sha)
    try:
        commit = sources.repo.resolve(text)
    except AmbiguousCommit as exc:
        raise RequestError(str(exc)) from None
    if commit is None:
        raise RequestError(
            f"commit {text} is not in the platform repo (is it pushed? the repo is fetched before reading)"
        )
    services = select_services(profile, names)
    reads: list[ServiceDeployments] = read_deployments(sources, services)

    def place_all(read: ServiceDeployments) -> list[tuple[bool, ContainsEntry]]:
        return [_place(sources, commit, read.config, d) for d in read.deployments]

    placed = in_parallel(place_all, reads)
    report = ContainsReport(commit)
    for read, entries in zip(reads, placed, strict=True):
        if read.error is not None:
            report.unknown.append({"service": read.config.name, "reason": str(read.error)})
        for live, entry in entries:
            (report.live if live else report.missing).append(entry)
    return report


def services_live_and_missing(report: ContainsReport) -> tuple[set[str], set[str]]:
    """Services (not revisions) serving the commit everywhere, and those missing it where it
    matters: the one count every face shows."""
    missing_on = {e.service for e in report.missing if e.relevant}
    return {e.service for e in report.live} - missing_on, missing_on


def services(count: int) -> str:
    return plural(count, "service")


def contains_summary(report: ContainsReport) -> str:
    """Where the commit runs, counted by service as the lists below it show them: live, missing
    where it matters, and lacking it where it touches nothing."""
    live_on, missing_on = services_live_and_missing(report)
    untouched = {e.service for e in report.missing if not e.relevant} - missing_on - live_on
    said = [f"live on {services(len(live_on))}", f"missing on {services(len(missing_on))}"]
    if untouched:
        said.append(f"not in {services(len(untouched))} whose sources it does not touch")
    return ", ".join(said)
