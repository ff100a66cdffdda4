"""Listener middleware that parses a request once into its typed payload, or refuses it.

A listener is wired with `Parsed(Model)` (and, for a button, the ButtonValue its value must be)
in front of its role check; it then reads `payload(context, Model)` and `value(context, Kind)`.
A signed request that does not parse never reaches the listener, and is never a 500:
- a slash command is answered in its acknowledgement (an ephemeral line Slack shows its caller);
- a button whose value is not one opsbot drew says so ephemerally, through its response_url;
- anything else gets a 400 (Slack shows its own "could not be completed" notice);
each with one log line naming what did not parse (never the values sent).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.actions import ButtonValue
from bot.payloads import Click, Command, EventEnvelope

log = logging.getLogger("opsbot.slack")
M = TypeVar("M", bound=BaseModel)
V = TypeVar("V", bound=ButtonValue)
OLD_BUTTON = "this button is from an older version of opsbot; run the command again"
JSON: dict[str, str | Sequence[str]] = {"content-type": "application/json;charset=utf-8"}


class Parsed(AsyncMiddleware):
    """The body as `model` at context["payload"]; a button's value as `value` at context["value"].

    A click with nowhere to answer it (no response_url, as from a button in a view) is logged
    in one line and answered with nothing, unless `from_views` says the listener answers there.
    """

    def __init__(
        self,
        model: type[BaseModel],
        value: type[ButtonValue] | None = None,
        *,
        from_views: bool = False,
    ) -> None:
        self.model, self.value, self.from_views = model, value, from_views

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        try:
            parsed = self.model.model_validate(req.body)
        except ValidationError as exc:
            return refuse(req.body, self.model.__name__, exc)
        req.context["payload"] = parsed.event if isinstance(parsed, EventEnvelope) else parsed
        if isinstance(parsed, Click) and parsed.response_url is None and not self.from_views:
            log.warning(
                "ignored a %s click: nothing to answer (no response_url%s)",
                parsed.actions[0].action_id,  # one of ours: Bolt matched it to this listener
                ", from a view" if parsed.container.type == "view" else "",
            )
            return BoltResponse(status=200, body="")
        if self.value is not None and isinstance(parsed, Click):
            try:
                req.context["value"] = self.value.model_validate_json(parsed.value or "")
            except ValidationError as exc:
                log.warning(
                    "refused a click whose value is not a %s: %s", self.value.__name__, _where(exc)
                )
                if parsed.response_url and req.context.respond is not None:
                    await req.context.respond(
                        text=f":warning: {OLD_BUTTON}",
                        response_type="ephemeral",
                        replace_original=False,
                    )
                    return BoltResponse(status=200, body="")
                return BoltResponse(status=400, body=OLD_BUTTON)
        return await next()


def refuse(body: Any, kind: str, error: ValidationError) -> BoltResponse:
    """The answer to a signed request whose payload is not the `kind` Slack sends."""
    log.warning("refused a signed %s payload that does not parse: %s", kind, _where(error))
    if kind == Command.__name__:
        said = {
            "response_type": "ephemeral",
            "text": ":warning: opsbot could not read this command as Slack sends it; type it again.",
        }
        return BoltResponse(status=200, body=json.dumps(said), headers=JSON)
    return BoltResponse(status=400, body=f"not a {kind} payload opsbot can read")


def _where(error: ValidationError) -> str:
    """The first failing field and why, without the value sent (it may be anything)."""
    first = error.errors(include_input=False, include_url=False)[0]
    place = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{place}: {first['msg']}"[:200]


def payload(context: AsyncBoltContext, kind: type[M]) -> M:
    """The request's parsed payload (wired with Parsed(kind))."""
    found = context["payload"]
    assert isinstance(found, kind), f"wired without Parsed({kind.__name__})"
    return found


def value(context: AsyncBoltContext, kind: type[V]) -> V:
    """The clicked button's parsed value (wired with Parsed(Click, kind))."""
    found = context["value"]
    assert isinstance(found, kind), f"wired without Parsed(Click, {kind.__name__})"
    return found
