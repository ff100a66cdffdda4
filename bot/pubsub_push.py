"""POST /pubsub/grading-complete: Pub/Sub's push of grading completions, Google-signed.

Pub/Sub push sends `Authorization: Bearer <OIDC token>` signed by Google for the subscription's
service account, with the audience the subscription names. The token is verified with
google-auth (signature against Google's certificates, expiry, issuer, audience), and its `email`
must be one of `[regrade] push_service_accounts`, verified. Anything else is 401 and changes
nothing. The body is Pub/Sub's push envelope: `{"message": {"data", "attributes", "messageId"},
"subscription"}`.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable

from adapters.pubsub import Received
from bot.oidc import Verify, google_verifier, refusal
from config import RegradeConfig

log = logging.getLogger("opsbot.server")
__all__ = ["PushEndpoint", "Verify", "google_verifier"]  # the push endpoint is wired with these


class PushEndpoint:
    def __init__(
        self,
        config: RegradeConfig,
        verify: Verify,
        on_completions: Callable[[list[Received]], Awaitable[None]],
    ) -> None:
        self.config = config
        self.verify = verify
        self.on_completions = on_completions

    def authorized(self, authorization: str) -> str | None:
        """None when the bearer token is Google's, for our audience, from an allowed account;
        else why not (logged, never shown)."""
        if not self.config.push_audience:
            return "the push endpoint is not configured ([regrade] push_audience)"
        return refusal(
            self.verify,
            authorization,
            self.config.push_audience,
            self.config.push_service_accounts,
        )

    async def handle(self, authorization: str, body: bytes) -> int:
        """The HTTP status for one push: 401 unauthorized, 400 not an envelope, else 204."""
        refused = self.authorized(authorization)
        if refused is not None:
            log.warning("refused a Pub/Sub push: %s", refused)
            return 401
        try:
            envelope = json.loads(body)
            message = envelope["message"]
            data = json.loads(base64.b64decode(message.get("data", "")) or b"{}")
        except (ValueError, KeyError, TypeError):
            return 400
        received = Received(
            ack_id="",
            message_id=str(message.get("messageId", "")),
            body=data if isinstance(data, dict) else {},
            attributes=dict(message.get("attributes") or {}),
        )
        await self.on_completions([received])
        return 204  # acknowledged: Pub/Sub does not deliver it again
