"""Reads what every service serves (Cloud Run) and what main has that it lacks (git).

Services are read concurrently; per serving revision it costs one Cloud Run call and one git
command, whatever the number of commits behind.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from adapters.cloudrun_model import CloudRunError, Revision, ServiceNotFound, TrafficShare
from adapters.git import AmbiguousCommit, CommitInfo, GitRepo, Undeployed
from checks.base import render_action
from checks.drift_model import (
    Basis,
    DriftReport,
    DriftSources,
    Finding,
    FindingKind,
    RevisionDrift,
    ServiceDrift,
    Severity,
    deploy_command,
    digest_severity,
    judge,
    worst,
)
from config import Profile, ServiceConfig
from infra.blocking import shared

MAX_WORKERS = 8
T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Deployment:
    """One serving revision and the commit it runs (None when the label does not resolve)."""

    share: TrafficShare
    revision: Revision
    commit: CommitInfo | None
    findings: list[Finding] = field(default_factory=list)


@dataclass(frozen=True)
class ServiceDeployments:
    config: ServiceConfig
    deployments: list[Deployment] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    error: CloudRunError | None = None


def in_parallel(fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
    """fn over items, MAX_WORKERS at a time, on the process's shared daemon threads (Cloud Run
    calls and git processes overlap; a call left hanging never holds the process open at exit).

    Long-lived threads: starting threads for every report cost a warm report a fifth of its time.
    A report runs on those threads itself (as the deployment_drift check, or through
    asyncio.to_thread); it never waits for a thread to be free: the caller takes items too
    (infra/blocking.py says why that cannot deadlock).
    """
    return shared().in_parallel(fn, items, width=MAX_WORKERS)


def _deployment(sources: DriftSources, service: str, share: TrafficShare) -> Deployment:
    revision = sources.cloud_run.get_revision(service, share.revision)
    label = revision.commit_label
    if label is None:
        return Deployment(share, revision, None)
    try:
        commit = sources.repo.resolve(label)
    except AmbiguousCommit as exc:
        commit, reason = None, str(exc)
    else:
        reason = "not a commit in the repository (fetch it, or the image was built elsewhere)"
    if commit is None:
        finding = Finding(
            FindingKind.UNKNOWN_COMMIT,
            Severity.WARN,
            f"revision {revision.name}: label commit-sha={label!r} is {reason}; compared by time",
        )
        return Deployment(share, revision, None, [finding])
    findings = []
    if not sources.repo.on_main(commit.sha):
        findings.append(
            Finding(
                FindingKind.NOT_ON_MAIN,
                Severity.WARN,
                f"revision {revision.name} runs {commit.short}, which is not on main "
                "(built from a branch?)",
            )
        )
    return Deployment(share, revision, commit, findings)


def read_service(sources: DriftSources, config: ServiceConfig) -> ServiceDeployments:
    """What one service serves: its revisions with traffic and their commits."""
    try:
        state = sources.cloud_run.get_service(config.name)
    except ServiceNotFound as exc:
        finding = Finding(
            FindingKind.SERVICE_NOT_FOUND,
            Severity.WARN,
            f"{exc}: check the service name in the profile and the project/region",
        )
        return ServiceDeployments(config, findings=[finding], error=exc)
    except CloudRunError as exc:
        finding = Finding(FindingKind.CLOUD_RUN_ERROR, Severity.WARN, str(exc))
        return ServiceDeployments(config, findings=[finding], error=exc)
    try:
        deployments = [_deployment(sources, config.name, share) for share in state.serving]
    except CloudRunError as exc:  # a serving revision that cannot be read: said, not a crash
        finding = Finding(FindingKind.CLOUD_RUN_ERROR, Severity.WARN, str(exc))
        return ServiceDeployments(config, findings=[finding], error=exc)
    findings = []
    if len(state.serving) > 1:
        split = ", ".join(f"{t.revision} {t.percent}%" for t in state.serving)
        findings.append(
            Finding(
                FindingKind.TRAFFIC_SPLIT,
                Severity.WARN,
                f"traffic split left behind ({split}): finish the rollout or roll back",
            )
        )
    return ServiceDeployments(config, deployments, findings)


def read_deployments(
    sources: DriftSources, services: Sequence[ServiceConfig]
) -> list[ServiceDeployments]:
    """Every service's deployments; CloudRunError when Cloud Run answered for none of them."""
    reads = in_parallel(lambda config: read_service(sources, config), services)
    _raise_if_unreachable(reads)
    return reads


