"""SSO: with a valid org session on the team domain, other applications sign in without the page."""

import pytest

from identity.cookies import CF_AUTHORIZATION
from identity.models import AuthEvent
from identity.sessions import sessions_revoke_for_nonce
from identity.tokens import verify_access_token
from policies.models import IdentityProvider
from tests.gatekit import committed
from tests.identity.signin_support import (
    NAVIGATION,
    Browser,
    LoginFlow,
    code_from,
    follow_hop,
    make_application,
    sign_in_with_pin,
)

LOGIN_HOST = "access.localhost"


@pytest.fixture(autouse=True)
def _team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST


@pytest.fixture
def browser():
    return Browser()


@pytest.fixture
def wiki(db):
    return make_application(domain="wiki.localhost/demo", name="Wiki")


def _flow(browser, application, host):
    return LoginFlow(browser, application, app_host=host, login_host=LOGIN_HOST)


@pytest.fixture
def signed_in(browser, wiki, mailoutbox):
    """Ann has signed in to the wiki through the login host."""
    flow = _flow(browser, wiki, "wiki.localhost")
    follow_hop(flow, sign_in_with_pin(flow, mailoutbox))
    return flow


def test_sign_in_sets_the_org_cookie_on_the_login_host(browser, wiki, mailoutbox):
    flow = _flow(browser, wiki, "wiki.localhost")
    response = sign_in_with_pin(flow, mailoutbox)
    cookie = response.cookies[CF_AUTHORIZATION]
    assert (cookie["httponly"], cookie["samesite"], cookie["secure"]) == (True, "Lax", True)
    assert cookie["max-age"] == 24 * 3600
    claims = verify_access_token(
        cookie.value, audience=None, token_type="org", issuer="https://access.localhost"
    )
    assert claims.audiences == (LOGIN_HOST,)
    assert claims.email == "ann@example.com"
    assert CF_AUTHORIZATION in browser.cookies(LOGIN_HOST)
    assert CF_AUTHORIZATION not in browser.cookies("wiki.localhost")


def test_another_application_signs_in_without_the_page(browser, signed_in, mailoutbox):
    tracker = make_application(domain="tracker.localhost/demo", name="Tracker")
    flow = _flow(browser, tracker, "tracker.localhost")
    response = flow.open()
    assert response.status_code == 302
    assert response["Location"].startswith(
        "https://tracker.localhost/cdn-cgi/access/authorized?code="
    )
    hop = follow_hop(flow, response)
    assert hop["Location"] == "/demo/page"
    claims = verify_access_token(
        hop.cookies[CF_AUTHORIZATION].value,
        audience=tracker.aud,
        token_type="app",
        issuer="https://access.localhost",
    )
    assert claims.email == "ann@example.com"
    assert len(mailoutbox) == 1  # no second code
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.SIGN_IN, detail__sso=True).count() == 1


def test_sso_shares_the_sign_ins_identity_nonce(browser, signed_in):
    tracker = make_application(domain="tracker.localhost/demo")
    flow = _flow(browser, tracker, "tracker.localhost")
    hop = follow_hop(flow, flow.open())
    wiki_token = browser.cookies("wiki.localhost")[CF_AUTHORIZATION]
    issuer = "https://access.localhost"
    first = verify_access_token(wiki_token, audience=None, token_type="app", issuer=issuer)
    second = verify_access_token(
        hop.cookies[CF_AUTHORIZATION].value, audience=None, token_type="app", issuer=issuer
    )
    assert first.identity_nonce == second.identity_nonce


def test_sso_re_evaluates_the_other_applications_policies(browser, signed_in):
    payroll = make_application(
        domain="payroll.localhost/demo",
        include=[{"email": {"email": "boss@example.com"}}],
        custom_deny_message="Payroll is for the boss.",
    )
    response = _flow(browser, payroll, "payroll.localhost").open()
    assert response.status_code == 403
    assert b"Payroll is for the boss." in response.content
    assert b"ann@example.com" in response.content
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.SIGN_IN_REFUSED).count() == 1


def test_sso_refusal_goes_to_the_custom_deny_url(browser, signed_in):
    payroll = make_application(
        domain="payroll.localhost/demo",
        include=[{"email": {"email": "boss@example.com"}}],
        custom_deny_url="https://example.com/denied",
    )
    response = _flow(browser, payroll, "payroll.localhost").open()
    assert response.status_code == 302
    assert response["Location"] == "https://example.com/denied"


def test_sso_shows_the_page_when_the_login_method_is_not_allowed(browser, signed_in):
    password = IdentityProvider.objects.get(type=IdentityProvider.Type.PASSWORD)
    strict = make_application(domain="strict.localhost/demo", allowed_idps=[password])
    response = _flow(browser, strict, "strict.localhost").open()
    assert response.status_code == 200
    assert b"Password" in response.content


def test_a_revoked_org_session_no_longer_signs_in(browser, signed_in):
    token = browser.cookies(LOGIN_HOST)[CF_AUTHORIZATION]
    claims = verify_access_token(
        token, audience=None, token_type="org", issuer="https://access.localhost"
    )
    with committed():
        sessions_revoke_for_nonce(claims.identity_nonce)
    tracker = make_application(domain="tracker.localhost/demo")
    response = _flow(browser, tracker, "tracker.localhost").open()
    assert response.status_code == 200
    assert b"Send me a code" in response.content


def test_an_app_token_on_the_login_host_is_not_an_org_session(browser, wiki, mailoutbox):
    flow = _flow(browser, wiki, "wiki.localhost")
    follow_hop(flow, sign_in_with_pin(flow, mailoutbox))
    browser.cookies(LOGIN_HOST)[CF_AUTHORIZATION] = browser.cookies("wiki.localhost")[
        CF_AUTHORIZATION
    ]
    tracker = make_application(domain="tracker.localhost/demo")
    assert _flow(browser, tracker, "tracker.localhost").open().status_code == 200


def test_the_login_host_page_says_who_is_signed_in(browser, signed_in):
    response = browser.get(f"https://{LOGIN_HOST}/cdn-cgi/access/login", **NAVIGATION)
    assert response.status_code == 200
    assert b"You are signed in as <strong>ann@example.com</strong>" in response.content
    assert b'action="/cdn-cgi/access/logout"' in response.content


def test_signing_in_on_the_login_host_page_starts_an_org_session(browser, wiki, mailoutbox):
    page = f"https://{LOGIN_HOST}/cdn-cgi/access/login"
    browser.get(page, **NAVIGATION)
    browser.post(page, {"step": "send_pin", "email": "ann@example.com"})
    response = browser.post(
        page, {"step": "verify_pin", "email": "ann@example.com", "code": code_from(mailoutbox[0])}
    )
    assert response.status_code == 302
    assert response["Location"] == "/cdn-cgi/access/login"
    assert CF_AUTHORIZATION in browser.cookies(LOGIN_HOST)


def test_the_login_host_page_sends_no_code_to_an_address_no_application_allows(
    browser, wiki, mailoutbox
):
    page = f"https://{LOGIN_HOST}/cdn-cgi/access/login"
    response = browser.post(page, {"step": "send_pin", "email": "eve@elsewhere.test"})
    assert b"A code is on its way to <strong>" in response.content
    assert mailoutbox == []
