"""Failing closed: when what the gate decides with cannot be read, a protected path answers 503.

Each outage is real where it can be: queries fail with Django's `OperationalError` (a lost
database connection), the cache is a Redis nothing listens on. The request carries a valid cookie
(or valid service-token headers), so a gate that let a failure through would reach the view;
`views_reached` shows that it never does.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_started
from django.db import close_old_connections
from django.test import override_settings

from common.versioning import invalidate_all
from identity.cookies import CF_AUTHORIZATION
from identity.fastpath import PreflightFastPath
from identity.models import AccessSession, AuthEvent, RevocationCutoff, SigningKey
from policies.snapshot import get_snapshot
from tests.gatekit import (
    API_HOST,
    CALLER,
    UNREACHABLE_CACHE,
    allow_policy,
    database_refuses,
    echo,
    make_application,
    service_token,
    token_for,
)

pytestmark = pytest.mark.django_db

PROTECTED = "/demo/echo/api/x"
UNAVAILABLE_BODY = b"Service unavailable: access configuration cannot be loaded.\n"


def assert_unavailable(status: int, headers: dict[str, str], body: bytes) -> None:
    """The gate's 503: exact body, never cached, and when to try again."""
    assert status == 503
    assert body == UNAVAILABLE_BODY
    assert headers["Content-Type"] == "text/plain"
    assert headers["Cache-Control"] == "no-store"
    assert headers["Retry-After"] == "5"


@contextmanager
def database_and_cache_down() -> Iterator[None]:
    with override_settings(CACHES=UNREACHABLE_CACHE), database_refuses():
        yield


# What fails, by the state that cannot be rebuilt. The policy snapshot is in memory already:
# the failure is met inside the decision, while the token is being checked.
OUTAGES: dict[str, Callable[[], AbstractContextManager[None]]] = {
    "signing keys: database error": lambda: database_refuses(SigningKey),
    "revocations: database error": lambda: database_refuses(AccessSession, RevocationCutoff),
    "version check: database and cache errors": database_and_cache_down,
}


@pytest.fixture
def signed_in(client, settings, views_reached):
    """A valid app cookie in `client`; the states it needs are then forgotten, but the snapshot."""
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    application = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(application)
    client.cookies[CF_AUTHORIZATION] = token_for(application)
    assert echo(client, PROTECTED).status_code == 200  # the cookie is valid
    invalidate_all()
    get_snapshot()
    views_reached.clear()
    return application


@pytest.mark.parametrize("outage", OUTAGES.values(), ids=OUTAGES.keys())
def test_a_valid_cookie_gets_503_when_the_token_cannot_be_checked(
    client, signed_in, views_reached, outage
):
    with outage():
        response = echo(client, PROTECTED)

    assert_unavailable(response.status_code, response.headers, response.content)
    assert views_reached == []


def test_the_check_resumes_when_the_outage_ends(client, signed_in, views_reached):
    with database_refuses(SigningKey):
        assert echo(client, PROTECTED).status_code == 503

    response = echo(client, PROTECTED)

    assert response.status_code == 200
    assert views_reached == [PROTECTED]


def test_a_cache_error_alone_falls_back_to_the_database(client, signed_in, views_reached):
    with override_settings(CACHES=UNREACHABLE_CACHE):
        response = echo(client, PROTECTED)

    assert response.status_code == 200
    assert views_reached == [PROTECTED]


@pytest.fixture
def service_headers(settings, views_reached):
    """Valid service-token headers for an application that admits the token."""
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    application = make_application(domain=f"{API_HOST}/demo/echo/api")
    token, secret = service_token()
    allow_policy(
        application, decision="non_identity", include=[{"service_token": {"name": token.name}}]
    )
    return {"HTTP_CF_ACCESS_CLIENT_ID": token.client_id, "HTTP_CF_ACCESS_CLIENT_SECRET": secret}


@pytest.mark.parametrize(
    "outage",
    [lambda: database_refuses(SigningKey), lambda: database_refuses(AuthEvent)],
    ids=["signing keys: database error", "use record: database error"],
)
def test_service_token_headers_get_503_when_the_answer_cannot_be_made(
    client, service_headers, views_reached, outage
):
    get_snapshot()

    with outage():
        response = echo(client, PROTECTED, **service_headers)

    assert_unavailable(response.status_code, response.headers, response.content)
    assert views_reached == []


# The WSGI preflight fast path in front of Django's real handler, as `accessproject.wsgi` builds it


def _environ(path: str, **headers: str) -> dict[str, object]:
    return {
        "REQUEST_METHOD": "OPTIONS",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": API_HOST,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        **headers,
    }


def call_wsgi(environ: dict[str, object]) -> tuple[int, dict[str, str], bytes]:
    """One request through `PreflightFastPath(WSGIHandler())`: status, headers, body."""
    application = PreflightFastPath(WSGIHandler())
    seen: dict[str, object] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info=None) -> None:
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(headers)

    # As Django's test client does: the test's transaction must outlive the request.
    request_started.disconnect(close_old_connections)
    try:
        body = b"".join(application(environ, start_response))  # type: ignore[arg-type]
    finally:
        request_started.connect(close_old_connections)
    return seen["status"], seen["headers"], body  # type: ignore[return-value]


