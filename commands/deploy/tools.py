"""What a rollout acts on and remembers with."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from adapters.cloud_logging import CloudLogging
from adapters.cloudrun import CloudRun
from adapters.git import GitRepo
from adapters.monitoring import Monitoring
from checks.result import CheckResult
from commands.errors import RequestError

if TYPE_CHECKING:
    from store.rollouts import Store
    from store.views import RolloutView


@dataclass(frozen=True)
class DeployTools:
    """The clients and the store one process drives rollouts with."""

    cloud_run: CloudRun
    monitoring: Monitoring
    logs: CloudLogging
    repo: GitRepo
    store: Store
    clock: Callable[[], datetime]
    data_check: Callable[[str], CheckResult | None] = lambda service: None  # by service name
    refresh_repo: Callable[[], None] = lambda: None  # main brought up to date (production: fetch)
    # Rows each revision wrote in [since, until): for services judged by their output.
    revision_output: Callable[[list[str], datetime, datetime], dict[str, int]] | None = None

    def rollout(self, rollout_id: int) -> RolloutView:
        """The rollout as the store has it now, or a RequestError naming it."""
        found = self.store.get(rollout_id)
        if found is None:
            raise RequestError(f"no rollout #{rollout_id}")
        return found
