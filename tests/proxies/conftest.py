"""A service that is not Django behind nginx or Caddy, protected by accessproject.

Session-scoped: the certificate, the service (`tests.proxies.upstream`), the project under
gunicorn over plain HTTP on loopback (the proxy terminates TLS and is its trusted proxy), and
each proxy with its documented configuration file (`proxy` is parametrised: every test runs
through nginx and through Caddy). A proxy that is not installed skips its tests, except in CI
(`CI` or `ACCESS_REQUIRE_PROXIES=1`), where it is a failure.
"""

from __future__ import annotations

import json
import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass

import pytest

from tests.browser.certificates import CertificateFiles, make_self_signed_certificate
from tests.browser.servers import ProjectServer, running_project
from tests.processes import listening_socket, port_of
from tests.proxies.proxies import (
    CADDY,
    NGINX,
    Addresses,
    RunningProxy,
    running_caddy,
    running_nginx,
)
from tests.proxies.upstream import Upstream, running_upstream

LOGIN_HOST = "login.proxied.test"
SERVICE_HOST = "wiki.proxied.test"
CALLER_HOST = "app.other.test"
HOSTS = [LOGIN_HOST, SERVICE_HOST, CALLER_HOST]
PROXIES = {"nginx": (NGINX, running_nginx), "caddy": (CADDY, running_caddy)}


@dataclass(frozen=True)
class Person:
    username: str
    email: str
    password: str


ADA = Person("ada", "ada@example.com", "correct horse battery staple")
MALLORY = Person("mallory", "mallory@elsewhere.test", "another long passphrase")
SERVICE_TOKEN_NAME = "deploy bot"


def proxies_are_required() -> bool:
    """In CI a proxy that cannot run is a failure, elsewhere a skip."""
    return bool(os.environ.get("CI")) or os.environ.get("ACCESS_REQUIRE_PROXIES") == "1"


def caller_origin(proxy: RunningProxy) -> str:
    return f"https://{CALLER_HOST}:{proxy.port}"


def access_configuration(caller: str) -> dict[str, object]:
    """The service's applications: the whole wiki for people at example.com, an open corner,
    and an API that service tokens and a calling site use."""
    people = {
        "name": "People at example.com",
        "decision": "allow",
        "precedence": 1,
        "include": [{"email_domain": {"domain": "example.com"}}],
    }
    return {
        "applications": [
            {"name": "Wiki", "domain": SERVICE_HOST, "policies": [people]},
            {
                "name": "Wiki public",
                "domain": f"{SERVICE_HOST}/public",
                "policies": [
                    {
                        "name": "Anyone",
                        "decision": "bypass",
                        "precedence": 1,
                        "include": [{"everyone": {}}],
                    }
                ],
            },
            {
                "name": "Wiki API",
                "domain": f"{SERVICE_HOST}/api",
                "cors_headers": {
                    "allowed_origins": [caller],
                    "allowed_methods": ["GET", "PUT"],
                    "allowed_headers": ["x-api-version"],
                    "allow_credentials": True,
                    "max_age": 600,
                },
                "policies": [
                    {
                        "name": "Deploy bot",
                        "decision": "non_identity",
                        "precedence": 1,
                        "include": [{"service_token": {"name": SERVICE_TOKEN_NAME}}],
                    },
                    {**people, "precedence": 2},
                ],
            },
        ]
    }


def _prepare_people(secrets_file: str) -> str:
    """A shell script: the two people, and the service token (its secret saved to a file)."""
    return "\n".join(
        [
            "import json, pathlib",
            "from django.contrib.auth import get_user_model",
            "from policies import services",
            f"for person in {[(p.username, p.email, p.password) for p in (ADA, MALLORY)]!r}:",
            "    get_user_model().objects.create_user(*person)",
            f"token, secret = services.service_token_create(name={SERVICE_TOKEN_NAME!r})",
            f"pathlib.Path({secrets_file!r}).write_text("
            "json.dumps({'client_id': token.client_id, 'client_secret': secret}))",
        ]
    )


@dataclass(frozen=True)
class Deployment:
    """One proxy in front of the service, with the project behind it."""

    proxy: RunningProxy
    project: ProjectServer
    upstream: Upstream
    service_token: dict[str, str]

    def url(self, path: str = "/", host: str = SERVICE_HOST) -> str:
        return self.proxy.url(host, path)


@pytest.fixture(scope="session")
def proxy_certificate(tmp_path_factory: pytest.TempPathFactory) -> CertificateFiles:
    return make_self_signed_certificate(HOSTS, tmp_path_factory.mktemp("proxy-tls"))


@pytest.fixture(scope="session")
def upstream() -> Iterator[Upstream]:
    with running_upstream() as service:
        yield service


@pytest.fixture(scope="session", params=list(PROXIES))
def deployment(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    proxy_certificate: CertificateFiles,
    upstream: Upstream,
) -> Generator[Deployment, None, None]:
    name = request.param
    binary, running = PROXIES[name]
    if not binary.exists():
        if proxies_are_required():
            pytest.fail(f"{name} required (CI) but {binary} is not installed", pytrace=False)
        pytest.skip(f"{name} is not installed ({binary})")
    # The proxy's socket, listening before the project starts (whose settings name its port).
    listener = listening_socket()
    proxy_port = port_of(listener)
    run_dir = tmp_path_factory.mktemp(f"{name}-project")
    config = run_dir / "access.json"
    config.write_text(json.dumps(access_configuration(f"https://{CALLER_HOST}:{proxy_port}")))
    env = {
        "ALLOWED_HOSTS": f"{LOGIN_HOST},{SERVICE_HOST}",
        "ACCESS_TEAM_DOMAIN": f"{LOGIN_HOST}:{proxy_port}",
        "ACCESS_TRUSTED_PROXIES": "127.0.0.1/32",
        "ACCESS_DEMO": "0",
    }
    secrets_file = run_dir / "service-token.json"
    prepare: list[tuple[str, ...]] = [
        ("migrate", "--noinput"),
        ("shell", "-c", _prepare_people(str(secrets_file))),
        ("access_apply", str(config)),
    ]
    with listener, running_project(run_dir, None, prepare=prepare, env_overrides=env) as project:
        token = json.loads(secrets_file.read_text())
        addresses = Addresses(
            login_host=LOGIN_HOST,
            service_host=SERVICE_HOST,
            project_port=project.port,
            service_port=upstream.port,
            certificate=proxy_certificate,
        )
        with running(addresses, tmp_path_factory.mktemp(name), listener) as proxy:
            yield Deployment(proxy, project, upstream, token)
