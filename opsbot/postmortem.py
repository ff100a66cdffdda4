"""The postmortem tools, wired: the deploy tools' clients, the store's tables, the warehouse."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from commands.platform import Platform

if TYPE_CHECKING:
    from commands.deploy.tools import DeployTools
    from commands.postmortem.tools import PostmortemTools


def postmortem_tools(deploy: DeployTools, platforms: Callable[[], Platform]) -> PostmortemTools:
    """Postmortems read what the rollouts' store holds and what the platform says now."""
    from commands.postmortem.tools import PostmortemTools
    from store.backfills import Backfills
    from store.postmortems import Postmortems

    database = deploy.store.database
    platform = platforms()
    return PostmortemTools(
        profile=platform.profile,
        deploy=deploy,
        backfills=Backfills(database, deploy.clock),
        postmortems=Postmortems(database, deploy.clock),
        warehouse=lambda: platform.warehouse,
    )
