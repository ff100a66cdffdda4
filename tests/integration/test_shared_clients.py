"""A serving bot opens its Cloud Run connections once, not once per report."""

from __future__ import annotations

from checks.drift_engine import drift_report
from config import Profile
from opsbot.platform import sandbox_platforms
from sandbox.platform import Sandbox


def test_reports_after_the_first_open_no_new_cloud_run_connections(
    sandbox: Sandbox, profile: Profile
) -> None:
    platforms = sandbox_platforms(profile, sandbox)  # what the bot asks per request
    emulator = sandbox.cloud_run
    assert emulator is not None

    def report() -> None:
        platform = platforms()
        drift_report(profile, platform.drift_sources(), profile.services, platform.now)

    report()
    after_first = emulator.connections
    for _ in range(4):
        report()
    assert after_first > 0
    assert emulator.connections == after_first  # the pooled connections served them all
