"""Benchmark (not a test): how fast is a signed /health acknowledged at 50 concurrent senders?

The emulators (BigQuery, Cloud Run, the repo, Slack) run in this process. opsbot runs in its own
process (Starlette + uvicorn, the real Bolt app: signature check, access middleware, argument
parsing, and the report's work started after each ack), and so does a minimal Bolt app on the
same server stack that only acks. A third process sends signed /health requests from 50
concurrent senders to each. Three modes: `/health help` (the ack path alone), all senders in one
channel asking for today (one report is built; repeats are told it is running), and each sender
asking for its own game day (a report per sender, built while acking).

Like with like: in the modes that build reports, the emulators answering them load this 2-core
machine as much as the bot does. So while the minimal app is measured, a second opsbot process
(not measured) receives the same requests and builds the same reports; the machine carries the
same work in both measurements, and the ratio shows only what building reports inside the bot's
process costs its acknowledgements (the GIL, the event loop).

Rounds alternate (minimal, then opsbot). Each round prints both p50/p99 and the ratio of p99s;
then min / median / max over the rounds. In the distinct mode it also prints the bot process's
CPU per report (its CPU time over the round, less the acks' share measured in the help mode,
over the reports it posted). Targets: opsbot's p99 under 100 ms; ratio <= 1.3; CPU per report
<= 30 ms.

    python -m bench.ack_latency [--senders 50] [--per-sender 10] [--rounds 3] [--modes help,distinct]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
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
def bot_child(kind: str, args: list[str]) -> Iterator[tuple[str, int]]:
    """A bench.bot_process child; yields its /slack/events URL and its process id."""
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
        yield line.split()[1] + "/slack/events", child.pid
    finally:
        child.kill()
        child.wait(10)


@contextmanager
def bot_process(kind: str, args: list[str]) -> Iterator[str]:
    """A bench.bot_process child; yields its /slack/events URL."""
    with bot_child(kind, args) as (url, _):
        yield url


def cpu_seconds(pid: int) -> float:
    """User and system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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


@dataclass
class Round:
    ours: tuple[float, float]  # p50, p99 in ms
    minimal: tuple[float, float]
    acks: int
    cpu_s: float = 0.0  # the bot process's CPU over its load and the reports it started
    reports: int = 0

    @property
    def ratio(self) -> float:
        return self.ours[1] / self.minimal[1]


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    picked = (min(values), statistics.median(values), max(values))
    return " / ".join(fmt.format(v) for v in picked)


def report(rounds: list[Round], senders: int, mode: str, ack_cpu_s: float | None) -> float | None:
    """Print each round and min / median / max; return the CPU per ack (help mode) if measured."""
    print(f"{mode}: {MODES[mode]}")
    print(f"  {rounds[0].acks} signed /health per app per round, {senders} concurrent senders")
    for number, r in enumerate(rounds, 1):
        print(
            f"  round {number}: opsbot p50 {r.ours[0]:6.1f} p99 {r.ours[1]:6.1f} ms | minimal "
            f"p50 {r.minimal[0]:6.1f} p99 {r.minimal[1]:6.1f} ms | ratio p99 {r.ratio:.2f}"
        )
    print(f"  opsbot p99 min / median / max ms:  {spread([r.ours[1] for r in rounds])}  (< 100)")
    print(f"  minimal p99 min / median / max ms: {spread([r.minimal[1] for r in rounds])}")
    ratios = [r.ratio for r in rounds]
    print(f"  ratio p99 min / median / max:      {spread(ratios, '{:.2f}')}  (target <= 1.3)")
    if mode == "help":
        return statistics.median(r.cpu_s / r.acks for r in rounds)
    if mode == "distinct":
        per_report = [
            (r.cpu_s - r.acks * (ack_cpu_s or 0.0)) / max(r.reports, 1) * 1000 for r in rounds
        ]
        less = "less the acks' share" if ack_cpu_s is not None else "acks included"
        print(
            f"  bot CPU per report ({less}) min / median / max ms: {spread(per_report)}"
            f"  (target <= 30; {statistics.median(r.reports for r in rounds):.0f} reports a round)"
        )
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--per-sender", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated, in order")
    options = parser.parse_args()
    modes = options.modes.split(",")
    unknown = [m for m in modes if m not in MODES]
    if unknown:
        parser.error(f"unknown mode {unknown[0]!r}: choose from {', '.join(MODES)}")
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
                bot_child("opsbot", common + wiring) as (ours, pid),
                bot_process("opsbot", common + wiring) as elsewhere,
            ):
                ack_cpu_s: float | None = None
                for mode in modes:
                    args = (options.senders, options.per_sender, response_url, mode)
                    rounds: list[Round] = []
                    for _ in range(options.rounds):  # alternated, so drift in the machine hits both
                        baseline = load_beside(
                            minimal, elsewhere if mode != "help" else None, secret, args
                        )
                        wait_for_reports(slack.workspace)
                        before, posted = cpu_seconds(pid), len(slack.workspace.bot_messages())
                        measured = load(ours, secret, *args)
                        wait_for_reports(slack.workspace)
                        rounds.append(
                            Round(
                                percentiles(measured),
                                percentiles(baseline),
                                len(measured),
                                cpu_seconds(pid) - before,
                                len(slack.workspace.bot_messages()) - posted,
                            )
                        )
                    measured_ack = report(rounds, options.senders, mode, ack_cpu_s)
                    ack_cpu_s = measured_ack if measured_ack is not None else ack_cpu_s
    finally:
        slack.stop()


def load_beside(
    url: str, elsewhere: str | None, secret: str, args: tuple[int, int, str, str]
) -> list[float]:
    """`load(url)`, while (when given) the `elsewhere` bot builds the same reports, unmeasured."""
    if elsewhere is None:
        return load(url, secret, *args)
    senders, per_sender, response_url, mode = args
    counts = ("--senders", str(senders), "--per-sender", str(per_sender))
    background = threading.Thread(
        target=send,
        args=(elsewhere, secret, *counts, "--response-url", response_url, "--mode", mode),
    )
    background.start()
    try:
        return load(url, secret, *args)
    finally:
        background.join()


if __name__ == "__main__":
    main()