def _raise_if_unreachable(reads: Sequence[ServiceDeployments]) -> None:
    """One unreadable service is a finding; Cloud Run failing for all of them is an outage."""
    errors = [r.error for r in reads if r.error is not None]
    if (
        reads
        and len(errors) == len(reads)
        and not any(isinstance(e, ServiceNotFound) for e in errors)
    ):
        raise errors[0]


def _revision_drift(
    repo: GitRepo, deployment: Deployment, config: ServiceConfig, profile: Profile, now: datetime
) -> RevisionDrift:
    paths, keep = list(config.source_paths), profile.drift.commits_shown
    undeployed: Undeployed
    if deployment.commit is not None:
        basis = Basis.COMMIT
        undeployed = repo.undeployed(deployment.commit.sha, paths, keep=keep)
    else:
        basis = Basis.TIME
        undeployed = repo.committed_since(deployment.revision.created, paths, keep=keep)
    return RevisionDrift(
        revision=deployment.revision.name,
        percent=deployment.share.percent,
        basis=basis,
        label=deployment.revision.commit_label,
        commit=deployment.commit,
        created=deployment.revision.created,
        undeployed=undeployed,
        severity=judge(undeployed, profile.drift_thresholds(config), now),
    )


def _service_drift(
    repo: GitRepo, read: ServiceDeployments, missing: set[str], profile: Profile, now: datetime
) -> ServiceDrift:
    config = read.config
    findings = [
        Finding(
            FindingKind.MISSING_SOURCE_PATH,
            Severity.WARN,
            f"source path {path!r} does not exist on main: fix source_paths of {config.name} "
            "in the profile (commits there cannot be seen)",
        )
        for path in config.source_paths
        if path in missing
    ]
    findings += read.findings
    revisions = [_revision_drift(repo, d, config, profile, now) for d in read.deployments]
    for deployment, revision in zip(read.deployments, revisions, strict=True):
        findings += deployment.findings
        if deployment.commit is None and deployment.revision.commit_label is None:
            findings.append(
                Finding(
                    FindingKind.NO_COMMIT_LABEL,
                    Severity.INFO,
                    f"revision {revision.revision} has no commit-sha label: compared by time "
                    f"(commits on main since it was created, {revision.created:%Y-%m-%d %H:%M} UTC)",
                )
            )
    severity = worst([*(f.severity for f in findings), *(r.severity for r in revisions)])
    action = None
    if any(r.severity.rank >= Severity.WARN.rank for r in revisions):
        action = render_action(profile.drift.action, service=config.name) or deploy_command(
            config.name
        )
    return ServiceDrift(config.name, severity, findings, revisions, action)


def drift_report(
    profile: Profile, sources: DriftSources, services: Sequence[ServiceConfig], now: datetime
) -> DriftReport:
    """Drift of `services` (in the profile's order) as of `now`."""
    started = time.perf_counter()
    main = sources.repo.main()
    missing = set(sources.repo.missing_paths([p for s in services for p in s.source_paths]))

    preparing = shared().soon(sources.repo.prepare_index)  # run here if no thread got to it
    reads = read_deployments(sources, services)
    preparing.result()
    # the commit index reaches the oldest deployed commit in one pass, not one walk per service
    sources.repo.index_back_to([d.commit.sha for r in reads for d in r.deployments if d.commit])
    results = in_parallel(
        lambda read: _service_drift(sources.repo, read, missing, profile, now), reads
    )
    return DriftReport(
        main=main,
        checked_at=now,
        severity=digest_severity(results, profile.drift),
        services=results,
        duration_s=time.perf_counter() - started,
        main_fetched_at=sources.fetched_at,
        main_fetched_in_background=sources.background_fetch,
    )
