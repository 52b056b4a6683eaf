"""Debian's nginx and Caddy, started on loopback with the documented configuration files.

The files in deploy/ are the ones docs/protect-your-service.md shows, written for production
(`wiki.example.com`, `10.0.0.11:8000`, certificates in /etc/ssl). The tests run them with only
these literal values replaced, each of which must be in the file exactly as listed (a renamed
value fails here instead of silently testing something else): the listening address, the
addresses of accessproject and of the service, the host names, the certificate, and for Caddy
the global options (no admin endpoint on the shared port, no certificate authority to ask).
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.browser.certificates import CertificateFiles
from tests.processes import free_port, port_of, stop, wait_for_log, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
NGINX_CONFIG = ROOT / "deploy" / "nginx.conf"
CADDY_CONFIG = ROOT / "deploy" / "Caddyfile"
NGINX = Path("/usr/sbin/nginx")
CADDY = Path("/usr/bin/caddy")

DOC_LOGIN_HOST = "access.example.com"
DOC_SERVICE_HOST = "wiki.example.com"
DOC_PROJECT = "10.0.0.11:8000"
DOC_SERVICE = "10.0.0.21:3000"
DOC_CERTIFICATE = "/etc/ssl/example.com.pem"
DOC_KEY = "/etc/ssl/example.com.key"


@dataclass(frozen=True)
class Addresses:
    """Where the test's pieces are: the hosts the browser uses, and the ports behind them."""

    login_host: str
    service_host: str
    project_port: int
    service_port: int
    certificate: CertificateFiles


@dataclass(frozen=True)
class RunningProxy:
    name: str
    port: int
    log: Path

    def url(self, host: str, path: str = "/") -> str:
        return f"https://{host}:{self.port}{path}"

    def log_tail(self, lines: int = 40) -> str:
        if not self.log.exists():
            return ""
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


def substitute(text: str, replacements: dict[str, str], *, source: Path) -> str:
    """`text` with each literal replaced; every one must occur in it."""
    for old, new in replacements.items():
        if old not in text:
            raise AssertionError(f"{source.name} no longer contains {old!r}")
        text = text.replace(old, new)
    return text


def nginx_configuration(addresses: Addresses, port: int) -> str:
    return substitute(
        NGINX_CONFIG.read_text(),
        {
            "listen 443 ssl;": f"listen 127.0.0.1:{port} ssl;",
            f"server {DOC_PROJECT};": f"server 127.0.0.1:{addresses.project_port};",
            f"server {DOC_SERVICE};": f"server 127.0.0.1:{addresses.service_port};",
            f"server_name {DOC_LOGIN_HOST};": f"server_name {addresses.login_host};",
            f"server_name {DOC_SERVICE_HOST};": f"server_name {addresses.service_host};",
            DOC_CERTIFICATE: str(addresses.certificate.certfile),
            DOC_KEY: str(addresses.certificate.keyfile),
        },
        source=NGINX_CONFIG,
    )


def _nginx_main(run_dir: Path, drop_in: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf provides around conf.d/, in a directory of our own."""
    user = "user root;\n" if os.geteuid() == 0 else ""
    temp = {name: run_dir / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for directory in temp.values():
        directory.mkdir()
    return (
        f"{user}daemon off;\nworker_processes 1;\npid {run_dir / 'nginx.pid'};\n"
        f"error_log {run_dir / 'error.log'} info;\n"
        "events { worker_connections 256; }\n"
        "http {\n"
        f"    access_log {run_dir / 'access.log'};\n"
        f"    client_body_temp_path {temp['body']};\n"
        f"    proxy_temp_path {temp['proxy']};\n"
        f"    fastcgi_temp_path {temp['fastcgi']};\n"
        f"    uwsgi_temp_path {temp['uwsgi']};\n"
        f"    scgi_temp_path {temp['scgi']};\n"
        f"    include {drop_in};\n"
        "}\n"
    )


@contextmanager
def running_nginx(
    addresses: Addresses, run_dir: Path, listener: socket.socket
) -> Iterator[RunningProxy]:
    """nginx serving on `listener`, a socket the test already listens on: nginx takes it over
    (its `NGINX` environment variable names inherited sockets, and a `listen` of the same address
    uses one instead of binding), so no other process can take the port in between."""
    port = port_of(listener)
    drop_in = run_dir / "accessproject.conf"
    drop_in.write_text(nginx_configuration(addresses, port))
    main = run_dir / "nginx.conf"
    main.write_text(_nginx_main(run_dir, drop_in))
    log = run_dir / "error.log"
    command = [str(NGINX), "-p", str(run_dir), "-c", str(main), "-e", str(log)]
    test = subprocess.run([*command, "-t"], capture_output=True, text=True, check=False)
    if test.returncode != 0:
        raise AssertionError(f"nginx refuses the configuration:\n{test.stderr}")
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(listener.fileno(),),
        env={**os.environ, "NGINX": f"{listener.fileno()};"},
    )
    try:
        wait_for_log(process, log, "start worker process")
        if f'using inherited sockets from "{listener.fileno()};"' not in log.read_text():
            raise AssertionError(f"nginx did not take the test's socket:\n{log.read_text()}")
        yield RunningProxy("nginx", port, log)
    finally:
        stop(process)


def caddy_configuration(addresses: Addresses, port: int, run_dir: Path) -> str:
    tls = f"\ttls {addresses.certificate.certfile} {addresses.certificate.keyfile}\n"
    return substitute(
        CADDY_CONFIG.read_text(),
        {
            "\temail admin@example.com\n": (
                f"\tadmin off\n\tauto_https disable_certs\n\thttp_port {free_port()}\n"
                f"\tstorage file_system {run_dir / 'storage'}\n"
            ),
            f"{DOC_LOGIN_HOST} {{\n": f"{addresses.login_host}:{port} {{\n{tls}",
            f"{DOC_SERVICE_HOST} {{\n": f"{addresses.service_host}:{port} {{\n{tls}",
            DOC_PROJECT: f"127.0.0.1:{addresses.project_port}",
            DOC_SERVICE: f"127.0.0.1:{addresses.service_port}",
        },
        source=CADDY_CONFIG,
    )


@contextmanager
def running_caddy(
    addresses: Addresses, run_dir: Path, listener: socket.socket
) -> Iterator[RunningProxy]:
    """Caddy on `listener`'s port. Caddy 2.6 (Debian's) cannot be handed a socket, so the test
    closes its own just before Caddy starts and binds the port itself."""
    port = port_of(listener)
    config = run_dir / "Caddyfile"
    config.write_text(caddy_configuration(addresses, port, run_dir))
    log = run_dir / "caddy.log"
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(run_dir),
        "XDG_DATA_HOME": str(run_dir / "data"),
        "XDG_CONFIG_HOME": str(run_dir / "config"),
    }
    command = [str(CADDY), "run", "--adapter", "caddyfile", "--config", str(config)]
    validate = subprocess.run(
        [str(CADDY), "validate", "--adapter", "caddyfile", "--config", str(config)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if validate.returncode != 0:
        raise AssertionError(f"caddy refuses the configuration:\n{validate.stderr}")
    listener.close()
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port, process, log)
        yield RunningProxy("caddy", port, log)
    finally:
        stop(process)
