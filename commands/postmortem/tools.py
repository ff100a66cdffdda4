"""What building a postmortem reads: the store's records and the platform's clients."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from adapters.warehouse import Warehouse
from commands.deploy.tools import DeployTools
from config import Profile

if TYPE_CHECKING:
    from store.backfills import Backfills
    from store.postmortems import Postmortems


@dataclass(frozen=True)
class PostmortemTools:
    profile: Profile
    deploy: DeployTools  # Cloud Run, Monitoring, Logging, git and the rollouts' store
    backfills: Backfills
    postmortems: Postmortems
    warehouse: Callable[[], Warehouse]  # the checks run per day (a data incident)

    @property
    def clock(self) -> Callable[[], datetime]:
        return self.deploy.clock
