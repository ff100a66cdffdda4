"""The backfill soak's schedule of people and faults, and its invariants checked after each
step, each backfill and at the end (bench/chaos_backfills.py runs it; see its docstring)."""

from __future__ import annotations

import math
import random
import time
from collections import Counter
from datetime import date, datetime, timedelta
from typing import Any

from bench.chaos_backfill_faults import Faults
from bench.chaos_backfill_invariants import (
    Trigger,
    Violation,
    all_dates_ended,
    backfill_messages,
    dates_driven,
    nothing_went_wrong,
    one_message_each,
    published_as_recorded,
    told_in_dm,
)
from bench.chaos_backfill_people import People, as_seen, has_button
from bench.chaos_backfill_replica import DRIVER_LEASE_S, REGRADE
from bench.chaos_backfill_side import SCHEDULE_BOUND_S, SideJobs
from bench.chaos_world import World
from bot.actions import ActionId
from bot.views.regrade import MODAL
from sandbox.demo_season import season_days
from sandbox.slack_objects import BOT_USER
from store.backfill_views import BackfillView
from store.backfills import Backfills
from store.database import Database

REGRADER, CHANNEL = "U0DANAONCL", "#nba-alerts"
POOL = [d.isoformat() for d in season_days() if date(2025, 11, 3) <= d <= date(2026, 2, 3)]
ENTRIES = {"button": 2, "modal": 1, "shortcut": 2}
# As Start is pressed: Slack rate-limiting or refusing the message's post, or the message the
# shortcut was run on deleted (the progress goes in its thread)
START_FAULTS = {"none": 3, "rate_limit": 1, "refuse_posts": 1, "source_deleted": 1}
STEPS = {  # kind: weight
    "wait": 2,
    "kill": 2,
    "kill_at_publish": 1,
    "cancel": 1,
    "retry_failed": 1,
    "rate_limit": 1,
    "refuse_posts": 1,
    "slow_grading": 1,
    "fail_grading": 1,
    "bad_completion": 1,
    "slot_kill": 1,
    "post_now": 1,
    "postmortem_final": 1,
    "postmortem_edit": 1,
}
STEPS_EACH = 6
DATES = (2, 5)  # consecutive season days per backfill: the fewest and the most
# The bounds of the invariants, from the replicas' timings and windows (chaos_backfill_replica)
TIMEOUT_S = REGRADE["date_timeout_min"] * 60
# A running backfill untouched this long with no kill meanwhile: nobody drives it. The bot takes
# a dead driver's backfill over a lease (and a quarter, its watch's period) after its last round;
# two leases leave room for that round and for a replica's restart after a kill.
STALE_S = 2 * DRIVER_LEASE_S
# After the faults are lifted: each date's timeout, for as many rounds as a backfill's dates
# wait for room in flight, and the longest a backfill may go undriven (a date a kill left
# unconfirmed is sent again within it: republish_after_s < STALE_S)
ROUNDS = math.ceil(DATES[1] / REGRADE["max_in_flight"])
END_BOUND_S = ROUNDS * TIMEOUT_S + STALE_S
# A recorded end is on the backfill's message within a driver lease: the round that ended it
# shows it (the faults are lifted by then: no refusal to wait out)
MESSAGE_BOUND_S = DRIVER_LEASE_S
START_SEEN_S = 15.0  # how long a person waits for the backfill Start made, before trying again