PREFLIGHT = {"HTTP_ORIGIN": CALLER, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT"}


@pytest.fixture
def cors_application(settings, views_reached):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    application = make_application(
        domain=f"{API_HOST}/demo/echo/api",
        cors_headers={"allowed_origins": [CALLER], "allowed_methods": ["PUT"]},
    )
    allow_policy(application)
    return application


def test_wsgi_preflight_is_answered_by_the_fast_path(cors_application, views_reached):
    status, headers, _body = call_wsgi(_environ(PROTECTED, **PREFLIGHT))

    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == CALLER
    assert views_reached == []


@pytest.mark.parametrize(
    "outage",
    [database_refuses, database_and_cache_down],
    ids=["snapshot: database error", "version check: database and cache errors"],
)
def test_wsgi_preflight_gets_503_when_the_configuration_cannot_load(
    cors_application, views_reached, outage
):
    invalidate_all()

    with outage():
        status, headers, body = call_wsgi(_environ(PROTECTED, **PREFLIGHT))

    assert_unavailable(status, headers, body)
    assert views_reached == []


# Every kind of refusal is never stored by a cache: a shared cache that kept a 302 to the login
# page, a 403 or a 503 would serve it to the next person, and a browser would replay it after
# the person signed in.


def _protected(**fields):
    application = make_application(domain=f"{API_HOST}/demo/echo/api", **fields)
    allow_policy(application)
    return application


def _sign_in_redirect(client):
    _protected()
    return echo(client, PROTECTED)


def _deny_url_redirect(client):
    application = _protected(custom_deny_url="https://help.example.com/denied")
    client.cookies[CF_AUTHORIZATION] = token_for(application, email="mallory@example.com")
    return echo(client, PROTECTED)


def _bad_path(client):
    _protected()
    return echo(client, "/demo/echo//api/x")


def _script_unauthenticated(client):
    _protected()
    return echo(client, PROTECTED, HTTP_X_REQUESTED_WITH="XMLHttpRequest")


def _service_auth_unauthenticated(client):
    application = make_application(
        domain=f"{API_HOST}/demo/echo/api", service_auth_401_redirect=True
    )
    allow_policy(application, decision="non_identity", include=[{"any_valid_service_token": {}}])
    return echo(client, PROTECTED)


def _deny_page(client):
    application = _protected()
    client.cookies[CF_AUTHORIZATION] = token_for(application, email="mallory@example.com")
    return echo(client, PROTECTED)


def _preflight_refused(client):
    _protected(cors_headers={"allowed_origins": [CALLER], "allowed_methods": ["GET"]})
    return client.options(PROTECTED, HTTP_HOST=API_HOST, **PREFLIGHT)


def _preflight_refused_by_the_fast_path(client):
    _protected(cors_headers={"allowed_origins": [CALLER], "allowed_methods": ["GET"]})
    return call_wsgi(_environ(PROTECTED, **PREFLIGHT))


def _preflight_without_cors_settings(client):
    _protected()
    return client.options(PROTECTED, HTTP_HOST=API_HOST, **PREFLIGHT)


def _misdirected(client):
    _protected()
    return client.get(PROTECTED, HTTP_HOST="127.0.0.1")


def _configuration_unavailable(client):
    _protected()
    invalidate_all()
    with database_refuses():
        return echo(client, PROTECTED)


def _fast_path_configuration_unavailable(client):
    _protected(cors_headers={"allowed_origins": [CALLER], "allowed_methods": ["PUT"]})
    invalidate_all()
    with database_refuses():
        return call_wsgi(_environ(PROTECTED, **PREFLIGHT))


# The forward-auth endpoint, asked by a trusted proxy about a request to a service on API_HOST.

FORWARD_AUTH = "/cdn-cgi/access/forward-auth"
PROXY = {"REMOTE_ADDR": "10.0.0.5"}


def forwarded(method="GET", uri=PROTECTED, **headers):
    return {
        **PROXY,
        "HTTP_X_FORWARDED_HOST": API_HOST,
        "HTTP_X_FORWARDED_PROTO": "http",  # as the test client's own requests: one issuer
        "HTTP_X_FORWARDED_METHOD": method,
        "HTTP_X_FORWARDED_URI": uri,
        **headers,
    }


@pytest.fixture
def trusted_proxy(settings):
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/24"]


@pytest.mark.parametrize("outage", OUTAGES.values(), ids=OUTAGES.keys())
def test_forward_auth_answers_503_when_the_token_cannot_be_checked(
    client, signed_in, trusted_proxy, outage
):
    with outage():
        response = client.get(FORWARD_AUTH, **forwarded())

    assert_unavailable(response.status_code, response.headers, response.content)
    assert "X-Access-Pass" not in response


@pytest.mark.parametrize(
    "outage",
    [database_refuses, database_and_cache_down],
    ids=["snapshot: database error", "version check: database and cache errors"],
)
def test_forward_auth_answers_503_when_the_configuration_cannot_load(
    client, signed_in, trusted_proxy, outage
):
    invalidate_all()

    with outage():
        response = client.get(FORWARD_AUTH, **forwarded())

    assert_unavailable(response.status_code, response.headers, response.content)


def test_forward_auth_answers_503_when_a_service_token_answer_cannot_be_made(
    client, service_headers, trusted_proxy
):
    get_snapshot()

    with database_refuses(SigningKey):
        response = client.get(FORWARD_AUTH, **forwarded(**service_headers))

    assert_unavailable(response.status_code, response.headers, response.content)
    assert "X-Access-Pass" not in response


def _forward_auth(client, **headers):
    client.defaults.update(forwarded(**headers))
    return client.get(FORWARD_AUTH)


def _forward_auth_sign_in_redirect(client):
    _protected()
    return _forward_auth(client)


def _forward_auth_deny_page(client):
    application = _protected()
    client.cookies[CF_AUTHORIZATION] = token_for(application, email="mallory@example.com")
    return _forward_auth(client)


def _forward_auth_script(client):
    _protected()
    return _forward_auth(client, HTTP_X_REQUESTED_WITH="XMLHttpRequest")


def _forward_auth_preflight_refused(client):
    _protected(cors_headers={"allowed_origins": [CALLER], "allowed_methods": ["GET"]})
    return _forward_auth(client, method="OPTIONS", **PREFLIGHT)


def _forward_auth_bad_path(client):
    _protected()
    return _forward_auth(client, uri="/demo/echo//api/x")


def _forward_auth_not_covered(client):
    _protected()
    return _forward_auth(client, uri="/elsewhere")


def _forward_auth_misdirected(client):
    _protected()
    return _forward_auth(client, HTTP_X_FORWARDED_HOST="127.0.0.1")


def _forward_auth_untrusted_peer(client):
    _protected()
    return _forward_auth(client, REMOTE_ADDR="192.0.2.1")


def _forward_auth_unreadable(client):
    _protected()
    return _forward_auth(client, HTTP_X_FORWARDED_HOST="API.localhost")


def _forward_auth_unavailable(client):
    _protected()
    invalidate_all()
    with database_refuses():
        return _forward_auth(client)


def _auth_request_refusal(client):
    _protected()
    client.defaults.update(forwarded())
    return client.get("/cdn-cgi/access/auth-request")


REFUSALS = [
    pytest.param(_sign_in_redirect, 302, id="302 to the login page"),
    pytest.param(_deny_url_redirect, 302, id="302 to custom_deny_url"),
    pytest.param(_bad_path, 400, id="400 non-canonical path"),
    pytest.param(_script_unauthenticated, 401, id="401 XMLHttpRequest"),
    pytest.param(_service_auth_unauthenticated, 401, id="401 service_auth_401_redirect"),
    pytest.param(_deny_page, 403, id="403 deny page"),
    pytest.param(_preflight_refused, 403, id="403 preflight not allowed"),
    pytest.param(_preflight_refused_by_the_fast_path, 403, id="403 preflight, WSGI fast path"),
    pytest.param(_preflight_without_cors_settings, 403, id="403 preflight without cors_headers"),
    pytest.param(_misdirected, 421, id="421 misdirected"),
    pytest.param(_configuration_unavailable, 503, id="503 configuration unavailable"),
    pytest.param(_fast_path_configuration_unavailable, 503, id="503 WSGI fast path"),
    pytest.param(_forward_auth_sign_in_redirect, 302, id="forward-auth: 302 to the login page"),
    pytest.param(_forward_auth_bad_path, 400, id="forward-auth: 400 non-canonical path"),
    pytest.param(_forward_auth_unreadable, 400, id="forward-auth: 400 unreadable request"),
    pytest.param(_forward_auth_script, 401, id="forward-auth: 401 XMLHttpRequest"),
    pytest.param(_auth_request_refusal, 401, id="auth-request: 401"),
    pytest.param(_forward_auth_deny_page, 403, id="forward-auth: 403 deny page"),
    pytest.param(_forward_auth_preflight_refused, 403, id="forward-auth: 403 preflight"),
    pytest.param(_forward_auth_not_covered, 403, id="forward-auth: 403 not covered"),
    pytest.param(_forward_auth_untrusted_peer, 403, id="forward-auth: 403 untrusted peer"),
    pytest.param(_forward_auth_misdirected, 421, id="forward-auth: 421 misdirected"),
    pytest.param(_forward_auth_unavailable, 503, id="forward-auth: 503 unavailable"),
]


@pytest.mark.parametrize(("refuse", "status"), REFUSALS)
def test_every_refusal_is_never_stored_by_a_cache(
    client, views_reached, trusted_proxy, refuse, status
):
    answer = refuse(client)
    if isinstance(answer, tuple):  # straight from WSGI: (status, headers, body)
        got, headers, _body = answer
    else:
        got, headers = answer.status_code, answer.headers

    assert got == status
    assert headers["Cache-Control"] == "no-store"
    # No view behind the gate ran (forward-auth's own endpoint is the one that answered).
    assert [path for path in views_reached if not path.startswith("/cdn-cgi/access/")] == []
