"""`opsbot sandbox`, the README's first line: everything starts, the console works, Ctrl-C stops."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from bot.app import SLASH_COMMANDS
from infra.stop_watchdog import STOP_GRACE_S, STOP_HUNG_MARK
from sandbox.slack_emulator import SlackEmulator
from tests.conftest import ROOT
from tests.slack.helpers import finished, wait_until

URL = re.compile(r"Open the Slack console: (http://127\.0\.0\.1:\d+/console)")
SANDBOX = ["-m", "opsbot", "sandbox", "--port", "0", "--console-port", "0"]
# How a shell without job control starts `opsbot sandbox &` (a script, a test run in the
# background): with SIGINT ignored, which exec hands down to the command.
AS_A_BACKGROUND_JOB = [
    "-c",
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])",
]
STARTED = {"from a terminal": [], "as a background job": AS_A_BACKGROUND_JOB}


class Running(NamedTuple):
    process: subprocess.Popen[str]
    console: str
    output: queue.Queue[str]  # its stdout and stderr, line by line, as they come

    def rest_of_output(self) -> str:
        """What it wrote after the console's URL, up to its end (it has ended)."""
        lines: list[str] = []
        with contextlib.suppress(queue.Empty):
            while (line := self.output.get(timeout=10)) != "":
                lines.append(line)
        return "".join(lines)


