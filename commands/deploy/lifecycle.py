"""A rollout's steps: begin, start the canary, promote, complete.

Every change is claimed in the store first (a conditional transition from the state the caller
saw) and only then made in Cloud Run, so racing clicks, Slack retries or two replicas act once.
"""

from __future__ import annotations

import enum
import logging
from datetime import datetime
from typing import TYPE_CHECKING

from adapters.cloudrun_model import (
    COMMIT_LABEL,
    Build,
    CloudRunError,
    RevisionNotReady,
    TrafficShare,
    build_of,
    commit_labels,
)
from commands.deploy.abort import fail_step, route_step
from commands.deploy.checklist import Checklist
from commands.deploy.policy import promotion_refusal
from commands.deploy.tools import DeployTools
from commands.deploy.verdict import analysis_due
from commands.errors import RequestError
from config import Profile
from infra.wording import said
from store.errors import ServiceBusy
from store.states import NO_OPERATION, RolloutState, Seen
from store.views import Approval

if TYPE_CHECKING:
    from store.views import RolloutView

CANARY_TAG = "canary"

log = logging.getLogger("opsbot.rollouts")


def begin(
    profile: Profile,
    tools: DeployTools,
    checklist: Checklist,
    requester: str,
    channel: str | None = None,
) -> RolloutView:
    """Record the rollout (CHECKLIST) and take the service's lock; nothing changes in Cloud Run yet."""
    roles = profile.slack
    blockers = checklist.blockers(may_override_freeze=roles.holds(requester, "approver"))
    if not roles.holds(requester, "deployer"):
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
    try:
        return tools.store.begin(
            service=checklist.service,
            commit_sha=checklist.commit.sha,
            stable_revision=checklist.stable_revision,
            requested_by=requester,
            slack_channel=channel,
            data_baseline=checklist.health.status.value if checklist.health else None,
        )
    except ServiceBusy as busy:  # someone started one between the checklist and this click
        raise RequestError(
            f"rollout #{busy.rollout_id} of {busy.service} is in progress; follow it in its message"
        ) from None


def start(
    profile: Profile, tools: DeployTools, checklist: Checklist, requester: str
) -> RolloutView:
    """Begin the rollout of a reviewed checklist and start its canary: the rollout as it stands."""
    rollout = begin(profile, tools, checklist, requester)
    return start_canary(profile, tools, rollout.id, requester) or tools.rollout(rollout.id)


def next_analysis_due(profile: Profile, rollout: RolloutView) -> datetime:
    """When the rollout's next analysis is due: one interval after its last change."""
    return analysis_due(profile.deploy, rollout.updated_at)


def canary_revision_name(rollout: RolloutView) -> str:
    return f"{rollout.service}-canary-{rollout.id}-{rollout.commit_sha[:7]}"


def step_split(profile: Profile, rollout: RolloutView) -> list[TrafficShare]:
    """The traffic the rollout's recorded step means (its canary must be named)."""
    assert rollout.canary_revision is not None
    steps = profile.deploy.steps
    return _split(rollout, steps[min(rollout.step, len(steps) - 1)], rollout.canary_revision)


def _split(rollout: RolloutView, percent: int, canary: str) -> list[TrafficShare]:
    if percent >= 100:
        return [TrafficShare(canary, 100, CANARY_TAG)]
    return [
        TrafficShare(rollout.stable_revision, 100 - percent),
        TrafficShare(canary, percent, CANARY_TAG),
    ]


def start_canary(
    profile: Profile, tools: DeployTools, rollout_id: int, actor: str
) -> RolloutView | None:
    """CHECKLIST → CANARY: Cloud Run starts creating the canary revision from the commit's image.

    None when someone else already started (or cancelled) it. The revision takes seconds to
    minutes; its operation's name is recorded, and `settle_canary` (now, then on every driver
    tick, in this process or the next) moves traffic to the first step once it is ready. A
    revision that never becomes ready ends the rollout as FAILED with Cloud Run's reason.
    """
    rollout = tools.rollout(rollout_id)
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
        operation = begin_canary(profile, tools, claimed, canary)
    except CloudRunError as exc:
        return fail_step(tools.cloud_run, tools.store, claimed, actor, exc)
    creating = tools.store.transition(
        Seen.of(claimed),
        to=RolloutState.CANARY,
        actor=actor,
        action="deploy.revision.creating",
        operation=operation,
    )
    if creating is None:  # rolled back while Cloud Run was answering
        return tools.rollout(rollout_id)
    return settle_canary(profile, tools, creating, actor) or tools.rollout(rollout_id)


