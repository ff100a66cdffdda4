"""The chaos soak's invariants see the violations they name (bench/chaos_invariants.py): a soak
whose checks could not fail would prove nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.chaos_invariants import (
    all_ended,
    nothing_went_wrong,
    one_effect_each,
    one_message_each,
    traffic_owned,
)
from sandbox.slack_workspace import BOT_USER, Workspace
from store.database import Database
from store.rollouts import Store
from store.states import RolloutState, Seen

NOW = datetime(2026, 2, 5, 18, tzinfo=UTC)
SERVICE = "nba-scrapers"


def canary(store: Store) -> int:
    rollout = store.begin(
        service=SERVICE, commit_sha="a" * 40, stable_revision="old", requested_by="U0SAMDEPLY"
    )
    moved = store.transition(
        Seen.of(rollout),
        to=RolloutState.CANARY,
        actor="U0SAMDEPLY",
        action="deploy.start",
        canary_revision="new",
        step=0,
    )
    assert moved is not None
    return moved.id


def test_a_split_is_owned_only_by_the_active_rollout_of_its_revisions(database: Database) -> None:
    store = Store(database, lambda: NOW)
    assert traffic_owned(store, [SERVICE], lambda _: [("old", 100)]) == []
    canary(store)
    assert traffic_owned(store, [SERVICE], lambda _: [("old", 90), ("new", 10)]) == []
    [orphan] = traffic_owned(store, [SERVICE], lambda _: [("old", 90), ("stray", 10)])
    assert orphan.invariant == 1 and "owned by 0 rollouts" in orphan.detail


def test_a_traffic_change_made_twice_is_seen(database: Database) -> None:
    store = Store(database, lambda: NOW)
    rollout_id = canary(store)
    assert one_effect_each(store, [store.get(rollout_id)]) == []  # type: ignore[list-item]
    seen = store.get(rollout_id)
    assert seen is not None
    store.transition(
        Seen.of(seen), to=RolloutState.CANARY, actor="x", action="deploy.start", step=0
    )
    [twice] = one_effect_each(store, [store.get(rollout_id)])  # type: ignore[list-item]
    assert twice.invariant == 2


def test_messages_states_and_went_wrong_are_checked(database: Database) -> None:
    store = Store(database, lambda: NOW)
    rollout_id = canary(store)
    ws = Workspace()
    active = store.get(rollout_id)
    assert active is not None
    [none_posted] = one_message_each(ws, [active])
    assert none_posted.invariant == 3
    [stuck] = all_ended([active])
    assert stuck.invariant == 4 and "still canary" in stuck.detail
    ws.post(
        "#canary-alerts",
        f"Deploy {SERVICE} · canary at 10% rollout #{rollout_id} by x",
        None,
        BOT_USER.id,
    )
    assert one_message_each(ws, [active]) == []
    ws.post("#deployment-alerts", "Something went wrong (ref 1a2b)", None, BOT_USER.id)
    [wrong] = nothing_went_wrong(ws)
    assert wrong.invariant == 5
