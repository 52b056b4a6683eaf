"""One JSON object per log line, for log pipelines (`LOG_FORMAT=json`).

Every record carries `time`, `level`, `logger` and `message`; the `extra` fields a caller passed
become top-level keys (the gate's decision record arrives as one `access` object: decision,
reason, application, who, ...), so a pipeline can filter on them without parsing the message.
gunicorn's per-request records are turned into named fields the same way.
"""

from __future__ import annotations

import atexit
import json
import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from logging.handlers import QueueHandler, QueueListener
from queue import SimpleQueue
from typing import Any, TextIO

# Attributes every LogRecord has; anything else on a record came from `extra`.
_RECORD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", logging.INFO, "", 0, "", None, None)).keys()
) | {"message", "asctime", "taskName"}

# The fields a record always has: an `extra` key of the same name must not overwrite them.
_RESERVED_FIELDS = frozenset(
    {"time", "level", "logger", "message", "process", "exception", "stack"}
)

# gunicorn's access atoms (see gunicorn.glogging.Logger.atoms) under readable names.
_GUNICORN_ACCESS_FIELDS = {
    "h": "remote_addr",
    "m": "method",
    "U": "path",
    "q": "query",
    "s": "status",
    "B": "bytes",
    "M": "duration_ms",
    "a": "user_agent",
}


class JsonFormatter(logging.Formatter):
    """Format a record as one line of JSON with its `extra` fields at the top level."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "process": record.process,
        }
        for key, value in _extra_fields(record).items():
            if key in _RESERVED_FIELDS:
                key = f"extra_{key}"
            payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            payload["stack"] = self.formatStack(record.stack_info)
        # `default=str` keeps a log call from raising on a value JSON cannot carry (an IP address,
        # a datetime, a model instance): a log line must never take a request down.
        return json.dumps(payload, default=str, ensure_ascii=False, separators=(",", ":"))


def _extra_fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = {
        key: value
        for key, value in vars(record).items()
        if key not in _RECORD_ATTRIBUTES and not key.startswith("_")
    }
    if record.name == "gunicorn.access" and isinstance(record.args, Mapping):
        atoms = record.args
        for atom, name in _GUNICORN_ACCESS_FIELDS.items():
            if atom in atoms:
                fields[name] = atoms[atom]
        if str(fields.get("status", "")).isdigit():
            fields["status"] = int(fields["status"])
    return fields


class BackgroundStreamHandler(QueueHandler):
    """A stream handler whose formatting and writing happen on a thread of their own.

    The gate logs one record per decision; writing it to a pipe or a file costs tens of
    microseconds, more than the decision itself. A request only puts the record on a queue; a
    listener thread formats and writes it (in order). `setFormatter` applies to the writer, so
    `LOGGING`'s `formatter` key configures it as for any stream handler.
    """

    def __init__(self, stream: TextIO | None = None) -> None:
        self._queue: SimpleQueue[logging.LogRecord] = SimpleQueue()
        super().__init__(self._queue)
        self.writer = logging.StreamHandler(stream)
        self._listener = QueueListener(self._queue, self.writer)
        self._listener.start()
        # Write out what is queued when the process ends.
        atexit.register(self._stop)

    def setFormatter(self, fmt: logging.Formatter | None) -> None:
        self.writer.setFormatter(fmt)

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # The record stays in this process: no need to merge its arguments into the message
        # for pickling, which would format it on the request's thread.
        return record

    def flush(self) -> None:
        """Wait until every queued record is written (tests and shutdown)."""
        self._stop()
        self._listener.start()

    def close(self) -> None:
        self._stop()
        self.writer.close()
        super().close()

    def _stop(self) -> None:
        # QueueListener.stop writes out the queue, then joins the thread; only once.
        if self._listener._thread is not None:
            self._listener.stop()
