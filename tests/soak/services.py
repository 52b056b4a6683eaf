"""The soak's own Redis and PostgreSQL on loopback, in a temporary directory, so that it can stop
and start them: never the machine's shared servers.

`redis-server` runs without persistence (a restart empties it, as a cache's restart does);
PostgreSQL is a fresh cluster made by `initdb`, run as the `postgres` user when the soak runs as
root (PostgreSQL refuses to run as root). Both listen on free ports and keep their sockets in the
temporary directory.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from tests.processes import free_port, stop, wait_for_port

POSTGRES_BIN_DIRS = (Path("/usr/local/bin"), Path("/usr/lib/postgresql/15/bin"))


class ServiceError(RuntimeError):
    """A server the soak needs could not be started or stopped."""


def _program(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for directory in POSTGRES_BIN_DIRS:
        candidate = directory / name
        if candidate.exists():
            return str(candidate)
    raise ServiceError(f"{name} is not installed (looked on PATH and in {POSTGRES_BIN_DIRS})")


class RedisServer:
    """`redis-server` on a free loopback port, stopped and started again on that port."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.port = free_port()
        self.log_path = directory / "redis.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            _program("redis-server"),
            "--bind",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.directory),
            "--unixsocket",
            "",
        ]
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.port, self._process, self.log_path)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            stop(self._process)
        self._process = None


class PostgresCluster:
    """A PostgreSQL cluster of its own (`initdb`), started and stopped with `pg_ctl`."""

    def __init__(self) -> None:
        self._as_postgres = os.geteuid() == 0
        # The postgres user must reach it: a TMPDIR of root's (mode 0700) would not do.
        self.directory = Path(
            tempfile.mkdtemp(
                prefix="accessproject-soak-pg-", dir="/tmp" if self._as_postgres else None
            )
        )
        self.data_dir = self.directory / "pgdata"
        self.port = free_port()
        self.log_path = self.directory / "postgres.log"

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/accessproject"

    def _run(self, arguments: Sequence[str], *, timeout: float = 120.0) -> None:
        command = list(arguments)
        if self._as_postgres:
            command = ["runuser", "-u", "postgres", "--", *command]
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
        if completed.returncode != 0:
            raise ServiceError(
                f"{' '.join(command)} exited {completed.returncode}:\n"
                f"{completed.stdout}{completed.stderr}"
            )

    def init(self) -> None:
        """A new cluster with an empty `accessproject` database, started."""
        if self._as_postgres:
            account = pwd.getpwnam("postgres")
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        self._run(
            [
                _program("initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-instructions",
            ]
        )
        self.start()
        self._run(
            [
                _program("createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                "accessproject",
            ]
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"
        self._run(
            [
                _program("pg_ctl"),
                "-D",
                str(self.data_dir),
                "-o",
                options,
                "-l",
                str(self.log_path),
                "-w",
                "start",
            ]
        )

    def stop(self, mode: str = "fast") -> None:
        self._run([_program("pg_ctl"), "-D", str(self.data_dir), "-m", mode, "-w", "stop"])

    def remove(self) -> None:
        """Stop the cluster if it runs, and delete it."""
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(ServiceError):
                self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


def temporary_directory() -> Path:
    """A fresh directory for the soak's servers and logs (`TMPDIR` is honoured)."""
    return Path(tempfile.mkdtemp(prefix="accessproject-soak-"))
