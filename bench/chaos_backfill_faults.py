"""The backfill soak's faults: the grading function slow or failing, completions that cannot be
understood, Slack rate-limiting or refusing the bot's posts, and both replicas killed the moment
a date is recorded as being published. `lift` ends them all (bench/chaos_backfills.py)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from bench.chaos_backfill_people import People
from store.backfill_views import IN_FLIGHT, BackfillView, DateState

POSTING = ("chat.postMessage", "chat.update")


def out(backfill: BackfillView) -> set[int]:
    """Its dates sent, or being sent (recorded as leaving, not ended): not queued, in flight."""
    return {
        d.id for d in backfill.dates if d.state in IN_FLIGHT and d.state is not DateState.QUEUED
    }


class Faults:
    def __init__(self, people: People, channel: str, timeout_s: float) -> None:
        self.people, self.channel, self.timeout_s = people, channel, timeout_s
        self.world, self.rng = people.world, people.rng
        self.grading: dict[str, Any] = {}
        self.refused_until = 0.0

    def grading_faults(self, days: list[str], *, slow: bool = False, fail: bool = False) -> None:
        """Before Start (drawn), or as a step: some of `days` graded slowly, or failing."""
        if not (slow or fail):
            chance = self.rng.random()
            slow, fail = chance < 0.45, 0.45 <= chance < 0.6
        if not (slow or fail):
            return
        chosen = self.rng.sample(days, self.rng.randint(1, len(days)))
        faults = self.grading or {"fail_dates": [], "slow_dates": [], "slow_s": 4.0}
        if slow:
            faults["slow_s"] = self.rng.choice([3.0, 8.0, self.timeout_s + 15.0])
            faults["slow_dates"] = sorted(set(faults["slow_dates"]) | set(chosen))
            self.people.faults[f"slow grading ({faults['slow_s']:.0f} s)"] += 1
        else:
            faults["fail_dates"] = sorted(set(faults["fail_dates"]) | set(chosen[:1]))
            self.people.faults["failing grading"] += 1
        self.grading = faults
        self.world.platform.ask("grading", faults)

    def bad_completion(self, made: BackfillView) -> None:
        """A completion with graded_count NaN for a date whose trigger went out (issue 30's), or
        one not JSON. Only a date whose trigger is on Pub/Sub: a grader answers only what it was
        sent, and a date recorded as leaving may not have been sent yet (seed 4 at N=30 answered
        one whose publisher was killed first: a world that cannot happen)."""
        published = {t[0] for t in self.world.platform.ask("triggers", None)}
        sent = [d for d in made.dates if d.id in out(made) and d.correlation_id in published]
        if sent and self.rng.random() < 0.7:
            day = self.rng.choice(sent)
            self.people.faults["completion with graded_count NaN"] += 1
            self.world.platform.ask("completion", ("nan", day.correlation_id, day.game_date))
        else:
            self.people.faults["completion that is not JSON"] += 1
            self.world.platform.ask("completion", ("garbage", "", made.dates[0].game_date))

    def rate_limit(self) -> None:
        """More 429s than the client retries (3), on posts or on updates."""
        method = self.rng.choice(POSTING)
        self.people.faults[f"Slack rate-limits {method} past the retries"] += 1
        self.world.slack.workspace.rate_limit(method, times=self.rng.randint(4, 6))

    def refuse_posts(self) -> None:
        """The channel refuses the bot's posts (not_in_channel) for a few seconds."""
        self.people.faults["Slack refuses posts (not_in_channel)"] += 1
        self.world.slack.workspace.leave([self.channel])
        self.refused_until = time.monotonic() + self.rng.uniform(2.0, 8.0)

    def kill_at_publish(self, made: BackfillView, get: Callable[[], BackfillView | None]) -> None:
        """Both replicas killed the moment the store shows a date newly leaving (whoever
        publishes it is killed before, or just after, it sends the trigger)."""
        before = out(made)
        if not any(d.state is DateState.QUEUED for d in made.dates):
            return
        deadline = time.monotonic() + 10.0
        while time.monotonic() < deadline:
            now = get()
            if now is None or now.ended:
                return
            if out(now) - before:
                break
            time.sleep(0.005)  # bounded by the deadline
        else:
            return
        for replica in self.world.alive():
            self.people.kill(replica, "kill of both replicas as a date was recorded published")
        self.people.restart_dead()

    def expire(self) -> None:
        """A refusal ends when its time is up."""
        if self.refused_until and time.monotonic() > self.refused_until:
            self.rejoin()

    def lift(self) -> None:
        ws = self.world.slack.workspace
        self.grading = {}
        self.world.platform.ask("grading", {})
        for method in POSTING:
            ws.rate_limit(method, times=0)
        self.rejoin()
        self.people.restart_dead()

    def rejoin(self) -> None:
        ws = self.world.slack.workspace
        with ws._changed:  # the emulator has no "invite": what leave() did, undone
            ws.not_member.discard(ws.channel(self.channel).id)
        self.refused_until = 0.0


__all__ = ["POSTING", "Faults", "out"]
