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
from dataclasses import dataclass, field
from datetime import datetime
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from sandbox.attach import SandboxAddress
from sandbox.slack_delivery import SlackSender
from sandbox.slack_emulator import SlackEmulator

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
BUSY = {"nba-scrapers": 500.0, "nba-phase4-precompute-processors": 500.0, "nba-grading": 500.0}


def serve_platform(conn: Connection) -> None:
    """The platform's process: a sandbox, faulted on request, until the pipe closes."""
    from sandbox.faults import FaultPlan
    from sandbox.platform import Sandbox

    with Sandbox(faults=FaultPlan(cloud_run={"operation_s": 0.5})) as sandbox:
        assert sandbox.cloud_run is not None and sandbox.traffic is not None
        sandbox.traffic.rates.update(BUSY)  # enough requests for a canary analysis
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
                    [
                        (t["revision"], t["percent"])
                        for t in service["trafficStatuses"]
                        if t["percent"]
                    ]
                )
            elif command == "clock":
                conn.send(sandbox.clock().isoformat())


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

    def stop(self) -> None:
        self._conn.close()
        self._process.join(15)


def replica_log(name: str) -> Path:
    """Where a replica's stderr goes (outside the checkout): read it when an invariant fails."""
    return Path(tempfile.gettempdir()) / f"opsbot-chaos-replica-{name}.log"


@dataclass
class Replica:
    """One `bench.bot_process` replica: started, killed with SIGKILL, started again."""

    name: str
    wiring: list[str]
    secret: str
    process: subprocess.Popen[str] | None = None
    url: str = ""
    starts: int = 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self, now: str) -> None:
        log = open(replica_log(self.name), "a")  # noqa: SIM115 (the child's, kept open)
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
    ]


def sandbox_time(text: str) -> datetime:
    return datetime.fromisoformat(text)
