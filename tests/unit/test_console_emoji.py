"""Every emoji shortcode the bot's views send is one the console draws (not `:eyes:` as text)."""

from __future__ import annotations

import re

from tests.conftest import ROOT

SHORTCODE = re.compile(r":([a-z][a-z0-9_+-]*):")


def _console_emoji() -> set[str]:
    page = (ROOT / "sandbox" / "console.html").read_text(encoding="utf-8")
    table = re.search(r"const EMOJI = \{(.*?)\};", page, re.S)
    assert table, "the console has an EMOJI table"
    return set(re.findall(r"([a-z0-9_+-]+):\s*\"", table.group(1)))


def test_every_shortcode_in_the_bot_is_in_the_console_table() -> None:
    used = {
        name
        for path in (ROOT / "bot").rglob("*.py")
        for name in SHORTCODE.findall(path.read_text(encoding="utf-8"))
    }
    assert {"hatching_chick", "eyes", "rewind"} <= used  # the scan finds what the views send
    assert used - _console_emoji() == set()
