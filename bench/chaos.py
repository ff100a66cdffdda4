"""Chaos soak (not a test): two replicas, random kills, retries and double clicks; invariants.

Two opsbot replicas (bench/bot_process.py) share one PostgreSQL store; the platform's emulators
run in a process of their own (killing a replica never kills them), and Slack is the emulator.
A schedule drawn from `--seed` runs `--rollouts` rollouts across the sandbox's services: /deploy
and Start; Promote clicks by the approver, by the wrong person, repeated, and delivered again
with X-Slack-Retry-Num to the other replica; Roll back clicks and /rollback; kill -9 of either
replica (restarted after); Cloud Run made slow, or refusing writes, for a while; nba-scrapers'
bad commit, which must roll itself back. After every step, and at the end, bench/
chaos_invariants.py's invariants are checked. The same seed replays the same schedule.

Prints the seed, the number of faults of each kind, each invariant's result and `violations: K`;
exits 1 when K > 0. Needs OPSBOT_TEST_DATABASE_URL (a private schema is made in it).

    python -m bench.chaos [--seed S] [--rollouts N]
    python -m bench.chaos [--seed S] --backfills N   # backfills and schedules instead
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from bench.chaos_invariants import (
    Violation,
    all_ended,
    nothing_went_wrong,
    one_effect_each,
    one_message_each,
    traffic_owned,
)
from bench.chaos_world import (
    Platform,
    Replica,
    World,
    replica_log,
    replica_wiring,
    seen_within,
)
from bot.actions import ActionId
from sandbox.slack_delivery import SlackSender
from sandbox.slack_emulator import SlackEmulator
from sandbox.slack_workspace import Message
from store.database import Database
from store.rollouts import Store
from store.states import RolloutState
from store.views import RolloutView
from tests.pg import private_schema

SERVICES = [  # every sandbox service; each but nba-scrapers gets a fresh commit to ship each time
    "nba-scrapers",  # its newest commit is the bad one: its canaries roll themselves back
    "nba-phase2-raw-processors",
    "nba-phase3-analytics-processors",
    "nba-phase4-precompute-processors",
    # not nba-grading-service: the demo starts it split 90/10 by hand, which /deploy refuses
    "prediction-coordinator",
    "prediction-worker",
]
BAD_SERVICE = "nba-scrapers"
DEPLOYER, APPROVER, STRANGER = "U0SAMDEPLY", "U0LEEAPPRV", "U0DANAONCL"
BUTTON_OF = {
    "promote": ActionId.ROLLOUT_PROMOTE,
    "promote_full": ActionId.ROLLOUT_PROMOTE_FULL,
    "promote_wrong_person": ActionId.ROLLOUT_PROMOTE,
    "promote_twice": ActionId.ROLLOUT_PROMOTE,
    "promote_retried": ActionId.ROLLOUT_PROMOTE,
    "retry_after_kill": ActionId.ROLLOUT_PROMOTE,
    "roll_back_click": ActionId.ROLLOUT_ROLL_BACK,
}
KILL_DURING_START = 0.15  # the replica that took Start is killed at once; Slack retries elsewhere
START_SEEN_S = 10.0  # how long a deployer waits for a rollout before clicking Start again
MESSAGE_BOUND_S = 10.0  # a recorded end is on the rollout's message within this
END_BOUND_S = 60.0  # after the last fault, a rollout ends within this (approvals expire in 10 s)
ACTIONS = {  # kind: weight
    "promote": 4,
    "promote_full": 1,
    "promote_wrong_person": 1,
    "promote_twice": 1,
    "promote_retried": 1,
    "retry_after_kill": 1,
    "roll_back_click": 1,
    "rollback_command": 1,
    "kill": 2,
    "slow_cloud_run": 1,
    "refuse_writes": 1,
    "overlap": 1,
    "wait": 3,
}


class Soak:
    def __init__(self, world: World, store: Store, rng: random.Random) -> None:
        self.world, self.store, self.rng = world, store, rng
        self.faults: Counter[str] = Counter()
        self.violations: list[Violation] = []
        self.seen_ids: set[int] = set()
        self.settled: set[int] = set()  # ended, and judged so (invariant 4 is said once each)

    # -- Slack, as people use it -----------------------------------------------------------------

    def via(self, replica: Replica | None = None) -> Replica:
        """Slack's request goes to a live replica (behind one URL, as with a load balancer)."""
        chosen = replica or self.rng.choice(self.world.alive())
        self.world.slack.sender = chosen.sender()
        return chosen

    def command(self, user: str, channel: str, line: str) -> None:
        self.via()
        self.world.slack.command(user, channel, line)

    def click(
        self, user: str, message: Message, action: ActionId, value: str | None = None
    ) -> None:
        self.via()
        self.world.slack.click(user, message, action, value)

    def wait_for(self, found: Callable[[], Any], timeout_s: float = 30.0) -> Any:
        return seen_within(self.world.slack.workspace, found, timeout_s)

    # -- the schedule ----------------------------------------------------------------------------

    def rollout(self, number: int) -> None:
        service = self.rng.choice(SERVICES)
        rollout = self.start(service)
        if rollout is None:
            print(f"  rollout {number}: {service} has nothing to start; skipped", flush=True)
            return
        steps = [self.rng.choices(list(ACTIONS), list(ACTIONS.values()))[0] for _ in range(6)]
        print(f"  rollout {number}: #{rollout.id} {service}: {', '.join(steps)}", flush=True)
        for step in steps:
            current = self.store.get(rollout.id)
            if current is None or current.state.terminal:
                break
            self.act(step, current)
            self.check_now()
        self.settle()

    def start(self, service: str) -> RolloutView | None:
        """/deploy and Start (sometimes with the replica that took Start killed at once); the
        rollout made, or None when the checklist offered no Start."""
        if service != BAD_SERVICE:
            self.world.platform.land(service)
        ws = self.world.slack.workspace
        before = {r.id for r in self.store.recent(1000)}
        shown_before = len(ws.messages)
        self.command(DEPLOYER, "#deployment-alerts", f"/deploy {service}")
        checklist = self.wait_for(  # this command's answer (a checklist, or why there is none)
            lambda: next(
                (
                    m
                    for m in reversed(ws.messages[shown_before:])
                    if m.ephemeral_to == DEPLOYER
                    and "Preparing the checklist" not in m.text
                    and service in m.text
                ),
                None,
            )
        )
        if checklist is None or not _has_button(checklist, ActionId.DEPLOY_START):
            return None
        made = lambda: _newest(self.store, service, before)  # noqa: E731
        if self.rng.random() < KILL_DURING_START:
            self.faults["kill during Start"] += 1
            self.retried(DEPLOYER, checklist, ActionId.DEPLOY_START, kill_first=True)
            if self.wait_for(made, START_SEEN_S) is None:
                # Acknowledged, then killed before the rollout was made: Slack does not retry,
                # and the checklist still offers Start; the deployer clicks it again.
                self.faults["Start clicked again"] += 1
                self.click(DEPLOYER, checklist, ActionId.DEPLOY_START)
        else:
            self.click(DEPLOYER, checklist, ActionId.DEPLOY_START)
        rollout: RolloutView | None = self.wait_for(made)
        if rollout is None:
            self.violations.append(Violation(4, f"Start on {service} made no rollout"))
            return None
        self.seen_ids.add(rollout.id)
        return rollout

    def overlap(self, busy: str) -> None:
        """Another service's rollout started alongside, then left alone: nobody approves it, so
        its approval expires and it rolls itself back (or its analysis ends it first)."""
        others = [s for s in SERVICES if s != busy and self.store.lock_holder(s) is None]
        if others:
            self.faults["rollout alongside"] += 1
            self.start(self.rng.choice(others))

    def act(self, kind: str, rollout: RolloutView) -> None:
        rng, message = self.rng, self.message_of(rollout)
        if kind == "wait":
            time.sleep(rng.uniform(0.5, 2.0))
        elif kind == "kill":
            self.kill_and_restart(rng.choice(self.world.alive()))
        elif kind == "slow_cloud_run":
            self.faults[kind] += 1
            self.world.platform.ask("slow", rng.uniform(0.5, 2.0))
            time.sleep(rng.uniform(1.0, 4.0))
            self.world.platform.ask("slow", 0.0)
        elif kind == "overlap":
            self.overlap(rollout.service)
        elif kind == "refuse_writes":
            self.faults[kind] += 1
            self.world.platform.ask("refuse", rng.randint(1, 3))
        elif message is None or not _has_button(
            message, BUTTON_OF.get(kind, ActionId.DEPLOY_START)
        ):
            if kind != "rollback_command":
                return  # the button is not on the message now (or no message yet): no click
            self.rollback_command(rollout.service)
        elif kind == "promote":
            self.click(APPROVER, message, ActionId.ROLLOUT_PROMOTE)
        elif kind == "promote_full":
            self.click(APPROVER, message, ActionId.ROLLOUT_PROMOTE_FULL)
        elif kind == "promote_wrong_person":
            self.click(rng.choice([DEPLOYER, STRANGER]), message, ActionId.ROLLOUT_PROMOTE)
        elif kind == "promote_twice":
            self.faults["double click"] += 1
            self.both_at_once(APPROVER, message, ActionId.ROLLOUT_PROMOTE)
        elif kind == "promote_retried":
            self.faults["Slack retry (a late ack)"] += 1
            self.retried(APPROVER, message, ActionId.ROLLOUT_PROMOTE, kill_first=False)
        elif kind == "retry_after_kill":
            self.faults["click whose replica was killed at once"] += 1
            self.retried(APPROVER, message, ActionId.ROLLOUT_PROMOTE, kill_first=True)
        elif kind == "roll_back_click":
            self.click(rng.choice([DEPLOYER, APPROVER]), message, ActionId.ROLLOUT_ROLL_BACK)
        elif kind == "rollback_command":
            self.rollback_command(rollout.service)

    def message_of(self, rollout: RolloutView) -> Message | None:
        if rollout.slack_channel is None or rollout.slack_ts is None:
            return None
        try:
            return self.world.slack.workspace.find(rollout.slack_channel, rollout.slack_ts)
        except Exception:
            return None

    def both_at_once(self, user: str, message: Message, action: ActionId) -> None:
        """The same click delivered to each live replica at the same moment (a double click)."""
        payload = self.world.slack.click_payload(user, message, action)
        senders = [r.sender() for r in self.world.alive()]
        threads = [threading.Thread(target=_deliver, args=(s, payload)) for s in senders]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)

    def retried(self, user: str, message: Message, action: ActionId, *, kill_first: bool) -> bool:
        """A click, then Slack's retry of it (X-Slack-Retry-Num: 1) to the other replica; whether
        the first delivery was acknowledged.

        Without `kill_first` the retry always follows, as when the acknowledgement came after
        Slack's 3 s (http_timeout). With it, the replica that took the click is killed at once,
        and Slack retries only when it got no 2xx (connection_failed, http_error), as Slack's
        documented request-URL retries do.
        """
        payload = self.world.slack.click_payload(user, message, action)
        first = self.rng.choice(self.world.alive())
        answers: list[int] = []
        sent = threading.Thread(target=_deliver, args=(first.sender(), payload, answers))
        sent.start()
        if kill_first:
            time.sleep(self.rng.uniform(0.0, 0.05))
            self.faults["kill"] += 1
            first.kill()
        sent.join(30)
        acknowledged = bool(answers) and 200 <= answers[0] < 300
        others = [r for r in self.world.alive() if r is not first] or self.world.alive()
        if others and not (kill_first and acknowledged):
            if kill_first:
                self.faults["Slack retry of an unanswered click"] += 1
            others[0].sender().interaction(payload, retry_num=1)
        if kill_first:
            first.start(self.world.platform.now())
        return acknowledged

    def rollback_command(self, service: str) -> None:
        ws = self.world.slack.workspace
        self.command(DEPLOYER, "#deployment-alerts", f"/rollback {service}")
        choice = self.wait_for(
            lambda: next(
                (
                    m
                    for m in reversed(ws.messages)
                    if m.ephemeral_to == DEPLOYER and _has_button(m, ActionId.ROLLBACK_TO)
                ),
                None,
            ),
            10,
        )
        if choice is not None:
            self.click(DEPLOYER, choice, ActionId.ROLLBACK_TO)

    def kill_and_restart(self, replica: Replica) -> None:
        self.faults["kill"] += 1
        replica.kill()
        time.sleep(self.rng.uniform(0.0, 2.0))
        replica.start(self.world.platform.now())

    # -- invariants ------------------------------------------------------------------------------

    def check_now(self) -> None:
        """1, 2 and 5 hold at every moment; 3 and 4 once things have settled."""
        self.violations += traffic_owned(self.store, SERVICES, self.world.platform.serving)
        self.violations += one_effect_each(self.store, self._seen())
        self.violations += nothing_went_wrong(self.world.slack.workspace)

    def settle(self) -> None:
        """Faults off, replicas up; every rollout must end within END_BOUND_S."""
        self.world.platform.ask("slow", 0.0)
        self.world.platform.ask("refuse", 0)
        for replica in self.world.replicas:
            if not replica.alive:
                replica.start(self.world.platform.now())
        until = time.monotonic() + END_BOUND_S  # the schedule's last step (and fault) was just now
        while time.monotonic() < until:
            if all(r.state.terminal for r in self._seen()):
                break
            time.sleep(0.5)  # polling the store, bounded by `until`
        self.check_now()
        rollouts = self._seen()
        self.violations += all_ended([r for r in rollouts if r.id not in self.settled])
        self.settled.update(r.id for r in rollouts if r.state.terminal)
        self.violations += self.messages_settled(rollouts)

    def messages_settled(self, rollouts: list[RolloutView]) -> list[Violation]:
        """3, once each message has had MESSAGE_BOUND_S to show what the store recorded: the end
        is recorded first and rendered after, so a check at that instant sees the step before."""
        ws = self.world.slack.workspace
        deadline = time.monotonic() + MESSAGE_BOUND_S
        version = ws.wait_for_change(-1, 0)
        while True:
            found = one_message_each(ws, rollouts)
            left = deadline - time.monotonic()
            if not found or left <= 0:
                return found
            version = ws.wait_for_change(version, min(1.0, left))

    def _seen(self) -> list[RolloutView]:
        return [r for r in self.store.recent(1000) if r.id in self.seen_ids]


