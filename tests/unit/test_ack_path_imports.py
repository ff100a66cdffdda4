"""The Slack app starts without the heavy clients: they load after the first ack, when needed."""

from __future__ import annotations

import subprocess
import sys


def test_assembling_the_app_imports_no_google_client_no_store_and_no_scheduler() -> None:
    probe = (
        "import sys, opsbot.serve, bot.app; "
        "heavy = ('google.cloud.bigquery', 'google.cloud.run_v2', 'google.cloud.monitoring_v3', "
        "'google.cloud.logging', 'sqlalchemy', 'alembic', 'apscheduler'); "
        "print(','.join(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
