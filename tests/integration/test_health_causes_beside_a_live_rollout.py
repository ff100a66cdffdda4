"""/health's likely causes while a deployer's canary is live: its 90/10 split is the rollout under
way, not a split "left behind", and on-call must not be handed a Roll back for it.

/drift learned this today (commands/schedule/drift_rollouts.py `with_rollouts_named`: "the split
is rollout #N under way ... promote or roll back from its message"). /health's Details does not:
commands/health_causes/behind.py turns deployment_drift's "traffic split left behind" finding
into the top likely cause with a Roll back button, though the report worker reads the very store
that says the rollout is live; one click from on-call aborts the deployer's canary.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from adapters.bigquery import BigQueryWarehouse
from bot.actions import ActionId
from bot.views.health import check_details
from checks.result import FixKind
from commands.health import run_health
from commands.health_causes.records import Records
from opsbot.platform import sandbox_drift_sources
from store.database import Database
from store.rollouts import Store
from tests.slack.conftest import left_rollout

PHASE4 = "nba-phase4-precompute-processors"


def _blocks(value: Any) -> Iterator[dict[str, Any]]:
    """Every element of Block Kit (dicts), recursively."""
    if isinstance(value, dict):
        yield value
        for inner in value.values():
            yield from _blocks(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from _blocks(inner)


def test_a_live_canarys_split_is_not_offered_for_rollback_as_left_behind(tmp_path: Path) -> None:
    with left_rollout(tmp_path, PHASE4) as left:
        profile = left.profile  # the shipped one: deployment_drift included
        warehouse = BigQueryWarehouse.from_profile(profile, endpoint=left.platform.bigquery_url)
        database = Database.open(left.store_url)
        try:
            report = asyncio.run(
                run_health(
                    profile,
                    warehouse,
                    now=left.platform.now,
                    drift_sources=lambda: sandbox_drift_sources(profile, left.platform),
                    records=Records(rollouts=Store(database, left.platform.clock)),
                    checks=["deployment_drift"],
                )
            )
        finally:
            database.close()
        rollout = left.rollout.id
    [drift] = report.results
    ours = [c for c in drift.causes if c.service == PHASE4]
    assert ours, "phase 4 is 202 commits behind: it has a cause"
    assert not any(c.fix and c.fix.kind is FixKind.ROLLBACK for c in ours), ours
    assert not any("left behind" in c.evidence for c in ours), ours

    blocks = [b.to_dict() for b in check_details(drift, report.as_of)[1]]
    roll_backs = [
        json.loads(element["value"])
        for element in _blocks(blocks)
        if element.get("type") == "button" and element.get("action_id") == ActionId.ROLLBACK_TO
    ]
    assert PHASE4 not in [value["service"] for value in roll_backs]
    said = json.dumps(blocks)
    assert f"rollout #{rollout}" in said  # named as the rollout under way, as /drift does
