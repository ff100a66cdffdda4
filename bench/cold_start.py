"""Benchmark (not a test): from process start to the first acknowledged slash command, and idle RSS.

Starts the real `opsbot serve` (production wiring; Slack pointed at the Slack emulator with
OPSBOT_SLACK_API_URL) as a fresh process, waits for the line saying it listens, sends one signed
/health and stops the clock at the ack. Its peer, in alternated rounds, is bench/minimal_app.py:
the smallest Bolt app on the same server stack, started and asked the same way. One second after
the ack, each process's resident memory is read (opsbot's /health worker process, a child of its
own, is shown apart). Slack allows 3 s, which must also cover a Cloud Run cold start.

A third process, the floor, is the minimal app that also loads and validates opsbot.toml
(pydantic) before listening: what any bot configured like opsbot must do before its first ack.
A fourth, opsbot restarted on the store the first one migrated, is a replica's usual start (a
Cloud Run instance coming up beside a store that exists): it skips alembic.

Targets: first ack <= 1.3x the minimal app's; idle RSS of the bot's process <= 1.6x.

    python -m bench.cold_start [--rounds 5]
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox.slack_delivery import SlackSender
from sandbox.slack_emulator import SlackEmulator
from sandbox.slack_workspace import ResponseUrl

ROOT = Path(__file__).resolve().parents[1]
COMMAND = {
    "team_id": "T0SANDBOX1",
    "channel_id": "C0HEALTH01",
    "channel_name": "orchestration-health",
    "user_id": "U0DANAONCL",
    "command": "/health",
    "text": "",
    "trigger_id": "1.2.3",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True)
class Start:
    listening_s: float
    acked_s: float
    rss_mb: float  # the process itself, idle after its first ack
    children_rss_mb: float  # its child processes (opsbot: the /health worker)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def children_rss_mb(pid: int) -> float:
    """The child processes' RSS (started from any of its threads)."""
    kids = {kid for task in Path(f"/proc/{pid}/task").iterdir() for kid in _children(task)}
    return sum(rss_mb(int(kid)) for kid in kids)


def _children(task: Path) -> list[str]:
    try:
        return (task / "children").read_text().split()
    except OSError:  # the thread ended meanwhile
        return []


def one_start(
    kind: str, slack: SlackEmulator, secret: str, state_dir: str, store: str | None = None
) -> Start:
    """`kind` (opsbot or minimal) from process start to its first ack, then its idle memory.

    `store`: the SQLite file opsbot opens (default: a fresh one, migrated at start).
    """
    port = free_port()
    store = store or f"{state_dir}/opsbot-{port}.db"
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.workspace.bot_token,
        "SLACK_SIGNING_SECRET": secret,
        "OPSBOT_SLACK_API_URL": slack.api_url,
        "NO_GCE_CHECK": "True",  # the report after the ack finds no Google credentials; fine here
        "DATABASE_URL": f"sqlite:///{store}",
    }
    env.pop("SLACK_APP_TOKEN", None)
    command = {
        "opsbot": ["-m", "opsbot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        "minimal": ["-m", "bench.minimal_app", "--port", str(port)],
        "floor": ["-m", "bench.minimal_app", "--port", str(port), "--profile", "opsbot.toml"],
    }[kind]
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, *command],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stderr is not None
        seen = [child.stderr.readline() for _ in range(1)]
        while "serving Slack" not in seen[-1]:  # warnings may come first (bounded)
            if not seen[-1] or len(seen) > 50:
                raise RuntimeError(f"{kind} did not start: {''.join(seen)!r}")
            seen.append(child.stderr.readline())
        listening = time.perf_counter() - started
        response_url = slack.workspace.new_response_url(slack.url, _target())
        sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", secret)
        answer = sender.slash_command(COMMAND | {"response_url": response_url})
        acked = time.perf_counter() - started
        if answer.status != 200:
            raise RuntimeError(f"the first command was not acknowledged: {answer}")
        time.sleep(1.0)  # idle: whatever the first request started has settled
        return Start(listening, acked, rss_mb(child.pid), children_rss_mb(child.pid))
    finally:
        child.kill()
        child.wait(10)


def _target() -> ResponseUrl:
    return ResponseUrl("C0HEALTH01", "U0DANAONCL", None, False)


