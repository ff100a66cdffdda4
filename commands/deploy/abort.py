"""Ending a rollout: cancelled before it moved anything, or traffic restored to its stable revision.

A restore always routes 100% to the stable revision recorded when the rollout began, never
"latest". It is claimed as ROLLING_BACK (with the state it ends in) before traffic moves, so a
process killed in between leaves a rollout that the next one finishes, never a split nobody owns.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from adapters.cloudrun import CloudRun
from adapters.cloudrun_model import (
    CloudRunError,
    ConcurrentChange,
    NotWanted,
    TrafficShare,
    split_of,
)
from commands.errors import RequestError
from infra.wording import said
from store.states import RolloutState, Seen

if TYPE_CHECKING:
    from store.rollouts import Store
    from store.views import RolloutView

# A rollout is recorded (CHECKLIST, holding the service's lock) and its canary claimed in the
# same call, milliseconds apart: one still in CHECKLIST after this lost its process in between.
ABANDONED_AFTER = timedelta(seconds=5)
UNDONE = frozenset({RolloutState.ROLLING_BACK, RolloutState.ROLLED_BACK, RolloutState.FAILED})
ABANDONED_REASON = "its bot stopped between recording it and starting its canary; nothing changed"


def abort_rollout(
    cloud_run: CloudRun, store: Store, rollout_id: int, actor: str, reason: str
) -> RolloutView | None:
    """Stop the rollout: a checklist is cancelled; a canary's traffic goes back to stable, verified.

    None when it has already ended or is being rolled back by someone else.
    """
    rollout = store.get(rollout_id)
    if rollout is None:
        raise RequestError(f"no rollout #{rollout_id}")
    if rollout.state.terminal or rollout.state is RolloutState.ROLLING_BACK:
        return None
    if rollout.state is RolloutState.CHECKLIST:
        return store.transition(
            Seen.of(rollout),
            to=RolloutState.CANCELLED,
            actor=actor,
            action="deploy.cancel",
            reason=reason,
        )
    return restore_stable(
        cloud_run, store, rollout, RolloutState.ROLLED_BACK, actor, "deploy.rollback", reason
    )


def route_step(
    cloud_run: CloudRun, store: Store, claimed: RolloutView, split: list[TrafficShare]
) -> None:
    """Route a claimed step's split unless the rollout has since been rolled back, ended or moved
    on to another step; if it was rolled back while the split was routed, put stable back.

    The store is asked between reading the service and writing it: a step that read the service
    after a rollback restored it, and wrote after, split traffic behind an ended rollout until
    its own check put stable back, and a reconcile that wrote after a later step put the earlier
    split back (the chaos soak, seed 5). A step accepted just before a rollback wrote is routed
    over by the rollback itself (`finish_rollback`, seed 8).
    """

    def undone() -> str | None:
        now = store.get(claimed.id)
        if now is None:
            return None
        if now.state in UNDONE or now.state.terminal:
            return f"rollout #{claimed.id} is {said(now.state)}"
        if now.step != claimed.step:  # a later step was claimed: its own write routes it
            return f"rollout #{claimed.id} moved on to step {now.step}"
        return None

    try:
        route_over_its_own(cloud_run, claimed, split, unless=undone)
    except NotWanted:
        return  # the rollback routes the stable revision; this step wrote nothing
    after = store.get(claimed.id)
    if after is not None and after.state in UNDONE:
        cloud_run.route(claimed.service, [TrafficShare(after.stable_revision, 100)])


def route_over_its_own(
    cloud_run: CloudRun,
    rollout: RolloutView,
    split: list[TrafficShare],
    unless: Callable[[], str | None] | None = None,
) -> None:
    """Route `split`, verified. A change made since the read that asks only for the rollout's
    own revisions (a write of its own that landed first: a stale step's, a restart's reconcile,
    a step overtaking its rollback, the chaos soak's seed 8) is routed over at once; anything
    else (a gcloud deploy) is never overwritten (ConcurrentChange)."""
    try:
        cloud_run.route(rollout.service, split, unless=unless)
    except ConcurrentChange:
        asked = split_of(cloud_run.get_service(rollout.service).desired)
        if not set(asked) <= {rollout.stable_revision, rollout.canary_revision}:
            raise
        cloud_run.route(rollout.service, split, unless=unless)


def release_abandoned(store: Store, rollout_id: int, now: datetime) -> bool:
    """Cancel the rollout if it was abandoned in CHECKLIST (freeing its service's lock); whether
    it was (found by the chaos soak: a replica killed right after Start blocked the service)."""
    rollout = store.get(rollout_id)
    if rollout is None or rollout.state is not RolloutState.CHECKLIST:
        return False
    if now - rollout.updated_at < ABANDONED_AFTER:
        return False
    cancelled = store.transition(
        Seen.of(rollout),
        to=RolloutState.CANCELLED,
        actor="opsbot",
        action="deploy.cancel",
        reason=ABANDONED_REASON,
    )
    return cancelled is not None


def fail_step(
    cloud_run: CloudRun, store: Store, claimed: RolloutView, actor: str, error: CloudRunError
) -> RolloutView | None:
    """A step Cloud Run would not take: the rollout ends FAILED with its reason, traffic restored.

    Unless someone changed the service meanwhile (a gcloud deploy): then opsbot moves nothing,
    since restoring would overwrite a change it did not make; the reason says what changed.
    """
    if isinstance(error, ConcurrentChange):
        return store.transition(
            Seen.of(claimed),
            to=RolloutState.FAILED,
            actor=actor,
            action="deploy.failed",
            reason=f"{error} opsbot left traffic as it found it.",
        )
    return restore_stable(
        cloud_run, store, claimed, RolloutState.FAILED, actor, "deploy.failed", str(error)
    )


def restore_stable(
    cloud_run: CloudRun,
    store: Store,
    rollout: RolloutView,
    ending: RolloutState,
    actor: str,
    action: str,
    reason: str,
    details: dict[str, Any] | None = None,
) -> RolloutView | None:
    """Claim ROLLING_BACK (ending in `ending`), then put 100% back on the stable revision.

    None when someone else moved the rollout first. When Cloud Run refuses, the rollout stays
    ROLLING_BACK (audited) and the driver tries again.
    """
    claimed = store.transition(
        Seen.of(rollout),
        to=RolloutState.ROLLING_BACK,
        actor=actor,
        action=action,
        reason=reason,
        ending=ending,
        details=details,
    )
    if claimed is None:
        return None
    try:
        return finish_rollback(cloud_run, store, claimed) or store.get(claimed.id)
    except CloudRunError as exc:
        restore_refused(store, claimed, exc)
        return claimed


def restore_refused(store: Store, rollout: RolloutView, error: CloudRunError) -> None:
    """Cloud Run refused to put traffic back: audited; the rollout stays ROLLING_BACK, and the
    driver tries again an interval later."""
    store.record(
        "opsbot",
        "deploy.restore.failed",
        service=rollout.service,
        rollout_id=rollout.id,
        result=f"{error}; trying again",
    )


def finish_rollback(cloud_run: CloudRun, store: Store, rollout: RolloutView) -> RolloutView | None:
    """ROLLING_BACK → the state it ends in: 100% on the stable revision, read back, recorded.

    Raises CloudRunError when Cloud Run refuses (the rollout stays ROLLING_BACK).
    """
    route_over_its_own(cloud_run, rollout, [TrafficShare(rollout.stable_revision, 100)])
    return store.transition(
        Seen.of(rollout),
        to=rollout.ending or RolloutState.ROLLED_BACK,
        actor="opsbot",
        action="deploy.restored",
    )