@pytest.fixture
def sandbox_process(request: pytest.FixtureRequest) -> Iterator[Running]:
    """`opsbot sandbox` started (from a terminal, unless the test names another way), serving."""
    started = STARTED[getattr(request, "param", "from a terminal")]
    process = subprocess.Popen(
        [sys.executable, *started, *SANDBOX],
        cwd=ROOT,
        env={**os.environ, "COLUMNS": "200"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout

    def pump() -> None:
        for line in stdout:
            lines.put(line)
        lines.put("")  # its end

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    try:
        while True:
            line = lines.get(timeout=120)
            if not line:
                pytest.fail("it ended before printing the console's URL:\n" + "".join(seen))
            seen.append(line)
            if match := URL.search(line):
                break
        yield Running(process, match.group(1), lines)
    except queue.Empty:
        pytest.fail("no console URL within 120 s:\n" + "".join(seen))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)


def _post(url: str, body: dict[str, str]) -> dict[str, object]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        loaded: dict[str, object] = json.loads(answer.read())
        return loaded


@pytest.mark.parametrize("sandbox_process", list(STARTED), indirect=True)
def test_sandbox_serves_the_console_answers_a_command_and_stops_on_ctrl_c(
    sandbox_process: Running,
) -> None:
    """Exit 130 however it was started: a background job inherits SIGINT ignored, and uvicorn
    (which stops on it anyway) handed the inherited "ignore" back at its end, so the sandbox
    stopped but exited 0 (`assert 0 == 130` in a suite run in the background)."""
    process, console, _ = sandbox_process
    with urllib.request.urlopen(console, timeout=10) as page:
        assert "opsbot sandbox" in page.read().decode()
    base = console.removesuffix("/console")
    typed = _post(
        f"{base}/console/api/command",
        {"user": "U0DANAONCL", "channel": "C0HEALTH01", "text": "/drift prediction-worker"},
    )
    assert typed["ok"] is True and typed["status"] == 200  # the bot acknowledged the signed command

    process.send_signal(signal.SIGINT)
    assert process.wait(timeout=STOP_GRACE_S + 10) == 130  # as a shell reports Ctrl-C
    said = sandbox_process.rest_of_output()
    assert STOP_HUNG_MARK not in said, said  # stopped in order, not by the stop watchdog


def test_a_taken_console_port_is_named_with_the_option_that_moves_it() -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "opsbot", "sandbox", "--port", "0", "--console-port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    assert done.returncode == 3
    assert f"port {port} is in use: stop what uses it or pass another --console-port" in done.stderr


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "opsbot", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def test_sandbox_commands_attach_to_the_running_sandbox_and_share_its_state(
    sandbox_process: Running,
) -> None:
    """A rollback from the terminal shows in `drift`; a deploy shows in `rollouts --sandbox`."""
    moved = _cli(
        "rollback",
        "nba-grading-service",
        "--to",
        "nba-grading-service-00083-499",
        "--sandbox",
        "--yes",
        "--as",
        "U0SAMDEPLY",
    )
    assert moved.returncode == 0, moved.stderr
    assert "attached to the running opsbot sandbox" in moved.stderr
    drift = _cli("drift", "nba-grading-service", "--sandbox", "--json")
    serving = json.loads(drift.stdout)["services"][0]["revisions"]
    assert [(r["revision"], r["percent"]) for r in serving] == [
        ("nba-grading-service-00083-499", 100)  # the running sandbox's Cloud Run, changed
    ]
    started = _cli(
        "deploy", "nba-phase4-precompute-processors", "--sandbox", "--yes", "--as", "U0SAMDEPLY"
    )
    assert started.returncode == 0, started.stderr
    listed = json.loads(_cli("rollouts", "--sandbox", "--json").stdout)["rollouts"]
    assert [r["service"] for r in listed] == ["nba-phase4-precompute-processors"]


def test_without_a_running_sandbox_rollouts_sandbox_says_how_to_get_one() -> None:
    done = _cli("rollouts", "--sandbox")
    assert done.returncode == 3 and "start one with `opsbot sandbox`" in done.stderr


def test_serve_sandbox_reaches_your_own_slack_over_socket_mode(tmp_path: Path) -> None:
    """`opsbot serve --sandbox` with a Slack app's tokens: the sandbox platform, that Slack.

    The Slack here is the emulator standing in for a workspace, reached over Socket Mode as
    Slack documents it (apps.connections.open, a WebSocket, envelopes and acks).
    """
    slack = SlackEmulator(commands=set(SLASH_COMMANDS))
    slack.start()
    ws = slack.workspace
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": ws.bot_token,
        "SLACK_APP_TOKEN": ws.app_token,
        "SLACK_SIGNING_SECRET": "unused-over-socket-mode",
        "OPSBOT_SLACK_API_URL": slack.api_url,
        "OPSBOT_CACHE_DIR": os.environ.get("OPSBOT_CACHE_DIR", str(tmp_path)),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "opsbot", "serve", "--sandbox", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert slack.socket_mode_opened.wait(90), "the app never asked for a Socket Mode URL"
        assert slack.socket_mode is not None and slack.socket_mode.wait_connected(30)
        ack = slack.command("U0DANAONCL", "#orchestration-health", "/health")
        assert ack.status == 200  # acknowledged over the socket
        report = wait_until(ws, finished(ws, "Health"), timeout_s=60)
        assert "CRITICAL" in report.text
        details = next(
            b["accessory"]
            for b in report.blocks
            if b.get("accessory", {}).get("type") == "button"
            and "grading_completeness" in b.get("text", {}).get("text", "")
        )
        clicked = slack.click("U0DANAONCL", report, details["action_id"], details["value"])
        assert clicked.status == 200
        wait_until(
            ws,
            lambda: next(
                (
                    m
                    for m in ws.visible_to("U0DANAONCL")
                    if m.text.startswith("grading_completeness on 2026-02-05")
                ),
                None,
            ),
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
        slack.stop()


def test_a_terminated_sandbox_withdraws_its_address(
    sandbox_process: Running,
) -> None:
    """Stopped in order (143, its address withdrawn), not by the stop watchdog: a stop that hung
    would end at STOP_GRACE_S with every thread's stack in its output, shown here."""
    process = sandbox_process.process
    address = Path(os.environ["OPSBOT_CACHE_DIR"]) / "running-sandbox.json"
    assert address.exists()  # published while it runs: --sandbox commands attach to it
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=STOP_GRACE_S + 10) == 143
    said = sandbox_process.rest_of_output()
    assert STOP_HUNG_MARK not in said, said
    assert not address.exists()
