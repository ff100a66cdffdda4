"""The Slack emulator's HTTP face: the Web API, response_url posts, and the console's page and calls."""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

from sandbox.slack_files import UPLOAD_PATH
from sandbox.slack_permalinks import serves_console
from sandbox.slack_workspace import BOT_USER, SlackError

if TYPE_CHECKING:
    from sandbox.slack_emulator import SlackEmulator

LONG_POLL_S = 20.0


class SlackServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # as json_http's server: no SYN dropped when many connect at once

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away (a stopped bot, a closed tab) is not an emulator error."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class SlackHandler(BaseHTTPRequestHandler):
    disable_nagle_algorithm = True  # as json_http's handler: no 40 ms delayed-ACK stall per call
    emulator: SlackEmulator
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(
        self, code: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, code: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        self._send(code, json.dumps(body).encode(), "application/json; charset=utf-8", headers)

    def _args(self) -> tuple[dict[str, Any], str | None]:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length).decode() if length else ""
        token = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ").strip()
        if "json" in self.headers.get("Content-Type", ""):
            args: dict[str, Any] = json.loads(raw) if raw else {}
        else:
            args = {k: v[-1] for k, v in parse_qs(raw).items()}
            for key in ("blocks", "view", "attachments"):
                if isinstance(args.get(key), str):
                    try:
                        args[key] = json.loads(args[key])
                    except json.JSONDecodeError:
                        raise SlackError(f"invalid_{key}_format") from None
        query = {k: v[-1] for k, v in parse_qs(urlsplit(self.path).query).items()}
        args = query | args
        if token is None and isinstance(args.get("token"), str):
            token = args.pop("token")
        return args, token

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        if serves_console(parts.path):  # the console, or a permalink opening in it
            page = resources.files("sandbox").joinpath("console.html").read_bytes()
            self._send(200, page, "text/html; charset=utf-8")
        elif parts.path == "/favicon.ico":
            self._send(204, b"", "image/x-icon")
        elif parts.path == "/console/api/state":
            self._json(200, self._state(query))
        elif parts.path.startswith("/api/"):  # Slack's Web API takes GET query strings too
            self.do_POST()
        else:
            self._json(404, {"ok": False, "error": "not_found"})

    def _state(self, query: dict[str, str]) -> dict[str, Any]:
        ws = self.emulator.workspace
        after = int(query.get("after", "-1"))
        version = ws.wait_for_change(after, min(float(query.get("wait", LONG_POLL_S)), LONG_POLL_S))
        user = query.get("user", "")
        views = [  # with what Slack shows in it: a banner, errors under fields
            {
                "id": v.id,
                "view": v.stack[-1] if v.stack else v.view,
                "error": ws.view_errors.get(v.id),
                "errors": ws.field_errors.get(v.id, {}),
            }
            for v in list(ws.views.values())
            if v.user == user
        ]
        return {
            "version": version,
            "channels": [{"id": c.id, "name": c.name} for c in ws.channels.values()],
            "users": [
                {"id": u.id, "name": u.name, "title": u.title}
                for u in ws.users.values()
                if u.id != BOT_USER.id
            ],
            "bot": BOT_USER.id,
            "app": {"id": BOT_USER.id, "name": BOT_USER.name},
            "home": ws.homes.get(user),  # the Home tab views.publish set for this person
            "messages": [m.to_json() for m in ws.visible_to(user)],
            "views": views,
            "shortcuts": [
                {"callback_id": k, "name": v} for k, v in self.emulator.shortcuts.items()
            ],
        }

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        if path.startswith(UPLOAD_PATH):  # a file's bytes, not form fields (files_upload_v2)
            length = int(self.headers.get("Content-Length") or 0)
            received = self.emulator.files.receive(
                path.removeprefix(UPLOAD_PATH), self.rfile.read(length)
            )
            self._send(200 if received else 404, b"OK" if received else b"not found", "text/plain")
            return
        try:
            args, token = self._args()
            if path.startswith("/api/"):
                method = path.removeprefix("/api/")
                try:
                    answer = self.emulator.call(method, token, args)
                except SlackError as exc:
                    self.emulator.workspace.rejections.append((method, exc.error))
                    raise
                scopes = {"X-OAuth-Scopes": ",".join(self.emulator.workspace.scopes)}
                self._json(200, {"ok": True, **answer}, scopes)
            elif path.startswith("/response/"):
                self.emulator.workspace.respond(path.removeprefix("/response/"), args)
                self._send(200, b"ok", "text/plain")
            elif path.startswith("/console/api/"):
                self._json(200, self._console(path.removeprefix("/console/api/"), args))
            else:
                self._json(404, {"ok": False, "error": "not_found"})
        except SlackError as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
            self._json(exc.status, exc.body(), headers)
        except json.JSONDecodeError:
            self._json(200, {"ok": False, "error": "invalid_json"})

    def _console(self, action: str, args: dict[str, Any]) -> dict[str, Any]:
        """What the console page asks for: the person's actions, delivered to the app."""
        emulator, ws = self.emulator, self.emulator.workspace
        user = str(args.get("user", ""))
        if action == "command":
            line = str(args.get("text", ""))
            if not line.startswith("/"):
                thread = str(args["thread_ts"]) if args.get("thread_ts") else None
                if thread is not None:  # a reply typed in the thread pane
                    ws.thread_parent(ws.channel(args.get("channel")).id, thread)
                message = ws.post(args.get("channel"), line, None, user, None, thread)
                return {"ok": True, "ts": message.ts}
            delivery = emulator.command(user, str(args.get("channel")), line)
        elif action == "home":  # the person opened the app's Home tab
            delivery = emulator.open_home(user)
        elif action == "click":
            message = ws.find(str(args.get("channel")), str(args.get("ts")))
            delivery = emulator.click(user, message, str(args.get("action_id")), args.get("value"))
        elif action == "shortcut":  # a message shortcut from the message's "⋯" menu
            message = ws.find(str(args.get("channel")), str(args.get("ts")))
            delivery = emulator.message_action(user, message, str(args.get("callback_id")))
        elif action == "submit":
            delivery = emulator.submit_view(
                user, str(args.get("view_id")), args.get("values") or {}
            )
        elif action == "close":
            ws.close_view(str(args.get("view_id")))
            return {"ok": True}
        else:
            raise SlackError("unknown_method")
        return {
            "ok": delivery.status == 200,
            "status": delivery.status,
            "seconds": round(delivery.seconds, 3),
        }
