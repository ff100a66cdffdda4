"""Benchmark (not a test): from `opsbot serve` starting to its first acknowledged slash command.

Starts the real `opsbot serve` (production wiring; Slack pointed at the sandbox's Slack emulator
with OPSBOT_SLACK_API_URL) as a fresh process, waits for the line saying it listens, sends one
signed /health and stops the clock at the ack. Slack allows 3 s, which must also cover a Cloud
Run cold start of the container; the target here is under 1 s. Repeated, median and worst shown.

    python -m bench.cold_start [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sandbox.slack_delivery import SlackSender
from sandbox.slack_emulator import SlackEmulator
from sandbox.slack_workspace import ResponseUrl

ROOT = Path(__file__).resolve().parents[1]
COMMAND = {
    "team_id": "T0SANDBOX1",
    "channel_id": "C0HEALTH01",
    "channel_name": "orchestration-health",
    "user_id": "U0DANAONCL",
    "command": "/health",
    "text": "",
    "trigger_id": "1.2.3",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def one_start(slack: SlackEmulator, secret: str, state_dir: str) -> tuple[float, float]:
    """(seconds until it listens, seconds until the first ack), both from process start."""
    port = free_port()
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": slack.workspace.bot_token,
        "SLACK_SIGNING_SECRET": secret,
        "OPSBOT_SLACK_API_URL": slack.api_url,
        "NO_GCE_CHECK": "True",
        "DATABASE_URL": f"sqlite:///{state_dir}/opsbot-{port}.db",  # a fresh store, migrated at start  # the report after the ack finds no Google credentials; fine here
    }
    env.pop("SLACK_APP_TOKEN", None)
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, "-m", "opsbot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stderr is not None
        line = child.stderr.readline()
        if "serving Slack" not in line:
            raise RuntimeError(f"opsbot serve did not start: {line!r}")
        listening = time.perf_counter() - started
        response_url = slack.workspace.new_response_url(slack.url, _target())
        sender = SlackSender(f"http://127.0.0.1:{port}/slack/events", secret)
        answer = sender.slash_command(COMMAND | {"response_url": response_url})
        acked = time.perf_counter() - started
        if answer.status != 200:
            raise RuntimeError(f"the first command was not acknowledged: {answer}")
        return listening, acked
    finally:
        child.kill()
        child.wait(10)


def _target() -> ResponseUrl:
    return ResponseUrl("C0HEALTH01", "U0DANAONCL", None, False)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    options = parser.parse_args()
    slack = SlackEmulator()
    slack.start()
    secret = secrets.token_hex(16)
    try:
        with tempfile.TemporaryDirectory(prefix="opsbot-cold-") as state_dir:
            runs = [one_start(slack, secret, state_dir) for _ in range(options.repeat)]
    finally:
        slack.stop()
    listening = [r[0] for r in runs]
    acked = [r[1] for r in runs]
    print(f"opsbot serve, {options.repeat} cold starts (process start → …):")
    print(
        f"  listening:   median {statistics.median(listening):.2f} s  worst {max(listening):.2f} s"
    )
    print(
        f"  first ack:   median {statistics.median(acked):.2f} s  worst {max(acked):.2f} s   (target < 1 s)"
    )


if __name__ == "__main__":
    main()