def _deliver(
    sender: SlackSender, payload: dict[str, Any], answers: list[int] | None = None
) -> None:
    """One delivery (its status joins `answers`); a replica killed while answering closes the
    connection, as it would, and nothing joins."""
    with contextlib.suppress(OSError):
        status = sender.interaction(payload).status
        if answers is not None:
            answers.append(status)


def _has_button(message: Message, action: ActionId) -> bool:
    return any(
        element.get("action_id") == action
        for block in message.blocks or []
        for element in block.get("elements", [])
        if isinstance(element, dict)
    )


def _newest(store: Store, service: str, before: set[int]) -> RolloutView | None:
    fresh = [
        r
        for r in store.recent(50)
        if r.service == service and r.id not in before and r.state is not RolloutState.CHECKLIST
    ]
    return max(fresh, key=lambda r: r.id) if fresh else None


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--rollouts", type=int, default=50)
    parser.add_argument(
        "--backfills",
        type=int,
        default=None,
        help="run the backfill and schedule soak instead, with N backfills (bench/chaos_backfills.py)",
    )
    options = parser.parse_args()
    base = os.environ.get("OPSBOT_TEST_DATABASE_URL")
    if not base:
        parser.error("set OPSBOT_TEST_DATABASE_URL (PostgreSQL), as for the PostgreSQL tests")
    seed = options.seed if options.seed is not None else random.SystemRandom().randrange(10**6)
    if options.backfills is not None:
        from bench import chaos_backfills

        replay = f"python -m bench.chaos --seed {seed} --backfills {options.backfills}"
        print(f"seed: {seed} (replay: {replay})", flush=True)
        sys.exit(1 if chaos_backfills.run(seed, options.backfills, base) else 0)
    replay = f"python -m bench.chaos --seed {seed} --rollouts {options.rollouts}"
    print(f"seed: {seed} (replay: {replay})", flush=True)
    violations = run(seed, options.rollouts, base)
    sys.exit(1 if violations else 0)


