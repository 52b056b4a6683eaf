"""The Secure attribute of every cookie the project sets, decided once (`cookie_secure`).

Outside DEBUG every cookie is Secure, whatever the request's scheme; in DEBUG only when the
browser came over HTTPS. Each issuer is asked through the view that sets it, over both schemes
and with DEBUG on and off: the login page's flow cookie and the org cookie on the login host,
the app cookie of the authorized hop, the gate's state cookie with a redirect to the login
page, the app cookie a service token earns through the gate and through forward-auth, and the
state cookie of forward-auth's redirect to the login page (whose scheme is the one a trusted
proxy forwards, not its own hop to the gate), and logout's expired ones.
"""

from __future__ import annotations

import pytest

from identity.cookies import CF_APP_SESSION, CF_AUTHORIZATION, CF_BINDING, cookie_secure
from identity.views.login import FLOW_COOKIE
from tests.gatekit import API_HOST, allow_policy, echo, service_token
from tests.gatekit import make_application as make_gated_application
from tests.identity.signin_support import (
    Browser,
    LoginFlow,
    code_from,
    follow_hop,
    make_application,
)

pytestmark = pytest.mark.django_db

CASES = [
    pytest.param(debug, scheme, scheme == "https" or not debug, id=f"{scheme}-debug-{debug}")
    for debug in (True, False)
    for scheme in ("http", "https")
]


@pytest.fixture(autouse=True)
def _hosts(settings):
    settings.ALLOWED_HOSTS = [".localhost"]
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/24"]


def _forward_auth(client, scheme, *, proxy_hop_secure=False, peer="10.0.0.5", **headers):
    """A trusted proxy's (or `peer`'s) forward-auth question for GET https?://wiki.localhost/page,
    asked over a hop that is HTTPS or not (`proxy_hop_secure`)."""
    return client.get(
        "/cdn-cgi/access/forward-auth",
        secure=proxy_hop_secure,
        REMOTE_ADDR=peer,
        HTTP_HOST="access.localhost",
        HTTP_X_FORWARDED_HOST="wiki.localhost",
        HTTP_X_FORWARDED_PROTO=scheme,
        HTTP_X_FORWARDED_METHOD="GET",
        HTTP_X_FORWARDED_URI="/page",
        **headers,
    )


@pytest.mark.parametrize(("debug", "scheme", "secure"), CASES)
def test_cookie_secure_is_https_or_not_debug(settings, debug, scheme, secure):
    settings.DEBUG = debug
    assert cookie_secure(scheme) is secure


@pytest.mark.parametrize(("debug", "scheme", "secure"), CASES)
def test_the_sign_in_cookies(settings, mailoutbox, debug, scheme, secure):
    settings.DEBUG = debug
    application = make_application(enable_binding_cookie=True)
    flow = LoginFlow(Browser(), application, scheme=scheme)

    assert flow.open().status_code == 200
    sent = flow.send_pin()
    signed_in = flow.verify_pin(code_from(mailoutbox[-1]))
    hop = follow_hop(flow, signed_in)

    assert bool(sent.cookies[FLOW_COOKIE]["secure"]) is secure
    assert bool(signed_in.cookies[CF_AUTHORIZATION]["secure"]) is secure  # the org cookie
    assert hop.status_code == 302
    for name in (CF_AUTHORIZATION, CF_BINDING, CF_APP_SESSION):  # the app's, the state expired
        assert bool(hop.cookies[name]["secure"]) is secure, name
    assert hop.cookies[CF_APP_SESSION]["max-age"] == 0


@pytest.mark.parametrize(("debug", "scheme", "secure"), CASES)
def test_the_state_cookie_with_the_redirect_to_the_login_page(
    client, settings, debug, scheme, secure
):
    settings.DEBUG = debug
    allow_policy(make_gated_application(domain=f"{API_HOST}/demo/echo/api"))

    response = echo(client, "/demo/echo/api/x", secure=scheme == "https")

    assert response.status_code == 302
    assert bool(response.cookies[CF_APP_SESSION]["secure"]) is secure


def _service_only_application(host: str) -> tuple[str, str]:
    application = make_gated_application(domain=host)
    token, secret = service_token()
    allow_policy(
        application, decision="non_identity", include=[{"service_token": {"name": token.name}}]
    )
    return token.client_id, secret


@pytest.mark.parametrize(("debug", "scheme", "secure"), CASES)
def test_the_app_cookie_a_service_token_earns_through_the_gate(
    client, settings, debug, scheme, secure
):
    settings.DEBUG = debug
    client_id, secret = _service_only_application(f"{API_HOST}/demo/echo/api")

    response = echo(
        client,
        "/demo/echo/api/x",
        secure=scheme == "https",
        HTTP_CF_ACCESS_CLIENT_ID=client_id,
        HTTP_CF_ACCESS_CLIENT_SECRET=secret,
    )

    assert response.status_code == 200
    assert bool(response.cookies[CF_AUTHORIZATION]["secure"]) is secure


@pytest.mark.parametrize("proxy_hop_secure", [False, True])
@pytest.mark.parametrize(("debug", "scheme", "secure"), CASES)
def test_the_app_cookie_a_service_token_earns_through_forward_auth(
    client, settings, debug, scheme, secure, proxy_hop_secure
):
    settings.DEBUG = debug
    client_id, secret = _service_only_application("wiki.localhost")

    response = _forward_auth(
        client,
        scheme,
        proxy_hop_secure=proxy_hop_secure,
        HTTP_CF_ACCESS_CLIENT_ID=client_id,
        HTTP_CF_ACCESS_CLIENT_SECRET=secret,
    )

    assert response.status_code == 200
    assert bool(response.cookies[CF_AUTHORIZATION]["secure"]) is secure


@pytest.mark.parametrize("proxy_hop_secure", [False, True])
@pytest.mark.parametrize(("debug", "scheme", "secure"), CASES)
def test_the_state_cookie_forward_auth_sets_with_the_redirect_to_the_login_page(
    client, settings, debug, scheme, secure, proxy_hop_secure
):
    settings.DEBUG = debug
    allow_policy(make_gated_application(domain="wiki.localhost"))

    response = _forward_auth(client, scheme, proxy_hop_secure=proxy_hop_secure)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{scheme}://wiki.localhost/cdn-cgi/access/login/")
    assert bool(response.cookies[CF_APP_SESSION]["secure"]) is secure


@pytest.mark.parametrize("forwarded_scheme", ["http", "https"])
def test_a_forwarded_scheme_from_outside_the_trusted_proxies_sets_no_cookie(
    client, settings, forwarded_scheme
):
    settings.DEBUG = True
    allow_policy(make_gated_application(domain="wiki.localhost"))

    response = _forward_auth(client, forwarded_scheme, peer="10.0.1.5")

    assert response.status_code == 403
    assert not response.cookies


@pytest.mark.parametrize(("debug", "scheme", "secure"), CASES)
def test_logout_expires_the_cookies_with_the_same_attribute(
    client, settings, debug, scheme, secure
):
    settings.DEBUG = debug

    response = client.get(
        "/cdn-cgi/access/logout", HTTP_HOST="app.localhost", secure=scheme == "https"
    )

    for name in (CF_AUTHORIZATION, CF_BINDING, CF_APP_SESSION):
        assert response.cookies[name]["max-age"] == 0
        assert bool(response.cookies[name]["secure"]) is secure, name
