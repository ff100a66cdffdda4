"""Rollout states and the version a caller acted on: importable without SQLAlchemy (the ack path)."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from store.views import RolloutView


class RolloutState(enum.StrEnum):
    CHECKLIST = "checklist"  # posted for review; nothing changed yet
    CANARY = "canary"  # a canary revision serves traffic at the current step
    WATCH = "watch"  # at 100%, watched before completion
    ROLLING_BACK = "rolling_back"  # claimed: traffic is going back to the stable revision
    COMPLETE = "complete"
    ROLLED_BACK = "rolled_back"
    CANCELLED = "cancelled"
    FAILED = "failed"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


DRIVEN = frozenset({RolloutState.CANARY, RolloutState.WATCH, RolloutState.ROLLING_BACK})
"""States with traffic on the line: a (re)started bot drives each of these to its end."""

TERMINAL = frozenset(
    {RolloutState.COMPLETE, RolloutState.ROLLED_BACK, RolloutState.CANCELLED, RolloutState.FAILED}
)

MOVES: dict[RolloutState, frozenset[RolloutState]] = {
    RolloutState.CHECKLIST: frozenset(
        {RolloutState.CANARY, RolloutState.CANCELLED, RolloutState.FAILED}
    ),
    RolloutState.CANARY: frozenset(
        {
            RolloutState.CANARY,  # a step, an analysis, the canary's operation recorded
            RolloutState.WATCH,
            RolloutState.ROLLING_BACK,
            RolloutState.FAILED,
        }
    ),
    RolloutState.WATCH: frozenset(
        {RolloutState.WATCH, RolloutState.COMPLETE, RolloutState.ROLLING_BACK, RolloutState.FAILED}
    ),
    RolloutState.ROLLING_BACK: frozenset(
        {RolloutState.ROLLING_BACK, RolloutState.ROLLED_BACK, RolloutState.FAILED}
    ),
    **{ended: frozenset() for ended in TERMINAL},
}
"""The moves a rollout may make: the rollout store refuses any other (IllegalMove)."""


class IllegalMove(ValueError):
    """A transition the rollout's state table does not allow: a bug in the caller, not a race."""


def check_move(start: RolloutState, to: RolloutState) -> None:
    if to not in MOVES[start]:
        raise IllegalMove(f"a rollout cannot move from {start.value} to {to.value}")


@dataclass(frozen=True)
class Seen:
    """The state and version a caller acted on; a transition applies only if both still hold."""

    rollout_id: int
    state: RolloutState
    version: int

    @classmethod
    def of(cls, rollout: RolloutView) -> Seen:
        return cls(rollout.id, rollout.state, rollout.version)


NO_OPERATION = ""
"""`Store.transition(operation=NO_OPERATION)`: the canary's operation has finished; forget it."""
