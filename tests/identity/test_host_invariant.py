"""One set of views, many hosts: a protected path is never served unprotected through another host.

Django serves every view on every host it accepts. The invariant, through the real middleware: a
request reaches a view through host B only if an application on B covers the path (and decides)
or no application on any host protects that path; otherwise `421`. The project's own
self-authenticating endpoints (the admin, the REST API) stay reachable on the login host.
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.gatekit import allow_policy, make_application

pytestmark = pytest.mark.django_db

LOGIN_HOST = "login.localhost"
OTHER_HOST = "other.localhost"  # has an application of its own, on another path
PROTECTED = {
    "path": ("api.localhost/demo/echo/private", "api.localhost"),
    "wildcard host": ("*.apps.localhost/demo/echo/private", "one.apps.localhost"),
    "whole host": ("whole.localhost", "whole.localhost"),
}
PRIVATE = "/demo/echo/private/x"
PUBLIC = "/demo/echo/public/x"

SIGN_IN = "sign in"  # the covering application decides: no credentials, so the login page
REFUSED = 421
SERVED = 200


@pytest.fixture
def protected(request, settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST
    domain, _ = PROTECTED[request.param]
    allow_policy(make_application(name="Protected", domain=domain))
    allow_policy(make_application(name="Other", domain=f"{OTHER_HOST}/demo/echo/other"))
    return request.param


def _answer(host: str, path: str) -> int | str:
    response = Client().get(path, HTTP_HOST=host)
    if response.status_code == 302 and "/cdn-cgi/access/login/" in response["Location"]:
        return SIGN_IN
    return response.status_code


def _own_host(kind: str) -> str:
    return PROTECTED[kind][1]


@pytest.mark.parametrize("protected", list(PROTECTED), indirect=True)
@pytest.mark.parametrize(
    ("through", "path", "expected"),
    [
        ("own host", PRIVATE, SIGN_IN),
        ("login host", PRIVATE, REFUSED),
        ("another covered host", PRIVATE, REFUSED),
        ("another covered host", "/demo/echo/other/x", SIGN_IN),
        ("an uncovered host", PRIVATE, REFUSED),
        ("an IPv4 address", PRIVATE, REFUSED),
        ("an IPv6 address", PRIVATE, REFUSED),
    ],
)
def test_a_protected_path_is_served_only_through_a_host_that_covers_it(
    protected, through, path, expected
):
    host = {
        "own host": _own_host(protected),
        "login host": LOGIN_HOST,
        "another covered host": OTHER_HOST,
        "an uncovered host": "stray.localhost",
        "an IPv4 address": "127.0.0.1",
        "an IPv6 address": "[::1]:8000",
    }[through]

    assert _answer(host, path) == expected


@pytest.mark.parametrize("protected", ["path", "wildcard host"], indirect=True)
@pytest.mark.parametrize("host", [LOGIN_HOST, OTHER_HOST, "stray.localhost", "127.0.0.1"])
def test_a_path_no_application_protects_is_served_through_any_host(protected, host):
    assert _answer(host, PUBLIC) == SERVED


@pytest.mark.parametrize("protected", ["whole host"], indirect=True)
@pytest.mark.parametrize("host", [LOGIN_HOST, OTHER_HOST, "stray.localhost", "127.0.0.1"])
def test_a_whole_host_application_protects_every_path_on_every_other_host(protected, host):
    assert _answer(host, PUBLIC) == REFUSED
    # `/` on the login host is the project's own page (the App Launcher, or what the host is).
    assert _answer(host, "/") == (SERVED if host == LOGIN_HOST else REFUSED)


@pytest.mark.parametrize("protected", ["whole host"], indirect=True)
@pytest.mark.parametrize("path", ["/admin/", "/admin/login/", "/api/access/apps", "/api/schema/"])
def test_the_admin_and_the_api_stay_reachable_on_the_login_host_only(protected, path):
    on_login_host = Client().get(path, HTTP_HOST=LOGIN_HOST)

    assert on_login_host.status_code in {200, 302, 401}
    assert "/cdn-cgi/access/login/" not in on_login_host.get("Location", "")
    assert _answer(OTHER_HOST, path) == REFUSED
    assert _answer("127.0.0.1", path) == REFUSED
    assert _answer(_own_host(protected), path) == SIGN_IN


@pytest.mark.parametrize("protected", ["whole host"], indirect=True)
def test_the_login_host_never_serves_an_applications_view_as_its_own(protected):
    # The demo echo view is an application's view, not one of the project's own endpoints: the
    # exemption resolves the path and lets only the admin's and the API's views through.
    assert _answer(LOGIN_HOST, "/demo/echo/admin/") == REFUSED
    assert _answer(LOGIN_HOST, "/demo/") == REFUSED


@pytest.mark.parametrize("protected", ["whole host"], indirect=True)
def test_without_a_login_host_the_admin_follows_the_invariant(protected, settings):
    settings.ACCESS_TEAM_DOMAIN = ""

    assert _answer(LOGIN_HOST, "/admin/") == REFUSED


def test_a_bypass_application_serves_a_host_openly_on_purpose(settings):
    whole = make_application(name="Protected", domain="whole.localhost")
    allow_policy(whole)
    open_host = make_application(name="Open mirror", domain="mirror.localhost")
    allow_policy(open_host, name="everyone", decision="bypass", include=[{"everyone": {}}])

    assert _answer("mirror.localhost", PUBLIC) == SERVED
    assert _answer("stray.localhost", PUBLIC) == REFUSED


@pytest.mark.parametrize("protected", ["path"], indirect=True)
def test_a_misdirected_request_is_refused_in_plain_text_and_not_cached(protected):
    response = Client().get(PRIVATE, HTTP_HOST="127.0.0.1")

    assert response.status_code == 421
    assert response["Content-Type"] == "text/plain"
    assert response["Cache-Control"] == "no-store"
    assert response.content == b"Misdirected request: this path is protected on another host.\n"


def test_the_admin_put_behind_the_gate_on_the_login_host_needs_a_sign_in(settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST
    allow_policy(make_application(name="Admin", domain=f"{LOGIN_HOST}/admin"))

    assert _answer(LOGIN_HOST, "/admin/") == SIGN_IN
    assert _answer(LOGIN_HOST, "/cdn-cgi/access/login") == SERVED
    assert _answer("stray.localhost", "/admin/") == REFUSED
