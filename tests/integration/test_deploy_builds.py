"""What a canary's revision carries, read back from the Cloud Run emulator with the official
client: the build it runs, said alike by its label, its BUILD_COMMIT and its image (issue 31: 19)."""

from __future__ import annotations

from pathlib import Path

from google.api_core.client_options import ClientOptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import run_v2

from adapters.cloudrun_model import build_of
from commands.deploy.checklist import prepare
from commands.deploy.lifecycle import begin, start_canary
from opsbot.platform import sandbox_deploy_tools
from opsbot.profile import load_profile
from sandbox.platform import Sandbox
from store.database import Database
from store.location import sqlite_url
from store.rollouts import Store

ROOT = Path(__file__).resolve().parents[2]
SERVICE = "nba-phase4-precompute-processors"
PARENT = "projects/nba-props-platform/locations/us-west2"
DEPLOYER = "U0SAMDEPLY"


def _read(client: run_v2.RevisionsClient, revision: str) -> run_v2.Revision:
    return client.get_revision(name=f"{PARENT}/services/{SERVICE}/revisions/{revision}")


def test_a_canary_carries_its_own_commit_as_label_build_commit_and_image(tmp_path: Path) -> None:
    """The canary kept the stable revision's BUILD_COMMIT (67d1551e) while its label named the
    new commit: predictions it wrote would have named the wrong build."""
    profile = load_profile(ROOT / "opsbot.toml")
    with Sandbox() as platform:
        database = Database.open(sqlite_url(tmp_path / "opsbot.db"))
        try:
            tools = sandbox_deploy_tools(profile, platform, Store(database, platform.clock))
            checklist = prepare(profile, tools, SERVICE, None)
            client = run_v2.RevisionsClient(
                credentials=AnonymousCredentials(),  # type: ignore[no-untyped-call]
                client_options=ClientOptions(api_endpoint=platform.cloud_run_url),
                transport="rest",
            )
            stable = _read(client, checklist.stable_revision)
            assert {e.name: e.value for e in stable.containers[0].env} == {
                "BUILD_COMMIT": "67d1551e"  # as the platform's own deploy left it
            }
            rollout = begin(profile, tools, checklist, DEPLOYER)
            live = start_canary(profile, tools, rollout.id, DEPLOYER)
            assert live is not None and live.canary_revision is not None
            canary = _read(client, live.canary_revision)
            served = tools.cloud_run.get_revision(SERVICE, live.canary_revision)  # as opsbot reads
        finally:
            database.close()
    short = live.commit_sha[:8]
    assert [(e.name, e.value) for e in canary.containers[0].env] == [("BUILD_COMMIT", short)]
    assert canary.labels["commit-sha"] == short
    image = canary.containers[0].image
    assert image == build_of(profile.deploy.image, SERVICE, live.commit_sha).image
    repository, tag = image.rsplit(":", 1)
    assert tag == short  # docs/platform.md: <service>:<short-sha>
    assert repository == stable.containers[0].image.rsplit(":", 1)[0]  # where the seeds' are
    assert served.env == {"BUILD_COMMIT": short} and served.commit_label == short
