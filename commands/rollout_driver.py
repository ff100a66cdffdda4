"""What moves a rollout on without a click: analyses on schedule, expiry, the end of the watch.

A driver ticks each active rollout; everything it needs is in the store, so a new process on the
same store picks up where a killed one stopped (`active_rollouts`, `reconcile`, then `tick` each).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from adapters.cloudrun import CloudRunError
from commands import deploy
from commands.canary_analysis import Verdict
from config import Profile
from store.states import DRIVEN, RolloutState

if TYPE_CHECKING:
    from store.schema import Rollout


class Tick(enum.StrEnum):
    WAITING = "waiting"  # not due yet
    ANALYSED = "analysed"
    ROLLED_BACK = "rolled back"  # failing analyses
    EXPIRED = "expired"  # no promotion within the approval expiry: rolled back
    COMPLETED = "completed"


@dataclass(frozen=True)
class TickResult:
    tick: Tick
    rollout: Rollout
    outcome: deploy.StepOutcome | None = None


def active_rollouts(tools: deploy.DeployTools) -> list[Rollout]:
    """Rollouts with traffic on a canary: the ones a (re)started bot must drive."""
    return [r for r in tools.store.active() if r.state in DRIVEN]


def next_due(profile: Profile, rollout: Rollout) -> datetime:
    """When `tick` has something to do for this rollout."""
    return rollout.updated_at + timedelta(seconds=profile.deploy.interval_s)


def tick(profile: Profile, tools: deploy.DeployTools, rollout_id: int) -> TickResult | None:
    """Do what is due for one rollout; None when it is no longer active."""
    rollout = tools.store.get(rollout_id)
    if rollout is None or rollout.state not in DRIVEN:
        return None
    if rollout.state == RolloutState.ROLLING_BACK:  # Cloud Run refused the restore: again
        restored = deploy.finish_rollback(tools.cloud_run, tools.store, rollout)
        return TickResult(Tick.ROLLED_BACK, restored or rollout)
    now = tools.clock()
    step_started = rollout.step_started_at or rollout.created_at
    expiry = timedelta(hours=profile.deploy.approval_expiry_h)
    if rollout.state == RolloutState.CANARY and now - step_started >= expiry:
        reason = f"approval expired: not promoted within {profile.deploy.approval_expiry_h:g} h"
        ended = deploy.roll_back(tools.cloud_run, tools.store, rollout.id, "opsbot", reason)
        return TickResult(Tick.EXPIRED, ended or rollout)
    if now < next_due(profile, rollout):
        return TickResult(Tick.WAITING, rollout)
    outcome = deploy.analyse(profile, tools, rollout.id)
    if outcome is None:
        return None
    if outcome.rolled_back:
        return TickResult(Tick.ROLLED_BACK, outcome.rollout, outcome)
    watched = timedelta(minutes=profile.deploy.watch_minutes)
    if (
        rollout.state == RolloutState.WATCH
        and now - step_started >= watched
        and outcome.analysis.verdict is Verdict.PASS
    ):
        done = deploy.complete(tools, rollout.id)
        if done is not None:
            return TickResult(Tick.COMPLETED, done, outcome)
    return TickResult(Tick.ANALYSED, outcome.rollout, outcome)


def reconcile(profile: Profile, tools: deploy.DeployTools, rollout_id: int) -> Rollout | None:
    """After a restart: Cloud Run made to match what the store recorded.

    A killed process may have claimed a step (start, promote, rollback) without making it; the
    claim is the intent, so it is carried out now: a missing canary revision is created, the
    recorded split is routed, a rollback in progress is finished. Audited when anything moved;
    a step Cloud Run refuses to take rolls the rollout back, saying why.
    """
    rollout = tools.store.get(rollout_id)
    if rollout is None:
        return None
    state = RolloutState(rollout.state)
    if state is RolloutState.ROLLING_BACK:
        return deploy.finish_rollback(tools.cloud_run, tools.store, rollout)
    canary = rollout.canary_revision
    if state not in (RolloutState.CANARY, RolloutState.WATCH) or canary is None:
        return rollout
    split = deploy.step_split(profile, rollout)
    serving = tools.cloud_run.get_service(rollout.service).serving
    if {(t.revision, t.percent) for t in serving} == {(t.revision, t.percent) for t in split}:
        return rollout
    try:
        if canary not in {r.name for r in tools.cloud_run.list_revisions(rollout.service)}:
            deploy.create_canary(profile, tools, rollout, canary)
        tools.cloud_run.route(rollout.service, split)
    except CloudRunError as exc:
        reason = f"the recorded step could not be restored after a restart: {exc}"
        return deploy.roll_back(tools.cloud_run, tools.store, rollout.id, "opsbot", reason)
    tools.store.record(
        "opsbot",
        "deploy.reconcile",
        service=rollout.service,
        rollout_id=rollout.id,
        arguments={"was": {t.revision: t.percent for t in serving}},
        result="traffic set to the recorded step: "
        + ", ".join(f"{t.revision} {t.percent}%" for t in split),
    )
    return tools.store.get(rollout.id)