def begin_canary(profile: Profile, tools: DeployTools, rollout: RolloutView, canary: str) -> str:
    """Cloud Run starts creating the canary from the commit's image, at 0% under the canary tag,
    its template saying which build it runs as every deploy of the platform says it."""
    build = canary_build(profile, rollout)
    return tools.cloud_run.begin_revision(
        rollout.service,
        revision=canary,
        image=build.image,
        labels=build.labels,
        env=build.env,
        keep=[TrafficShare(rollout.stable_revision, 100)],
        tag=CANARY_TAG,
    )


def canary_build(profile: Profile, rollout: RolloutView) -> Build:
    """The image, labels and environment of the rollout's commit (docs/platform.md)."""
    return build_of(profile.deploy.image, rollout.service, rollout.commit_sha)


def creating_for_s(tools: DeployTools, rollout: RolloutView) -> float:
    """How long the canary's revision has been in the making."""
    return (tools.clock() - (rollout.step_started_at or rollout.created_at)).total_seconds()


def settle_canary(
    profile: Profile, tools: DeployTools, rollout: RolloutView, actor: str = "opsbot"
) -> RolloutView | None:
    """A canary being created: still waiting (the rollout as is), or traffic moved, or FAILED.

    Reads the recorded operation once. Done: the first step's split is claimed, then routed.
    Failed, or not ready within `[deploy] revision_ready_timeout_s`: the rollout ends FAILED
    with Cloud Run's reason, and traffic stays on the stable revision. None when someone else
    moved the rollout meanwhile.
    """
    assert rollout.operation is not None and rollout.canary_revision is not None
    canary, limit = rollout.canary_revision, profile.deploy.revision_ready_timeout_s
    try:
        status = tools.cloud_run.operation(rollout.operation)
        if not status.done:
            if creating_for_s(tools, rollout) < limit:
                return rollout
            raise CloudRunError(
                f"revision {canary} was not ready after {limit:g} s "
                "([deploy] revision_ready_timeout_s); no traffic moved to it"
            )
        tools.cloud_run.finish_revision(rollout.service, canary, rollout.operation)
    except RevisionNotReady as exc:
        return _failed_before_traffic(tools, rollout, actor, f"{exc}; no traffic moved")
    except CloudRunError as exc:
        return _failed_before_traffic(tools, rollout, actor, str(exc))
    moving = tools.store.transition(
        Seen.of(rollout),
        to=RolloutState.CANARY,
        actor=actor,
        action="deploy.revision.ready",
        operation=NO_OPERATION,
        step_started_at=tools.clock(),
    )
    if moving is None:
        return None
    try:
        split = _split(rollout, profile.deploy.steps[0], canary)
        route_step(tools.cloud_run, tools.store, moving, split)
    except CloudRunError as exc:
        return fail_step(tools.cloud_run, tools.store, moving, actor, exc)
    return moving


def _failed_before_traffic(
    tools: DeployTools, rollout: RolloutView, actor: str, reason: str
) -> RolloutView | None:
    """FAILED while the canary had no traffic: nothing to restore, so nothing is written."""
    return tools.store.transition(
        Seen.of(rollout),
        to=RolloutState.FAILED,
        actor=actor,
        action="deploy.failed",
        reason=reason,
    )


def create_canary(profile: Profile, tools: DeployTools, rollout: RolloutView, canary: str) -> None:
    """The canary revision, waited for here (a restart's catch-up): ready, or raises."""
    operation = begin_canary(profile, tools, rollout, canary)
    tools.cloud_run.wait(
        operation, f"new revision {canary} of {rollout.service}", raise_error=False
    )
    tools.cloud_run.finish_revision(rollout.service, canary, operation)


class Unpromoted(enum.StrEnum):
    STALE = "stale"  # the message showed another step: someone promoted it since
    WRONG_STATE = "wrong_state"  # the rollout is no longer at a canary step (ended, at 100%)
    LOST_RACE = "lost_race"  # another click promoted this very step at the same moment


class NotPromoted(RequestError):
    """Promote made no step, and `why`: the text says it to the person who clicked."""

    def __init__(self, why: Unpromoted, text: str) -> None:
        super().__init__(f"Already done: {text}")
        self.why = why


