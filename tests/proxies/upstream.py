"""The service behind the proxy: a small stdlib HTTP server, not Django, that answers every
request with what it received and keeps a record of each."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    """One request the service received."""

    method: str
    target: str  # the request target as sent: path and query, still percent-encoded
    headers: list[tuple[str, str]]

    def header(self, name: str) -> str | None:
        values = self.all(name)
        return values[0] if values else None

    def all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


@dataclass
class Upstream:
    port: int
    seen: list[Seen] = field(default_factory=list)

    def requests_to(self, target_prefix: str) -> list[Seen]:
        return [request for request in self.seen if request.target.startswith(target_prefix)]


def _handler(upstream: Upstream) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            seen = Seen(self.command, self.path, list(self.headers.items()))
            upstream.seen.append(seen)
            body = json.dumps(
                {
                    "service": "wiki",
                    "method": seen.method,
                    "target": seen.target,
                    "headers": seen.headers,
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = do_HEAD = do_PATCH = _answer

        def log_message(self, format: str, *args: object) -> None:
            """Quiet: the record is `upstream.seen`."""

    return Handler


@contextmanager
def running_upstream() -> Iterator[Upstream]:
    """Serve on a free loopback port from a thread, for the length of the block."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    upstream = Upstream(port=int(server.server_address[1]))
    server.RequestHandlerClass = _handler(upstream)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="upstream", daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        server.shutdown()
        server.server_close()
