"""One sandbox for every face: a running `opsbot sandbox` publishes where its parts are.

While `opsbot sandbox` (or `opsbot serve --sandbox`) runs, it writes `running-sandbox.json`
in the cache directory: its emulators' addresses, the demo repo, its store and its clock. A
`--sandbox` command started meanwhile attaches to it (the same Cloud Run, warehouse, store and
time) instead of starting a fresh sandbox of its own; without one running, it starts its own.
The file goes when the sandbox stops; one left by a killed sandbox is ignored and removed.
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

from sandbox.demo_tables import cache_dir
from sandbox.faults import FaultPlan

ADDRESS_FILE = "running-sandbox.json"
ATTACH_ENV = "OPSBOT_SANDBOX_ATTACH"  # "never": every --sandbox command starts its own


@dataclass(frozen=True)
class SandboxAddress:
    """What a running sandbox publishes for other processes to use."""

    pid: int
    bigquery_url: str
    cloud_run_url: str
    monitoring_endpoint: str
    logging_url: str
    pubsub_url: str
    repo_path: str
    store_url: str
    now_at_start: str  # the sandbox clock's reading at `epoch_at_start`
    epoch_at_start: float
    bad_commit: str
    faults: dict[str, object] = field(default_factory=dict)


@dataclass
class AttachedSandbox:
    """A sandbox another process runs, used through its published address."""

    address: SandboxAddress
    now: datetime
    faults: FaultPlan
    attached: bool = True

    @property
    def bigquery_url(self) -> str:
        return self.address.bigquery_url

    @property
    def cloud_run_url(self) -> str:
        return self.address.cloud_run_url

    @property
    def monitoring_endpoint(self) -> str:
        return self.address.monitoring_endpoint

    @property
    def logging_url(self) -> str:
        return self.address.logging_url

    @property
    def pubsub_url(self) -> str:
        return self.address.pubsub_url

    @property
    def repo_path(self) -> Path:
        return Path(self.address.repo_path)

    @property
    def bad_commit(self) -> str:
        return self.address.bad_commit

    @property
    def store_url(self) -> str:
        return self.address.store_url

    def clock(self) -> datetime:
        """The running sandbox's time, as it passes there."""
        started = datetime.fromisoformat(self.address.now_at_start)
        return started + timedelta(seconds=time.time() - self.address.epoch_at_start)


def address_path() -> Path:
    return cache_dir() / ADDRESS_FILE


def publish(address: SandboxAddress) -> Path:
    """Write the address (atomically); the caller withdraws it when the sandbox stops."""
    path = address_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(asdict(address), indent=1))
    partial.replace(path)
    return path


def withdraw(pid: int | None = None) -> None:
    """Remove the address, if it is this process's (or `pid`'s)."""
    path = address_path()
    found = _read(path)
    if found is not None and found.pid == (pid or os.getpid()):
        path.unlink(missing_ok=True)


def find_running() -> AttachedSandbox | None:
    """The sandbox another process runs now, or None (none, attaching is off, or it died)."""
    if os.environ.get(ATTACH_ENV) == "never":
        return None
    path = address_path()
    found = _read(path)
    if found is None or found.pid == os.getpid():
        return None
    if not _alive(found.pid) or not _answers(found.cloud_run_url):
        path.unlink(missing_ok=True)  # left by a sandbox that was killed
        return None
    faults = FaultPlan.model_validate(found.faults)
    return AttachedSandbox(found, datetime.fromisoformat(found.now_at_start), faults)


def _read(path: Path) -> SandboxAddress | None:
    try:
        return SandboxAddress(**json.loads(path.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _answers(url: str) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), 1.0):
            return True
    except OSError:
        return False
