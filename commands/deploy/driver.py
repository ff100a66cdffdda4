"""What moves a rollout on without a click: analyses on schedule, expiry, the end of the watch.

A driver ticks each active rollout; everything it needs is in the store, so a new process on the
same store picks up where a killed one stopped (`active_rollouts`, `reconcile`, then `tick` each).
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from adapters.cloudrun_model import CloudRunError, ServiceState, TrafficShare, split_of
from commands.deploy.abort import (
    abort_rollout,
    finish_rollback,
    release_abandoned,
    restore_refused,
    route_step,
)
from commands.deploy.analysis import StepOutcome, analyse
from commands.deploy.lifecycle import (
    complete,
    create_canary,
    next_analysis_due,
    settle_canary,
    step_split,
)
from commands.deploy.tools import DeployTools
from commands.deploy.verdict import Verdict
from config import Profile
from store.states import DRIVEN, RolloutState, Seen

if TYPE_CHECKING:
    from store.rollouts import Store
    from store.views import RolloutView

log = logging.getLogger("opsbot.rollouts")
MIN_SLEEP_S = 0.05


class Tick(enum.StrEnum):
    WAITING = "waiting"  # not due yet
    CREATING = "creating"  # Cloud Run is still creating the canary revision
    STARTED = "started"  # the canary revision is ready and serves the first step
    FAILED = "failed"  # the canary revision could not be created; no traffic moved
    ANALYSED = "analysed"
    ROLLED_BACK = "rolled back"  # failing analyses
    EXPIRED = "expired"  # no promotion within the approval expiry: rolled back
    COMPLETED = "completed"


@dataclass(frozen=True)
class TickResult:
    tick: Tick
    rollout: RolloutView
    outcome: StepOutcome | None = None
    retry_after_s: float | None = None  # Cloud Run refused: the next try waits this long


def active_rollouts(tools: DeployTools) -> list[RolloutView]:
    """Rollouts with traffic on a canary: the ones a (re)started bot must drive."""
    return [r for r in tools.store.active() if r.state in DRIVEN]


def release_all_abandoned(tools: DeployTools) -> list[int]:
    """Rollouts a killed process left in CHECKLIST, cancelled so that their services deploy."""
    now = tools.clock()
    return [
        r.id
        for r in tools.store.active()
        if r.state is RolloutState.CHECKLIST and release_abandoned(tools.store, r.id, now)
    ]


RECENTLY_ENDED = timedelta(minutes=30)


def recently_ended(store: Store) -> list[RolloutView]:
    """Rollouts that ended in the last RECENTLY_ENDED and have a message to show it in."""
    since = store.clock() - RECENTLY_ENDED
    return [
        r
        for r in store.recent(100)
        if r.state.terminal and r.slack_ts is not None and r.updated_at >= since
    ]


def anything_to_resume(store: Store) -> bool:
    """Whether a (re)started bot has a rollout to drive, show or release: when not, it need not
    open the platform's clients at start."""
    return bool(store.active() or recently_ended(store))


def tick(profile: Profile, tools: DeployTools, rollout_id: int) -> TickResult | None:
    """Do what is due for one rollout; None when it is no longer active."""
    rollout = tools.store.get(rollout_id)
    if rollout is None or rollout.state not in DRIVEN:
        return None
    now = tools.clock()
    if rollout.state is RolloutState.ROLLING_BACK:
        # Someone claimed the rollback; while they are moving traffic, leave it to them (a second
        # route would change traffic twice). Claimed an interval ago and still here: Cloud Run
        # refused it, or its process died: finish it.
        if now < next_analysis_due(profile, rollout):
            return TickResult(Tick.WAITING, rollout)
        try:
            restored = finish_rollback(tools.cloud_run, tools.store, rollout)
        except CloudRunError as exc:  # audited; tried again an interval later, not at once
            restore_refused(tools.store, rollout, exc)
            return TickResult(Tick.WAITING, rollout, retry_after_s=profile.deploy.interval_s)
        if restored is None:
            return TickResult(Tick.WAITING, rollout)
        return TickResult(Tick.ROLLED_BACK, restored)
    if rollout.operation is not None:
        return _creation(profile, tools, rollout)
    step_started = rollout.step_started_at or rollout.created_at
    expiry = timedelta(hours=profile.deploy.approval_expiry_h)
    if rollout.state is RolloutState.CANARY and now - step_started >= expiry:
        reason = f"approval expired: not promoted within {profile.deploy.approval_expiry_h:g} h"
        ended = abort_rollout(tools.cloud_run, tools.store, rollout.id, "opsbot", reason)
        return TickResult(Tick.EXPIRED, ended) if ended else TickResult(Tick.WAITING, rollout)
    if now < next_analysis_due(profile, rollout):
        return TickResult(Tick.WAITING, rollout)
    try:
        routed = routed_as_recorded(
            tools.cloud_run.get_service(rollout.service), step_split(profile, rollout)
        )
    except CloudRunError as exc:  # analysed all the same; completed only once verified
        log.warning("rollout #%s: traffic not verified this tick: %s", rollout.id, exc)
        routed = None
    if routed is False:
        # A step claimed and never routed (found by the chaos soak, seed 5: the replica that
        # claimed 100% was killed before writing, and the other completed the rollout with
        # 50/50 served). Its writer gets an interval; then the claim is carried out here.
        if now - step_started >= timedelta(seconds=profile.deploy.interval_s):
            rollout = reconcile(profile, tools, rollout.id) or rollout
        return TickResult(Tick.WAITING, rollout)
    outcome = analyse(profile, tools, rollout.id)
    if outcome is None:
        return None
    if outcome.rolled_back:
        return TickResult(Tick.ROLLED_BACK, outcome.rollout, outcome)
    watched = timedelta(minutes=profile.deploy.watch_minutes)
    if (
        rollout.state is RolloutState.WATCH
        and routed
        and now - step_started >= watched
        and outcome.analysis.verdict is Verdict.PASS
    ):
        done = complete(tools, rollout.id)
        if done is not None:
            return TickResult(Tick.COMPLETED, done, outcome)
    return TickResult(Tick.ANALYSED, outcome.rollout, outcome)


