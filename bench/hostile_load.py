"""Benchmark (not a test): do hostile calls to /cron and /pubsub slow Slack's acknowledgements?

    python -m bench.hostile_load [--rounds 3] [--rate 200] [--seconds 10]

opsbot runs in a process of its own, served as `opsbot serve` serves it (bench.bot_process's
wiring to the emulators) with its Pub/Sub push and Cloud Scheduler endpoints configured; Google's
certificates are served by the tests' stand-in (tests/google_oidc.py) in this process, with the
emulators. Each round measures the acknowledgements of signed `/health help`, ACK_RATE a second
paced as Slack delivers them over ACK_SENDERS kept-alive connections (a process of their own),
for --seconds with nothing else arriving (quiet) and for --seconds while another process sends
--rate hostile requests a second (hostile): junk bearer tokens and tokens signed by the stand-in
Google's key but expired, to /cron/drift-digest and /pubsub/grading-complete, and every
OVERSIZED_EVERY-th an oversized body in turn: a Content-Length of 200 MB to each of the three
endpoints (the head and 16 KiB sent), or a body streamed past /slack/events' limit (4 MiB read
by the bot before its 413). Rounds alternate which half comes first.

Prints each half's ack p50 / p99, the ratio of the p99s hostile / quiet, what the hostile
requests were answered, then min / median / max over the rounds. Target: ratio <= 1.5.
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING
from urllib.parse import urlsplit

from slack_sdk.signature import SignatureVerifier

from bench.ack_latency import Load, body, percentiles, platform_args, slack_args, spread
from bench.ack_load import signed_post
from bot.request_gate import SLACK_MAX_BODY_BYTES
from tests.raw_http import chunked, exchange, request_head

if TYPE_CHECKING:
    from google.auth import crypt

    from bot.server import Server
    from config import Profile

ROOT = Path(__file__).resolve().parents[1]
ACK_RATE = 20  # signed /health help a second
ACK_SENDERS = 4  # Slack's kept-alive connections
HOSTILE_SENDERS = 32  # threads of the hostile process (a streamed body takes a while)
OVERSIZED_EVERY = 20
EVENTS, PUSH, CRON = "/slack/events", "/pubsub/grading-complete", "/cron/drift-digest"
SERVICE = "https://opsbot.example"  # the audiences: <service>/pubsub/…, <service>/cron/<job>
PUSHER = "pubsub-push@nba-props-platform.iam.gserviceaccount.com"
SCHEDULER = "opsbot-scheduler@nba-props-platform.iam.gserviceaccount.com"
JUNK = ("a.b.c", "not-a-token", "eyJhbGciOiJSUzI1NiJ9.e30.e30", "e" * 5000)
ENVELOPE = (
    b'{"message": {"data": "e30=", "messageId": "1"}, "subscription": "projects/p/subscriptions/s"}'
)
ATTACK_BYTES = 200 * 10**6
ACKS = [sys.executable, "-m", "bench.hostile_load", "acks"]


# -- the bot: python -m bench.hostile_load bot ... -------------------------------------------


def endpoints_profile() -> Profile:
    """The shipped profile, its push and cron endpoints configured as on Cloud Run."""
    from opsbot.profile import load_profile

    profile = load_profile(ROOT / "opsbot.toml")
    regrade = profile.regrade.model_copy(
        update={"push_audience": SERVICE + PUSH, "push_service_accounts": [PUSHER]}
    )
    schedule = profile.schedule.model_copy(
        update={
            "mode": "cron-endpoint",
            "endpoint_audience": SERVICE,
            "endpoint_service_accounts": [SCHEDULER],
        }
    )
    return profile.model_copy(update={"regrade": regrade, "schedule": schedule})


def hostile_server(options: argparse.Namespace) -> Server:
    """bench.bot_process's opsbot, with what the push and cron endpoints need: backfills on the
    Pub/Sub emulator, the scheduled jobs, and Google's certificates at --google-certs."""
    from pydantic import SecretStr

    from adapters.bigquery import BigQueryWarehouse
    from adapters.pubsub import PubSub
    from bench.bot_process import emulated_platforms
    from bot.access import Access
    from bot.oidc import google_verifier
    from bot.runtime import Runtime
    from bot.settings import SlackSettings
    from commands.regrade.engine import RegradeTools
    from infra.once import Once
    from opsbot.schedule import job_tools
    from opsbot.serve import health_worker, http_server
    from store.backfills import Backfills
    from store.background import STORE_WAIT_S, BackgroundStore
    from store.location import sqlite_url

    profile = endpoints_profile()
    recipe = partial(
        emulated_platforms, options.bigquery, options.cloud_run, options.repo, options.now
    )
    platforms = recipe()
    scratch = Path(tempfile.mkdtemp(prefix="opsbot-hostile-")) / "opsbot.db"
    store = BackgroundStore(sqlite_url(scratch)).start()
    clock = _running_from(datetime.fromisoformat(options.now))

    def backfills() -> Backfills:
        return Backfills(store.get(wait_s=STORE_WAIT_S), clock)

    def regrade_tools() -> RegradeTools:
        pubsub = PubSub.connect(
            project=profile.platform.project, timeout_s=10.0, endpoint=options.pubsub
        )
        warehouse = BigQueryWarehouse.from_profile(profile, endpoint=options.bigquery)
        return RegradeTools(backfills(), pubsub, warehouse, clock)

    settings = SlackSettings(
        slack_bot_token=SecretStr(options.token),
        slack_signing_secret=SecretStr(options.secret),
        opsbot_slack_api_url=options.slack_api,
    )
    runtime = Runtime(
        profile,
        Access(profile.slack),
        platforms,
        regrade_tools=Once(regrade_tools),
        schedule_tools=Once(
            lambda: job_tools(profile, store.get(wait_s=STORE_WAIT_S), platforms, clock)
        ),
        health_worker=health_worker(profile, recipe, settings),
        backfill_store=backfills,
    )
    verify = google_verifier(options.google_certs)
    return http_server(runtime, settings, store, "127.0.0.1", 0, push_verify=verify)