class BackfillSoak:
    def __init__(self, world: World, database: Database, rng: random.Random) -> None:
        self.world, self.rng = world, rng
        address = world.platform.address
        self.started = datetime.fromisoformat(address.now_at_start)
        self.epoch = address.epoch_at_start
        self.people = People(world, rng)
        self.backfills = Backfills(database, self.clock)
        self.side = SideJobs(self.people, database, self.clock)
        self.violations: list[Violation] = []
        self.seen: set[int] = set()
        self.settled: set[int] = set()
        self.used: set[tuple[str, str]] = set()
        self.inject = Faults(self.people, CHANNEL, TIMEOUT_S)
        self.reported_stale: set[int] = set()
        self.triggers = self.dates = 0
        self.lines: list[str] = []  # each backfill as it ended, for the report

    def elapsed(self) -> str:
        """'[+73 s]': the time since the soak began, for its output."""
        return f"[+{time.time() - self.epoch:.0f} s]"

    def clock(self) -> datetime:
        """The sandbox's time (the replicas' clock), read as its address says."""
        return self.started + timedelta(seconds=time.time() - self.epoch)

    @property
    def faults(self) -> Counter[str]:
        return self.people.faults

    # -- a backfill and its steps --------------------------------------------------------------

    def backfill(self, number: int) -> None:
        self.side.kill_when_due()
        made = self.start()
        steps = [self.rng.choices(list(STEPS), list(STEPS.values()))[0] for _ in range(STEPS_EACH)]
        shown = (
            f"#{made.id} {made.dates[0].game_date}..{made.dates[-1].game_date}" if made else "none"
        )
        print(f"  {self.elapsed()} backfill {number}: {shown}: {', '.join(steps)}", flush=True)
        for step in steps:
            self.act(step, self.backfills.get(made.id) if made else None)
            self.side.kill_when_due()  # a slot kill armed by an earlier step, if a slot is near
            self.check_now()
        self.settle()

    def pick_range(self) -> tuple[str, str] | None:
        for _ in range(50):
            length = self.rng.randint(*DATES)
            first = self.rng.randrange(len(POOL) - length + 1)
            days = POOL[first : first + length]
            if (days[0], days[-1]) in self.used or self.backfills.in_flight(days):
                continue
            self.used.add((days[0], days[-1]))
            return days[0], days[-1]
        return None

    def start(self) -> BackfillView | None:
        """A backfill by one of ENTRIES, with faults drawn before Start; None when none was made."""
        picked = self.pick_range()
        if picked is None:
            return None
        first, last = picked
        entry = self.rng.choices(list(ENTRIES), list(ENTRIES.values()))[0]
        fault = self.rng.choices(list(START_FAULTS), list(START_FAULTS.values()))[0]
        entry = "shortcut" if fault == "source_deleted" else entry
        how = self.people.how()
        self.faults[f"Start by {entry}"] += 1
        self.inject.grading_faults([first, last])
        before = {b.id for b in self.backfills.recent(200)}
        payload = self.start_payload(entry, first, last, fault == "source_deleted")
        if payload is None:
            self.faults[f"{entry}: nothing to press (no plan or modal shown)"] += 1
            return None
        if fault == "rate_limit":  # as Start is pressed: its message's post is what meets it
            self.inject.rate_limit()
        elif fault == "refuse_posts":
            self.inject.refuse_posts()
        self.people.deliver(payload, how)
        made = self.people.wait_for(lambda: self.newest(before, first), START_SEEN_S)
        if made is None and how == "kill_first":
            # Acknowledged, then killed before the backfill was made: Slack does not retry,
            # and the plan (or the modal) still offers Start; the person presses it again.
            self.faults["Start pressed again"] += 1
            self.people.deliver(payload, "once")
            made = self.people.wait_for(lambda: self.newest(before, first), START_SEEN_S)
        if made is None:
            self.violations.append(
                Violation(2, f"Start of {first}..{last} by {entry} ({how}) made no backfill")
            )
            return None
        self.seen.add(made.id)
        return made if isinstance(made, BackfillView) else None

    def start_payload(
        self, entry: str, first: str, last: str, delete_source: bool = False
    ) -> dict[str, Any] | None:
        people, slack = self.people, self.world.slack
        ws = slack.workspace
        if entry == "button":
            after = len(ws.messages)
            people.command(REGRADER, CHANNEL, f"/regrade {first} {last} --include-graded")
            plan = people.ephemeral(
                REGRADER,
                after,
                lambda m: (
                    f"Regrade {first}..{last}" in m.text and has_button(m, ActionId.REGRADE_START)
                ),
            )
            return (
                None
                if plan is None
                else slack.click_payload(REGRADER, plan, ActionId.REGRADE_START)
            )
        before = set(ws.views)
        if entry == "modal":
            people.command(REGRADER, CHANNEL, "/regrade")
        else:
            alert = ws.post(
                CHANNEL,
                f"grading alert: games of {first} and {last} left ungraded",
                None,
                BOT_USER.id,
            )
            people.via()
            slack.message_action(REGRADER, alert, "regrade.from_message")
        view = people.new_view(REGRADER, before, MODAL)
        if view is None:
            return None
        if delete_source:
            self.faults["source message deleted before Start"] += 1
            ws.delete(alert.channel, alert.ts)
        return people.submission(REGRADER, view, regrade_values(first, last))

    def newest(self, before: set[int], first: str) -> BackfillView | None:
        fresh = [
            b
            for b in self.backfills.recent(50)
            if b.id not in before and b.dates and b.dates[0].game_date == first
        ]
        return max(fresh, key=lambda b: b.id) if fresh else None

    def act(self, kind: str, made: BackfillView | None) -> None:
        rng, people = self.rng, self.people
        if kind == "wait":
            time.sleep(rng.uniform(0.5, 2.0))
        elif kind == "kill":
            people.kill_and_restart(rng.choice(self.world.alive()))
        elif kind == "kill_at_publish" and made is not None:
            self.inject.kill_at_publish(made, lambda: self.backfills.get(made.id))
        elif kind in ("cancel", "retry_failed") and made is not None:
            self.click_on(made, kind)
        elif kind == "rate_limit":
            self.inject.rate_limit()
        elif kind == "refuse_posts":
            self.inject.refuse_posts()
        elif kind in ("slow_grading", "fail_grading") and made is not None:
            left = [d.game_date for d in made.dates if not d.state.ended]
            if left:
                self.inject.grading_faults(
                    left, slow=kind == "slow_grading", fail=kind == "fail_grading"
                )
        elif kind == "bad_completion" and made is not None:
            self.inject.bad_completion(made)
        elif kind == "slot_kill":
            self.side.kill_around_slot()
        elif kind == "post_now":
            self.side.post_now()
        elif kind == "postmortem_final":
            self.side.mark_final()
        elif kind == "postmortem_edit":
            self.side.edit()

    def click_on(self, made: BackfillView, kind: str) -> None:
        action = ActionId.BACKFILL_CANCEL if kind == "cancel" else ActionId.BACKFILL_RETRY
        message = self.message_of(made)
        if message is None or not has_button(message, action):
            return
        self.faults["Cancel" if kind == "cancel" else "Retry failed"] += 1
        before = {b.id for b in self.backfills.recent(200)}
        payload = self.world.slack.click_payload(REGRADER, message, action)
        self.people.deliver(payload, self.people.how())
        if kind == "retry_failed":
            again = self.people.wait_for(
                lambda: next(
                    (
                        b
                        for b in self.backfills.recent(20)
                        if b.id not in before and b.reason == f"retry of backfill #{made.id}"
                    ),
                    None,
                ),
                START_SEEN_S,
            )
            if again is not None:
                self.seen.add(again.id)
            else:
                self.faults["Retry failed: no backfill made"] += 1

    def message_of(self, made: BackfillView) -> Any:
        found = self.backfills.get(made.id)
        if found is None or not found.slack_channel or not found.slack_ts:
            return None
        try:
            return as_seen(self.world.slack.workspace.find(found.slack_channel, found.slack_ts))
        except Exception:
            return None

    # -- invariants --------------------------------------------------------------------------

    def check_now(self) -> None:
        self.inject.expire()
        self.violations += self.side.sample()
        last_kill = max(self.people.kills, default=0.0)
        if time.time() - last_kill > STALE_S:
            for backfill in self.backfills.running():
                found = (
                    []
                    if backfill.id in self.reported_stale
                    else dates_driven([backfill], self.clock(), STALE_S)
                )
                if found:  # said once for each
                    self.reported_stale.add(backfill.id)
                    self.violations += found

    def settle(self) -> None:
        """Faults lifted, replicas up; every backfill must end within END_BOUND_S."""
        self.inject.lift()
        until = time.monotonic() + END_BOUND_S
        while time.monotonic() < until:
            if all(b.ended for b in self._seen()):
                break
            time.sleep(0.5)  # polling the store, bounded by `until`
            self.check_now()
        fresh = [b for b in self._seen() if b.id not in self.settled]
        self.violations += all_dates_ended(fresh, END_BOUND_S)
        ended = [b for b in fresh if b.ended]
        triggers = [Trigger(*t) for t in self.world.platform.ask("triggers", None)]
        self.violations += published_as_recorded(ended, triggers, self.people.kills)
        self.triggers = len(triggers)
        self.dates = sum(len(b.dates) for b in self._seen())
        self.violations += self.messages_settled([b.id for b in ended])
        self.settled.update(b.id for b in fresh)  # judged once each, ended or not
        for backfill in (self.backfills.get(b.id) for b in ended):
            if backfill is not None:
                self.lines.append(self.described(backfill, triggers))

    def described(self, backfill: BackfillView, triggers: list[Trigger]) -> str:
        """'#3 done: 4 done, 1 failed; 5 triggers; message in C0ALERTS01 (a thread)'."""
        ws = self.world.slack.workspace
        states = Counter(d.state.value for d in backfill.dates)
        mine = {d.correlation_id for d in backfill.dates}
        sent = sum(1 for t in triggers if t.correlation in mine)
        messages = backfill_messages(ws, backfill.id)
        if messages:
            where = ", ".join(
                f"{m.channel}{' (a thread)' if m.thread_ts else ''}"
                f"{' (a DM)' if m.channel.startswith('D') else ''}"
                for m in messages
            )
        else:
            told = told_in_dm(ws, backfill.requested_by, backfill.id)
            where = "none; its starter told in a DM" if told else "nowhere"
        shown = ", ".join(f"{n} {state}" for state, n in sorted(states.items()))
        first, last = backfill.dates[0].game_date, backfill.dates[-1].game_date
        unseen = (
            "" if backfill.id in self.seen else f" (no Start the soak saw: {backfill.reason!r})"
        )
        return (
            f"#{backfill.id} {first}..{last} {backfill.state.value}{unseen}: {shown}; "
            f"{sent} triggers; message in {where}"
        )

    def messages_settled(self, ids: list[int]) -> list[Violation]:
        ws = self.world.slack.workspace
        deadline = time.monotonic() + MESSAGE_BOUND_S
        version = ws.wait_for_change(-1, 0)
        while True:
            backfills = [b for b in (self.backfills.get(i) for i in ids) if b is not None]
            found = one_message_each(ws, backfills)
            left = deadline - time.monotonic()
            if not found or left <= 0:
                return found
            version = ws.wait_for_change(version, min(1.0, left))

    def finish(self) -> None:
        """After the last backfill: the schedules' claims settle, then 4, 5 and 6."""
        self.side.disarm()
        until = self.clock()
        self.inject.lift()
        print(
            f"  {self.elapsed()} schedules: waiting {SCHEDULE_BOUND_S:.0f} s for the last slots",
            flush=True,
        )
        deadline = time.monotonic() + SCHEDULE_BOUND_S
        while time.monotonic() < deadline:
            time.sleep(1.0)  # bounded by the deadline
            self.check_now()
        self.violations += self.side.check_schedules(until)
        self.violations += self.side.check_postmortem()
        self.violations += nothing_went_wrong(self.world.slack.workspace)

    def _seen(self) -> list[BackfillView]:
        """Every backfill in the store (the soak's private schema): those its Starts and
        Retries made, and any made behind its back (a second one from one click), oldest first."""
        return sorted(self.backfills.recent(1000), key=lambda b: b.id)


def regrade_values(first: str, last: str) -> dict[str, Any]:
    option = {"text": {"type": "plain_text", "text": "Include fully graded dates"}, "value": "yes"}
    return {
        "start": {"start": {"type": "datepicker", "selected_date": first}},
        "end": {"end": {"type": "datepicker", "selected_date": last}},
        "graded": {"graded": {"type": "checkboxes", "selected_options": [option]}},
        "reason": {"reason": {"type": "plain_text_input", "value": "chaos soak"}},
    }
