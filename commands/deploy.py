"""The deploy operation: checklist, canary steps, promotion, rollback, completion.

Every change is claimed in the store first (a conditional transition from the state the caller
saw) and only then made in Cloud Run, so racing clicks, Slack retries or two replicas act once.
Rollback always routes 100% to the stable revision recorded when the rollout began.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from string import Template
from typing import TYPE_CHECKING

from adapters.cloud_logging import CloudLogging
from adapters.cloudrun import COMMIT_LABEL, CloudRun, CloudRunError, TrafficShare
from adapters.git import CommitInfo, GitRepo
from adapters.monitoring import Monitoring, RevisionMetrics
from checks.result import SEVERITY, CheckResult, Status
from commands.canary_analysis import Analysis, DataCheck, Verdict, judge, judge_output
from commands.deploy_policy import active_freeze, promotion_refusal
from commands.drift import parse_commit_ref, select_services
from commands.errors import RequestError
from config import FreezeWindow, Profile
from store.states import RolloutState, Seen

if TYPE_CHECKING:
    from store.rollouts import Store
    from store.schema import Rollout

CANARY_TAG = "canary"


@dataclass(frozen=True)
class DeployTools:
    """What a rollout acts on and remembers with."""

    cloud_run: CloudRun
    monitoring: Monitoring
    logs: CloudLogging
    repo: GitRepo
    store: Store
    clock: Callable[[], datetime]
    data_check: Callable[[str], CheckResult | None] = lambda service: None  # by service name
    refresh_repo: Callable[[], None] = lambda: None  # main brought up to date (production: fetch)
    # Rows each revision wrote in [since, until): for services judged by their output.
    revision_output: Callable[[list[str], datetime, datetime], dict[str, int]] | None = None


@dataclass(frozen=True)
class Checklist:
    """What a deploy would ship, and what stands in its way, before anything changes."""

    service: str
    commit: CommitInfo
    stable_revision: str
    deployed: str | None  # the stable revision's commit-sha label
    shipped_count: int | None  # None: the commit the stable revision runs is unknown
    shipped: list[CommitInfo]
    schema_changes: list[str]
    freeze: FreezeWindow | None
    active_rollout: int | None
    already_deployed: bool
    health: CheckResult | None = None  # the service's post-deploy data check, now

    @property
    def ships(self) -> str:
        """What the deploy ships, in words; an unknown serving commit is said, never counted as 0."""
        if self.shipped_count is not None:
            return f"{self.shipped_count} commits touching the service"
        why = (
            f"its label {self.deployed} is not a commit in the repository"
            if self.deployed
            else "it has no commit-sha label"
        )
        return (
            f"unknown: {self.stable_revision} runs an unknown commit ({why}), "
            "so the commits shipped and schema changes cannot be listed"
        )

    @property
    def authors(self) -> list[str]:
        return sorted({c.author for c in self.shipped})

    def blockers(self, *, may_override_freeze: bool) -> list[str]:
        found = []
        if self.active_rollout is not None:
            found.append(f"rollout #{self.active_rollout} of {self.service} is still in progress")
        if self.already_deployed:
            found.append(f"{self.service} already runs {self.commit.short}")
        if self.freeze is not None and not may_override_freeze:
            found.append(f"deploy freeze: {self.freeze.reason} (an approver may override)")
        return found


def prepare(
    profile: Profile, tools: DeployTools, service: str, commit_text: str | None
) -> Checklist:
    """The checklist: the commit (default: main's newest touching the service) and what it ships."""
    config = select_services(profile, [service])[0]
    tools.refresh_repo()
    paths = list(config.source_paths)
    active = tools.store.lock_holder(service)
    if active is not None:
        raise RequestError(
            f"rollout #{active} of {service} is still in progress; finish or roll it back first"
        )
    if commit_text:
        commit = tools.repo.resolve(parse_commit_ref(commit_text))
        if commit is None or not tools.repo.on_main(commit.sha):
            raise RequestError(
                f"commit {commit_text} is not on main; deploy a commit that has been merged"
            )
    else:
        commit = tools.repo.newest_touching(paths)
        if commit is None:
            raise RequestError(
                f"no commit on main touches {service}'s sources ({', '.join(paths)})"
            )
    state = tools.cloud_run.get_service(service)
    if not state.serving:
        raise RequestError(f"{service} serves no traffic; deploy it by hand first")
    stable = state.serving[0].revision
    if len(state.serving) > 1:
        raise RequestError(
            f"{service} is split across {len(state.serving)} revisions; roll back to one first"
        )
    deployed_label = tools.cloud_run.get_revision(service, stable).commit_label
    deployed = tools.repo.resolve(deployed_label) if deployed_label else None
    base = deployed.sha if deployed else None
    shipped = tools.repo.commits_between(base, commit.sha, paths, keep=10) if base else None
    return Checklist(
        service=service,
        commit=commit,
        stable_revision=stable,
        deployed=deployed_label,
        shipped_count=shipped.count if shipped is not None else None,
        shipped=shipped.newest if shipped else [],
        schema_changes=tools.repo.schema_changes(base, commit.sha, profile.deploy.schema_paths)
        if base
        else [],
        freeze=active_freeze(profile.deploy, tools.clock()),
        active_rollout=active,
        already_deployed=base is not None and tools.repo.is_ancestor(commit.sha, base),
        health=tools.data_check(service) if config.data_check else None,
    )


def begin(
    profile: Profile,
    tools: DeployTools,
    checklist: Checklist,
    requester: str,
    channel: str | None = None,
) -> Rollout:
    """Record the rollout (CHECKLIST) and take the service's lock; nothing changes in Cloud Run yet."""
    approvers = profile.slack.roles.get("approver", [])
    blockers = checklist.blockers(may_override_freeze=requester in approvers)
    if requester not in profile.slack.roles.get("deployer", []):
        blockers.insert(0, "deploying needs the deployer role")
    if blockers:
        tools.store.record(
            requester,
            "deploy.refused",
            service=checklist.service,
            arguments={"commit": checklist.commit.sha},
            result="; ".join(blockers),
        )
        raise RequestError("cannot deploy: " + "; ".join(blockers))
    return tools.store.begin(
        service=checklist.service,
        commit_sha=checklist.commit.sha,
        stable_revision=checklist.stable_revision,
        requested_by=requester,
        slack_channel=channel,
        data_baseline=checklist.health.status.value if checklist.health else None,
    )


def _current(tools: DeployTools, rollout_id: int) -> Rollout:
    rollout = tools.store.get(rollout_id)
    if rollout is None:
        raise RequestError(f"no rollout #{rollout_id}")
    return rollout


def canary_revision_name(rollout: Rollout) -> str:
    return f"{rollout.service}-canary-{rollout.id}-{rollout.commit_sha[:7]}"


def step_split(profile: Profile, rollout: Rollout) -> list[TrafficShare]:
    """The traffic the rollout's recorded step means (its canary must be named)."""
    assert rollout.canary_revision is not None
    steps = profile.deploy.steps
    return _split(rollout, steps[min(rollout.step, len(steps) - 1)], rollout.canary_revision)


def _split(rollout: Rollout, percent: int, canary: str) -> list[TrafficShare]:
    if percent >= 100:
        return [TrafficShare(canary, 100, CANARY_TAG)]
    return [
        TrafficShare(rollout.stable_revision, 100 - percent),
        TrafficShare(canary, percent, CANARY_TAG),
    ]


def start_canary(
    profile: Profile, tools: DeployTools, rollout_id: int, actor: str
) -> Rollout | None:
    """CHECKLIST → CANARY at the first step: a new revision from the commit's image, then traffic.

    None when someone else already started (or cancelled) it. A revision that never becomes
    ready ends the rollout as FAILED with Cloud Run's reason; traffic never moved.
    """
    rollout = _current(tools, rollout_id)
    canary = canary_revision_name(rollout)
    claimed = tools.store.transition(
        Seen(rollout.id, RolloutState.CHECKLIST, rollout.version),
        to=RolloutState.CANARY,
        actor=actor,
        action="deploy.start",
        canary_revision=canary,
        step=0,
        step_started_at=tools.clock(),
    )
    if claimed is None:
        return None
    try:
        create_canary(profile, tools, rollout, canary)
        tools.cloud_run.route(rollout.service, _split(rollout, profile.deploy.steps[0], canary))
    except CloudRunError as exc:
        return _end(
            tools.cloud_run,
            tools.store,
            claimed,
            RolloutState.FAILED,
            actor,
            "deploy.failed",
            str(exc),
            restore=True,
        )
    return claimed


def create_canary(profile: Profile, tools: DeployTools, rollout: Rollout, canary: str) -> None:
    """The canary revision from the commit's image, at 0% under the canary tag (ready, or raises)."""
    image = Template(profile.deploy.image).substitute(
        service=rollout.service, commit=rollout.commit_sha
    )
    tools.cloud_run.create_revision(
        rollout.service,
        revision=canary,
        image=image,
        labels={COMMIT_LABEL: rollout.commit_sha},
        keep=[TrafficShare(rollout.stable_revision, 100)],
        tag=CANARY_TAG,
    )


@dataclass(frozen=True)
class StepOutcome:
    rollout: Rollout
    analysis: Analysis
    rolled_back: bool = False
    reasons: list[str] = field(default_factory=list)


def analyse(
    profile: Profile, tools: DeployTools, rollout_id: int, actor: str = "opsbot"
) -> StepOutcome | None:
    """One analysis of the current step; N failures in a row roll back to the stable revision."""
    rollout = _current(tools, rollout_id)
    state = RolloutState(rollout.state)
    if state not in (RolloutState.CANARY, RolloutState.WATCH) or rollout.canary_revision is None:
        return None
    end = tools.clock()
    start = max(rollout.updated_at, end - timedelta(seconds=profile.deploy.interval_s))
    canary = tools.monitoring.revision_metrics(rollout.service, rollout.canary_revision, start, end)
    stable_since = end - timedelta(seconds=profile.deploy.interval_s)
    stable = tools.monitoring.revision_metrics(
        rollout.service, rollout.stable_revision, stable_since, end
    )
    errors = tools.logs.errors(rollout.service, rollout.canary_revision, since=start, limit=5)
    output = _output(profile, tools, rollout, (canary, start), (stable, stable_since), end)
    analysis = judge(canary, stable, profile.deploy, _data(tools, rollout), errors, output)
    if analysis.verdict is Verdict.INSUFFICIENT:
        return StepOutcome(rollout, analysis)
    failures = rollout.failures + 1 if analysis.verdict is Verdict.FAIL else 0
    if failures >= profile.deploy.failures_to_roll_back:
        reason = f"{failures} failing analyses in a row: " + "; ".join(analysis.reasons)
        ended = _end(
            tools.cloud_run,
            tools.store,
            rollout,
            RolloutState.ROLLED_BACK,
            actor,
            "deploy.auto_rollback",
            reason,
            restore=True,
        )
        return StepOutcome(ended or rollout, analysis, rolled_back=ended is not None)
    moved = tools.store.transition(
        Seen.of(rollout), to=state, actor=actor, action="deploy.analysis", failures=failures
    )
    return StepOutcome(moved or rollout, analysis)


def _output(
    profile: Profile,
    tools: DeployTools,
    rollout: Rollout,
    canary: tuple[RevisionMetrics, datetime],
    stable: tuple[RevisionMetrics, datetime],
    end: datetime,
) -> DataCheck | None:
    """What the canary wrote per request against the stable revision, each over its window."""
    config = select_services(profile, [rollout.service])[0]
    if config.canary_output is None or tools.revision_output is None:
        return None
    assert rollout.canary_revision is not None
    (canary_metrics, canary_since), (stable_metrics, stable_since) = canary, stable
    canary_written = tools.revision_output([rollout.canary_revision], canary_since, end)
    stable_written = tools.revision_output([rollout.stable_revision], stable_since, end)
    return judge_output(
        canary_written[rollout.canary_revision],
        canary_metrics.requests,
        stable_written[rollout.stable_revision],
        stable_metrics.requests,
        profile.deploy.min_output_share,
    )


def _data(tools: DeployTools, rollout: Rollout) -> DataCheck | None:
    """The service's data check against its status when the rollout began: worse fails."""
    if rollout.data_baseline is None:
        return None
    now = tools.data_check(rollout.service)
    if now is None:
        return None
    before = Status(rollout.data_baseline)
    worse = SEVERITY[now.status] > SEVERITY[before]
    return DataCheck(
        not worse, f"{now.name} was {before.value}, now {now.status.value}: {now.detail}"
    )


def promote(
    profile: Profile,
    tools: DeployTools,
    rollout_id: int,
    approver: str,
    *,
    seen_version: int | None = None,
    to_full: bool = False,
) -> Rollout | None:
    """The next step (or 100%); needs the approver role and, by default, a second person.

    `seen_version`: the rollout's version on the message the button was on. Repeated clicks on
    one message then make one step, even when they arrive after the first has committed.
    """
    rollout = _current(tools, rollout_id)
    refusal = promotion_refusal(
        profile.deploy,
        requester=rollout.requested_by,
        approver=approver,
        approvers=profile.slack.roles.get("approver", []),
    )
    if refusal is not None:
        tools.store.record(
            approver,
            "deploy.promote.refused",
            service=rollout.service,
            rollout_id=rollout.id,
            result=refusal,
        )
        raise RequestError(refusal)
    if RolloutState(rollout.state) is not RolloutState.CANARY or rollout.canary_revision is None:
        return None
    if seen_version is not None and seen_version != rollout.version:
        return None
    steps = profile.deploy.steps
    step = len(steps) - 1 if to_full else min(rollout.step + 1, len(steps) - 1)
    to = RolloutState.WATCH if steps[step] >= 100 else RolloutState.CANARY
    approvals = [
        *rollout.approvals,
        {"user": approver, "step": step, "at": tools.clock().isoformat()},
    ]
    claimed = tools.store.transition(
        Seen.of(rollout),
        to=to,
        actor=approver,
        action="deploy.promote",
        step=step,
        failures=0,
        approvals=approvals,
        step_started_at=tools.clock(),
    )
    if claimed is None:
        return None
    try:
        tools.cloud_run.route(
            rollout.service, _split(rollout, steps[step], rollout.canary_revision)
        )
    except CloudRunError as exc:
        return _end(
            tools.cloud_run,
            tools.store,
            claimed,
            RolloutState.FAILED,
            approver,
            "deploy.failed",
            str(exc),
            restore=True,
        )
    return claimed


def complete(tools: DeployTools, rollout_id: int, actor: str = "opsbot") -> Rollout | None:
    """WATCH → COMPLETE: the service's commit-sha label names the new commit; the lock is freed."""
    rollout = _current(tools, rollout_id)
    if RolloutState(rollout.state) is not RolloutState.WATCH:
        return None
    done = tools.store.transition(
        Seen.of(rollout), to=RolloutState.COMPLETE, actor=actor, action="deploy.complete"
    )
    if done is not None:
        tools.cloud_run.set_service_labels(rollout.service, {COMMIT_LABEL: rollout.commit_sha})
    return done


def roll_back(
    cloud_run: CloudRun, store: Store, rollout_id: int, actor: str, reason: str
) -> Rollout | None:
    """Abort: 100% to the stable revision recorded at the start (never "latest"), verified."""
    rollout = store.get(rollout_id)
    if rollout is None:
        raise RequestError(f"no rollout #{rollout_id}")
    state = RolloutState(rollout.state)
    if state.terminal or state is RolloutState.ROLLING_BACK:  # ended, or being rolled back
        return None
    if state is RolloutState.CHECKLIST:
        return _end(
            cloud_run,
            store,
            rollout,
            RolloutState.CANCELLED,
            actor,
            "deploy.cancel",
            reason,
            restore=False,
        )
    return _end(
        cloud_run,
        store,
        rollout,
        RolloutState.ROLLED_BACK,
        actor,
        "deploy.rollback",
        reason,
        restore=True,
    )


def _end(
    cloud_run: CloudRun,
    store: Store,
    rollout: Rollout,
    to: RolloutState,
    actor: str,
    action: str,
    reason: str,
    *,
    restore: bool,
) -> Rollout | None:
    """A terminal transition; with `restore`, 100% back on the recorded stable revision first.

    A restore is claimed as ROLLING_BACK (with the state it ends in) before traffic moves, so a
    process killed in between leaves a rollout that the next one finishes, never a split that
    nobody owns. When Cloud Run refuses, it stays ROLLING_BACK and the driver tries again.
    """
    if not restore:
        return store.transition(Seen.of(rollout), to=to, actor=actor, action=action, reason=reason)
    claimed = store.transition(
        Seen.of(rollout),
        to=RolloutState.ROLLING_BACK,
        actor=actor,
        action=action,
        reason=reason,
        ending=to.value,
    )
    if claimed is None:
        return None
    try:
        return finish_rollback(cloud_run, store, claimed) or store.get(claimed.id)
    except CloudRunError as exc:
        store.record(
            "opsbot",
            "deploy.restore.failed",
            service=claimed.service,
            rollout_id=claimed.id,
            result=f"{exc}; trying again",
        )
        return claimed


def finish_rollback(cloud_run: CloudRun, store: Store, rollout: Rollout) -> Rollout | None:
    """ROLLING_BACK → the state it ends in: 100% on the stable revision, read back, recorded.

    Raises CloudRunError when Cloud Run refuses (the rollout stays ROLLING_BACK).
    """
    cloud_run.route(rollout.service, [TrafficShare(rollout.stable_revision, 100)])  # verified
    return store.transition(
        Seen.of(rollout),
        to=RolloutState(rollout.ending or RolloutState.ROLLED_BACK),
        actor="opsbot",
        action="deploy.restored",
    )
