"""What Slack delivers to an app: signed slash commands and interaction payloads, over HTTP."""

from __future__ import annotations

import json
import secrets
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

ACK_TIMEOUT_S = 3.0  # Slack gives up on an app after this long


@dataclass(frozen=True)
class Delivery:
    """The app's HTTP answer to one delivery, and how long it took."""

    status: int
    body: str
    seconds: float
    timed_out: bool = False

    def json(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body) if self.body.strip() else {}
        return parsed


class SlackSender:
    """Signs and posts to the app's request URL the way Slack does (v0 HMAC-SHA256)."""

    def __init__(
        self, request_url: str, signing_secret: str, timeout_s: float = ACK_TIMEOUT_S
    ) -> None:
        self.request_url = request_url
        self.signing_secret = signing_secret
        self.timeout_s = timeout_s

    def signed_headers(
        self, body: str, *, timestamp: int | None = None, secret: str | None = None
    ) -> dict[str, str]:
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        signature = SignatureVerifier(secret or self.signing_secret).generate_signature(
            timestamp=stamp, body=body
        )
        assert signature is not None
        return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}

    def send(
        self,
        body: str,
        content_type: str,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        retry_num: int | None = None,
    ) -> Delivery:
        headers = {
            "Content-Type": content_type,
            **self.signed_headers(body, timestamp=timestamp, secret=secret),
        }
        if retry_num is not None:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        request = urllib.request.Request(self.request_url, body.encode(), headers, method="POST")
        started = time.perf_counter()
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as answer:
                text = answer.read().decode()
                return Delivery(answer.status, text, time.perf_counter() - started)
        except urllib.error.HTTPError as exc:
            return Delivery(exc.code, exc.read().decode(), time.perf_counter() - started)
        except TimeoutError:
            return Delivery(0, "", time.perf_counter() - started, timed_out=True)

    def slash_command(self, fields: dict[str, str], **options: Any) -> Delivery:
        return self.send(urlencode(fields), "application/x-www-form-urlencoded", **options)

    def interaction(self, payload: dict[str, Any], **options: Any) -> Delivery:
        body = urlencode({"payload": json.dumps(payload)})
        return self.send(body, "application/x-www-form-urlencoded", **options)

    def event(self, envelope: dict[str, Any], **options: Any) -> Delivery:
        """An Events API request: the `event_callback` envelope as a JSON body."""
        return self.send(json.dumps(envelope), "application/json", **options)


def trigger_id() -> str:
    return f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}"
