"""Benchmark (not a test): 3 replicas fire the same 100 slots; exactly 100 posts, and the claims' cost.

Each replica is a thread with its own ScheduleRuns (its own connection pool) on one store
(PostgreSQL when $OPSBOT_TEST_DATABASE_URL is set, else a SQLite file); for every slot, all
replicas claim at once (a barrier), the winner posts a line to the Slack emulator through
slack_sdk and records the run. The peer does the same claims with the least a database can do:
one `INSERT ... ON CONFLICT DO NOTHING` per replica and slot, same parallelism. Rounds alternate;
each prints min / median / max claim latency, and the ratio of medians per round.

    python -m bench.schedule [--replicas 3] [--slots 100] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path

from slack_sdk.web import WebClient
from sqlalchemy import text

from bot.slack_clients import slack_api, sync_web_client
from sandbox.slack_emulator import SlackEmulator
from store.database import Database
from store.location import sqlite_url
from store.schedule_runs import ScheduleRuns
from store.schedule_views import Outcome
from tests.pg import private_schema

T0 = datetime(2026, 2, 5, 16, tzinfo=UTC)
PEER_TABLE = "bench_claims"


def _fire(
    replicas: int,
    slots: int,
    claim: Callable[[int, int], bool],
    post: Callable[[int, int], None],
) -> tuple[list[float], int]:
    """Every replica claims every slot at once; the winners post. → (latencies, wins)."""
    barrier = threading.Barrier(replicas)
    latencies: list[float] = []
    wins = [0]
    lock = threading.Lock()

    def replica(index: int) -> None:
        for slot in range(slots):
            barrier.wait(timeout=30)
            started = time.perf_counter()
            won = claim(index, slot)
            took = time.perf_counter() - started
            if won:
                post(index, slot)
            with lock:
                latencies.append(took)
                wins[0] += won

    threads = [threading.Thread(target=replica, args=(i,)) for i in range(replicas)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=600)
    return latencies, wins[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicas", type=int, default=3)
    parser.add_argument("--slots", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    slack = SlackEmulator()
    slack.start()
    client = sync_web_client(slack_api(slack.workspace.bot_token, slack.api_url))
    scratch = tempfile.TemporaryDirectory(prefix="opsbot-bench-")
    base = os.environ.get("OPSBOT_TEST_DATABASE_URL")
    with (
        private_schema(base)
        if base
        else nullcontext(sqlite_url(Path(scratch.name) / "s.db")) as url
    ):
        _bench(args, url, client, slack)
    slack.stop()
    scratch.cleanup()


def _bench(args: argparse.Namespace, url: str, client: WebClient, slack: SlackEmulator) -> None:
    kind = "PostgreSQL" if url.startswith("postgres") else "SQLite"
    databases = [Database.open(url) for _ in range(args.replicas)]
    with databases[0].session() as session:
        session.execute(text(f"DROP TABLE IF EXISTS {PEER_TABLE}"))
        session.execute(
            text(f"CREATE TABLE {PEER_TABLE} (job VARCHAR(32), fire_time VARCHAR(40), "
                 "PRIMARY KEY (job, fire_time))")
        )  # fmt: skip
    print(f"{args.replicas} replicas × {args.slots} slots on {kind}; {args.rounds} rounds")
    ratios = []
    for round_number in range(1, args.rounds + 1):
        job = f"bench-{round_number}"
        clock = lambda: T0  # noqa: E731
        runs = [ScheduleRuns(db, clock) for db in databases]

        def opsbot_claim(
            index: int, slot: int, runs: list[ScheduleRuns] = runs, job: str = job
        ) -> bool:
            at = T0 + timedelta(minutes=slot)
            return runs[index].claim(job, at, by=f"r{index}", trigger="bench") is not None

        def peer_claim(index: int, slot: int, job: str = job) -> bool:
            with databases[index].session() as session:
                done = session.execute(
                    text(f"INSERT INTO {PEER_TABLE} (job, fire_time) VALUES (:job, :at) "  # noqa: S608 (a constant)
                         "ON CONFLICT DO NOTHING"),
                    {"job": job, "at": f"{slot}"},
                )  # fmt: skip
                return bool(done.rowcount == 1)  # type: ignore[attr-defined]

        before = len(slack.workspace.bot_messages())

        def post(index: int, slot: int, runs: list[ScheduleRuns] = runs, job: str = job) -> None:
            """The winner posts, then records the run (not timed: the peer records nothing)."""
            client.chat_postMessage(channel="#deployment-alerts", text=f"slot {slot}")
            claimed = runs[index].slot(job, T0 + timedelta(minutes=slot))
            assert claimed is not None
            runs[index].finish(claimed, outcome=Outcome.FULL, summary="bench")

        ours, posts = _fire(args.replicas, args.slots, opsbot_claim, post)
        posted = len(slack.workspace.bot_messages()) - before
        theirs, peer_wins = _fire(args.replicas, args.slots, peer_claim, lambda i, slot: None)
        a, b = [1000 * v for v in ours], [1000 * v for v in theirs]
        ratio = statistics.median(a) / statistics.median(b)
        ratios.append(ratio)
        print(
            f"round {round_number}: posts {posted} (claims won {posts}, peer {peer_wins}) · "
            f"opsbot claim ms min {min(a):.2f} median {statistics.median(a):.2f} max {max(a):.2f} "
            f"p95 {statistics.quantiles(a, n=20)[-1]:.2f} · peer min {min(b):.2f} median "
            f"{statistics.median(b):.2f} max {max(b):.2f} · ratio {ratio:.2f}"
        )
        assert posted == args.slots, f"expected {args.slots} posts, got {posted}"
    print(
        f"claim latency ratio (opsbot / INSERT ON CONFLICT), per round: "
        f"{', '.join(f'{r:.2f}' for r in ratios)} · min {min(ratios):.2f} median "
        f"{statistics.median(ratios):.2f} max {max(ratios):.2f}"
    )
    with databases[0].session() as session:
        session.execute(text(f"DROP TABLE IF EXISTS {PEER_TABLE}"))
    for db in databases:
        db.close()


if __name__ == "__main__":
    main()
