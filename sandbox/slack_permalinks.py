"""Slack's permalinks, under the console's own origin: a link people read opens in the console.

chat.getPermalink answers `https://<workspace>.slack.com/archives/<channel>/p<ts without its dot>`
and, for a reply in a thread, the same with `?thread_ts=<its parent's ts>&cid=<channel>` (the two
example answers on docs.slack.dev/reference/methods/chat.getPermalink). The emulated workspace
lives at the emulator's base URL, where it serves the console: the permalink keeps Slack's path
under that origin, and the console answers such a path by opening the channel at the message,
and a reply in its thread pane (sandbox/console.html, `permalinkTarget`).
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

from sandbox.slack_objects import Message

# Slack's channel and message links: /archives/<channel>[/p<ts without its dot>]
ARCHIVE_PATH = re.compile(r"/archives/[A-Z0-9]+(?:/p\d{7,})?/?")
CONSOLE_PATHS = frozenset({"/", "/console"})


def permalink(base_url: str, message: Message) -> str:
    """The message's permalink in the workspace at `base_url` (the console's origin)."""
    link = f"{base_url.rstrip('/')}/archives/{message.channel}/p{message.ts.replace('.', '')}"
    if message.thread_ts is not None and message.thread_ts != message.ts:  # a reply
        link += "?" + urlencode({"thread_ts": message.thread_ts, "cid": message.channel})
    return link


def serves_console(path: str) -> bool:
    """The console answers at its own paths and at every permalink's (a deep link into it)."""
    return path in CONSOLE_PATHS or ARCHIVE_PATH.fullmatch(path) is not None
