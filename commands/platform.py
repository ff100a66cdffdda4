"""The platform one command run talks to: its warehouse and drift sources, each opened on first use.

How they are opened (Application Default Credentials, or the sandbox's emulators) is the
composition root's business (opsbot/platform.py); commands and the Slack app only use them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

from adapters.pubsub import PubSub
from adapters.warehouse import Warehouse
from checks.drift_model import DriftSources
from config import Profile

if TYPE_CHECKING:
    from commands.deploy.tools import DeployTools
    from store.rollouts import Store


class PlatformUnavailable(Exception):
    """The platform cannot be reached (credentials, network); the message says what to do."""


class Platform:
    """The clients of one command run, each opened on first use (a health run may need no git)."""

    def __init__(
        self,
        profile: Profile,
        now: datetime,
        open_warehouse: Callable[[], Warehouse],
        open_drift_sources: Callable[[], DriftSources],
        open_deploy_tools: Callable[[Store], DeployTools] | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        store_url: str | None = None,
        open_pubsub: Callable[[], PubSub] | None = None,
    ) -> None:
        self.profile = profile
        self.now = now  # the time this run reports at (fixed for a report)
        self.clock = clock or (lambda: now)  # the time as it passes (rollouts, the store)
        self.store_url = store_url  # where rollouts are kept, when the platform dictates it
        self._open_pubsub = open_pubsub
        self._open_deploy_tools = open_deploy_tools
        self._open_warehouse = open_warehouse
        self._open_drift_sources = open_drift_sources
        self._warehouse: Warehouse | None = None
        self._drift_sources: DriftSources | None = None
        self._lock = threading.Lock()

    @property
    def warehouse(self) -> Warehouse:
        with self._lock:
            if self._warehouse is None:
                self._warehouse = self._open_warehouse()
            return self._warehouse

    def pubsub(self) -> PubSub:
        """Pub/Sub, for grading backfills."""
        if self._open_pubsub is None:
            raise PlatformUnavailable("this platform has no Pub/Sub configured")
        return self._open_pubsub()

    def drift_sources(self) -> DriftSources:
        """Cloud Run and the repo (fetched once per run)."""
        with self._lock:
            if self._drift_sources is None:
                self._drift_sources = self._open_drift_sources()
            return self._drift_sources

    def deploy_tools(self, store: Store) -> DeployTools:
        """What rollouts on this platform act with, remembering in `store`."""
        if self._open_deploy_tools is None:
            raise PlatformUnavailable("this platform was opened without deploy tools")
        return self._open_deploy_tools(store)
