"""What must hold however the chaos soak faults the world (issue: a chaos soak).

1. Every service's traffic is 100% on one revision, or split between the stable and canary
   revisions of the one rollout active on it: never a split nobody owns.
2. No rollout made the same traffic change twice: one audit entry per effect.
3. Every rollout that became active has exactly one message, showing its final state.
4. Every rollout ended (completed, rolled back, failed, cancelled) within its bound after the
   last fault; none is left in an intermediate state.
5. No request was answered with "something went wrong".
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from sandbox.slack_workspace import Workspace
from store.rollouts import Store
from store.states import RolloutState
from store.views import RolloutView

WENT_WRONG = "something went wrong"
TRAFFIC_CHANGES = ("deploy.start", "deploy.promote", "deploy.rollback")  # and what they start


@dataclass(frozen=True)
class Violation:
    invariant: int
    detail: str

    def __str__(self) -> str:
        return f"invariant {self.invariant}: {self.detail}"


def traffic_owned(
    store: Store, services: Iterable[str], serving: Callable[[str], list[tuple[str, int]]]
) -> list[Violation]:
    """1: a split belongs to the service's active rollout (its stable and canary revisions)."""
    found: list[Violation] = []
    rollouts = store.recent(1000)
    for service in services:
        split = serving(service)
        if len(split) <= 1:
            continue
        active = [r for r in rollouts if r.service == service and not r.state.terminal]
        owners = [
            r for r in active if {rev for rev, _ in split} <= {r.stable_revision, r.canary_revision}
        ]
        if len(owners) != 1:
            found.append(Violation(1, f"{service} split {split} owned by {len(owners)} rollouts"))
    return found


def one_effect_each(store: Store, rollouts: Iterable[RolloutView]) -> list[Violation]:
    """2: no rollout's audit log repeats a traffic change."""
    found: list[Violation] = []
    for rollout in rollouts:
        changes = Counter(
            (entry.action, entry.arguments.get("to"), entry.arguments.get("step"))
            for entry in store.audit_log(rollout.id)
            if entry.action.startswith(TRAFFIC_CHANGES) and entry.result == "ok"
        )
        repeated = {change: n for change, n in changes.items() if n > 1}
        if repeated:
            found.append(Violation(2, f"rollout #{rollout.id} repeated {repeated}"))
    return found


def one_message_each(ws: Workspace, rollouts: Iterable[RolloutView]) -> list[Violation]:
    """3: each rollout that went past its checklist has one message, showing its final state."""
    found: list[Violation] = []
    messages = ws.bot_messages("#canary-alerts")
    for rollout in rollouts:
        if (
            rollout.state in (RolloutState.CHECKLIST, RolloutState.CANCELLED)
            and not rollout.slack_ts
        ):
            continue
        mine = [  # not a thread reply (a postmortem offer) nor an answer to one person's click
            m
            for m in messages
            if m.thread_ts is None
            and m.ephemeral_to is None
            and f"rollout #{rollout.id} " in _text(m)
        ]
        if len(mine) != 1:
            shown = "; ".join(f"{m.ts} {m.text[:70]!r}" for m in mine)
            found.append(Violation(3, f"rollout #{rollout.id} has {len(mine)} messages: {shown}"))
            continue
        if rollout.state.terminal:
            shown = rollout.state.value.replace("_", " ")
            if f"· {shown}" not in _text(mine[0]):
                found.append(
                    Violation(3, f"rollout #{rollout.id} is {shown}; its message: {mine[0].text!r}")
                )
    return found


def all_ended(rollouts: Iterable[RolloutView]) -> list[Violation]:
    """4: none left active (called once the bound after the last fault has passed)."""
    return [
        Violation(4, f"rollout #{r.id} of {r.service} still {r.state.value}")
        for r in rollouts
        if not r.state.terminal and r.state is not RolloutState.CHECKLIST
    ]


def nothing_went_wrong(ws: Workspace) -> list[Violation]:
    """5: no message, ephemeral or reply says something went wrong."""
    return [
        Violation(5, f"{m.channel}: {m.text[:160]!r}")
        for m in ws.messages
        if WENT_WRONG in _text(m).lower()
    ]


def _text(message: object) -> str:
    from sandbox.slack_workspace import Message

    assert isinstance(message, Message)
    parts = [message.text]
    for block in message.blocks or []:
        parts.append(str(block))
    return " ".join(parts)
