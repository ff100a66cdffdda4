"""manifest.yml declares what the app serves, and the Dockerfile passes hadolint."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from bot.app import MESSAGE_SHORTCUTS, SLASH_COMMANDS
from commands.doctor import SLACK_SCOPES
from sandbox.slack_workspace import BOT_SCOPES

ROOT = Path(__file__).resolve().parents[2]


def _manifest() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((ROOT / "manifest.yml").read_text())
    return loaded


def test_the_manifest_declares_exactly_the_commands_the_app_answers() -> None:
    commands = _manifest()["features"]["slash_commands"]
    assert sorted(c["command"] for c in commands) == sorted(SLASH_COMMANDS)
    assert {c["url"] for c in commands} == {"https://OPSBOT_HOST/slack/events"}


def test_the_manifest_declares_exactly_the_message_shortcuts_the_app_answers() -> None:
    shortcuts = _manifest()["features"]["shortcuts"]
    assert {s["callback_id"]: s["name"] for s in shortcuts} == MESSAGE_SHORTCUTS
    assert {s["type"] for s in shortcuts} == {"message"}


def test_the_manifest_turns_on_interactivity_with_the_scopes_the_bot_uses() -> None:
    manifest = _manifest()
    assert manifest["settings"]["interactivity"] == {
        "is_enabled": True,
        "request_url": "https://OPSBOT_HOST/slack/events",
    }
    assert manifest["settings"]["socket_mode_enabled"] is False
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == {
        "commands",
        "chat:write",
        "chat:write.public",
        "channels:read",
        "groups:read",
        "channels:history",  # a rollout message a crashed replica left, found by its metadata
        "groups:history",
        "files:write",  # a postmortem's Markdown file (files_upload_v2)
    }
    assert set(SLACK_SCOPES) <= scopes  # what `opsbot doctor` checks, the manifest asks for
    assert set(BOT_SCOPES) == scopes  # and the sandbox's token is granted exactly these


def test_the_dockerfile_is_clean_under_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or "hadolint"
    done = subprocess.run(
        [hadolint, str(ROOT / "Dockerfile")], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_socket_mode_manifest_is_the_same_app_without_urls() -> None:
    http = _manifest()
    socket: dict[str, Any] = yaml.safe_load((ROOT / "manifest-socket-mode.yml").read_text())
    assert socket["settings"]["socket_mode_enabled"] is True
    assert "request_url" not in socket["settings"]["interactivity"]
    assert [c["command"] for c in socket["features"]["slash_commands"]] == [
        c["command"] for c in http["features"]["slash_commands"]
    ]
    assert all("url" not in c for c in socket["features"]["slash_commands"])
    assert socket["oauth_config"] == http["oauth_config"]
    assert socket["features"]["app_home"] == http["features"]["app_home"]
    assert socket["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened"]


def test_the_manifest_turns_on_the_home_tab_and_the_event_that_renders_it() -> None:
    manifest = _manifest()
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["settings"]["event_subscriptions"] == {
        "request_url": "https://OPSBOT_HOST/slack/events",
        "bot_events": ["app_home_opened"],
    }
