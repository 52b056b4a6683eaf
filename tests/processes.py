"""Servers the tests start in processes of their own: the sockets they listen on, waiting until
they answer, stopping them.

A server never picks its own port, and the test never asks the kernel for a "free" one to pass
on: between the probe closing and the server binding, another process could take it. Instead
the test opens the listening socket itself (`listening_socket`) and hands the server its file
descriptor (gunicorn's `--bind fd://N`, with the descriptor in `pass_fds`); the port is the
socket's, known before the server starts, and held for as long as the test keeps the socket.
"""

from __future__ import annotations

import http.client
import shutil
import socket
import ssl
import subprocess
import time
from pathlib import Path

READY_TIMEOUT = 30.0
PROJECT_DIR = Path(__file__).resolve().parent.parent


def checkout_copy(destination: Path) -> Path:
    """The project's files as a fresh clone has them (tracked and new, nothing git ignores: no
    `.env`, no `data/`, no virtualenv), copied to `destination`."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_DIR,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (item.decode() for item in listed)):
        source = PROJECT_DIR / name
        if source.is_file():
            target = destination / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


class ServerDidNotStart(RuntimeError):
    """The process exited, or never answered, within the timeout."""


def listening_socket() -> socket.socket:
    """A TCP socket listening on 127.0.0.1 at a port the kernel chose, inheritable by a child."""
    listener = socket.create_server(("127.0.0.1", 0), backlog=128)
    listener.set_inheritable(True)
    return listener


def refusing_socket() -> socket.socket:
    """A socket bound on 127.0.0.1 that never listens: connections to its port are refused, and
    no other process can take the port while the test holds it."""
    bound = socket.socket()
    bound.bind(("127.0.0.1", 0))
    return bound


def free_port() -> int:
    """A TCP port free on loopback right now, for a server that cannot be handed a socket (Caddy
    2.6, `make run`'s server, the soak's Redis and PostgreSQL that restart on the same port):
    anything that can takes `listening_socket` instead, so no other process can take its port."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def gunicorn_bind(listener: socket.socket) -> str:
    """gunicorn's option to serve on `listener` (pass `listener.fileno()` in `pass_fds`)."""
    return f"--bind=fd://{listener.fileno()}"


def _log_of(log: Path | None) -> str:
    return log.read_text(errors="replace") if log and log.exists() else ""


def wait_for_http(
    port: int,
    process: subprocess.Popen[bytes],
    log: Path | None = None,
    *,
    host: str = "127.0.0.1",
    path: str = "/",
    tls: bool = False,
) -> None:
    """Return once an HTTP(S) request to 127.0.0.1:`port` gets an answer (any status); raise if
    `process` exits first or nothing answers within `READY_TIMEOUT`.

    An answer, not a connection: on a socket the test opened, the kernel accepts connections
    before the server runs.
    """
    deadline = time.monotonic() + READY_TIMEOUT
    context = ssl._create_unverified_context() if tls else None  # the suite's own certificate
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerDidNotStart(
                f"{process.args!r} exited {process.returncode}:\n{_log_of(log)}"
            )
        connection = (
            http.client.HTTPSConnection("127.0.0.1", port, timeout=2, context=context)
            if tls
            else http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        )
        try:
            connection.request("GET", path, headers={"Host": host})
            connection.getresponse().read()
            return
        except (OSError, http.client.HTTPException):
            time.sleep(0.05)
        finally:
            connection.close()
    raise ServerDidNotStart(f"nothing answered on port {port} within {READY_TIMEOUT:.0f}s")


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path | None = None) -> None:
    """Return once something accepts connections on 127.0.0.1:`port` (a server that chose its
    own listener: nginx, Caddy); raise if `process` exits first or nothing listens within
    `READY_TIMEOUT`."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ServerDidNotStart(
                f"{process.args!r} exited {process.returncode}:\n{_log_of(log)}"
            )
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ServerDidNotStart(f"nothing listened on port {port} within {READY_TIMEOUT:.0f}s")


def wait_for_log(process: subprocess.Popen[bytes], log: Path, text: str) -> None:
    """Return once `log` contains `text` (a server on a socket the test already listens on, where
    a connection proves nothing); raise if `process` exits first or within `READY_TIMEOUT`."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if text in _log_of(log):
            return
        if process.poll() is not None:
            raise ServerDidNotStart(
                f"{process.args!r} exited {process.returncode}:\n{_log_of(log)}"
            )
        time.sleep(0.05)
    raise ServerDidNotStart(f"{log.name} did not say {text!r} within {READY_TIMEOUT:.0f}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate `process` (and kill it when it does not stop within ten seconds)."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
