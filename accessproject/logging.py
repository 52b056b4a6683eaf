"""One JSON object per log line, for log pipelines (`LOG_FORMAT=json`).

Every record carries `time`, `level`, `logger` and `message`; the `extra` fields a caller passed
become top-level keys (the gate's decision record arrives as one `access` object: decision,
reason, application, who, ...), so a pipeline can filter on them without parsing the message.
gunicorn's per-request records are turned into named fields the same way.
"""

from __future__ import annotations

import json
import logging
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
