"""Tools that cannot open at start-up are tried again, each failure said in one line."""

from __future__ import annotations

import logging

import pytest

import bot.open_patiently as patiently
from commands.platform import PlatformUnavailable


async def test_tools_that_fail_to_open_are_retried_and_each_failure_is_one_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(patiently, "RETRY_S", 0.0)
    attempts: list[int] = []

    def open_tools() -> str:
        attempts.append(1)
        if len(attempts) < 3:
            raise PlatformUnavailable("no Google credentials: run `gcloud auth ...`")
        return "tools"

    log = logging.getLogger("opsbot.test")
    assert await patiently.open_patiently(open_tools, "backfills", log) == "tools"
    failures = [r for r in caplog.records if r.name == "opsbot.test"]
    assert len(failures) == 2 and all(r.exc_info is None for r in failures)  # no traceback
    assert "backfills not resumed yet" in failures[0].getMessage()
    assert "no Google credentials" in failures[0].getMessage()