def spread(values: list[float], fmt: str) -> str:
    picked = (min(values), statistics.median(values), max(values))
    return " / ".join(fmt.format(v) for v in picked)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    options = parser.parse_args()
    slack = SlackEmulator()
    slack.start()
    secret = secrets.token_hex(16)
    ours: list[Start] = []
    peer: list[Start] = []
    floor: list[Start] = []
    restarts: list[Start] = []
    try:
        with tempfile.TemporaryDirectory(prefix="opsbot-cold-") as state_dir:
            for round_no in range(1, options.rounds + 1):  # alternated
                first_store = f"{state_dir}/opsbot-round-{round_no}.db"
                ours.append(one_start("opsbot", slack, secret, state_dir, first_store))
                peer.append(one_start("minimal", slack, secret, state_dir))
                floor.append(one_start("floor", slack, secret, state_dir))
                restarts.append(one_start("opsbot", slack, secret, state_dir, first_store))
                o, m = ours[-1], peer[-1]
                print(
                    f"round {round_no}: opsbot ack {o.acked_s:.2f} s, RSS {o.rss_mb:.0f} MB "
                    f"(+{o.children_rss_mb:.0f} MB worker) | minimal ack {m.acked_s:.2f} s, "
                    f"RSS {m.rss_mb:.0f} MB | floor ack {floor[-1].acked_s:.2f} s, "
                    f"RSS {floor[-1].rss_mb:.0f} MB | opsbot restarted ack "
                    f"{restarts[-1].acked_s:.2f} s, RSS {restarts[-1].rss_mb:.0f} MB | "
                    f"ratios ack {o.acked_s / m.acked_s:.2f}, "
                    f"RSS {o.rss_mb / m.rss_mb:.2f}"
                )
    finally:
        slack.stop()
    print(f"{options.rounds} cold starts each, process start → …, min / median / max:")
    for label, field, fmt in (
        ("listening s", "listening_s", "{:.2f}"),
        ("first ack s", "acked_s", "{:.2f}"),
        ("idle RSS MB", "rss_mb", "{:.0f}"),
    ):
        mine = [float(getattr(r, field)) for r in ours]
        theirs = [float(getattr(r, field)) for r in peer]
        least = [float(getattr(r, field)) for r in floor]
        again = [float(getattr(r, field)) for r in restarts]
        print(
            f"  {label}: opsbot {spread(mine, fmt)}   minimal {spread(theirs, fmt)}   "
            f"floor {spread(least, fmt)}   opsbot restarted {spread(again, fmt)}"
        )
    print(
        f"  opsbot's /health worker RSS MB: {spread([r.children_rss_mb for r in ours], '{:.0f}')}"
    )
    ack_ratios = [o.acked_s / m.acked_s for o, m in zip(ours, peer, strict=True)]
    rss_ratios = [o.rss_mb / m.rss_mb for o, m in zip(ours, peer, strict=True)]
    print(f"  ratio first ack per round: {spread(ack_ratios, '{:.2f}')}   (target <= 1.3)")
    print(f"  ratio idle RSS per round:  {spread(rss_ratios, '{:.2f}')}   (target <= 1.6)")
    again_ack = [r.acked_s / m.acked_s for r, m in zip(restarts, peer, strict=True)]
    again_rss = [r.rss_mb / m.rss_mb for r, m in zip(restarts, peer, strict=True)]
    print(
        f"  restarted on a migrated store / minimal: first ack {spread(again_ack, '{:.2f}')}, "
        f"idle RSS {spread(again_rss, '{:.2f}')}"
    )
    for label, field in (("first ack", "acked_s"), ("idle RSS", "rss_mb")):
        at_floor = [
            float(getattr(f, field)) / float(getattr(m, field))
            for f, m in zip(floor, peer, strict=True)
        ]
        over_floor = [
            float(getattr(o, field)) / float(getattr(f, field))
            for o, f in zip(ours, floor, strict=True)
        ]
        print(
            f"  {label}: floor / minimal {spread(at_floor, '{:.2f}')}, "
            f"opsbot / floor {spread(over_floor, '{:.2f}')}"
        )


if __name__ == "__main__":
    main()
