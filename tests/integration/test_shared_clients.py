"""A serving bot opens its Cloud Run connections once, not once per report."""

from __future__ import annotations

from checks.drift_engine import MAX_WORKERS, drift_report
from config import Profile
from opsbot.platform import sandbox_platforms
from sandbox.platform import Sandbox


def test_reports_after_the_first_open_no_new_cloud_run_connections(profile: Profile) -> None:
    with Sandbox() as sandbox:  # its own emulator: no other test's connections are counted
        _reports_reuse_connections(sandbox, profile)


def _reports_reuse_connections(sandbox: Sandbox, profile: Profile) -> None:
    platforms = sandbox_platforms(profile, sandbox)  # what the bot asks per request
    emulator = sandbox.cloud_run
    assert emulator is not None

    def report() -> None:
        platform = platforms()
        drift_report(profile, platform.drift_sources(), profile.services, platform.now)

    for _ in range(5):
        report()
    # one client per process: its two REST clients (services, revisions) each pool at most one
    # connection per concurrent read; a client per request opened about 10 per report, ~50 here
    concurrent = min(MAX_WORKERS, len(profile.services))
    assert 0 < emulator.connections <= 2 * concurrent
