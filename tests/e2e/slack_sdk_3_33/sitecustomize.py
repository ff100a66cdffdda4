"""slack_sdk as our pin's lower bound (3.33) builds URLs, for a process with this folder on its
PYTHONPATH: the base URL is kept as given, so `http://host/api` joined with `chat.postMessage` is
`http://host/chat.postMessage` (slack_sdk appends the slash itself only from 3.34 on)."""

from __future__ import annotations

from typing import Any

from slack_sdk.web import base_client

_init = base_client.BaseClient.__init__


def _base_url_as_given(
    self: base_client.BaseClient, token: str | None = None, base_url: str = "", **options: Any
) -> None:
    _init(self, token, base_url or base_client.BaseClient.BASE_URL, **options)
    self.base_url = base_url or base_client.BaseClient.BASE_URL


base_client.BaseClient.__init__ = _base_url_as_given  # type: ignore[method-assign, assignment]
