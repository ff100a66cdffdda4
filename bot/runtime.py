"""What the Slack listeners share: the profile, who may do what, and the platform per request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.access import Access
from bot.in_flight import InFlight, ReportSlots
from commands.platform import Platform
from config import Profile
from infra.once import Once

if TYPE_CHECKING:
    from bot.report_worker import ReportWorker
    from commands.deploy.tools import DeployTools
    from commands.postmortem.tools import PostmortemTools
    from commands.regrade.engine import RegradeTools
    from commands.schedule.runner import JobTools
    from store.backfills import Backfills
    from store.rollouts import Store


@dataclass(frozen=True)
class Runtime:
    profile: Profile
    access: Access
    platform: Callable[[], Platform]  # a fresh view of the platform, at the time of the request
    in_flight: InFlight = field(default_factory=InFlight)  # reports being built, by channel
    deploy_tools: Once[DeployTools] | None = None  # opened once, on first use; None: no /deploy
    regrade_tools: Once[RegradeTools] | None = None  # the same for /regrade
    schedule_tools: Once[JobTools] | None = None  # scheduled digests, /digest, the App Home
    postmortem_tools: Once[PostmortemTools] | None = None  # /postmortem and its buttons
    health_worker: ReportWorker | None = None  # None: /health's reports are built in this process
    # The store alone, so that a start with no rollout or backfill to resume opens none of the
    # platform's clients (None: the tools are opened to find out).
    rollout_store: Callable[[], Store] | None = None
    backfill_store: Callable[[], Backfills] | None = None
    store_url: str | None = None  # the store's, for the report worker to read causes' records
    slots: ReportSlots = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "slots", ReportSlots(self.profile.slack.max_concurrent_reports))
