"""A data incident's causes are what ran during it (issue 31, item 3): the 2026-01-28 Vegas-line
postmortem names the commit phase 4 ran then (67d1551e), before and after phase 4 is deployed,
and says when its fix went out against when the data recovered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from string import Template

import pytest

from adapters.cloudrun_model import TrafficShare
from commands.postmortem.build import Subject, build_draft
from commands.postmortem.model import Draft
from commands.postmortem.tools import PostmortemTools
from opsbot.platform import sandbox_deploy_tools, sandbox_platforms
from opsbot.postmortem import postmortem_tools
from opsbot.profile import load_profile
from sandbox.platform import Sandbox
from store.database import Database
from store.location import sqlite_url
from store.rollouts import Store
from tests.integration.deploy_world import create_revision

ROOT = Path(__file__).resolve().parents[2]
PROFILE = load_profile(ROOT / "opsbot.toml")
PHASE4 = "nba-phase4-precompute-processors"
FIX = "3f18b34b"


@pytest.fixture
def tools(tmp_path: Path) -> Iterator[PostmortemTools]:
    """A sandbox of its own (the test deploys phase 4), and the postmortem tools on it."""
    with Sandbox() as platform:
        database = Database.open(sqlite_url(tmp_path / "opsbot.db"))
        try:
            deploy = sandbox_deploy_tools(PROFILE, platform, Store(database, platform.clock))
            yield postmortem_tools(deploy, sandbox_platforms(PROFILE, platform))
        finally:
            database.close()


def _vegas_draft(tools: PostmortemTools) -> Draft:
    draft = build_draft(tools, Subject("date", "2026-01-28"))
    assert draft is not None and draft.recovered is not None
    assert draft.recovered.date() == date(2026, 2, 3)  # OK again from game day 2026-02-03
    return draft


def _deploy_main(tools: PostmortemTools) -> str:
    """Phase 4 deployed now (2026-02-05) from main, as gcloud would: 100% on the new revision."""
    cloud_run, main = tools.deploy.cloud_run, tools.deploy.repo.main()
    revision = f"{PHASE4}-00099-new"
    image = Template(PROFILE.deploy.image).substitute(service=PHASE4, commit=main.sha)
    serving = cloud_run.get_service(PHASE4).serving[0].revision
    create_revision(
        cloud_run,
        PHASE4,
        revision=revision,
        image=image,
        labels={"commit-sha": main.short},
        keep=[TrafficShare(serving, 100)],
        tag="new",
    )
    cloud_run.route(PHASE4, [TrafficShare(revision, 100)])
    return main.short


def test_the_vegas_postmortem_names_what_phase4_ran_during_the_incident(
    tools: PostmortemTools,
) -> None:
    """Drafted after phase 4 was deployed (a fresh sandbox's draft: tests/e2e)."""
    deployed = _deploy_main(tools)
    later = _vegas_draft(tools)

    assert later.causes[0] == (  # what ran then (a fresh sandbox names it too), not what runs now
        f"{PHASE4} ran commit 67d1551e (revision {PHASE4}-00076-355) during the incident, "
        "serving from 2026-01-26 19:00 UTC — the incident's first day."
    )
    assert not [c for c in later.causes if deployed in c and "ran commit" in c]
    assert "since 2026-02-05" not in " ".join(later.causes)
    fix = next(c for c in later.causes if f"the fix {FIX} " in c)
    assert fix.endswith(
        f"was on main from 2026-02-02 and deployed on 2026-02-05 ({PHASE4}-00099-new), after the "
        "data was OK again (game day 2026-02-03): not what ended the incident."
    )
    assert f"{PHASE4}-00099-new created" not in " ".join(e.text for e in later.timeline)
