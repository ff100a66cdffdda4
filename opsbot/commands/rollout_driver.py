"""What moves a rollout on without a click: analyses on schedule, expiry, the end of the watch.

A driver ticks each active rollout; everything it needs is in the store, so a new process on the
same store picks up where a killed one stopped (`active_rollouts`, then `tick` each).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from opsbot.commands import deploy
from opsbot.commands.canary_analysis import Verdict
from opsbot.config import Profile
from opsbot.store.states import DRIVEN, RolloutState

if TYPE_CHECKING:
    from opsbot.store.schema import Rollout


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
