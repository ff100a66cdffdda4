"""Slack's retries of requests already acknowledged: recognised, answered 200, and not acted on.

Slack sends a request again, with `X-Slack-Retry-Num`, when it did not see a 2xx acknowledgement
within 3 s, when the connection failed, or when the answer was not 2xx (Slack's documented
failure conditions for request URLs: http_timeout, connection_failed, http_error, ...). So a
retry means either "your ack came late" (the work is under way: acting again would post a second
report or click a button twice) or "you never answered" (a replica killed mid-request: nothing
was done, and dropping the retry would lose the click).

Each delivery is known by its `trigger_id` (commands and interactions) or `event_id` (events).
A delivery counts as served once it was acknowledged (a 2xx sent), in this process from the
moment it arrives (it is answering) and, for the other replicas, in the store once acknowledged.
A retry of a delivery that no replica acknowledged is acted on (found by the chaos soak, seed
12: a Start click whose replica was killed before answering was recorded at arrival, and
Slack's retry to the other replica was dropped, so the rollout never started).

Acknowledged deliveries reach the store in batches, at most every WRITE_EVERY_S: a transaction
costs about the same for one key as for fifty, and written as they came (each batch whatever
arrived while the previous one was written) the batches were one or two keys long, which cost
the bot as much CPU per acknowledgement as the whole of a minimal Bolt app's acknowledgement
(bench/README.md, "The ack path under load"). So that a retry reaching another replica while
the acknowledgement is still waiting to be written is not acted on, a retry the store says it
has not seen is asked about once more, RECHECK_S later: longer than a batch waits.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import parse_qs

from bot.request_gate import Reading

log = logging.getLogger("opsbot.server")
REMEMBER_S = 3600.0  # Slack retries within minutes; an hour is ample
REMEMBERED_MAX = 20_000
WRITE_EVERY_S = 0.05  # an acknowledged delivery waits at most this long to be written (batched)
RECHECK_S = 0.25  # a retry the store has not seen is asked about again after this long


def delivery_key(body: bytes) -> str | None:
    """What names this delivery across Slack's retries, if it has such a name."""
    text = body.decode("utf-8", "replace")
    if text.startswith("{"):
        event = _json(text)
        return f"event:{event['event_id']}" if isinstance(event.get("event_id"), str) else None
    fields = parse_qs(text)
    if "payload" in fields:
        fields = {k: [str(v)] for k, v in _json(fields["payload"][0]).items()}
    trigger = fields.get("trigger_id", [""])[0]
    return f"trigger:{trigger}" if trigger else None


def delivery_key_of(body: bytes, reading: Reading) -> str | None:
    """`delivery_key(body)` from what the gate already parsed (bot/request_gate.py), for a body
    it let through; the same answer, without parsing the form or the JSON a second time.

    parse_qs without blank values (as delivery_key reads) is parse_qs with them, less the blank
    ones; the gate reads the first `payload` as JSON and lets it through only when that is an
    object. Anything else (a body starting with "{" sent as a form, JSON with leading blanks, an
    ssl_check with a payload) is read again by delivery_key itself.
    """
    text, fields, parsed = reading.text, reading.fields, reading.parsed
    if reading.problem is not None or text is None:
        return delivery_key(body)
    if text.startswith("{"):
        if fields is None and isinstance(parsed, dict):  # the event envelope, as read
            event_id = parsed.get("event_id")
            return f"event:{event_id}" if isinstance(event_id, str) else None
        return delivery_key(body)
    if fields is None:
        return delivery_key(body)
    if "payload" in fields:
        if not (isinstance(parsed, dict) and fields["payload"][0]):
            return delivery_key(body)
        trigger = str(parsed["trigger_id"]) if "trigger_id" in parsed else ""
    else:
        trigger = next((value for value in fields.get("trigger_id", ()) if value), "")
    return f"trigger:{trigger}" if trigger else None


def _json(text: str) -> dict[str, object]:
    try:
        found = json.loads(text)
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


