"""The WSGI preflight fast path answers exactly as the gate middleware does, or steps aside."""

import io
import logging
import sys

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from identity.fastpath import PreflightFastPath, host_from_environ
from tests.gatekit import API_HOST, CALLER, allow_policy, make_application

pytestmark = pytest.mark.django_db

CORS = {
    "allowed_origins": [CALLER],
    "allowed_methods": ["GET", "PUT"],
    "allowed_headers": ["x-custom"],
    "allow_credentials": True,
    "max_age": 300,
}


def _environ(path, *, host=API_HOST, method="OPTIONS", **headers):
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": host,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    environ.update(headers)
    return environ


class Downstream:
    """Stands for Django's handler: records that it was asked."""

    def __init__(self):
        self.calls = []

    def __call__(self, environ, start_response):
        self.calls.append(environ["PATH_INFO"])
        start_response("204 No Content", [])
        return [b""]


def _call(app, environ):
    seen = {}

    def start_response(status, headers):
        seen["status"] = int(status.split()[0])
        seen["headers"] = dict(headers)

    body = b"".join(app(environ, start_response))
    return seen["status"], seen["headers"], body


def _access_control(headers):
    return {k.lower(): v for k, v in headers.items() if k.lower().startswith("access-control-")}


@pytest.mark.parametrize(
    ("origin", "method", "request_headers"),
    [
        (CALLER, "PUT", "x-custom"),
        (CALLER, "GET", None),
        ("https://evil.example", "PUT", None),
        (CALLER, "DELETE", None),
        (CALLER, "PUT", "x-other"),
        (CALLER, "", None),
    ],
)
def test_answers_as_the_gate_middleware_does(client, origin, method, request_headers):
    make_application(domain=f"{API_HOST}/demo/echo/api", cors_headers=CORS)
    headers = {"HTTP_ORIGIN": origin, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": method}
    if request_headers is not None:
        headers["HTTP_ACCESS_CONTROL_REQUEST_HEADERS"] = request_headers
    downstream = Downstream()

    status, fast_headers, body = _call(
        PreflightFastPath(downstream), _environ("/demo/echo/api/x", **headers)
    )
    through_django = client.options("/demo/echo/api/x", HTTP_HOST=API_HOST, **headers)

    assert downstream.calls == []
    assert status == through_django.status_code
    assert _access_control(fast_headers) == _access_control(through_django.headers)
    assert fast_headers.get("Vary") == through_django.headers.get("Vary")
    if status == 200:
        assert body == b""
        assert fast_headers["Content-Length"] == "0"


@pytest.mark.parametrize(
    ("fields", "path", "host", "environ_headers"),
    [
        ({"cors_headers": CORS}, "/demo/echo/api/x", API_HOST, {"HTTP_ORIGIN": CALLER}),
        ({"options_preflight_bypass": True}, "/demo/echo/api/x", API_HOST, None),
        ({"cors_headers": CORS}, "/demo/echo/open/x", API_HOST, None),
        ({"cors_headers": CORS}, "/demo/echo/api/x", "not-allowed.example", None),
        ({"cors_headers": CORS}, "/demo/echo//api/x", API_HOST, None),
    ],
    ids=["not-a-preflight", "preflight-bypass", "uncovered-path", "disallowed-host", "bad-path"],
)
def test_steps_aside_for_everything_the_gate_does_not_answer_itself(
    fields, path, host, environ_headers
):
    application = make_application(domain=f"{API_HOST}/demo/echo/api", **fields)
    allow_policy(application)
    headers = environ_headers or {
        "HTTP_ORIGIN": CALLER,
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT",
    }
    downstream = Downstream()

    status, _headers, _body = _call(
        PreflightFastPath(downstream), _environ(path, host=host, **headers)
    )

    assert downstream.calls == [path]
    assert status == 204


def test_steps_aside_when_the_configuration_cannot_load(monkeypatch):
    make_application(domain=f"{API_HOST}/demo/echo/api", cors_headers=CORS)
    monkeypatch.setattr("identity.fastpath.get_snapshot", _broken)
    downstream = Downstream()
    headers = {"HTTP_ORIGIN": CALLER, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT"}

    status, _headers, _body = _call(
        PreflightFastPath(downstream), _environ("/demo/echo/api/x", **headers)
    )

    assert downstream.calls == ["/demo/echo/api/x"]
    assert status == 204


def _broken():
    raise RuntimeError("database unreachable")


@pytest.fixture
def django_handler():
    """Django's own WSGI handler, without closing the test's database connection per request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _answer(app, environ):
    status, headers, body = _call(app, environ)
    return status, _access_control(headers), headers.get("Vary"), body


PREFLIGHTS = {
    "allowed": {"HTTP_ORIGIN": CALLER, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT"},
    "refused origin": {
        "HTTP_ORIGIN": "https://evil.example",
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT",
    },
}
PATHS = [
    "/demo/echo/api/x",
    "/cdn-cgi/access/get-identity",
    "/cdn-cgi/access/login",
    "/cdn-cgi/access/authorized",
    "/cdn-cgi/access/certs",
    "/healthz",
    "/readyz",
    "/admin/",
    "/api/access/apps",
    "/demo/echo//api/x",
]


@pytest.mark.parametrize("domain", [API_HOST, f"{API_HOST}/demo/echo/api", f"{API_HOST}/cdn-cgi"])
@pytest.mark.parametrize("preflight", list(PREFLIGHTS))
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("host", [API_HOST, "stray.localhost", "127.0.0.1"])
def test_the_fast_path_and_the_middleware_answer_every_request_alike(
    django_handler, domain, preflight, path, host
):
    make_application(domain=domain, cors_headers=CORS)
    environ = _environ(path, host=host, **PREFLIGHTS[preflight])
    downstream = Downstream()

    fast = _answer(PreflightFastPath(django_handler), dict(environ))
    django_alone = _answer(django_handler, dict(environ))
    _call(PreflightFastPath(downstream), dict(environ))

    assert fast == django_alone
    if path.startswith("/cdn-cgi/access/") or path in ("/healthz", "/readyz"):
        # The gate never decides its own endpoints: the fast path leaves them to their views.
        assert downstream.calls == [path]


def test_answers_from_the_environ_with_no_django_request_or_response(monkeypatch):
    make_application(domain=f"{API_HOST}/demo/echo/api", cors_headers=CORS)

    def refuse(*args, **kwargs):
        raise AssertionError("the fast path built a Django request or response")

    monkeypatch.setattr("django.core.handlers.wsgi.WSGIRequest.__init__", refuse)
    monkeypatch.setattr("django.http.response.HttpResponseBase.__init__", refuse)
    downstream = Downstream()
    headers = {"HTTP_ORIGIN": CALLER, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT"}

    status, fast_headers, body = _call(
        PreflightFastPath(downstream), _environ("/demo/echo/api/x", **headers)
    )

    assert downstream.calls == []
    assert status == 200
    assert fast_headers["Access-Control-Allow-Origin"] == CALLER
    assert body == b""


@pytest.mark.parametrize("host", ["evil.example", "bad host", ""])
def test_a_host_django_would_refuse_goes_on_to_django(host):
    make_application(domain=f"{API_HOST}/demo/echo/api", cors_headers=CORS)
    downstream = Downstream()
    headers = {"HTTP_ORIGIN": CALLER, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT"}

    _call(PreflightFastPath(downstream), _environ("/demo/echo/api/x", host=host, **headers))

    assert downstream.calls == ["/demo/echo/api/x"]


def test_x_forwarded_host_is_read_only_when_django_would(settings):
    make_application(domain=f"{API_HOST}/demo/echo/api", cors_headers=CORS)
    headers = {
        "HTTP_ORIGIN": CALLER,
        "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT",
        "HTTP_X_FORWARDED_HOST": API_HOST,
    }
    environ = _environ("/demo/echo/api/x", host="stray.localhost", **headers)

    ignored = Downstream()
    _call(PreflightFastPath(ignored), dict(environ))
    settings.USE_X_FORWARDED_HOST = True
    believed = Downstream()
    status, _headers, _body = _call(PreflightFastPath(believed), dict(environ))

    assert ignored.calls == ["/demo/echo/api/x"]  # stray.localhost: no application there
    assert believed.calls == []
    assert status == 200


@pytest.mark.parametrize(
    ("debug", "allowed_hosts", "environ", "expected"),
    [
        (False, ["app.example.com"], {"HTTP_HOST": "app.example.com:8443"}, "app.example.com:8443"),
        (False, ["app.example.com"], {"HTTP_HOST": "evil.example.com"}, None),
        (False, ["app.example.com"], {}, None),  # no Host: Django works it out from the server
        (False, [], {"HTTP_HOST": "app.localhost"}, None),
        # DEBUG with no ALLOWED_HOSTS: what Django's get_host() allows then, and only that
        (True, [], {"HTTP_HOST": "app.localhost"}, "app.localhost"),
        (True, [], {"HTTP_HOST": "127.0.0.1:8000"}, "127.0.0.1:8000"),
        (True, [], {"HTTP_HOST": "[::1]"}, "[::1]"),
        (True, [], {"HTTP_HOST": "app.example.com"}, None),
        (True, ["app.example.com"], {"HTTP_HOST": "app.localhost"}, None),
    ],
)
def test_the_host_is_read_as_django_would(settings, debug, allowed_hosts, environ, expected):
    settings.DEBUG = debug
    settings.ALLOWED_HOSTS = allowed_hosts
    assert host_from_environ(environ) == expected


def test_x_forwarded_host_counts_only_when_django_is_told_to_believe_it(settings):
    settings.ALLOWED_HOSTS = ["app.example.com", "proxy.example.com"]
    environ = {"HTTP_HOST": "proxy.example.com", "HTTP_X_FORWARDED_HOST": "app.example.com"}
    settings.USE_X_FORWARDED_HOST = False
    assert host_from_environ(environ) == "proxy.example.com"
    settings.USE_X_FORWARDED_HOST = True
    assert host_from_environ(environ) == "app.example.com"


@pytest.mark.parametrize(
    ("include", "inside", "outside"),
    [
        ({"ip": {"ip": "127.0.0.1/32"}}, {}, {"REMOTE_ADDR": "192.0.2.1"}),
        ({"geo": {"country_code": "NZ"}}, {"HTTP_CF_IPCOUNTRY": "NZ"}, {"HTTP_CF_IPCOUNTRY": "PT"}),
    ],
    ids=["ip", "country"],
)
def test_a_bypass_for_the_clients_network_leaves_the_preflight_to_the_view(
    settings, include, inside, outside
):
    """The bypass is decided first, from the environ's address and country, as the middleware
    reads them: from inside, the application's own view answers the preflight; from outside,
    the gate's CORS answers it here."""
    settings.ACCESS_COUNTRY_HEADER = "CF-IPCountry"
    application = make_application(domain=f"{API_HOST}/demo/echo/api", cors_headers=CORS)
    allow_policy(application, name="office", decision="bypass", include=[include])
    headers = {"HTTP_ORIGIN": CALLER, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT"}
    bypassed, answered = Downstream(), Downstream()

    _call(PreflightFastPath(bypassed), _environ("/demo/echo/api/x", **headers, **inside))
    status, fast_headers, _body = _call(
        PreflightFastPath(answered), _environ("/demo/echo/api/x", **headers, **outside)
    )

    assert bypassed.calls == ["/demo/echo/api/x"]
    assert answered.calls == []
    assert (status, fast_headers["Access-Control-Allow-Origin"]) == (200, CALLER)


def test_the_fast_path_logs_the_request_it_answered(caplog):
    make_application(domain=f"{API_HOST}/demo/echo/api", cors_headers=CORS)
    caplog.set_level(logging.INFO, logger="accessproject.access")
    headers = {"HTTP_ORIGIN": CALLER, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT"}

    _call(PreflightFastPath(Downstream()), _environ("/demo/echo/api/x", **headers))

    [record] = [r.access for r in caplog.records if hasattr(r, "access")]
    assert {key: record[key] for key in ("decision", "reason", "client_ip", "method")} == {
        "decision": "preflight_answered",
        "reason": "preflight allowed",
        "client_ip": "127.0.0.1",
        "method": "OPTIONS",
    }
    assert (record["host"], record["path"]) == (API_HOST, "/demo/echo/api/x")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_request_that_is_not_options_goes_on_to_django_whatever_it_carries(method):
    """Only an OPTIONS request is a preflight: another method with the preflight's headers is
    an ordinary request, for the gate to authenticate (never a CORS answer without the view)."""
    application = make_application(domain=f"{API_HOST}/demo/echo/api", cors_headers=CORS)
    allow_policy(application)
    headers = {"HTTP_ORIGIN": CALLER, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT"}
    downstream = Downstream()

    _call(PreflightFastPath(downstream), _environ("/demo/echo/api/x", method=method, **headers))

    assert downstream.calls == ["/demo/echo/api/x"]
