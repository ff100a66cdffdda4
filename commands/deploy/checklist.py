"""The checklist: what a deploy would ship and what stands in its way, before anything changes."""

from __future__ import annotations

from dataclasses import dataclass

from adapters.git import CommitInfo
from checks.result import CheckResult
from commands.deploy.abort import ABANDONED_AFTER, release_abandoned
from commands.deploy.history import Setback, commit_setback
from commands.deploy.policy import active_freeze
from commands.deploy.tools import DeployTools
from commands.errors import RequestError
from commands.requests import parse_commit_ref, select_services
from config import FreezeWindow, Profile
from infra.wording import plural, short_sha
from store.states import RolloutState


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
    setback: Setback | None = None  # a canary of this very commit failed or was rolled back

    @property
    def ships(self) -> str:
        """What the deploy ships, in words; an unknown serving commit is said, never counted as 0."""
        if self.shipped_count is not None:
            return f"{plural(self.shipped_count, 'commit')} touching the service"
        why = (
            f"its label {short_sha(self.deployed)} is not a commit in the repository"
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
    if active is not None and release_abandoned(tools.store, active, tools.clock()):
        active = None
    if active is not None:
        raise RequestError(_in_progress(tools, active, service))
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
            f"{service} is split across {plural(len(state.serving), 'revision')}; "
            "roll back to one first"
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
        setback=commit_setback(tools.store, service, commit.sha),
    )


def _in_progress(tools: DeployTools, holder: int, service: str) -> str:
    """Why the service cannot be deployed now: its rollout is running, or being started."""
    rollout = tools.store.get(holder)
    if rollout is not None and rollout.state is RolloutState.CHECKLIST:
        left = (ABANDONED_AFTER - (tools.clock() - rollout.updated_at)).total_seconds()
        return (
            f"rollout #{holder} of {service} is being started (Start was clicked moments ago); "
            f"if its message does not appear, try again in {max(1, round(left))} s"
        )
    return f"rollout #{holder} of {service} is still in progress; finish or roll it back first"
