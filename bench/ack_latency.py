"""Benchmark (not a test): how fast is a signed /health acknowledged at 50 concurrent senders?

The emulators (BigQuery, Cloud Run, the repo, Slack) run in this process. opsbot runs in its own
process (Starlette + uvicorn, the real Bolt app: signature check, access middleware, argument
parsing, and the report's work started after each ack), and so does a minimal Bolt app on the
same server stack that only verifies the signature and acks (bench/bot_process.py, which says
exactly what it does and does not do). Each app's
load comes from a sender pool in a process of its own: N threads, each with its own keep-alive
connection, sending signed /health one after another (a fresh trigger_id each, as Slack's are).

Loads (--loads): `help` (the ack path alone), `today` (each channel asks for today: one report
a channel, repeats told it is running) and `distinct` (game days: request j of sender i asks for
day (i + j * senders) mod --days, in the command channel i mod 5; with 50 senders and 90 days,
about 90 distinct reports, most asked for again while they run).

Two arrangements (--mode; `both` runs each and prints each):
- `alternated`: rounds alternate the apps (minimal, then opsbot), one measured at a time. In the
  loads that build reports, the app measured always has the other kind beside it taking the
  same load unmeasured (a second opsbot beside the minimal app, a second minimal app beside
  opsbot), so the machine carries one opsbot's reports and two ack streams in both halves.
- `simultaneous`: both apps take the same load at the same moment, each from its own pool of the
  same size, and both are measured; the ratio of a round compares two latency sets taken under
  the very same machine load.

Each sender's first --per-sender requests are measured; every pool keeps its app under load
until all the pools of the round have measured theirs. Each round prints both apps' p50/p99 and
the ratios opsbot / minimal of the p99s (the target) and of the p50s (steadier: a p99 on 2
shared cores is often one scheduling stall); then min / median / max over the rounds. In the
distinct load (alternated) it also prints the bot process's CPU per report (its CPU over the
round, less the acks' share measured in the help load, over the reports it posted). Targets:
opsbot's p99 under 100 ms; ratio <= 1.3; CPU per report <= 30 ms.

    python -m bench.ack_latency [--mode alternated|simultaneous|both] [--loads help,distinct]
        [--senders 50] [--per-sender 10] [--days 90] [--rounds 3]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from slack_sdk.signature import SignatureVerifier

from bench.ack_load import signed_post

if TYPE_CHECKING:  # imported by main(): a sender pool's process loads no emulator
    from sandbox.platform import Sandbox
    from sandbox.slack_emulator import SlackEmulator
    from sandbox.slack_workspace import Workspace

ROOT = Path(__file__).resolve().parents[1]
IN_PROGRESS = re.compile(r": running ")
LOADS = {
    "help": "`/health help`: the ack path alone (signature, access, parsing, usage), no report",
    "today": "each channel asks for today: one report a channel, repeats told it is running",
    "distinct": "distinct game days over the command channels: reports built while acking",
}
ARRANGEMENTS = ("alternated", "simultaneous")
# The profile's command channels, as the Slack emulator has them (sandbox/slack_objects.py).
CHANNELS = (
    ("C0HEALTH01", "orchestration-health"),
    ("C0ALERTS01", "nba-alerts"),
    ("C0ERRORS01", "app-error-alerts"),
    ("C0DEPLOY01", "deployment-alerts"),
    ("C0CANARY01", "canary-alerts"),
)
FIRST_DAY = date(2025, 11, 1)


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


def children_cpu_seconds(pid: int) -> float:
    """The CPU time so far of `pid`'s live child processes (opsbot's report worker)."""
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # ended meanwhile
            continue
        if int(fields[1]) == pid:
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


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


# The sender pool (`python -m bench.ack_latency pool ...`): one process per app.


@dataclass(frozen=True)
class Load:
    kind: str  # a key of LOADS
    senders: int
    per_sender: int
    days: int
    response_url: str

    def args(self) -> list[str]:
        return [
            "--kind",
            self.kind,
            "--senders",
            str(self.senders),
            "--per-sender",
            str(self.per_sender),
            "--days",
            str(self.days),
            "--response-url",
            self.response_url,
        ]


def body(load: Load, tag: str, i: int, j: int) -> str:
    """Request j of sender i (the same for every app given the same load)."""
    channel_id, channel_name = CHANNELS[i % len(CHANNELS)]
    day = FIRST_DAY + timedelta(days=(i + j * load.senders) % load.days)
    text = {"help": "help", "today": "", "distinct": day.isoformat()}[load.kind]
    fields = {
        "team_id": "T0SANDBOX1",
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": "U0DANAONCL",
        "user_name": "dana",
        "command": "/health",
        "text": text,
        "response_url": load.response_url,
        "trigger_id": f"{tag}.{i}.{j}",  # distinct, as Slack's are
    }
    return urlencode(fields)


class Countdown:
    """Set once `count_down` has been called `n` times (by any threads)."""

    def __init__(self, n: int) -> None:
        self._left, self._lock, self.done = n, threading.Lock(), threading.Event()

    def count_down(self) -> None:
        with self._lock:
            self._left -= 1
            if self._left <= 0:
                self.done.set()


@dataclass
class Sender:
    """One of a pool's senders: its own connection, its requests one after another."""

    load: Load
    tag: str
    index: int
    seen: list[tuple[float, int]]
    failure: str | None = None  # why it stopped early (the app stopped answering)
    counted: bool = False  # counted down as measured

    def run(
        self,
        url: str,
        secret: str,
        ready: threading.Barrier,
        start_at: float,
        measured: Countdown,
        stop: threading.Event,
        late: list[float],
    ) -> None:
        """`per_sender` requests measured; then, until `stop`, more of the same mix unmeasured
        (the app keeps its load until every pool of the round has measured all of its own)."""
        try:
            self._send(url, secret, ready, start_at, measured, stop, late)
        except Exception as exc:  # the pool ends and says why, rather than wait for ever
            self.failure = f"{type(exc).__name__}: {exc}"
            ready.abort()
            stop.set()
        finally:
            if not self.counted:
                measured.count_down()

    def _send(
        self,
        url: str,
        secret: str,
        ready: threading.Barrier,
        start_at: float,
        measured: Countdown,
        stop: threading.Event,
        late: list[float],
    ) -> None:
        parts = urlsplit(url)
        verifier = SignatureVerifier(secret)
        connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, 30)
        connection.connect()  # connections are open before the clock starts, as Slack keeps them
        if ready.wait() == 0:
            late.append(time.time() - start_at)  # > 0: connected after the agreed start
        time.sleep(max(0.0, start_at - time.time()))  # the other pools start at this moment too
        for j in itertools.count():
            if j == self.load.per_sender:
                measured.count_down()
                self.counted = True
            if j >= self.load.per_sender and stop.is_set():
                break
            timed = signed_post(
                connection, parts.path, verifier, body(self.load, self.tag, self.index, j)
            )
            if j < self.load.per_sender:
                self.seen.append(timed)
        connection.close()


