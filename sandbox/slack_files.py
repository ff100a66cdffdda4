"""Slack's external file upload, as slack_sdk's `files_upload_v2` drives it.

As documented (docs.slack.dev, files.getUploadURLExternal and files.completeUploadExternal):
1. `files.getUploadURLExternal` with `filename` and `length` (bytes) answers an `upload_url` and a
   `file_id`;
2. the client POSTs the file's bytes to that URL (200 when received);
3. `files.completeUploadExternal` with `files` (a JSON array of `{"id", "title"}`) finishes it;
   with `channel_id` the file is shared there, introduced by `initial_comment`, and with
   `thread_ts` as a reply in that thread; without a channel the file stays private.
Both methods need the `files:write` scope. A file completed before its bytes arrived is
`file_not_found`, as is an id never issued.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandbox.slack_objects import BOT_USER, SlackError

if TYPE_CHECKING:
    from sandbox.slack_workspace import Workspace

UPLOAD_PATH = "/upload/v1/"


@dataclass
class StoredFile:
    id: str
    name: str
    length: int
    content: bytes | None = None
    title: str = ""

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "title": self.title or self.name,
            "size": len(self.content or b""),
            "mimetype": "text/markdown" if self.name.endswith(".md") else "text/plain",
            "url_private": f"https://files.sandbox.slack.test/files-pri/{self.id}/{self.name}",
        }


class SlackFiles:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace
        self.files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()

    def call(self, method: str, args: dict[str, Any], base_url: str) -> dict[str, Any]:
        if "files:write" not in self.workspace.scopes:
            raise SlackError("missing_scope")
        if method == "files.getUploadURLExternal":
            return self._upload_url(args, base_url)
        if method == "files.completeUploadExternal":
            return self._complete(args)
        raise SlackError("unknown_method")

    def _upload_url(self, args: dict[str, Any], base_url: str) -> dict[str, Any]:
        name = str(args.get("filename") or "")
        length = str(args.get("length") or "")
        if not name or not length.isdigit() or int(length) <= 0:
            raise SlackError("invalid_arguments")
        with self._lock:
            file_id = f"F0SANDBOX{len(self.files) + 1:03d}"
            self.files[file_id] = StoredFile(file_id, name, int(length))
        return {"upload_url": f"{base_url}{UPLOAD_PATH}{file_id}", "file_id": file_id}

    def receive(self, file_id: str, content: bytes) -> bool:
        """The bytes POSTed to an upload URL; False for an id never issued."""
        with self._lock:
            stored = self.files.get(file_id)
            if stored is None:
                return False
            stored.content = content
            return True

    def _complete(self, args: dict[str, Any]) -> dict[str, Any]:
        try:
            wanted = args.get("files")
            listed = json.loads(wanted) if isinstance(wanted, str) else wanted
        except json.JSONDecodeError:
            raise SlackError("invalid_arguments") from None
        if not isinstance(listed, list) or not listed:
            raise SlackError("invalid_arguments")
        done = []
        with self._lock:
            for item in listed:
                stored = self.files.get(str(item.get("id")))
                if stored is None or stored.content is None:
                    raise SlackError("file_not_found")
                stored.title = str(item.get("title") or stored.name)
                done.append(stored)
        channel = args.get("channel_id")
        if channel:
            ws = self.workspace
            ws.ensure_member(ws.channel(channel))
            thread = str(args["thread_ts"]) if args.get("thread_ts") else None
            if thread is not None:
                ws.thread_parent(ws.channel(channel).id, thread)
            comment = str(args.get("initial_comment") or "")
            shared = ws.post(channel, comment or " ", None, BOT_USER.id, None, thread)
            shared.files = [
                f.to_api() | {"preview": (f.content or b"")[:2000].decode(errors="replace")}
                for f in done
            ]
        return {"files": [f.to_api() for f in done]}
