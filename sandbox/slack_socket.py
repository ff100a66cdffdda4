"""Socket Mode as Slack documents it, for an app that connects instead of serving HTTP.

The app calls `apps.connections.open` with its app-level token (xapp-…) and gets a one-use
WebSocket URL; on connecting it receives `{"type": "hello", …}`. Each thing a person does then
arrives as an envelope (`{"envelope_id", "type": "slash_commands" | "interactive", "payload",
"accepts_response_payload"}`), and the app acknowledges it within 3 seconds by sending
`{"envelope_id": …, "payload": {…}}` back on the socket; the payload is the message an HTTP
app would have put in its response body. The hub runs on its own event loop in a thread.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import socket
import threading
import time
from concurrent.futures import Future
from typing import Any

from aiohttp import WSMsgType, web

from sandbox.slack_delivery import ACK_TIMEOUT_S, Delivery


class SocketModeHub:
    """WebSocket connections of Socket Mode apps, and envelopes sent over them."""

    def __init__(self, app_id: str = "A0OPSBOT00") -> None:
        self.app_id = app_id
        self.port = 0
        self._tickets: set[str] = set()
        self._sockets: list[web.WebSocketResponse] = []
        self._acks: dict[str, Future[dict[str, Any]]] = {}
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._connected = threading.Condition()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="socket-mode", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._serve(), self._loop).result(timeout=10)

    async def _serve(self) -> None:
        app = web.Application()
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listening.bind(("127.0.0.1", 0))
        self.port = listening.getsockname()[1]
        await web.SockSite(self._runner, listening).start()

    def new_url(self) -> str:
        """apps.connections.open: a URL good for one connection."""
        ticket = secrets.token_hex(16)
        with self._connected:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{self.port}/link?ticket={ticket}"

    async def _link(self, request: web.Request) -> web.StreamResponse:
        ticket = request.query.get("ticket", "")
        with self._connected:
            known = ticket in self._tickets
            self._tickets.discard(ticket)
        if not known:
            return web.Response(status=401, text="invalid or used ticket")
        link = web.WebSocketResponse()
        await link.prepare(request)
        await link.send_json(
            {
                "type": "hello",
                "num_connections": len(self._sockets) + 1,
                "debug_info": {"host": "sandbox", "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            }
        )
        with self._connected:
            self._sockets.append(link)
            self._connected.notify_all()
        try:
            async for message in link:
                if message.type is not WSMsgType.TEXT:
                    continue
                ack = json.loads(message.data)
                waiting = self._acks.pop(str(ack.get("envelope_id", "")), None)
                if waiting is not None and not waiting.done():
                    waiting.set_result(ack)
        finally:
            with self._connected:
                if link in self._sockets:
                    self._sockets.remove(link)
        return link

    def wait_connected(self, timeout_s: float = 30.0) -> bool:
        with self._connected:
            return self._connected.wait_for(lambda: bool(self._sockets), timeout=timeout_s)

    @property
    def connected(self) -> bool:
        return bool(self._sockets)

    def deliver(
        self, kind: str, payload: dict[str, Any], timeout_s: float = ACK_TIMEOUT_S
    ) -> Delivery:
        """Send one envelope; the app's ack as a Delivery (its payload as the body)."""
        with self._connected:
            if not self._sockets:
                return Delivery(0, "", 0.0, timed_out=True)
            link = self._sockets[-1]
        envelope_id = secrets.token_hex(8)
        waiting: Future[dict[str, Any]] = Future()
        self._acks[envelope_id] = waiting
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": True,
            "retry_attempt": 0,
            "retry_reason": "",
        }
        started = time.perf_counter()
        asyncio.run_coroutine_threadsafe(link.send_json(envelope), self._loop).result(timeout=5)
        try:
            ack = waiting.result(timeout=timeout_s)
        except TimeoutError:
            self._acks.pop(envelope_id, None)
            return Delivery(0, "", time.perf_counter() - started, timed_out=True)
        body = json.dumps(ack.get("payload") or {})
        return Delivery(200, body, time.perf_counter() - started)

    def slash_command(self, fields: dict[str, str], **options: Any) -> Delivery:
        return self.deliver("slash_commands", dict(fields))

    def interaction(self, payload: dict[str, Any], **options: Any) -> Delivery:
        return self.deliver("interactive", payload)

    def event(self, envelope: dict[str, Any], **options: Any) -> Delivery:
        return self.deliver("events_api", envelope)

    def stop(self) -> None:
        async def close() -> None:
            for link in list(self._sockets):
                await link.close()
            if self._runner is not None:
                await self._runner.cleanup()

        if self._thread.is_alive():
            asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=10)
