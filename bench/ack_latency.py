"""Benchmark (not a test): how fast is a signed /health acknowledged at 50 concurrent senders?

The emulators (BigQuery, Cloud Run, the repo, Slack) run in this process. opsbot runs in its own
process (Starlette + uvicorn, the real Bolt app: signature check, access middleware, argument
parsing, and the report's work started after each ack), and so does a minimal Bolt app on the
same server stack that only acks. A third process sends signed /health requests from 50
concurrent senders to each. Prints p50/p99 of each and the ratio of p99s, in three rounds:
`/health help` (the ack path alone), all senders in one channel asking for today (one report is
built; repeats are told it is running), and each sender asking for its own game day (50 reports
built, 4 at a time, while acking: their CPU shares the bot's process with the acks).
Targets: opsbot's p99 under 100 ms; ratio to the minimal app <= 1.3.

    python -m bench.ack_latency [--senders 50] [--per-sender 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import re
import secrets
import statistics
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandbox.platform import Sandbox
from sandbox.slack_emulator import SlackEmulator
from sandbox.slack_workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
IN_PROGRESS = re.compile(r": running ")
MODES = {
    "help": "`/health help`: the ack path alone (signature, access, parsing, usage), no report",
    "today": "one channel, today: one report built, repeats told it is running",
    "distinct": "each sender its own game day: reports built while acking",
}


def slack_args(slack: SlackEmulator, secret: str) -> list[str]:
    """bench.bot_process's arguments for the Slack emulator."""
    return ["--slack-api", slack.api_url, "--token", slack.workspace.bot_token, "--secret", secret]


def platform_args(platform: Sandbox, *, deploys: bool = False) -> list[str]:
    """bench.bot_process's arguments for the sandbox's emulators (and the deploy ones)."""
    assert platform.repo_path is not None
    found = ["--bigquery", platform.bigquery_url, "--cloud-run", platform.cloud_run_url]
    found += ["--repo", str(platform.repo_path), "--now", platform.now.isoformat()]
    if deploys:
        found += ["--monitoring", platform.monitoring_endpoint, "--logging", platform.logging_url]
    return found


@contextmanager
def bot_process(kind: str, args: list[str]) -> Iterator[str]:
    """A bench.bot_process child; yields its /slack/events URL."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.bot_process", kind, *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()  # the child prints READY as soon as it listens
        if not line.startswith("READY "):
            raise RuntimeError(f"{kind} did not start: {line!r}")
        yield line.split()[1] + "/slack/events"
    finally:
        child.kill()
        child.wait(10)


def send(urls: str, secret: str, *options: str, timeout_s: float = 600) -> list[float]:
    """bench.ack_load in its own process; every ack's latency (each must have been a 200)."""
    done = subprocess.run(
        [sys.executable, "-m", "bench.ack_load", urls, secret, *options],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=timeout_s,
    )
    result = json.loads(done.stdout)
    assert result["statuses"] == [200], f"not every request was acknowledged: {result['statuses']}"
    latencies: list[float] = result["latencies"]
    return latencies


def load(
    url: str, secret: str, senders: int, per_sender: int, response_url: str, mode: str
) -> list[float]:
    reply = ("--response-url", response_url)
    send(url, secret, "--senders", "1", "--per-sender", "3", *reply, timeout_s=120)  # warm up
    counts = ("--senders", str(senders), "--per-sender", str(per_sender))
    return send(url, secret, *counts, *reply, "--mode", mode)


def wait_for_reports(workspace: Workspace, timeout_s: float = 600) -> None:
    """Until no report the bot posted still says it is running (bounded)."""
    version = -1
    for _ in range(100_000):
        running = [m for m in workspace.bot_messages() if IN_PROGRESS.search(m.text)]
        if not running:
            return
        newer = workspace.wait_for_change(version, timeout_s)
        if newer == version:
            break
        version = newer
    raise RuntimeError("reports still running after the timeout")


def percentiles(latencies: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def report(rounds: list[tuple[list[float], list[float]]], senders: int, mode: str) -> None:
    """Each app's median over the rounds of p50 and p99, and the ratio of those p99s."""
    ours = [percentiles(measured) for measured, _ in rounds]
    theirs = [percentiles(baseline) for _, baseline in rounds]
    p50, p99 = (statistics.median(p[i] for p in ours) for i in (0, 1))
    b50, b99 = (statistics.median(p[i] for p in theirs) for i in (0, 1))
    count = len(rounds[0][0])
    print(f"{mode}: {MODES[mode]}")
    print(
        f"  {count} signed /health per app per round, {senders} concurrent senders, {len(rounds)} rounds (median shown)"
    )
    print(f"  opsbot ack:        p50 {p50:6.1f} ms  p99 {p99:6.1f} ms   (target p99 < 100 ms)")
    print(f"  minimal Bolt app:  p50 {b50:6.1f} ms  p99 {b99:6.1f} ms")
    print(f"  ratio p99 opsbot / minimal: {p99 / b99:.2f}   (target <= 1.3)")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--per-sender", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    secret = secrets.token_hex(16)
    slack = SlackEmulator()
    slack.start()
    try:
        with Sandbox() as platform:
            common = slack_args(slack, secret)
            wiring = platform_args(platform)
            response_url = f"{slack.url}/response/unused"
            with (
                bot_process("minimal", common) as minimal,
                bot_process("opsbot", common + wiring) as ours,
            ):
                for mode in MODES:
                    args = (options.senders, options.per_sender, response_url, mode)
                    rounds: list[tuple[list[float], list[float]]] = []
                    for _ in range(options.rounds):  # alternated, so drift in the machine hits both
                        baseline = load(minimal, secret, *args)
                        measured = load(ours, secret, *args)
                        wait_for_reports(slack.workspace)
                        rounds.append((measured, baseline))
                    report(rounds, options.senders, mode)
    finally:
        slack.stop()


if __name__ == "__main__":
    main()
