"""`opsbot doctor` wired: the real project's clients (or the sandbox's), then the Slack app's token."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from adapters.bigquery import BigQueryWarehouse
from adapters.cloud_logging import CloudLogging
from adapters.cloudrun import CloudRun
from adapters.monitoring import Monitoring
from adapters.pubsub import PubSub
from bot.doctor_slack import slack_findings
from commands.doctor import Finding, google_findings
from config import Profile
from opsbot.platform import _credentials_guard, started_sandbox


def diagnose(
    profile: Profile, profile_path: Path, *, sandbox: bool, announce: Callable[[str], None]
) -> list[Finding]:
    """Every finding, Google's first; with `sandbox`, against the emulators and a Slack emulator."""
    project, timeout = profile.platform.project, profile.drift.cloud_run_timeout_s
    if not sandbox:
        warehouse = _credentials_guard(lambda: BigQueryWarehouse.from_profile(profile))
        cloud_run = _credentials_guard(
            lambda: CloudRun.connect(
                project=project, region=profile.platform.region, timeout_s=timeout
            )
        )
        monitoring = _credentials_guard(
            lambda: Monitoring.connect(project=project, timeout_s=timeout)
        )
        logs = _credentials_guard(lambda: CloudLogging.connect(project=project))
        google = google_findings(profile, warehouse, cloud_run, monitoring, logs, datetime.now(UTC))
        token = os.environ.get("SLACK_BOT_TOKEN")
        return google + slack_findings(profile, token, os.environ.get("OPSBOT_SLACK_API_URL"))
    from sandbox.slack_emulator import SlackEmulator

    with started_sandbox(announce) as running:
        google = google_findings(
            profile,
            BigQueryWarehouse.from_profile(profile, endpoint=running.bigquery_url),
            CloudRun.connect(
                project=project,
                region=profile.platform.region,
                timeout_s=timeout,
                endpoint=running.cloud_run_url,
            ),
            Monitoring.connect(
                project=project, timeout_s=timeout, endpoint=running.monitoring_endpoint
            ),
            CloudLogging.connect(project=project, endpoint=running.logging_url),
            running.clock(),
            PubSub.connect(project=project, timeout_s=timeout, endpoint=running.pubsub_url),
        )
        slack = SlackEmulator()
        slack.workspace.leave(running.faults.slack.not_in_channel)
        slack.workspace.scopes = [
            s for s in slack.workspace.scopes if s not in running.faults.slack.missing_scopes
        ]
        slack.start()
        try:
            return google + slack_findings(profile, slack.workspace.bot_token, slack.api_url)
        finally:
            slack.stop()
