"""The two HTTPS servers of the browser suite.

- The project under gunicorn with TLS, on its own SQLite file, serving the protected application,
  a second application and the login host (all names map to 127.0.0.1 in the browser).
- A small static server for the calling site, a different site from the project's.
"""

import os
import secrets
import ssl
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.browser.certificates import CertificateFiles
from tests.browser.records import ACCESS_LOG_FORMAT, ServerRecords
from tests.browser.viewlog import VIEW_LOG_ENV
from tests.processes import gunicorn_bind, listening_socket, port_of, wait_for_http

ROOT = Path(__file__).resolve().parents[2]
SITE_DIR = Path(__file__).resolve().parent / "site"

API_HOST = "api.access.test"
SECOND_HOST = "second.access.test"
LOGIN_HOST = "login.access.test"
CALLING_HOST = "app.other.test"
INTRUDER_HOST = "intruder.third.test"
ALL_HOSTS = [API_HOST, SECOND_HOST, LOGIN_HOST, CALLING_HOST, INTRUDER_HOST]

READY_TIMEOUT = 30.0
# Chromium's helper connections that do not share the page's certificate exception say so.
UNTRUSTED_CERTIFICATE_ALERT = "SSLV3_ALERT_CERTIFICATE_UNKNOWN"
MANAGE_TIMEOUT = 120
# The server inherits only these from the caller: anything else (the CI database and cache,
# gunicorn knobs, log formats) could point it at shared services or change what it writes.
INHERITED_VARIABLES = ("PATH", "HOME", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "TZ")


class ServerError(RuntimeError):
    """The project could not be prepared or started."""


@dataclass(frozen=True)
class ProjectServer:
    """The project as a browser reaches it, and the files it writes."""

    port: int
    run_dir: Path
    env: dict[str, str]
    records: ServerRecords
    outbox: Path
    error_log: Path

    def url(self, host: str, path: str = "/") -> str:
        return f"https://{host}:{self.port}{path}"

    def origin(self, host: str) -> str:
        return f"https://{host}:{self.port}"

    def manage(self, *args: str) -> str:
        """Run a management command against the server's database; its output, or ServerError."""
        return run_manage(self.env, *args)

    def error_log_tail(self, lines: int = 40) -> str:
        """The end of gunicorn's log (Django's too), without the test certificate's TLS noise."""
        if not self.error_log.exists():
            return ""
        kept = [
            line
            for line in self.error_log.read_text(errors="replace").splitlines()
            if UNTRUSTED_CERTIFICATE_ALERT not in line
        ]
        return "\n".join(kept[-lines:])


def project_environment(run_dir: Path, port: int) -> dict[str, str]:
    """The project processes' environment: production-like (DEBUG off), files in run_dir."""
    inherited = {k: os.environ[k] for k in INHERITED_VARIABLES if k in os.environ}
    return {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "tests.browser.server_settings",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": ",".join([API_HOST, SECOND_HOST, LOGIN_HOST, "127.0.0.1"]),
        "ACCESS_TEAM_DOMAIN": f"{LOGIN_HOST}:{port}",
        "ACCESS_DEMO": "1",
        "ACCESS_DATA_DIR": str(run_dir),
        "DATABASE_URL": f"sqlite:///{run_dir / 'db.sqlite3'}",
        # A private cache per process: the configuration version is then read from the
        # database, so both workers still see each other's writes.
        "CACHE_URL": "locmemcache://browser-suite",
        # Scenarios sign out and go straight back to an application, which the other worker
        # may serve: it checks the versions on every request instead of within the interval
        # (tests/identity/test_state_versions.py proves the interval itself).
        "ACCESS_VERSION_CHECK_INTERVAL": "0",
        # Four slashes: django-environ drops the first one of the path.
        "EMAIL_URL": f"filemail:///{run_dir / 'outbox'}",
        VIEW_LOG_ENV: str(run_dir / "view.log"),
        "PYTHONUNBUFFERED": "1",
    }


def run_manage(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=MANAGE_TIMEOUT,
        check=False,
    )
    if result.returncode != 0:
        raise ServerError(
            f"manage.py {' '.join(args)} exited {result.returncode}:\n"
            f"{result.stdout}{result.stderr}"
        )
    return result.stdout


@contextmanager
def running_project(
    run_dir: Path,
    certificate: CertificateFiles | None,
    *,
    prepare: list[tuple[str, ...]],
    before_start: Callable[[int, dict[str, str]], None] | None = None,
    env_overrides: dict[str, str] | None = None,
) -> Iterator[ProjectServer]:
    """Prepare the database with `prepare` (management commands), then serve under gunicorn:
    over HTTPS with `certificate`, else plain HTTP on loopback (behind a proxy the test runs,
    whose `X-Forwarded-Proto` gunicorn believes from 127.0.0.1). `env_overrides` change the
    environment of `project_environment`.

    `before_start(port, env)` runs after `prepare`, before gunicorn: for configuration that
    needs the port (an identity provider's redirect URI) or what `prepare` created (its id).
    """
    listener = listening_socket()
    port = port_of(listener)
    env = {**project_environment(run_dir, port), **(env_overrides or {})}
    (run_dir / "outbox").mkdir()
    # STATIC_ROOT: WhiteNoise warns on every worker start when it is missing.
    (run_dir / "static").mkdir()
    for command in prepare:
        run_manage(env, *command)
    if before_start is not None:
        before_start(port, env)
    server = ProjectServer(
        port=port,
        run_dir=run_dir,
        env=env,
        records=ServerRecords(access_log=run_dir / "access.log", view_log=run_dir / "view.log"),
        outbox=run_dir / "outbox",
        error_log=run_dir / "gunicorn.log",
    )
    gunicorn_command = [
        sys.executable,
        "-m",
        "gunicorn",
        "accessproject.wsgi:application",
        gunicorn_bind(listener),
        "--workers=2",
        "--threads=4",
        *(
            [f"--certfile={certificate.certfile}", f"--keyfile={certificate.keyfile}"]
            if certificate is not None
            else []
        ),
        f"--access-logfile={server.records.access_log}",
        f"--access-logformat={ACCESS_LOG_FORMAT}",
        f"--error-logfile={server.error_log}",
        "--capture-output",
        "--graceful-timeout=2",
        # Not the shared control socket in $HOME: other servers may run on this machine.
        "--no-control-socket",
    ]
    with listener:
        process = subprocess.Popen(
            gunicorn_command,
            cwd=ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=(listener.fileno(),),
        )
    try:
        wait_for_http(
            port,
            process,
            server.error_log,
            host=f"{API_HOST}:{port}",
            path="/demo/",
            tls=certificate is not None,
        )
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output clean."""

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@dataclass(frozen=True)
class CallingSite:
    """The static HTTPS server for the calling pages (any host name; the browser picks one)."""

    port: int

    def url(self, host: str = CALLING_HOST, path: str = "/") -> str:
        return f"https://{host}:{self.port}{path}"

    def origin(self, host: str = CALLING_HOST) -> str:
        return f"https://{host}:{self.port}"


@contextmanager
def running_calling_site(certificate: CertificateFiles) -> Iterator[CallingSite]:
    """Serve tests/browser/site/ over HTTPS from a thread."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.certfile, certificate.keyfile)
    handler = partial(_QuietHandler, directory=str(SITE_DIR))
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, name="calling-site", daemon=True)
    thread.start()
    try:
        yield CallingSite(port=int(httpd.server_address[1]))
    finally:
        httpd.shutdown()
        httpd.server_close()
