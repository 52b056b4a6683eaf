"""Real server processes for the multi-process and fault tests: gunicorn instances, a TCP proxy
that can cut a database link, and a bounded poll.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tests.processes import gunicorn_bind, listening_socket, port_of

PROJECT_DIR = Path(__file__).resolve().parents[2]
T = TypeVar("T")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes
    set_cookies: tuple[str, ...] = ()  # each Set-Cookie header (`headers` keeps only one)


class Instance:
    """One gunicorn master with its workers, as a host runs it (`gunicorn -c gunicorn.conf.py`),
    serving on a socket the test opened (`tests.processes.listening_socket`): the port is the
    instance's from construction, and no other process can take it."""

    def __init__(
        self,
        name: str,
        environment: Mapping[str, str],
        log_dir: Path,
        *,
        project_dir: Path = PROJECT_DIR,
    ) -> None:
        self.name = name
        self.project_dir = project_dir
        self._listener = listening_socket()
        self.port = port_of(self._listener)
        self.environment = dict(environment)
        self.log_path = log_dir / f"gunicorn-{name}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, *, timeout: float = 60.0) -> Instance:
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "-c",
                    "gunicorn.conf.py",
                    gunicorn_bind(self._listener),
                ],
                cwd=self.project_dir,
                env=self.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                pass_fds=(self._listener.fileno(),),
            )
        deadline = time.monotonic() + timeout
        while True:
            if self._process.poll() is not None:
                raise RuntimeError(f"{self.name} exited at start:\n{self.log()}")
            try:
                if self.request("GET", "/healthz", host="127.0.0.1").status == 200:
                    return self
            except OSError:
                pass
            if time.monotonic() > deadline:
                self.stop()  # a server that never answered is not left running
                raise RuntimeError(f"{self.name} did not answer /healthz:\n{self.log()}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._listener.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-20_000:]

    def request(
        self,
        method: str,
        path: str,
        *,
        host: str,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = 10.0,
    ) -> Answer:
        """One request on a new connection (gunicorn's sync workers close after each answer)."""
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers={"Host": host, **(headers or {})})
            response = connection.getresponse()
            return Answer(
                status=response.status,
                headers={name.lower(): value for name, value in response.getheaders()},
                body=response.read(),
                set_cookies=tuple(response.headers.get_all("Set-Cookie") or ()),
            )
        finally:
            connection.close()


# Each request may land on any of an instance's workers: this many in a row gives every one of
# them its turn with near certainty (two workers: a miss has odds of 2 ** -8).
EVERY_WORKER = 8


def next_answers(probe: Callable[[], T], *, count: int = EVERY_WORKER) -> list[T]:
    """The answers of the next `count` requests, made one after the other."""
    return [probe() for _ in range(count)]


def recovers(
    probe: Callable[[], T], done: Callable[[T], bool], *, attempts: int = 400
) -> tuple[int, list[T]]:
    """Probe until `EVERY_WORKER` answers in a row satisfy `done`, at most `attempts` times;
    return the number of answers before that streak (or -1 when it never came) and every answer.

    For what takes a reconnection rather than a version check (a database link restored): the
    test asserts that service resumed and what was answered meanwhile, never how long it took.
    """
    answers: list[T] = []
    in_a_row = 0
    for _ in range(attempts):
        answer = probe()
        answers.append(answer)
        in_a_row = in_a_row + 1 if done(answer) else 0
        if in_a_row == EVERY_WORKER:
            return len(answers) - EVERY_WORKER, answers
    return -1, answers


class TcpProxy:
    """A loopback TCP proxy to `upstream` that the test can cut and restore.

    Cut: every open connection is reset and new ones are closed as soon as they are accepted, as
    when a database host drops off the network. Restore: new connections pass again.
    """

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._cut = threading.Event()
        self._closing = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._acceptor = threading.Thread(target=self._accept, daemon=True)
        self._acceptor.start()

    def cut(self) -> None:
        self._cut.set()
        with self._lock:
            sockets, self._open = self._open, set()
        for sock in sockets:
            _close(sock)

    def restore(self) -> None:
        self._cut.clear()

    def close(self) -> None:
        self._closing.set()
        self.cut()
        _close(self._listener)

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if self._cut.is_set():
                _close(client)
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                _close(client)
                continue
            server.settimeout(None)
            with self._lock:
                self._open.update((client, server))
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while chunk := source.recv(65536):
                target.sendall(chunk)
        except OSError:
            pass
        finally:
            _close(source)
            _close(target)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def run_action(environment: Mapping[str, str], *arguments: str) -> str:
    """Run `python -m tests.production.actions ...` in another process; return its stdout."""
    completed = subprocess.run(
        [sys.executable, "-m", "tests.production.actions", *arguments],
        cwd=PROJECT_DIR,
        env={**os.environ, **environment},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"action {arguments} failed:\n{completed.stderr}")
    return completed.stdout


def start_action(environment: Mapping[str, str], *arguments: str) -> subprocess.Popen[str]:
    """Start an action whose JSON lines the test reads as they come (`read_json_line`)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tests.production.actions", *arguments],
        cwd=PROJECT_DIR,
        env={**os.environ, **environment},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def read_json_line(process: subprocess.Popen[str]) -> dict[str, Any]:
    """The next JSON line an action printed; fails with its stderr if it ended first."""
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=60)
        stderr = process.stderr.read() if process.stderr else ""
        raise RuntimeError(f"action ended without output ({process.returncode}):\n{stderr}")
    result: dict[str, Any] = json.loads(line)
    return result
