"""Log formatting and the access log's writer.

`JsonFormatter`: one JSON object per log line, for log pipelines (`LOG_FORMAT=json`). Every
record carries `time`, `level`, `logger` and `message`; the `extra` fields a caller passed become
top-level keys (the gate's decision record arrives as one `access` object: decision, reason,
application, who, ...), so a pipeline can filter on them without parsing the message.
gunicorn's per-request records are turned into named fields the same way.

`PlainFormatter`: people reading a terminal; the time stamp is worked out once a second.

`BatchingStreamHandler`: the access log writes one record per decision, which through a real
stream cost more than the decision itself (a write and a flush per record, and the reader woken
for each). It formats each record when it comes and writes them in batches; a refusal, or
anything at WARNING or above, is written at once together with what came before it, so the
order holds and no refusal waits.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

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


class PlainFormatter(logging.Formatter):
    """`%(asctime)s %(levelname)s %(name)s %(message)s`, the time stamp cached per second."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")
        self._second = -1
        self._stamp = ""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        second = int(record.created)
        if second != self._second:  # time.strftime costs more than the rest of the line
            self._stamp = time.strftime(self.default_time_format, self.converter(record.created))
            self._second = second
        return f"{self._stamp},{int(record.msecs):03d}"

    def format(self, record: logging.LogRecord) -> str:
        # What `logging.Formatter.format` makes of this one format, less the generic style
        # machinery (looking the format up for `asctime`, a dict lookup per field).
        record.message = record.getMessage()
        record.asctime = self.formatTime(record)
        line = f"{record.asctime} {record.levelname} {record.name} {record.message}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            if line[-1:] != "\n":
                line += "\n"
            line += record.exc_text
        if record.stack_info:
            if line[-1:] != "\n":
                line += "\n"
            line += self.formatStack(record.stack_info)
        return line


# Decisions that let a request through: batched. Every other access record (a refusal, a
# redirect to sign in, a misdirected host) is written at once.
PASSING_DECISIONS = frozenset({"allow", "preflight_answered", "preflight_to_view"})


class BatchingStreamHandler(logging.StreamHandler):
    """Write formatted records in batches of up to `capacity`, at most `max_delay` seconds late.

    A record at WARNING or above, or an access record whose decision does not let the request
    through, is written at once with everything buffered before it. A quiet buffer is written by
    one thread of the handler's own, woken every `max_delay` (not one per record); `flush()`
    (and so `logging.shutdown()` at exit) writes whatever is left.
    """

    def __init__(self, stream: Any = None, capacity: int = 256, max_delay: float = 0.25) -> None:
        super().__init__(stream)
        self.capacity = capacity
        self.max_delay = max_delay
        self._lines: list[str] = []
        self._oldest = 0.0
        self._flusher_pid = 0

    def emit(self, record: logging.LogRecord) -> None:
        # `Handler.handle` holds `self.lock` around `emit`.
        try:
            line = self.format(record) + self.terminator
        except Exception:
            self.handleError(record)
            return
        lines = self._lines
        now = time.monotonic()
        if not lines:
            self._oldest = now
        lines.append(line)
        if (
            len(lines) >= self.capacity
            or now - self._oldest >= self.max_delay
            or _is_urgent(record)
        ):
            self._write()
        if self._flusher_pid != os.getpid():  # none yet in this process (or we were forked)
            self._start_flusher()

    def flush(self) -> None:
        self.acquire()
        try:
            self._write()
        finally:
            self.release()

    def _write(self) -> None:
        if not self._lines:
            return
        text = "".join(self._lines)
        self._lines.clear()
        try:
            self.stream.write(text)
            self.stream.flush()
        except Exception:
            logging.Handler.handleError(self, logging.makeLogRecord({"msg": text}))

    def _start_flusher(self) -> None:
        self._flusher_pid = os.getpid()
        thread = threading.Thread(
            target=_flush_periodically,
            args=(weakref.ref(self), self.max_delay),
            name="access log flusher",
            daemon=True,
        )
        thread.start()


def _is_urgent(record: logging.LogRecord) -> bool:
    if record.levelno >= logging.WARNING:
        return True
    access = getattr(record, "access", None)
    if access is None:
        return False
    return isinstance(access, Mapping) and access.get("decision") not in PASSING_DECISIONS


def _flush_periodically(handler: weakref.ref[BatchingStreamHandler], delay: float) -> None:
    while True:
        time.sleep(delay)
        live = handler()
        if live is None:
            return
        if live._lines:
            live.flush()
        del live


class DropLogger(logging.Filter):
    """Keep one logger's records out of a handler (the access log has a handler of its own)."""

    def __init__(self, name: str = "") -> None:
        super().__init__()
        self.dropped = name

    def filter(self, record: logging.LogRecord) -> bool:
        return record.name != self.dropped


class WithoutTraceback(logging.Filter):
    """Log the record's message alone: for refusals of what a client sent (a Host header
    ALLOWED_HOSTS does not name), whose traceback points into Django and repeats the message."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.exc_info = None
        record.exc_text = None
        return True
