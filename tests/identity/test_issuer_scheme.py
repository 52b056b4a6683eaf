"""The tokens' issuer is the request's scheme: `http://` on plain HTTP in development, `https://`
behind TLS or a proxy the settings trust; a token issued over one scheme is refused over the other.
"""

from __future__ import annotations

import logging

import jwt
import pytest
from django.core.handlers.wsgi import WSGIRequest
from django.test import RequestFactory

from identity.cookies import CF_AUTHORIZATION
from identity.fastpath import _EnvironScheme
from identity.hosts import request_scheme
from tests.gatekit import API_HOST, allow_policy, echo, service_token, token_for
from tests.gatekit import make_application as make_api_application
from tests.identity.signin_support import (
    Browser,
    LoginFlow,
    follow_hop,
    make_application,
    sign_in_with_pin,
)

pytestmark = pytest.mark.django_db

LOGIN_HOST = "access.localhost"
WIKI = "wiki.localhost"
OTHER = {"http": "https", "https": "http"}


def _issuer(token: str) -> str:
    return str(jwt.decode(token, options={"verify_signature": False})["iss"])


def _decisions(caplog) -> list[tuple[str, str]]:
    return [
        (r.access["decision"], r.access["reason"]) for r in caplog.records if hasattr(r, "access")
    ]


@pytest.fixture
def signed_in(settings, mailoutbox, request):
    """Ann signed in to the wiki through the login host, every request over `request.param`."""
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST
    scheme = request.param
    browser = Browser()
    wiki = make_application(domain=f"{WIKI}/demo", name="Wiki")
    flow = LoginFlow(browser, wiki, app_host=WIKI, login_host=LOGIN_HOST, scheme=scheme)
    signed = sign_in_with_pin(flow, mailoutbox)
    hop = follow_hop(flow, signed)
    return scheme, browser, signed.cookies[CF_AUTHORIZATION].value, hop


@pytest.mark.parametrize("signed_in", ["http", "https"], indirect=True)
def test_a_sign_in_issues_its_tokens_under_the_scheme_it_came_over(signed_in, caplog):
    scheme, browser, org_token, hop = signed_in
    app_token = hop.cookies[CF_AUTHORIZATION].value

    assert _issuer(org_token) == f"{scheme}://{LOGIN_HOST}"
    assert _issuer(app_token) == f"{scheme}://{LOGIN_HOST}"
    same = browser.get(f"{scheme}://{WIKI}/demo/echo/x")
    assert same.status_code == 200
    assert same.json()["access"]["email"] == "ann@example.com"

    with caplog.at_level(logging.INFO, logger="accessproject.access"):
        caplog.clear()
        other = browser.get(f"{OTHER[scheme]}://{WIKI}/demo/echo/x")
    assert other.status_code == 302
    assert other["Location"].startswith(f"{OTHER[scheme]}://{LOGIN_HOST}/cdn-cgi/access/login/")
    assert _decisions(caplog) == [("unauthenticated", "token refused: wrong issuer")]


@pytest.mark.parametrize("signed_in", ["http", "https"], indirect=True)
def test_the_login_host_recognises_its_session_only_over_its_scheme(signed_in):
    scheme, browser, _org_token, _hop = signed_in

    same = browser.get(f"{scheme}://{LOGIN_HOST}/cdn-cgi/access/get-identity")
    other = browser.get(f"{OTHER[scheme]}://{LOGIN_HOST}/cdn-cgi/access/get-identity")

    assert same.status_code == 200
    assert same.json()["email"] == "ann@example.com"
    assert other.status_code == 401
    assert other.json() == {"err": "no valid Access token"}


@pytest.fixture
def api(db):
    application = make_api_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(application)
    return application


def test_a_token_issued_over_https_is_refused_over_plain_http(client, api, caplog):
    client.cookies[CF_AUTHORIZATION] = token_for(api, scheme="https")

    with caplog.at_level(logging.INFO, logger="accessproject.access"):
        refused = echo(client, "/demo/echo/api/x")
        passed = echo(client, "/demo/echo/api/x", secure=True)

    assert refused.status_code == 302
    assert passed.status_code == 200
    assert _decisions(caplog) == [
        ("unauthenticated", "token refused: wrong issuer"),
        ("allow", "allowed by policy 'people'"),
    ]


def test_a_trusted_proxys_https_header_makes_the_https_issuer(client, api, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    client.cookies[CF_AUTHORIZATION] = token_for(api, scheme="https")

    assert echo(client, "/demo/echo/api/x", HTTP_X_FORWARDED_PROTO="https").status_code == 200
    assert echo(client, "/demo/echo/api/x", HTTP_X_FORWARDED_PROTO="http").status_code == 302


def test_without_the_proxy_setting_the_header_is_not_believed(client, api):
    client.cookies[CF_AUTHORIZATION] = token_for(api, scheme="https")

    assert echo(client, "/demo/echo/api/x", HTTP_X_FORWARDED_PROTO="https").status_code == 302


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_service_tokens_app_token_is_issued_under_the_request_scheme(client, scheme):
    application = make_api_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(
        application, name="ci", decision="non_identity", include=[{"any_valid_service_token": {}}]
    )
    token, secret = service_token()

    response = echo(
        client,
        "/demo/echo/api/x",
        secure=scheme == "https",
        HTTP_CF_ACCESS_CLIENT_ID=token.client_id,
        HTTP_CF_ACCESS_CLIENT_SECRET=secret,
    )

    assert response.status_code == 200
    assert _issuer(response.cookies[CF_AUTHORIZATION].value) == f"{scheme}://{API_HOST}"


@pytest.mark.parametrize(("proto", "passes"), [("http", "http"), ("https", "https")])
def test_forward_auth_takes_the_scheme_the_proxy_forwarded(client, settings, proto, passes):
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/24"]
    wiki = make_api_application(name="Wiki", domain=WIKI)
    allow_policy(wiki)

    def ask(issued_over: str) -> int:
        client.cookies[CF_AUTHORIZATION] = token_for(wiki, host=WIKI, scheme=issued_over)
        return client.get(
            "/cdn-cgi/access/forward-auth",
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_HOST=WIKI,
            HTTP_X_FORWARDED_PROTO=proto,
            HTTP_X_FORWARDED_METHOD="GET",
            HTTP_X_FORWARDED_URI="/page",
        ).status_code

    assert ask(passes) == 200
    assert ask(OTHER[passes]) == 302


ENVIRONS = [
    ({"wsgi.url_scheme": "http"}, None),
    ({"wsgi.url_scheme": "https"}, None),
    ({"wsgi.url_scheme": "http", "HTTP_X_FORWARDED_PROTO": "https"}, None),
    ({"wsgi.url_scheme": "http", "HTTP_X_FORWARDED_PROTO": "https"}, "https"),
    ({"wsgi.url_scheme": "https", "HTTP_X_FORWARDED_PROTO": "http"}, "https"),
    ({"wsgi.url_scheme": "http", "HTTP_X_FORWARDED_PROTO": "https, http"}, "https"),
    ({"wsgi.url_scheme": "http"}, "https"),
]


@pytest.mark.parametrize(("environ", "secure_value"), ENVIRONS)
def test_the_preflight_fast_path_reads_the_scheme_as_djangos_request_does(
    settings, environ, secure_value
):
    if secure_value is not None:
        settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", secure_value)
    django_request = RequestFactory().get("/", **environ)
    assert isinstance(django_request, WSGIRequest)

    assert request_scheme(_EnvironScheme(django_request.environ)) == django_request.scheme
