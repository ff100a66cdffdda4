"""What a serving bot's per-request platform offers: everything a terminal command's does."""

from __future__ import annotations

from pathlib import Path

import pytest

from commands.platform import PlatformUnavailable
from opsbot.platform import production_platforms
from opsbot.profile import load_profile

ROOT = Path(__file__).resolve().parents[2]


def test_a_serving_bots_platform_opens_pub_sub_as_a_commands_does(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """/regrade in Slack publishes through Pub/Sub: the per-request platform once dropped it
    ("this platform has no Pub/Sub configured", with a traceback at every start)."""
    monkeypatch.setenv("GOOGLE_APPLICATION_CREDENTIALS", str(tmp_path / "none.json"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    profile_path = ROOT / "opsbot.toml"
    platforms = production_platforms(load_profile(profile_path), profile_path)
    platform = platforms()
    with pytest.raises(PlatformUnavailable) as refused:
        platform.pubsub()  # opened: here it finds no credentials, which it says how to fix
    assert "gcloud auth application-default login" in str(refused.value)
    assert platforms() is not platform  # a fresh view per request (its own `now`)