def pool_main(argv: Sequence[str]) -> None:
    """Send one load to one app. Prints MEASURED once every sender has sent its measured
    requests, keeps the load on until a line arrives on stdin, then prints every measured ack's
    latency and the statuses seen (JSON)."""
    parser = argparse.ArgumentParser(prog="python -m bench.ack_latency pool")
    parser.add_argument("url")
    parser.add_argument("secret")
    parser.add_argument("--kind", choices=list(LOADS), required=True)
    parser.add_argument("--senders", type=int, required=True)
    parser.add_argument("--per-sender", type=int, required=True)
    parser.add_argument("--days", type=int, required=True)
    parser.add_argument("--response-url", required=True)
    parser.add_argument("--tag", required=True, help="makes each request's trigger_id unique")
    parser.add_argument("--start-at", type=float, default=0.0, help="Unix time to start at")
    options = parser.parse_args(argv)
    load = Load(
        options.kind, options.senders, options.per_sender, options.days, options.response_url
    )
    ready = threading.Barrier(load.senders)
    stop = threading.Event()
    measured = Countdown(load.senders)
    late: list[float] = []
    senders = [Sender(load, options.tag, i, []) for i in range(load.senders)]
    threads = [
        threading.Thread(
            target=sender.run,
            args=(options.url, options.secret, ready, options.start_at, measured, stop, late),
            daemon=True,  # a sender stuck on a dead app never holds the pool's exit
        )
        for sender in senders
    ]
    for thread in threads:
        thread.start()
    measured.done.wait()
    failures = sorted({sender.failure for sender in senders if sender.failure})
    if failures:
        print(f"FAILED {'; '.join(failures)}", flush=True)
        sys.exit(1)
    print("MEASURED", flush=True)
    sys.stdin.readline()  # the other pools have measured theirs too (or the parent is gone)
    stop.set()
    for thread in threads:
        thread.join()
    flat = [item for sender in senders for item in sender.seen]
    said = {"latencies": [s for s, _ in flat], "statuses": sorted({c for _, c in flat})}
    print(json.dumps(said | {"late_s": max(late, default=0.0)}), flush=True)