def _not_promoted(rollout: RolloutView, why: Unpromoted, steps: list[int]) -> NotPromoted:
    where = f"{steps[rollout.step]}%" if rollout.step < len(steps) else f"step {rollout.step}"
    texts = {
        Unpromoted.STALE: f"rollout #{rollout.id} moved on to {where} since this message was "
        "drawn; promote from its message as it is now",
        Unpromoted.WRONG_STATE: f"rollout #{rollout.id} is {said(rollout.state)}"
        ": there is no canary step to promote",
        Unpromoted.LOST_RACE: f"another click promoted rollout #{rollout.id} at this moment; "
        "it moved once",
    }
    return NotPromoted(why, texts[why])


def promote(
    profile: Profile,
    tools: DeployTools,
    rollout_id: int,
    approver: str,
    *,
    seen: tuple[RolloutState, int] | None = None,
    to_full: bool = False,
) -> RolloutView:
    """The next step (or 100%); needs the approver role and, by default, a second person.

    NotPromoted (a RequestError) when no step was made, saying why: a stale button, a rollout
    no longer at a canary step, or a click that lost the race to another.

    `seen`: the state and step the message showed when the button was clicked. Repeated clicks on
    one message then make one step, even when they arrive after the first has committed; an
    analysis at the same step does not make the button stale. A step is promoted only once an
    analysis has passed at it (and the last one did not fail).
    """
    rollout = tools.rollout(rollout_id)
    refusal = promotion_refusal(
        profile.deploy,
        requester=rollout.requested_by,
        approver=approver,
        approvers=profile.slack.holders("approver"),
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
    steps = profile.deploy.steps
    if rollout.state is not RolloutState.CANARY or rollout.canary_revision is None:
        raise _not_promoted(rollout, Unpromoted.WRONG_STATE, steps)
    if rollout.operation is not None:
        raise RequestError(
            f"rollout #{rollout.id}: Cloud Run is still creating the canary revision "
            f"({creating_for_s(tools, rollout):.0f} s so far); nothing serves it yet"
        )
    if seen is not None and seen != (rollout.state, rollout.step):
        raise _not_promoted(rollout, Unpromoted.STALE, steps)
    if rollout.passed_step != rollout.step or rollout.failures:
        due = next_analysis_due(profile, rollout)
        wait = max(0, round((due - tools.clock()).total_seconds()))
        why = (
            "the last analysis failed"
            if rollout.failures
            else f"no analysis has passed at {steps[rollout.step]}% yet"
        )
        raise RequestError(
            f"rollout #{rollout.id} at {steps[rollout.step]}%: {why}; the next is due at "
            f"{due:%H:%M:%S} UTC (in {wait} s). Promote once one passes."
        )
    step = len(steps) - 1 if to_full else min(rollout.step + 1, len(steps) - 1)
    claimed = tools.store.transition(
        Seen.of(rollout),
        to=RolloutState.WATCH if steps[step] >= 100 else RolloutState.CANARY,
        actor=approver,
        action="deploy.promote",
        step=step,
        failures=0,
        approvals=[*rollout.approvals, Approval(approver, step, tools.clock())],
        step_started_at=tools.clock(),
    )
    if claimed is None:
        raise _not_promoted(rollout, Unpromoted.LOST_RACE, steps)
    try:
        split = _split(rollout, steps[step], rollout.canary_revision)
        route_step(tools.cloud_run, tools.store, claimed, split)
    except CloudRunError as exc:
        failed = fail_step(tools.cloud_run, tools.store, claimed, approver, exc)
        return failed or tools.rollout(claimed.id)  # None: someone moved it on meanwhile
    return claimed


def complete(tools: DeployTools, rollout_id: int, actor: str = "opsbot") -> RolloutView | None:
    """WATCH → COMPLETE: the service's commit-sha label names the new commit; the lock is freed."""
    rollout = tools.rollout(rollout_id)
    if rollout.state is not RolloutState.WATCH:
        return None
    done = tools.store.transition(
        Seen.of(rollout), to=RolloutState.COMPLETE, actor=actor, action="deploy.complete"
    )
    if done is not None:
        try:  # informational: drift and the next checklist read the serving revision's label
            tools.cloud_run.set_service_labels(rollout.service, commit_labels(rollout.commit_sha))
        except CloudRunError as exc:
            log.warning(
                "rollout #%s is complete, but the service's %s label was not updated: %s",
                rollout.id,
                COMMIT_LABEL,
                exc,
            )
    return done