class Deliveries:
    """Which deliveries were served; `seen_durably` asks the shared store (blocking).

    Acknowledged deliveries are written for the other replicas in batches, off the
    acknowledgement path: one writer at a time takes every key acknowledged in the last
    `write_every_s` (one statement and one commit for all of them, instead of a transaction per
    request or two, whose CPU competes with the acknowledgements under load); a retry the store
    has not seen is asked about again `recheck_s` later, past any batch still waiting.
    """

    def __init__(
        self,
        seen_durably: Callable[[str], bool] | None = None,
        remember_durably: Callable[[list[str]], None] | None = None,
        forget_durably: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        *,
        write_every_s: float = WRITE_EVERY_S,
        recheck_s: float = RECHECK_S,
    ) -> None:
        """`seen_durably(key)` reads whether any replica acknowledged it; `remember_durably(keys)`
        records many at once; `forget_durably(seconds)` drops records older than that (hourly)."""
        if recheck_s <= write_every_s:
            raise ValueError("a retry must be asked about again after any batch has been written")
        self._write_every_s, self._recheck_s = write_every_s, recheck_s
        self._seen_durably = seen_durably
        self._remember = remember_durably
        self._forget_durably = forget_durably
        self._clock = clock
        self._served: OrderedDict[str, float] = OrderedDict()
        self._pruned_at = clock()
        self._pending: list[str] = []
        self._writing: asyncio.Task[None] | None = None  # held until done (asyncio keeps none)

    async def is_repeat(self, body: bytes, retry_num: str | None) -> bool:
        """Whether this request repeats one already served (only Slack's retries are asked)."""
        return await self.is_repeat_of(delivery_key(body), retry_num)

    async def is_repeat_of(self, key: str | None, retry_num: str | None) -> bool:
        """`is_repeat`, for the delivery named `key` (delivery_key_of: the body read once)."""
        if key is None:
            return False
        self._forget_old()
        if retry_num is not None and key in self._served:
            return True  # this process is answering it, or answered it
        self._served[key] = self._clock()
        if retry_num is None or self._seen_durably is None:
            return False
        seen = await asyncio.to_thread(self._seen_elsewhere, key)
        if seen is not False:  # seen, or the store cannot say (then acting beats losing it)
            return bool(seen)
        await asyncio.sleep(self._recheck_s)  # a replica's acknowledgement may be in its batch
        return bool(await asyncio.to_thread(self._seen_elsewhere, key))

    def answered(self, body: bytes, status: int) -> None:
        """After the answer: a 2xx is recorded for the other replicas; anything else forgotten,
        so that Slack's retry of it is acted on."""
        self.answered_of(delivery_key(body), status)

    def answered_of(self, key: str | None, status: int) -> None:
        """`answered`, for the delivery named `key`."""
        if key is None:
            return
        if not 200 <= status < 300:
            self._served.pop(key, None)
            return
        if self._remember is None:
            return
        self._pending.append(key)
        if self._writing is None or self._writing.done():
            self._writing = asyncio.create_task(self._write_pending())

    async def _write_pending(self) -> None:
        """Batches until none is left: each takes what was acknowledged in `write_every_s` (and
        while the previous batch was written)."""
        while self._pending:
            await asyncio.sleep(self._write_every_s)
            batch, self._pending = self._pending, []
            await asyncio.to_thread(self._record_batch, batch)

    async def recorded(self) -> None:
        """Until every delivery acknowledged so far is in the store (what a replica may ask)."""
        while self._writing is not None and not self._writing.done():
            await asyncio.shield(self._writing)

    def _record_batch(self, keys: list[str]) -> None:
        assert self._remember is not None
        try:
            self._prune_durably()
            self._remember([f"delivery:{key}" for key in keys])
        except Exception as exc:  # without the store, this process's memory still answers
            log.warning("could not record %d deliveries in the store: %s", len(keys), exc)

    def _prune_durably(self) -> None:
        if self._forget_durably is not None and self._clock() - self._pruned_at > REMEMBER_S:
            self._pruned_at = self._clock()
            self._forget_durably(REMEMBER_S)

    def _seen_elsewhere(self, key: str) -> bool | None:
        """Whether another replica acknowledged it (None when the store cannot say)."""
        assert self._seen_durably is not None
        try:
            return self._seen_durably(f"delivery:{key}")
        except Exception as exc:  # without the store, acting is better than losing the request
            log.warning("could not read delivery %s from the store: %s", key, exc)
            return None

    def _forget_old(self) -> None:
        oldest = self._clock() - REMEMBER_S
        while self._served and (
            next(iter(self._served.values())) < oldest or len(self._served) > REMEMBERED_MAX
        ):
            self._served.popitem(last=False)