def start_pool(url: str, secret: str, load: Load, start_at: float = 0.0) -> subprocess.Popen[str]:
    tag = ["--tag", secrets.token_hex(4), "--start-at", repr(start_at)]
    return subprocess.Popen(
        [sys.executable, "-m", "bench.ack_latency", "pool", url, secret, *load.args(), *tag],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def pool_result(pool: subprocess.Popen[str], timeout_s: float = 600) -> list[float]:
    """The pool's measured latencies, once it was told to stop (each must have been a 200)."""
    out, _ = pool.communicate(timeout=timeout_s)
    if pool.returncode != 0:
        raise RuntimeError(f"the sender pool failed ({pool.returncode})")
    result = json.loads(out)
    assert result["statuses"] == [200], f"not every request was acknowledged: {result['statuses']}"
    if result["late_s"] > 0.05:
        print(f"  (a sender pool started {result['late_s']:.2f} s late: raise its lead time)")
    latencies: list[float] = result["latencies"]
    return latencies


def load_of(urls: Sequence[str], secret: str, load: Load) -> list[list[float]]:
    """The same load sent to each URL from the same moment, by a pool each, each measuring its
    first `per_sender` requests a sender; every pool keeps its app under load until all have
    measured theirs (so no app is measured on a machine the other's load has left)."""
    start_at = time.time() + 1.0 + 0.1 * load.senders / 10  # every pool connected by then
    pools = [start_pool(url, secret, load, start_at) for url in urls]
    for pool in pools:
        assert pool.stdout is not None
        said = pool.stdout.readline()
        if said.strip() != "MEASURED":
            raise RuntimeError(f"a sender pool stopped before its requests were sent: {said!r}")
    for pool in pools:  # every pool is told at once
        assert pool.stdin is not None
        pool.stdin.write("stop\n")
        pool.stdin.flush()  # communicate() closes it
    return [pool_result(pool) for pool in pools]


def wait_for_reports(workspace: Workspace, timeout_s: float = 600) -> None:
    """Until no report the bot posted still says it is running (bounded)."""
    version = -1
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        running = [m for m in workspace.bot_messages() if IN_PROGRESS.search(m.text)]
        if not running:
            return
        newer = workspace.wait_for_change(version, max(0.1, deadline - time.monotonic()))
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
    worker_cpu_s: float = 0.0  # its report worker's CPU over the same time

    @property
    def ratio(self) -> float:
        return self.ours[1] / self.minimal[1]

    @property
    def ratio_p50(self) -> float:
        return self.ours[0] / self.minimal[0]


def spread(values: list[float], fmt: str = "{:.1f}") -> str:
    picked = (min(values), statistics.median(values), max(values))
    return " / ".join(fmt.format(v) for v in picked)


def report(
    rounds: list[Round], load: Load, arrangement: str, ack_cpu_s: float | None
) -> float | None:
    """Print each round and min / median / max; return the CPU per ack (help load) if measured."""
    print(f"{arrangement} · {load.kind}: {LOADS[load.kind]}")
    days = f", {load.days} game days" if load.kind == "distinct" else ""
    print(
        f"  {rounds[0].acks} signed /health per app per round, {load.senders} concurrent senders"
        f" per app{days}, {len(CHANNELS)} channels"
    )
    for number, r in enumerate(rounds, 1):
        print(
            f"  round {number}: opsbot p50 {r.ours[0]:6.1f} p99 {r.ours[1]:6.1f} ms | minimal "
            f"p50 {r.minimal[0]:6.1f} p99 {r.minimal[1]:6.1f} ms | ratio p99 {r.ratio:.2f}"
            f" (p50 {r.ratio_p50:.2f})"
        )
    print(f"  opsbot p50 min / median / max ms:  {spread([r.ours[0] for r in rounds])}")
    print(f"  opsbot p99 min / median / max ms:  {spread([r.ours[1] for r in rounds])}  (< 100)")
    print(f"  minimal p50 min / median / max ms: {spread([r.minimal[0] for r in rounds])}")
    print(f"  minimal p99 min / median / max ms: {spread([r.minimal[1] for r in rounds])}")
    ratios = [r.ratio for r in rounds]
    print(f"  ratio p99 min / median / max:      {spread(ratios, '{:.2f}')}  (target <= 1.3)")
    print(f"  ratio p50 min / median / max:      {spread([r.ratio_p50 for r in rounds], '{:.2f}')}")
    sys.stdout.flush()
    if arrangement != "alternated":
        return None
    if load.kind == "help":
        return statistics.median(r.cpu_s / r.acks for r in rounds)
    if load.kind == "distinct":
        per_report = [
            (r.cpu_s - r.acks * (ack_cpu_s or 0.0)) / max(r.reports, 1) * 1000 for r in rounds
        ]
        less = "less the acks' share" if ack_cpu_s is not None else "acks included"
        print(
            f"  bot CPU per report ({less}) min / median / max ms: {spread(per_report)}"
            f"  (target <= 30; {statistics.median(r.reports for r in rounds):.0f} reports a round)"
        )
        in_worker = [r.worker_cpu_s / max(r.reports, 1) * 1000 for r in rounds]
        print(  # the work moved out of the bot's process is not gone: shown beside it
            f"  its report worker's CPU per report min / median / max ms: {spread(in_worker)}"
        )
    return None


@dataclass(frozen=True)
class Bots:
    ours: str
    ours_pid: int
    minimal: str
    ours_beside: str  # unmeasured: carries the same load beside the minimal app (alternated)
    minimal_beside: str  # unmeasured: carries the same load beside opsbot (alternated)


def alternated_round(bots: Bots, secret: str, load: Load, workspace: Workspace) -> Round:
    """Minimal measured, then opsbot; in the loads that build reports, each beside the other kind."""
    builds = load.kind != "help"
    minimal = load_of([bots.minimal, bots.ours_beside] if builds else [bots.minimal], secret, load)
    wait_for_reports(workspace)
    before, posted = cpu_seconds(bots.ours_pid), len(workspace.bot_messages())
    worker_before = children_cpu_seconds(bots.ours_pid)
    ours = load_of([bots.ours, bots.minimal_beside] if builds else [bots.ours], secret, load)
    wait_for_reports(workspace)
    return Round(
        percentiles(ours[0]),
        percentiles(minimal[0]),
        len(ours[0]),
        cpu_seconds(bots.ours_pid) - before,
        len(workspace.bot_messages()) - posted,
        children_cpu_seconds(bots.ours_pid) - worker_before,
    )


def simultaneous_round(
    bots: Bots, secret: str, load: Load, workspace: Workspace, number: int
) -> Round:
    """Both apps measured under the same load at the same moment (pools started in turn)."""
    urls = [bots.ours, bots.minimal] if number % 2 else [bots.minimal, bots.ours]
    measured = dict(zip(urls, load_of(urls, secret, load), strict=True))
    wait_for_reports(workspace)
    ours, minimal = measured[bots.ours], measured[bots.minimal]
    return Round(percentiles(ours), percentiles(minimal), len(ours))


def main() -> None:
    if sys.argv[1:2] == ["pool"]:
        pool_main(sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--mode", choices=[*ARRANGEMENTS, "both"], default="both")
    parser.add_argument("--loads", "--modes", default="help,distinct", help="comma-separated")
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--per-sender", type=int, default=10)
    parser.add_argument("--days", type=int, default=90, help="game days in the distinct load")
    parser.add_argument("--rounds", type=int, default=3)
    options = parser.parse_args()
    kinds = options.loads.split(",")
    unknown = [k for k in kinds if k not in LOADS]
    if unknown:
        parser.error(f"unknown load {unknown[0]!r}: choose from {', '.join(LOADS)}")
    arrangements = ARRANGEMENTS if options.mode == "both" else (options.mode,)
    from sandbox.platform import Sandbox
    from sandbox.slack_emulator import SlackEmulator

    secret = secrets.token_hex(16)
    slack = SlackEmulator()
    slack.start()
    try:
        with Sandbox() as platform, ExitStack() as stack:
            common = slack_args(slack, secret)
            wiring = platform_args(platform)
            response_url = f"{slack.url}/response/unused"
            ours, pid = stack.enter_context(bot_child("opsbot", common + wiring))
            bots = Bots(
                ours,
                pid,
                stack.enter_context(bot_process("minimal", common)),
                stack.enter_context(bot_process("opsbot", common + wiring)),
                stack.enter_context(bot_process("minimal", common)),
            )
            warm = Load("help", 1, 3, options.days, response_url)
            load_of([bots.ours, bots.minimal, bots.ours_beside, bots.minimal_beside], secret, warm)
            ack_cpu_s: float | None = None
            for kind in kinds:
                load = Load(kind, options.senders, options.per_sender, options.days, response_url)
                for arrangement in arrangements:
                    rounds = []
                    for number in range(options.rounds):
                        if arrangement == "alternated":
                            rounds.append(alternated_round(bots, secret, load, slack.workspace))
                        else:
                            rounds.append(
                                simultaneous_round(bots, secret, load, slack.workspace, number)
                            )
                    measured_ack = report(rounds, load, arrangement, ack_cpu_s)
                    ack_cpu_s = measured_ack if measured_ack is not None else ack_cpu_s
    finally:
        slack.stop()


if __name__ == "__main__":
    main()