def _running_from(now: datetime) -> Callable[[], datetime]:
    started = time.monotonic()
    return lambda: now + timedelta(seconds=time.monotonic() - started)


def bot_main(argv: Sequence[str]) -> None:
    """Prints `READY <url>` once it listens, then serves until killed."""
    from opsbot.logs import configure_logging
    from opsbot.process import tune_for_serving

    parser = argparse.ArgumentParser(prog="python -m bench.hostile_load bot")
    for name in ("slack-api", "token", "secret", "bigquery", "cloud-run", "repo", "now"):
        parser.add_argument(f"--{name}", required=True)
    parser.add_argument("--pubsub", required=True)
    parser.add_argument("--google-certs", required=True)
    options = parser.parse_args(argv)
    configure_logging("json", serving=True)  # as on Cloud Run: one JSON line a record, stderr
    server = hostile_server(options)
    print(f"READY {server.url}", flush=True)
    tune_for_serving()
    server.serve_forever()


# -- the acks: python -m bench.hostile_load acks URL SECRET --seconds S --tag T -------------


def acks_main(argv: Sequence[str]) -> None:
    """Signed /health help, ACK_RATE a second over ACK_SENDERS connections, for --seconds;
    prints every ack's latency and the statuses seen (JSON)."""
    parser = argparse.ArgumentParser(prog="python -m bench.hostile_load acks")
    parser.add_argument("url")
    parser.add_argument("secret")
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--tag", required=True)
    options = parser.parse_args(argv)
    start = time.monotonic() + 0.2
    seen: list[list[tuple[float, int]]] = [[] for _ in range(ACK_SENDERS)]
    senders = [
        threading.Thread(
            target=_ack_sender, args=(options, i, start, seen[i]), name=f"ack-{i}", daemon=True
        )
        for i in range(ACK_SENDERS)
    ]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    flat = [item for one in seen for item in one]
    said = {"latencies": [s for s, _ in flat], "statuses": sorted({c for _, c in flat})}
    print(json.dumps(said), flush=True)


def _ack_sender(
    options: argparse.Namespace, i: int, start: float, seen: list[tuple[float, int]]
) -> None:
    """Sender `i`: its share of the paced requests, on one kept-alive connection."""
    parts = urlsplit(options.url)
    verifier = SignatureVerifier(options.secret)
    load = Load("help", ACK_SENDERS, 0, 1, "http://127.0.0.1:9/unused")
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
    for j in itertools.count():
        due = start + (j * ACK_SENDERS + i) / ACK_RATE
        if due > start + options.seconds:
            break
        time.sleep(max(0.0, due - time.monotonic()))
        seen.append(signed_post(connection, parts.path, verifier, body(load, options.tag, i, j)))
    connection.close()


