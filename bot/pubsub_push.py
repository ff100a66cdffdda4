"""POST /pubsub/grading-complete: Pub/Sub's push of grading completions, Google-signed.

Pub/Sub push sends `Authorization: Bearer <OIDC token>` signed by Google for the subscription's
service account, with the audience the subscription names. The token is checked by bot/oidc.py
(its shape and claims first, on the event loop; then the signature against Google's cached
certificates, expiry, issuer and audience, off it): its audience must be `[regrade]
push_audience` and its `email` one of `push_service_accounts`, verified. Anything else is 401
and changes nothing. `authorize` needs only the header, so the server checks it before it
reads any of the body, and then reads at most PUSH_MAX_BODY_BYTES of it (413 past that,
bot/server.py) for `deliver`; `handle` does both.

The body is Pub/Sub's push envelope, as Google documents it (cloud.google.com/pubsub/docs/push,
the REST reference's PubsubMessage): `{"message": {"data": <base64>, "attributes": {str: str},
"messageId": str, "publishTime": <RFC 3339>}, "subscription": "projects/…/subscriptions/…"}`.
A body that is not one is refused with 400 and one log line (naming the field, never the values
sent). An envelope whose data is not a JSON object is acknowledged: it names no date, and Pub/Sub
would only deliver it again.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from adapters.pubsub import Received, message_body
from bot.oidc import Refused, Verified, Verify
from config import RegradeConfig

log = logging.getLogger("opsbot.server")
__all__ = ["PushEndpoint", "PushEnvelope"]

# Pub/Sub's limits: a message of at most 10 MB (base64 in the envelope), at most 100 attributes,
# keys of at most 256 bytes and values of at most 1024 (cloud.google.com/pubsub/quotas).
MAX_DATA_CHARS = 4 * (10 * 2**20 // 3 + 1)
# The largest push body read (after its token is checked): a message of 10 MB, base64 in the
# envelope, and 1 MiB for the rest: 100 attributes of 1,280 bytes JSON-escaped (at most 6 bytes
# a byte: 768,000), its ids, publish time and subscription name.
PUSH_MAX_BODY_BYTES = MAX_DATA_CHARS + 2**20
AttributeKey = Annotated[str, StringConstraints(min_length=1, max_length=256)]
AttributeValue = Annotated[str, StringConstraints(max_length=1024)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=255)]


class PushedMessage(BaseModel):
    """A PubsubMessage as push delivers it (other fields, e.g. `message_id`, are ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True, populate_by_name=True)

    data: Annotated[str, StringConstraints(max_length=MAX_DATA_CHARS)] = ""
    attributes: dict[AttributeKey, AttributeValue] = Field(default_factory=dict, max_length=100)
    message_id: Name = Field(alias="messageId")
    publish_time: Annotated[str, StringConstraints(max_length=64)] | None = Field(
        default=None, alias="publishTime"
    )

    @field_validator("data")
    @classmethod
    def _base64(cls, data: str) -> str:
        try:
            base64.b64decode(data, validate=True)
        except ValueError:  # binascii.Error, or a character outside ASCII
            raise ValueError("not base64") from None
        return data

    def decoded(self) -> bytes:
        return base64.b64decode(self.data)


class PushEnvelope(BaseModel):
    """The body of one push."""

    model_config = ConfigDict(extra="ignore", frozen=True, strict=True)

    message: PushedMessage
    subscription: Name


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

    async def authorize(self, authorization: str) -> Verified | None:
        """The token's claims when it is Google's, for our audience, from an allowed account;
        else None, the refusal logged in one line (why, and the token's short hash)."""
        config = self.config
        if not config.push_audience or not config.push_service_accounts:
            log.warning(
                "refused a Pub/Sub push: the push endpoint is not configured ([regrade] "
                "push_audience and push_service_accounts)"
            )
            return None
        checked = await self.verify.check(
            authorization, config.push_audience, config.push_service_accounts
        )
        if isinstance(checked, Refused):
            log.warning("refused a Pub/Sub push: %s", checked)
            return None
        return checked

    async def handle(self, authorization: str, body: bytes) -> int:
        """The HTTP status for one push: 401 unauthorized, 400 not an envelope, else 204."""
        if await self.authorize(authorization) is None:
            return 401
        return await self.deliver(body)

    async def deliver(self, body: bytes) -> int:
        """The status for an authorized push's body: 400 not an envelope, else 204."""
        try:
            envelope = PushEnvelope.model_validate_json(body)
        except ValidationError as exc:
            log.warning("refused a Pub/Sub push that is not a push envelope: %s", _where(exc))
            return 400
        message = envelope.message
        received = Received(
            ack_id="",
            message_id=message.message_id,
            body=message_body(message.decoded()),
            attributes=dict(message.attributes),
        )
        await self.on_completions([received])
        return 204  # acknowledged: Pub/Sub does not deliver it again


def _where(error: ValidationError) -> str:
    """The first field that is not as Google sends it, and why (never the value sent)."""
    first = error.errors(include_input=False, include_url=False)[0]
    place = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{place}: {first['msg']}"[:200]
