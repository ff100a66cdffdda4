"""What opsbot's own store remembers that bears on a cause, where a store is present.

A report built without one (a terminal command; the bot's, before its store opens) finds the
same causes from the platform alone; the report worker reads the bot's store by its URL; with one, a deploy cause says which rollout shipped the revision
and how its canary ended (the canary's analyses judge its output where the profile names one),
and a job cause says how the backfills of its dates ended.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from commands.deploy.history import ROLLOUTS_READ, Setback, revision_setbacks
from infra.wording import said

if TYPE_CHECKING:
    from store.backfills import Backfills
    from store.rollouts import Store

BACKFILLS_READ = 200


@dataclass(frozen=True)
class Records:
    """The rollouts' store and the backfills' (either may be absent)."""

    rollouts: Store | None = None
    backfills: Backfills | None = None

    def shipped(self, service: str, revision: str) -> str | None:
        """How opsbot shipped the revision: its rollout, how it ended, the data check it was
        judged by; None when no rollout of opsbot's created it."""
        if self.rollouts is None:
            return None
        rollout = next(
            (
                r
                for r in self.rollouts.recent(ROLLOUTS_READ)
                if r.service == service and r.canary_revision == revision
            ),
            None,
        )
        if rollout is None:
            return None
        text = f"its canary, rollout #{rollout.id}, {said(rollout.state)}"
        if rollout.data_baseline:
            text += f" (its data check was {rollout.data_baseline} when it began)"
        return text + (f": {rollout.reason}" if rollout.reason else "")

    def setback(self, service: str, revision: str) -> Setback | None:
        """A failed canary of the revision, or a rollback away from it, the store remembers."""
        if self.rollouts is None:
            return None
        return revision_setbacks(self.rollouts, service).get(revision)

    def backfills_of(self, dates: Sequence[str]) -> list[str]:
        """How the backfills that took any of these dates ended, newest first."""
        if self.backfills is None:
            return []
        wanted, found = set(dates), []
        for backfill in self.backfills.recent(limit=BACKFILLS_READ):
            days = sorted(d.game_date for d in backfill.dates if d.game_date in wanted)
            if not days:
                continue
            failed = [d for d in backfill.dates if d.game_date in wanted and d.state.ended]
            bad = [d for d in failed if d.state.value != "done"]
            how = f"{len(bad)} of them did not complete" if bad else said(backfill.state)
            found.append(f"backfill #{backfill.id} of {days[0]}..{days[-1][5:]}: {how}")
        return found
