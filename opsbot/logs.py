"""How opsbot logs: one JSON object a line when serving (Cloud Logging's structured entries),
readable lines in a terminal.

Cloud Run turns each stderr line into a log entry; a JSON line becomes a structured entry whose
`severity` and `message` Cloud Logging reads, so a traceback stays whole in one entry.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import IO, Literal

from bot.log_context import RequestContext

LogFormat = Literal["auto", "json", "text"]
OURS = "opsbot"
FIELDS = ("error_ref", "rollout_id", "backfill_id", "slack", "audit")
TEXT = "%(levelname)s %(name)s: %(message)s"


class TextLines(logging.Formatter):
    """A readable line; when serving, stamped with its UTC time and naming its rollout, so a
    terminal's log says when and which rollout (JSON carries both as fields)."""

    default_time_format = "%Y-%m-%dT%H:%M:%S"
    default_msec_format = "%s.%03dZ"

    def __init__(self, *, serving: bool) -> None:
        super().__init__(f"%(asctime)s {TEXT}" if serving else TEXT)
        self.serving = serving
        self.converter = lambda seconds: time.gmtime(seconds)  # UTC, as the Z says

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        rollout = getattr(record, "rollout_id", None)
        return f"{line} [rollout #{rollout}]" if self.serving and rollout is not None else line


class JsonLines(logging.Formatter):
    """A record as Cloud Logging's structured JSON: severity, message, time, and our fields."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if record.exc_info:
            message = f"{message}\n{self.formatException(record.exc_info)}"
        entry: dict[str, object] = {
            "severity": record.levelname if record.levelno != logging.WARN else "WARNING",
            "message": message,
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "logger": record.name,
        }
        for field in FIELDS:
            value = getattr(record, field, None)
            if value is not None:
                entry[field] = value
        return json.dumps(entry, default=str)


def configure_logging(
    format: LogFormat = "text", *, stream: IO[str] | None = None, serving: bool = False
) -> logging.Handler:
    """Route every log line through one handler on stderr (or `stream`); returns it.

    `auto`: JSON when serving without a terminal (Cloud Run, a container), text otherwise.
    opsbot's own loggers say INFO and up when serving (every mutation), others WARNING and up.
    """
    out = stream or sys.stderr
    as_json = format == "json" or (format == "auto" and serving and not out.isatty())
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonLines() if as_json else TextLines(serving=serving))
    handler.addFilter(RequestContext())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger(OURS).setLevel(logging.INFO if serving else logging.WARNING)
    logging.getLogger("google.auth").setLevel(logging.ERROR)  # we say what to do ourselves
    return handler