def _creation(profile: Profile, tools: DeployTools, rollout: RolloutView) -> TickResult | None:
    settled = settle_canary(profile, tools, rollout)
    if settled is None:
        return None
    if settled.state is RolloutState.CANARY:
        return TickResult(Tick.CREATING if settled.operation else Tick.STARTED, settled)
    return TickResult(Tick.FAILED, settled)


def reconcile(profile: Profile, tools: DeployTools, rollout_id: int) -> RolloutView | None:
    """After a restart: Cloud Run made to match what the store recorded.

    A killed process may have claimed a step (start, promote, rollback) without making it; the
    claim is the intent, so it is carried out now: a missing canary revision is created, the
    recorded split is routed, a rollback in progress is finished. Audited when anything moved;
    a step Cloud Run refuses to take rolls the rollout back, saying why.
    """
    rollout = tools.store.get(rollout_id)
    if rollout is None:
        return None
    state = rollout.state
    if state is RolloutState.ROLLING_BACK:
        return finish_rollback(tools.cloud_run, tools.store, rollout)
    canary = rollout.canary_revision
    if state not in (RolloutState.CANARY, RolloutState.WATCH) or canary is None:
        return rollout
    if rollout.operation is not None:  # Cloud Run is still creating it: the ticks wait on it
        return rollout
    split = step_split(profile, rollout)
    service = tools.cloud_run.get_service(rollout.service)
    if routed_as_recorded(service, split):
        return rollout
    serving = service.serving
    # Claimed like every step (found by the chaos soak, seed 5: a restarted replica read the
    # rollout, another rolled it back, and the reconcile then routed the old split over the
    # rollback: a 90/10 split nobody owned).
    claimed = tools.store.transition(
        Seen.of(rollout),
        to=state,
        actor="opsbot",
        action="deploy.reconcile",
        details={
            "was": {t.revision: t.percent for t in serving},
            "set": {t.revision: t.percent for t in split},
        },
    )
    if claimed is None:
        return tools.store.get(rollout.id)  # moved meanwhile: whoever moved it routes it
    try:
        if canary not in {r.name for r in tools.cloud_run.list_revisions(rollout.service)}:
            create_canary(profile, tools, claimed, canary)
        route_step(tools.cloud_run, tools.store, claimed, split)
    except CloudRunError as exc:
        reason = f"the recorded step could not be restored after a restart: {exc}"
        return abort_rollout(tools.cloud_run, tools.store, rollout.id, "opsbot", reason)
    return tools.store.get(rollout.id)


def routed_as_recorded(service: ServiceState, split: list[TrafficShare]) -> bool:
    """Whether Cloud Run serves `split`, or is reconciling a write that asks for it."""
    wanted = split_of(split)
    return split_of(service.desired) == wanted and (
        service.reconciling or split_of(service.serving) == wanted
    )


async def drive(
    profile: Profile,
    tools: DeployTools,
    rollout_id: int,
    on_tick: Callable[[TickResult], Awaitable[bool]],
    *,
    raise_errors: bool = False,
) -> RolloutView | None:
    """Tick the rollout whenever something is due until it ends; the rollout as it was left.

    `on_tick` hears every tick that did something and returns False to stop driving (a terminal
    that only waits for a verdict). A failing tick is logged and retried the next interval,
    unless `raise_errors` (a command that must exit with the error).
    """
    interval = profile.deploy.interval_s
    backoff = 0.0  # after a refusal: the next try waits at least this
    while True:
        rollout = await asyncio.to_thread(tools.store.get, rollout_id)
        if rollout is None or rollout.state not in DRIVEN:
            return rollout
        wait = (next_analysis_due(profile, rollout) - tools.clock()).total_seconds()
        if rollout.operation is not None:
            wait = profile.deploy.operation_poll_s
        await asyncio.sleep(min(max(wait, MIN_SLEEP_S, backoff), interval))
        backoff = 0.0
        try:
            result = await asyncio.to_thread(tick, profile, tools, rollout_id)
        except Exception:
            if raise_errors:
                raise
            log.exception("rollout #%s: tick failed; retrying next interval", rollout_id)
            continue
        if result is None:
            continue  # ended meanwhile: the next read returns it
        backoff = result.retry_after_s or 0.0
        if result.tick is not Tick.WAITING and not await on_tick(result):
            return result.rollout
