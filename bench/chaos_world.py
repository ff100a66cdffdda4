"""The chaos soak's world: the platform in a process of its own, two bot replicas on PostgreSQL,
and Slack. Each part can be faulted the way incidents fault them (bench/chaos.py drives it)."""

from __future__ import annotations

import json
import multiprocessing
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandbox.attach import SandboxAddress
from sandbox.slack_delivery import SlackSender
from sandbox.slack_emulator import SlackEmulator
from sandbox.slack_workspace import Workspace

if TYPE_CHECKING:
    from sandbox.platform import Sandbox

ROOT = Path(__file__).resolve().parents[1]
PARENT = "projects/nba-props-platform/locations/us-west2/services"
# a canary in seconds: a step held 1 s, approvals expiring after 10 s of the sandbox's clock
FAST_DEPLOY = {
    "interval_s": 1.0,
    "min_requests": 1,
    "watch_minutes": 0.02,
    "operation_poll_s": 0.2,
    "approval_expiry_h": 10 / 3600,
}
BUSY_RPS = 500.0  # enough requests for a canary analysis in one short step


def serve_platform(conn: Connection) -> None:
    """The platform's process: a sandbox, faulted on request, until the pipe closes.

    Its monorepo is a private clone of the demo's, so that commits can land on main (`land`)
    without touching the cache other runs share."""
    from sandbox.demo_repo import platform_repo
    from sandbox.faults import FaultPlan
    from sandbox.platform import Sandbox

    with tempfile.TemporaryDirectory(prefix="opsbot-chaos-repo-") as scratch:
        repo = Path(scratch) / "platform"
        cached, _ = platform_repo()
        _git(Path(scratch), "clone", "--quiet", "--local", str(cached), str(repo))
        faults = FaultPlan(cloud_run={"operation_s": 0.5})
        with Sandbox(faults=faults, repo=repo) as sandbox:
            serve_commands(conn, sandbox, repo)


def serve_commands(conn: Connection, sandbox: Sandbox, repo: Path) -> None:
    """Answer the soak's commands (a fault, a read, a commit to land) until the pipe closes."""
    assert sandbox.cloud_run is not None and sandbox.traffic is not None
    sandbox.traffic.rates.update(dict.fromkeys(sandbox.traffic.rates, BUSY_RPS))
    conn.send(sandbox.address("postgresql"))
    cloud_run = sandbox.cloud_run
    while True:
        try:
            command, argument = conn.recv()
        except EOFError:
            return
        if command == "slow":
            cloud_run.latency_s = float(argument)
            conn.send(None)
        elif command == "refuse":
            cloud_run.refuse_writes = int(argument)
            conn.send(None)
        elif command == "serving":
            service = cloud_run.state.get_service(f"{PARENT}/{argument}")
            conn.send(
                [(t["revision"], t["percent"]) for t in service["trafficStatuses"] if t["percent"]]
            )
        elif command == "clock":
            conn.send(sandbox.clock().isoformat())
        elif command == "land":
            conn.send(land_commit(repo, str(argument), sandbox.clock()))
        else:  # the backfill soak's (grading faults, completions, triggers published)
            from bench.chaos_backfill_platform import answer

            conn.send(answer(sandbox, command, argument))


def land_commit(repo: Path, service: str, when: datetime) -> str:
    """A new commit on main changing only `service`'s own sources (never `shared`, so no other
    service's newest commit moves, nba-scrapers' bad one included); its SHA."""
    from sandbox.demo_services import SOURCE_PATHS

    own = SOURCE_PATHS[service][0]
    path = repo / own / "chaos_changes.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as out:
        out.write(f"CHANGED_AT = {when.isoformat()!r}\n")
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    env = {"GIT_AUTHOR_DATE": stamp, "GIT_COMMITTER_DATE": stamp}
    _git(repo, "add", str(path.relative_to(repo)))
    _git(
        repo,
        "-c",
        "user.name=Chaos Soak",
        "-c",
        "user.email=chaos@example.com",
        "commit",
        "--quiet",
        "-m",
        f"chore({service}): a change to ship",
        env=env,
    )
    return _git(repo, "rev-parse", "HEAD").strip()


def _git(where: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", *args],
        cwd=where,
        env={**os.environ, **(env or {})},
        check=True,
        capture_output=True,
        text=True,
    ).stdout


class Platform:
    """The sandbox in a child process: killing a replica never kills the platform."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, theirs = context.Pipe()
        self._process = context.Process(target=serve_platform, args=(theirs,), daemon=True)
        self._process.start()
        self.address: SandboxAddress = self._conn.recv()

    def ask(self, command: str, argument: Any = None) -> Any:
        self._conn.send((command, argument))
        return self._conn.recv()

    def serving(self, service: str) -> list[tuple[str, int]]:
        return [(str(rev), int(pct)) for rev, pct in self.ask("serving", service)]

    def now(self) -> str:
        return str(self.ask("clock"))

    def land(self, service: str) -> str:
        """A new commit for `service` on main (something to ship); its SHA."""
        return str(self.ask("land", service))

    def stop(self) -> None:
        self._conn.close()
        self._process.join(15)


def replica_log(seed: int, name: str) -> Path:
    """Where a replica's stderr goes (outside the checkout, one per seed, so that soaks can run
    side by side): read it when an invariant fails."""
    return Path(tempfile.gettempdir()) / f"opsbot-chaos-{seed}-replica-{name}.log"


@dataclass
class Replica:
    """One `bench.bot_process` replica: started, killed with SIGKILL, started again."""

    name: str
    wiring: list[str]
    secret: str
    log: Path
    process: subprocess.Popen[str] | None = None
    url: str = ""
    starts: int = 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, now: str) -> None:
        log = self.log.open("a" if self.starts else "w")  # the child's, kept open
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bench.bot_process", "opsbot", *self.wiring, "--now", now],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line.startswith("READY "):
            raise RuntimeError(f"replica {self.name} did not start: {line!r}")
        self.url = line.split()[1] + "/slack/events"
        self.starts += 1

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)

    def sender(self) -> SlackSender:
        return SlackSender(self.url, self.secret)


@dataclass
class World:
    platform: Platform
    slack: SlackEmulator
    replicas: list[Replica]
    database_url: str
    secret: str = field(default_factory=lambda: secrets.token_hex(16))

    def alive(self) -> list[Replica]:
        return [r for r in self.replicas if r.alive]


def replica_wiring(
    slack: SlackEmulator, address: SandboxAddress, secret: str, database_url: str
) -> list[str]:
    return [
        "--slack-api",
        slack.api_url,
        "--token",
        slack.workspace.bot_token,
        "--secret",
        secret,
        "--bigquery",
        address.bigquery_url,
        "--cloud-run",
        address.cloud_run_url,
        "--repo",
        address.repo_path,
        "--monitoring",
        address.monitoring_endpoint,
        "--logging",
        address.logging_url,
        "--database-url",
        database_url,
        "--deploy-timing",
        json.dumps(FAST_DEPLOY),
        "--in-process-reports",  # no /health here: a worker process each would only cost memory
        "--logs",  # what each replica did, in its log (replica_log), to read when one fails
    ]


def sandbox_time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def seen_within(ws: Workspace, found: Callable[[], Any], timeout_s: float) -> Any:
    """`found()` once it is truthy, waking on each change of the workspace; None after
    `timeout_s` (the soak records what never came, it does not raise)."""
    deadline = time.monotonic() + timeout_s
    version = -1
    while time.monotonic() < deadline:
        value = found()
        if value:
            return value
        version = ws.wait_for_change(version, min(1.0, deadline - time.monotonic()))
    return None
