"""The backfill and schedule soak (issue 30): `python -m bench.chaos --seed S --backfills N`.

Two replicas of the sandbox's bot (bench/chaos_backfill_replica.py) share a private PostgreSQL
schema; the platform's emulators run in a process of their own (bench/chaos_world.py), Slack is
the emulator, delivering signed requests. A schedule drawn from the seed runs N grading
backfills, each started by `/regrade` (its plan's Start button), by the `/regrade` modal, or by
the message shortcut "Regrade dates in this message"; each Start delivered once, twice at once,
retried to the other replica, or to a replica killed at once, and met by Slack rate-limiting or
refusing its message's post, or by the shortcut's message deleted. Around each, six steps drawn
from STEPS (bench/chaos_backfill_soak.py): kill -9 of either replica (restarted after), both
killed as a date is recorded published, Cancel, Retry failed, Slack rate-limiting or refusing
posts, a slow or failing grading function, a completion that cannot be parsed, a kill around a
digest slot's post, Post now (clicked again after a kill), Mark final and Edit on a postmortem.
The digests fire on both replicas all along (the in-process scheduler, as the sandbox runs
them). bench/chaos_backfill_invariants.py's invariants are checked after every step, after
every backfill (faults lifted), and at the end (after the schedules' lease and a slot). The
same seed replays the same schedule. Prints each invariant's result and `violations: K`.
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import asdict
from datetime import datetime
from pathlib import Path

from bench.chaos_backfill_invariants import Violation
from bench.chaos_backfill_people import BackfillReplica
from bench.chaos_backfill_soak import BackfillSoak
from bench.chaos_world import Platform, World
from sandbox.slack_emulator import SlackEmulator
from store.database import Database
from tests.pg import private_schema


def backfill_log(seed: int, name: str) -> Path:
    import tempfile

    return Path(tempfile.gettempdir()) / f"opsbot-chaos-backfills-{seed}-replica-{name}.log"


def run(seed: int, backfills: int, base_url: str) -> list[Violation]:
    rng = random.Random(seed)
    platform = Platform()
    slack = SlackEmulator()
    address = platform.address
    started = datetime.fromisoformat(address.now_at_start)
    slack.workspace.clock = lambda: started.timestamp() + time.time() - address.epoch_at_start
    slack.start()
    soak: BackfillSoak | None = None
    try:
        with private_schema(base_url, "opsbot_chaos_bf") as url:
            database = Database.open(url)  # migrated once, before the replicas start
            world = World(platform, slack, [], url)
            wiring = [
                "--address",
                json.dumps(asdict(address)),
                "--slack-api",
                slack.api_url,
                "--token",
                slack.workspace.bot_token,
                "--secret",
                world.secret,
                "--database-url",
                url,
            ]
            world.replicas = [
                BackfillReplica(name, wiring, world.secret, backfill_log(seed, name))
                for name in ("a", "b")
            ]
            try:
                for replica in world.replicas:
                    replica.start(platform.now())
                slack.connect_app(world.replicas[0].url, world.secret)
                soak = BackfillSoak(world, database, rng)
                soak.side.open_postmortem()
                for number in range(1, backfills + 1):
                    soak.backfill(number)
                soak.finish()
            finally:
                for replica in world.replicas:
                    replica.kill()
                database.close()
    finally:
        slack.stop()
        platform.stop()
    assert soak is not None
    report(soak, backfills, seed)
    return soak.violations


NAMES = {
    1: "every date published once per attempt (again only across a kill), ended in its bound",
    2: "one message per backfill showing its end, or its starter told where to look",
    3: "no date held by a backfill nothing drives",
    4: "every slot posted once (or quiet on purpose); Post now at most once a minute",
    5: "postmortem versions only go forward, one per accepted click",
    6: "no 'something went wrong'; no button of the bot's refused where it was shown",
}


def report(soak: BackfillSoak, backfills: int, seed: int) -> None:
    print(f"backfills: {backfills} scheduled, {len(soak.seen)} started (retries included)")
    for kind, count in sorted(soak.faults.items()):
        print(f"  {kind}: {count}")
    print(f"  checked: {soak.dates} dates, {soak.triggers} triggers on Pub/Sub")
    for line in soak.lines + soak.side.summary:
        print(f"  checked: {line}")
    by_invariant = Counter(v.invariant for v in soak.violations)
    for number, name in NAMES.items():
        print(f"  invariant {number} ({name}): {by_invariant[number]} violations")
    for violation in dict.fromkeys(str(v) for v in soak.violations):
        print(f"    {violation}")
    logs = ", ".join(str(backfill_log(seed, name)) for name in ("a", "b"))
    print(f"replicas' logs: {logs}")
    print(f"time: {soak.elapsed()[2:-1]} (seed {seed}, N={backfills})")
    print(f"violations: {len(soak.violations)}")