# -- the hostile load: python -m bench.hostile_load hostile URL --rate R ---------------------


@dataclass(frozen=True)
class Hostile:
    """What the hostile process sends: its bot, its pace, and the tokens Google signed but that
    have expired (read from stdin: never on a command line)."""

    url: str
    rate: float
    expired: dict[str, str]  # path → a token for it, expired
    streamed: list[bytes]  # a body past /slack/events' limit, framed as chunks

    def request(self, k: int) -> tuple[str, Callable[[], int]]:
        """Request k of the mix: its kind, and how to send it (its status; 0: no answer in
        time; -1: the connection failed)."""
        if k % OVERSIZED_EVERY == OVERSIZED_EVERY - 1:
            return self._oversized(k // OVERSIZED_EVERY)
        path = (CRON, PUSH)[k % 2]
        if k // 2 % 2:
            return f"expired {path}", partial(self._call, path, self.expired[path])
        return f"junk {path}", partial(self._call, path, JUNK[k // 4 % len(JUNK)])

    def _oversized(self, n: int) -> tuple[str, Callable[[], int]]:
        if n % 4 == 3:
            head = request_head(EVENTS, {"Transfer-Encoding": "chunked"})
            return f"streamed {EVENTS}", partial(self._send, head, *self.streamed)
        path = (EVENTS, PUSH, CRON)[n % 4]
        headers = {"Content-Length": str(ATTACK_BYTES), "Authorization": f"Bearer {JUNK[0]}"}
        return f"200 MB {path}", partial(self._send, request_head(path, headers), b"{" * 16384)

    def _call(self, path: str, token: str) -> int:
        sent = ENVELOPE if path == PUSH else b""
        headers = {"Authorization": f"Bearer {token}", "Content-Length": str(len(sent))}
        return self._send(request_head(path, headers), sent)

    def _send(self, *parts: bytes) -> int:
        try:
            return exchange(self.url, *parts).status
        except ConnectionError:
            return -1


def hostile_main(argv: Sequence[str]) -> None:
    """Send the mix at --rate a second from the moment STARTED is printed until a line arrives
    on stdin; then print how many were sent, over how long, and each kind's statuses (JSON)."""
    parser = argparse.ArgumentParser(prog="python -m bench.hostile_load hostile")
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, required=True)
    options = parser.parse_args(argv)
    streamed = chunked(b"x" * (SLACK_MAX_BODY_BYTES + 1))
    mix = Hostile(options.url, options.rate, json.loads(sys.stdin.readline()), streamed)
    stop = threading.Event()
    answered = Answered()
    numbers = itertools.count()
    start = time.monotonic()
    args = (mix, numbers, start, stop, answered)
    threads = [
        threading.Thread(target=_hostile_sender, args=args, daemon=True)
        for _ in range(HOSTILE_SENDERS)
    ]
    for thread in threads:
        thread.start()
    print("STARTED", flush=True)
    sys.stdin.readline()
    stop.set()
    seconds = time.monotonic() - start
    for thread in threads:
        thread.join(30)
    said = HostileRun(sum(answered.counts.values()), seconds, answered.by_kind())
    print(json.dumps(asdict(said)), flush=True)


def _hostile_sender(
    mix: Hostile,
    numbers: Iterator[int],
    start: float,
    stop: threading.Event,
    answered: Answered,
) -> None:
    """Takes the next request number, waits for its time (k / rate), sends it; until `stop`."""
    while not stop.is_set():
        k = next(numbers)
        time.sleep(max(0.0, start + k / mix.rate - time.monotonic()))
        if stop.is_set():
            return
        kind, send = mix.request(k)
        answered.add(kind, send())


class Answered:
    """How each kind of hostile request was answered, counted by the sender threads."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, int]] = Counter()
        self._lock = threading.Lock()

    def add(self, kind: str, status: int) -> None:
        with self._lock:
            self.counts[kind, status] += 1

    def by_kind(self) -> dict[str, dict[str, int]]:
        said: dict[str, dict[str, int]] = {}
        for (kind, status), n in sorted(self.counts.items()):
            said.setdefault(kind, {})[str(status)] = n
        return said


@dataclass
class HostileRun:
    """What the hostile process said once stopped: how many it sent, over how long, and each
    kind's statuses (-1: the connection failed; 0: no answer in time)."""

    sent: int = 0
    seconds: float = 0.0
    answered: dict[str, dict[str, int]] = field(default_factory=dict)

    def __str__(self) -> str:
        statuses: Counter[str] = Counter()
        for counts in self.answered.values():
            statuses.update(counts)
        shown = ", ".join(f"{status}: {n}" for status, n in sorted(statuses.items()))
        odd = [kind for kind, counts in self.answered.items() if set(counts) - {"401", "413"}]
        other = f"; not 401 or 413: {', '.join(odd)}" if odd else ""
        return (
            f"{self.sent} hostile at {self.sent / max(self.seconds, 1e-9):.0f}/s ({shown}{other})"
        )


# -- the rounds ---------------------------------------------------------------------------


@contextmanager
def bot_child(args: list[str], log: IO[str]) -> Iterator[tuple[str, int]]:
    """The bot in its own process, its log lines to `log`; yields its base URL and pid."""
    child = subprocess.Popen(
        [sys.executable, "-m", "bench.hostile_load", "bot", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"the bot did not start: {line!r}")
        yield line.split()[1], child.pid
    finally:
        child.kill()
        child.wait(10)


def measure_acks(url: str, secret: str, seconds: float, tag: str) -> list[float]:
    """The acks process for `seconds`; every ack's latency (each must have been a 200)."""
    done = subprocess.run(
        [*ACKS, url + EVENTS, secret, "--seconds", str(seconds), "--tag", tag],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=seconds + 120,
    )
    result = json.loads(done.stdout)
    assert result["statuses"] == [200], f"not every ack was a 200: {result['statuses']}"
    latencies: list[float] = result["latencies"]
    return latencies


@contextmanager
def hostile_load(url: str, rate: float, expired: dict[str, str]) -> Iterator[HostileRun]:
    """The hostile process sending while the block runs; yields what it says once stopped."""
    sender = subprocess.Popen(
        [sys.executable, "-m", "bench.hostile_load", "hostile", url, "--rate", str(rate)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    said = HostileRun()
    try:
        assert sender.stdin is not None and sender.stdout is not None
        sender.stdin.write(json.dumps(expired) + "\n")
        sender.stdin.flush()
        if sender.stdout.readline().strip() != "STARTED":
            raise RuntimeError("the hostile sender did not start")
        yield said
        out, _ = sender.communicate("stop\n", timeout=120)
        said.__dict__.update(json.loads(out))
    finally:
        if sender.poll() is None:
            sender.kill()
            sender.wait(10)


def expired_tokens(signer: crypt.RSASigner) -> dict[str, str]:
    """A token for each endpoint, signed with the stand-in Google's key, expired an hour ago."""
    from tests.google_oidc import id_token

    now = int(time.time())
    aged = {"iat": now - 7200, "exp": now - 3600}
    return {
        PUSH: id_token(signer, aud=SERVICE + PUSH, email=PUSHER, **aged),
        CRON: id_token(signer, aud=SERVICE + CRON, email=SCHEDULER, **aged),
    }


def settle(url: str, secret: str, timeout_s: float = 120.0) -> None:
    """Acks for a few seconds (the first wakes the start-up work), then until /healthz is 200."""
    measure_acks(url, secret, 3.0, "warm")
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=10):
                return
        except urllib.error.HTTPError:
            time.sleep(0.5)  # the store still opening
    raise RuntimeError(f"/healthz was not 200 within {timeout_s:g} s")


@dataclass
class Round:
    quiet: tuple[float, float]  # p50, p99 in ms
    hostile: tuple[float, float]
    load: HostileRun

    @property
    def ratio(self) -> float:
        return self.hostile[1] / self.quiet[1]

    @property
    def ratio_p50(self) -> float:
        return self.hostile[0] / self.quiet[0]


def run_round(
    url: str, secret: str, options: argparse.Namespace, expired: dict[str, str], number: int
) -> Round:
    """Quiet and hostile halves, the hostile one first in every other round."""
    halves: dict[bool, tuple[float, float]] = {}
    load = HostileRun()
    for hostile in (False, True) if number % 2 == 0 else (True, False):
        tag = f"r{number}{'h' if hostile else 'q'}"
        if hostile:
            with hostile_load(url, options.rate, expired) as load:
                halves[True] = percentiles(measure_acks(url, secret, options.seconds, tag))
        else:
            halves[False] = percentiles(measure_acks(url, secret, options.seconds, tag))
    return Round(halves[False], halves[True], load)


def report(rounds: list[Round], options: argparse.Namespace) -> None:
    print(
        f"{options.rate:g} hostile requests/s (junk and expired tokens to {CRON} and {PUSH}; every "
        f"{OVERSIZED_EVERY}th oversized); acks: {ACK_RATE}/s signed /health help, "
        f"{options.seconds:g} s a half"
    )
    for number, r in enumerate(rounds, 1):
        print(
            f"  round {number}: quiet p50 {r.quiet[0]:6.1f} p99 {r.quiet[1]:6.1f} ms | hostile "
            f"p50 {r.hostile[0]:6.1f} p99 {r.hostile[1]:6.1f} ms | ratio p99 {r.ratio:.2f} "
            f"(p50 {r.ratio_p50:.2f}) | {r.load}"
        )
    print(f"  quiet p99 min / median / max ms:   {spread([r.quiet[1] for r in rounds])}")
    print(f"  hostile p99 min / median / max ms: {spread([r.hostile[1] for r in rounds])}")
    print(f"  ratio p99 min / median / max:      {spread([r.ratio for r in rounds], '{:.2f}')}")
    print(f"  ratio p50 min / median / max:      {spread([r.ratio_p50 for r in rounds], '{:.2f}')}")
    median = statistics.median(r.ratio for r in rounds)
    print(f"  target: p99 ratio <= 1.5: {'met' if median <= 1.5 else 'NOT met'} (median)")


def main() -> None:
    command = sys.argv[1:2]
    if command in (["bot"], ["acks"], ["hostile"]):
        {"bot": bot_main, "acks": acks_main, "hostile": hostile_main}[command[0]](sys.argv[2:])
        return
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rate", type=float, default=200.0, help="hostile requests a second")
    parser.add_argument("--seconds", type=float, default=10.0, help="each half of a round")
    options = parser.parse_args()
    run(options)


def run(options: argparse.Namespace) -> None:
    """The emulators and Google's stand-in here, the bot in its process, then the rounds."""
    from sandbox.platform import Sandbox
    from sandbox.slack_emulator import SlackEmulator
    from tests.google_oidc import FakeGoogle

    secret = os.urandom(16).hex()
    google, slack = FakeGoogle(), SlackEmulator()
    slack.start()
    try:
        with Sandbox() as platform, tempfile.TemporaryFile("w+") as log:
            wiring = slack_args(slack, secret) + platform_args(platform)
            wiring += ["--pubsub", platform.pubsub_url, "--google-certs", google.url]
            expired = expired_tokens(google.signer)
            with bot_child(wiring, log) as (url, pid):
                settle(url, secret)
                print(f"load average at start: {os.getloadavg()[0]:.2f}", flush=True)
                settled_mb = peak_rss_mb(pid)
                numbers = range(options.rounds)
                rounds = [run_round(url, secret, options, expired, n) for n in numbers]
                report(rounds, options)
                print(f"load average at end: {os.getloadavg()[0]:.2f}")
                print(f"the bot's peak RSS: {settled_mb} MB settled, {peak_rss_mb(pid)} MB at end")
            scan_log(log, expired)
    finally:
        slack.stop()
        google.close()


def peak_rss_mb(pid: int) -> int:
    """A process's peak resident memory so far (Linux /proc: VmHWM), in MB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(status.split("VmHWM:")[1].split()[0]) // 1024


def scan_log(log: IO[str], expired: dict[str, str]) -> None:
    """How many lines the bot logged, and how many carry any part of a token (must be none)."""
    from tests.google_oidc import leaks

    log.seek(0)
    lines = log.read().splitlines()
    found = leaks(expired.values(), lines)
    print(f"the bot's log: {len(lines)} lines, {len(found)} carrying a token (must be 0)")


if __name__ == "__main__":
    main()
