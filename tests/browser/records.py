"""What the servers saw: the access log (every answer) and the view log (what reached a view).

The page's script cannot read a response that CORS withholds, so the tests read the servers' side
here. Both logs are appended by every worker process; readers poll for a bounded time because
gunicorn writes an access line just after the response has left.
"""

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

# Tab-separated, one request a line; a missing header is logged as "-".
ACCESS_LOG_FIELDS: tuple[tuple[str, str], ...] = (
    ("host", "%({host}i)s"),
    ("method", "%(m)s"),
    ("path", "%(U)s"),
    ("query", "%(q)s"),
    ("status", "%(s)s"),
    ("origin", "%({origin}i)s"),
    ("sec_fetch_site", "%({sec-fetch-site}i)s"),
    ("sec_fetch_mode", "%({sec-fetch-mode}i)s"),
    ("sec_fetch_dest", "%({sec-fetch-dest}i)s"),
    ("content_type", "%({content-type}o)s"),
    ("location", "%({location}o)s"),
    ("vary", "%({vary}o)s"),
    ("x_frame_options", "%({x-frame-options}o)s"),
    ("access-control-allow-origin", "%({access-control-allow-origin}o)s"),
    ("access-control-allow-credentials", "%({access-control-allow-credentials}o)s"),
    ("access-control-allow-methods", "%({access-control-allow-methods}o)s"),
    ("access-control-allow-headers", "%({access-control-allow-headers}o)s"),
    ("access-control-max-age", "%({access-control-max-age}o)s"),
    ("access-control-expose-headers", "%({access-control-expose-headers}o)s"),
)
ACCESS_LOG_FORMAT = "\t".join(atom for _, atom in ACCESS_LOG_FIELDS)
MISSING = "-"

POLL_INTERVAL = 0.02
DEFAULT_WAIT = 5.0

T = TypeVar("T")


@dataclass(frozen=True)
class ServedRequest:
    """One line of the access log: a request and the answer the server gave it."""

    host: str
    method: str
    path: str
    query: str
    status: int
    origin: str | None
    sec_fetch_site: str | None
    sec_fetch_mode: str | None
    sec_fetch_dest: str | None
    content_type: str | None
    location: str | None
    vary: str | None
    x_frame_options: str | None
    cors_headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_line(cls, line: str) -> "ServedRequest":
        values = dict(zip((name for name, _ in ACCESS_LOG_FIELDS), line.split("\t"), strict=True))

        def optional(name: str) -> str | None:
            value = values.pop(name)
            return None if value == MISSING else value

        fields = {
            name: optional(name)
            for name in (
                "origin",
                "sec_fetch_site",
                "sec_fetch_mode",
                "sec_fetch_dest",
                "content_type",
                "location",
                "vary",
                "x_frame_options",
            )
        }
        return cls(
            host=values.pop("host").split(":")[0],
            method=values.pop("method"),
            path=values.pop("path"),
            query=values.pop("query"),
            status=int(values.pop("status")),
            cors_headers={name: value for name, value in values.items() if value != MISSING},
            **fields,
        )


@dataclass(frozen=True)
class ViewVisit:
    """One request as the view received it (written by `tests.browser.viewlog`)."""

    host: str
    method: str
    path: str
    query: str
    origin: str | None
    cookies: list[str]
    identity_headers: dict[str, str]
    access: dict[str, Any] | None

    @property
    def email(self) -> str | None:
        return None if self.access is None else self.access.get("email")


def _read_lines(path: Path) -> list[str]:
    if not path.exists():
        return []
    return [line for line in path.read_text().splitlines() if line]


def wait_for(read: Callable[[], T | None], *, timeout: float = DEFAULT_WAIT) -> T | None:
    """Poll `read` until it returns something other than None, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if value is not None or time.monotonic() >= deadline:
            return value
        time.sleep(POLL_INTERVAL)


@dataclass(frozen=True)
class ServerRecords:
    """Readers over the two logs of one project server."""

    access_log: Path
    view_log: Path

    def served(self, marker: str) -> list[ServedRequest]:
        """Every access-log line whose path or query contains `marker`, oldest first."""
        records = [ServedRequest.from_line(line) for line in _read_lines(self.access_log)]
        return [r for r in records if marker in r.path or marker in r.query]

    def visits(self, marker: str) -> list[ViewVisit]:
        """Every request to a path containing `marker` that reached a view, oldest first.

        The path only: the login page carries the marker in its `redirect_url` query.
        """
        visits = [ViewVisit(**json.loads(line)) for line in _read_lines(self.view_log)]
        return [v for v in visits if marker in v.path]

    def wait_served(
        self,
        marker: str,
        *,
        method: str,
        host: str | None = None,
        count: int = 1,
        timeout: float = DEFAULT_WAIT,
    ) -> list[ServedRequest]:
        """The `method` requests containing `marker` (to `host`), once `count` were logged."""

        def read() -> list[ServedRequest] | None:
            found = [
                r
                for r in self.served(marker)
                if r.method == method and (host is None or r.host == host)
            ]
            return found if len(found) >= count else None

        found = wait_for(read, timeout=timeout)
        if found is None:
            seen = [(r.host, r.method, r.path, r.status) for r in self.served(marker)]
            raise AssertionError(f"no {method} request with {marker!r} was served; saw {seen}")
        return found
