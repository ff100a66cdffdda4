"""Benchmark (not a test): how fast is a signed /health acknowledged at 50 concurrent senders?

Serves opsbot on the sandbox (Starlette + uvicorn, the real Bolt app: signature check, access
middleware, argument parsing, and the report's work started after each ack) and, in the same
run, a minimal Bolt app on the same server stack that only acks. A separate process sends signed
/health requests from 50 concurrent senders to each. Prints p50/p99 of each and the ratio of
p99s. Targets: opsbot's p99 under 100 ms; ratio to the minimal app <= 1.3.

    python -m bench.ack_latency [--senders 50] [--per-sender 10]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from opsbot.bot.in_flight import InFlight
from opsbot.bot.serve import sandbox_bot
from opsbot.bot.server import Server, asgi_app, bind
from opsbot.config import load_profile
from opsbot.sandbox.platform import Sandbox

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench-signing-secret"


def minimal_server(api_url: str, token: str) -> Server:
    """Bolt's smallest /health: verify the signature, ack, nothing else (same Slack emulator)."""
    app = AsyncApp(signing_secret=SECRET, client=AsyncWebClient(token=token, base_url=api_url))

    @app.command("/health")
    async def ack_only(ack: Any) -> None:
        await ack()

    return Server(asgi_app(app, lambda: {}), bind("127.0.0.1", 0))


def load(
    url: str, secret: str, senders: int, per_sender: int, response_url: str, distinct: bool
) -> list[float]:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench.ack_load",
            url,
            secret,
            "--senders",
            str(senders),
            "--per-sender",
            str(per_sender),
            "--response-url",
            response_url,
            *(["--distinct"] if distinct else []),
        ],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
        timeout=600,
    )
    result = json.loads(done.stdout)
    assert result["statuses"] == [200], f"not every request was acknowledged: {result['statuses']}"
    latencies: list[float] = result["latencies"]
    return latencies


def percentiles(latencies: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[98] * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--per-sender", type=int, default=10)
    options = parser.parse_args()
    profile_path = ROOT / "opsbot.toml"
    with (
        Sandbox() as platform,
        sandbox_bot(load_profile(profile_path), profile_path, platform) as bot,
    ):
        assert bot.slack.sender is not None
        thread = bot.server.start_in_thread()
        minimal = minimal_server(bot.slack.api_url, bot.slack.workspace.bot_token)
        minimal_thread = minimal.start_in_thread()
        response_url = f"{bot.slack.url}/response/unused"
        ours_url, ours_secret = f"{bot.server.url}/slack/events", bot.slack.sender.signing_secret
        try:
            for distinct in (False, True):
                args = (options.senders, options.per_sender, response_url, distinct)
                baseline = load(f"{minimal.url}/slack/events", SECRET, *args)
                ours = load(ours_url, ours_secret, *args)
                report(ours, baseline, options.senders, distinct)
                wait_for_reports(bot.runtime.in_flight)
        finally:
            minimal.stop(minimal_thread)
            bot.server.stop(thread)


def wait_for_reports(in_flight: InFlight, timeout_s: float = 300) -> None:
    """Let the reports one round started finish before the next round is measured."""
    deadline = time.monotonic() + timeout_s
    while len(in_flight) and time.monotonic() < deadline:
        time.sleep(0.1)


def report(ours: list[float], baseline: list[float], senders: int, distinct: bool) -> None:
    p50, p99 = percentiles(ours)
    b50, b99 = percentiles(baseline)
    how = (
        "each sender its own game day: 50 reports built while acking"
        if distinct
        else "one channel, today: one report built, repeats told it is running"
    )
    print(f"{len(ours)} signed /health per app from {senders} concurrent senders; {how}")
    print(f"  opsbot ack:        p50 {p50:6.1f} ms  p99 {p99:6.1f} ms   (target p99 < 100 ms)")
    print(f"  minimal Bolt app:  p50 {b50:6.1f} ms  p99 {b99:6.1f} ms")
    print(f"  ratio p99 opsbot / minimal: {p99 / b99:.2f}   (target <= 1.3)")


if __name__ == "__main__":
    main()