def run(seed: int, rollouts: int, base_url: str) -> list[Violation]:
    rng = random.Random(seed)
    platform = Platform()
    slack = SlackEmulator()
    slack.start()
    try:
        with private_schema(base_url, "opsbot_chaos") as url:
            database = Database.open(url)  # migrated once, before the replicas start
            store = Store(database, lambda: _sandbox_now(platform))
            world = World(platform, slack, [], url)
            wiring = replica_wiring(slack, platform.address, world.secret, url)
            world.replicas = [
                Replica(name, wiring, world.secret, replica_log(seed, name)) for name in ("a", "b")
            ]
            for replica in world.replicas:
                replica.start(platform.now())
            slack.connect_app(world.replicas[0].url, world.secret)
            soak = Soak(world, store, rng)
            try:
                for number in range(1, rollouts + 1):
                    soak.rollout(number)
            finally:
                for replica in world.replicas:
                    replica.kill()
                database.close()
    finally:
        slack.stop()
        platform.stop()
    report(soak, rollouts, seed)
    return soak.violations


def report(soak: Soak, rollouts: int, seed: int) -> None:
    print(f"rollouts: {rollouts} scheduled, {len(soak.seen_ids)} started")
    for kind, count in sorted(soak.faults.items()):
        print(f"  {kind}: {count}")
    by_invariant = Counter(v.invariant for v in soak.violations)
    names = {
        1: "traffic split owned by one active rollout",
        2: "one audit entry per traffic change",
        3: "one message per rollout, showing its final state",
        4: "every rollout ended within its bound",
        5: "no 'something went wrong'",
    }
    for number, name in names.items():
        print(f"  invariant {number} ({name}): {by_invariant[number]} violations")
    for violation in dict.fromkeys(str(v) for v in soak.violations):
        print(f"    {violation}")
    logs = ", ".join(str(replica_log(seed, name)) for name in ("a", "b"))
    print(f"replicas' logs: {logs}")
    print(f"violations: {len(soak.violations)}")


def _sandbox_now(platform: Platform) -> Any:
    from datetime import datetime

    return datetime.fromisoformat(platform.now())


if __name__ == "__main__":
    main()
