"""What people (and Slack) do in the backfill soak: commands, clicks, modal submissions, each
delivered once, twice at once (a double click), again to the other replica (Slack's retry), or
to a replica killed at once (Slack retries only what got no 2xx). bench/chaos_backfill_soak.py
draws which, from its seed."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from bench.chaos_world import Platform, Replica, World, seen_within
from sandbox.slack_delivery import SlackSender
from sandbox.slack_objects import Message, OpenView

START_TRIES, START_PAUSE_S = 5, 5.0  # a replica that does not start is tried again
HOWS = {"once": 5, "double": 1, "retried": 1, "kill_first": 1}  # how a delivery goes: weight


class BackfillReplica(Replica):
    """A replica running bench/chaos_backfill_replica.py (the sandbox's bot, whole)."""

    def start(self, now: str) -> None:  # `now`: the sandbox's clock is read from its address
        """Started, and READY; tried again (START_TRIES in all) when it does not start, as when
        the working tree is caught half edited (its log says why)."""
        for attempt in range(1, START_TRIES + 1):
            if self._started():
                return
            if attempt < START_TRIES:
                time.sleep(START_PAUSE_S)
        raise RuntimeError(f"replica {self.name} did not start {START_TRIES} times: {self.log}")

    def _started(self) -> bool:
        import subprocess
        import sys

        from bench.chaos_world import ROOT

        log = self.log.open("a" if self.starts else "w")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.chaos_backfill_replica", *self.wiring],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        self.starts += 1
        if not line.startswith("READY "):
            self.process.wait(10)
            return False
        self.url = line.split()[1] + "/slack/events"
        return True

    def claims_as(self, claimed_by: str) -> bool:
        """Whether a schedule claim's `claimed_by` (host:pid) is this process's."""
        return self.process is not None and claimed_by.endswith(f":{self.process.pid}")


class People:
    """Slack as people use it, on the soak's world; counts faults, remembers kills (epoch s)."""

    def __init__(self, world: World, rng: random.Random) -> None:
        self.world, self.rng = world, rng
        self.faults: Counter[str] = Counter()
        self.kills: list[float] = []

    @property
    def platform(self) -> Platform:
        return self.world.platform

    # -- replicas ----------------------------------------------------------------------------

    def pick(self) -> Replica:
        return self.rng.choice(self.world.alive())

    def kill(self, replica: Replica, why: str) -> None:
        if not replica.alive:
            return
        self.faults[why] += 1
        self.kills.append(time.time())
        assert replica.process is not None
        os.kill(replica.process.pid, signal.SIGKILL)
        replica.process.wait(10)

    def restart_dead(self) -> None:
        for replica in self.world.replicas:
            if not replica.alive:
                replica.start(self.platform.now())

    def kill_and_restart(
        self, replica: Replica, why: str = "kill", restart_s: float | None = None
    ) -> None:
        """Killed, and restarted `restart_s` later (drawn now when None: up to 2 s)."""
        self.kill(replica, why)
        time.sleep(self.rng.uniform(0.0, 2.0) if restart_s is None else restart_s)
        self.restart_dead()

    # -- Slack -------------------------------------------------------------------------------

    def via(self) -> Replica:
        chosen = self.pick()
        self.world.slack.sender = chosen.sender()
        return chosen

    def command(self, user: str, channel: str, line: str) -> None:
        self.via()
        self.world.slack.command(user, channel, line)

    def wait_for(self, found: Callable[[], Any], timeout_s: float = 30.0) -> Any:
        return seen_within(self.world.slack.workspace, found, timeout_s)

    def ephemeral(self, user: str, after: int, wanted: Callable[[Message], bool]) -> Any:
        """The newest message only `user` sees, posted after the first `after`, that is wanted."""
        ws = self.world.slack.workspace
        return self.wait_for(
            lambda: next(
                (
                    as_seen(m)
                    for m in reversed(ws.messages[after:])
                    if m.ephemeral_to == user and wanted(m)
                ),
                None,
            )
        )

    def new_view(
        self,
        user: str,
        before: set[str],
        callback: str,
        ready: Callable[[dict[str, Any]], bool] = lambda view: True,
    ) -> Any:
        """A modal opened for `user` since `before` (its ids), once its view is `ready`."""
        ws = self.world.slack.workspace

        def opened() -> OpenView | None:
            for view in list(ws.views.values()):
                shown = view.stack[-1] if view.stack else view.view
                if (
                    view.id not in before
                    and view.user == user
                    and shown.get("callback_id") == callback
                    and ready(shown)
                ):
                    return view
            return None

        return self.wait_for(opened, 20)

    def submission(self, user: str, view: OpenView, values: dict[str, Any]) -> dict[str, Any]:
        """The view_submission payload Slack would deliver for `view` with `values`."""
        ws = self.world.slack.workspace
        shown = dict(view.stack[-1] if view.stack else view.view)
        shown |= {"id": view.id, "state": {"values": values}}
        person = ws.users[user]
        return {
            "type": "view_submission",
            "team": {"id": ws.team_id, "domain": "sandbox"},
            "user": {
                "id": user,
                "username": person.name,
                "name": person.name,
                "team_id": ws.team_id,
            },
            "view": shown,
            "trigger_id": ws.issue_trigger(user),
            "token": "sandbox-verification-token",
        }

    def deliver(self, payload: dict[str, Any], how: str) -> Replica | None:
        """One interaction, as `how` says (HOWS); the replica that took the first delivery."""
        alive = self.world.alive()
        first = self.rng.choice(alive)
        others = [r for r in alive if r is not first]
        if how == "once" or (not others and how != "kill_first"):
            _deliver(first.sender(), payload)
        elif how == "double":
            self.faults["double click"] += 1
            threads = [threading.Thread(target=_deliver, args=(r.sender(), payload)) for r in alive]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
        elif how == "retried":
            self.faults["Slack retry to the other replica (a late ack)"] += 1
            _deliver(first.sender(), payload)
            _deliver(others[0].sender(), payload, retry_num=1)
        else:  # kill_first
            answers: list[int] = []
            sent = threading.Thread(target=_deliver, args=(first.sender(), payload, answers))
            sent.start()
            time.sleep(self.rng.uniform(0.0, 0.05))
            self.kill(first, "kill of the replica a click went to")
            sent.join(30)
            if not (answers and 200 <= answers[0] < 300):
                self.faults["Slack retry of an unanswered click"] += 1
                for other in others:
                    _deliver(other.sender(), payload, retry_num=1)
                    break
            self.restart_dead()
        return first

    def how(self) -> str:
        return self.rng.choices(list(HOWS), list(HOWS.values()))[0]


def _deliver(
    sender: SlackSender,
    payload: dict[str, Any],
    answers: list[int] | None = None,
    retry_num: int | None = None,
) -> None:
    """One delivery (its status joins `answers`); a replica killed while answering (or down)
    closes the connection, as it would, and nothing joins."""
    with contextlib.suppress(OSError):
        status = sender.interaction(payload, retry_num=retry_num).status
        if answers is not None:
            answers.append(status)


def as_seen(message: Message) -> Message:
    """The message as a person sees it now: a later chat.update (which gives the workspace's
    message new blocks) does not change what they click. Reading the live message between
    "has a Cancel button" and the click crashed seed 4 at N=30 when the backfill ended between."""
    return dataclasses.replace(message)


def has_button(message: Message, action: str) -> bool:
    return any(
        element.get("action_id") == action
        for block in message.blocks or []
        for element in [*block.get("elements", []), block.get("accessory") or {}]
        if isinstance(element, dict)
    )


def button_value(message: Message, action: str) -> str | None:
    for block in message.blocks or []:
        for element in [*block.get("elements", []), block.get("accessory") or {}]:
            if isinstance(element, dict) and element.get("action_id") == action:
                return str(element.get("value"))
    return None
