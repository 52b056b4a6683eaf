"""Servers the tests start in processes of their own: wait until they listen, stop them."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

READY_TIMEOUT = 30.0


class ServerDidNotStart(RuntimeError):
    """The process exited, or never listened, within the timeout."""


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path | None = None) -> None:
    """Return once something accepts connections on 127.0.0.1:`port`; raise if `process` exits
    first or nothing listens within `READY_TIMEOUT`."""
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = log.read_text(errors="replace") if log and log.exists() else ""
            raise ServerDidNotStart(f"{process.args!r} exited {process.returncode}:\n{output}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise ServerDidNotStart(f"nothing listened on port {port} within {READY_TIMEOUT:.0f}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """Terminate `process` (and kill it when it does not stop within ten seconds)."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
