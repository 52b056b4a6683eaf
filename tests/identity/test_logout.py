"""Logout revokes the sign-in across all applications and clears this host's cookies."""

import pytest

from identity.claims import TokenError
from identity.cookies import CF_AUTHORIZATION
from identity.models import AccessSession, AuthEvent
from identity.tokens import verify_access_token
from tests.identity.signin_support import (
    NAVIGATION,
    Browser,
    LoginFlow,
    follow_hop,
    make_application,
    sign_in_with_pin,
)

LOGIN_HOST = "access.localhost"
ISSUER = "https://access.localhost"


@pytest.fixture(autouse=True)
def _team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST


@pytest.fixture
def browser(db, mailoutbox):
    """Ann has signed in to the wiki and, through SSO, to the tracker."""
    browser = Browser()
    wiki = make_application(domain="wiki.localhost/demo")
    tracker = make_application(domain="tracker.localhost/demo")
    flow = LoginFlow(browser, wiki, app_host="wiki.localhost", login_host=LOGIN_HOST)
    follow_hop(flow, sign_in_with_pin(flow, mailoutbox))
    flow = LoginFlow(browser, tracker, app_host="tracker.localhost", login_host=LOGIN_HOST)
    follow_hop(flow, flow.open())
    return browser


def _refused(token, token_type="app"):
    try:
        verify_access_token(token, audience=None, token_type=token_type, issuer=ISSUER)
    except TokenError as error:
        return error.reason
    return None


def test_logout_on_an_application_host_revokes_every_session_of_the_sign_in(browser):
    tracker_token = browser.cookies("tracker.localhost")[CF_AUTHORIZATION]
    org_token = browser.cookies(LOGIN_HOST)[CF_AUTHORIZATION]
    response = browser.get("https://wiki.localhost/cdn-cgi/access/logout", **NAVIGATION)
    assert response.status_code == 200
    assert b"You have been signed out" in response.content
    assert AccessSession.objects.filter(revoked_at__isnull=True).count() == 0
    assert AccessSession.objects.count() == 3
    assert _refused(tracker_token) == "revoked"
    assert _refused(org_token, "org") == "revoked"


def test_logout_clears_this_hosts_cookie(browser):
    response = browser.get("https://wiki.localhost/cdn-cgi/access/logout", **NAVIGATION)
    assert response.cookies[CF_AUTHORIZATION]["max-age"] == 0
    assert CF_AUTHORIZATION not in browser.cookies("wiki.localhost")


def test_logout_on_an_application_host_links_to_the_login_hosts_logout(browser):
    response = browser.get("https://wiki.localhost/cdn-cgi/access/logout", **NAVIGATION)
    assert b'href="https://access.localhost/cdn-cgi/access/logout"' in response.content


def test_logout_on_the_login_host_clears_the_org_cookie(browser):
    response = browser.post(f"https://{LOGIN_HOST}/cdn-cgi/access/logout", {})
    assert response.status_code == 200
    assert response.cookies[CF_AUTHORIZATION]["max-age"] == 0
    assert b"access.localhost/cdn-cgi/access/logout" not in response.content
    assert AccessSession.objects.filter(revoked_at__isnull=True).count() == 0


def test_logout_records_the_event(browser):
    browser.get("https://wiki.localhost/cdn-cgi/access/logout", **NAVIGATION)
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOGOUT)
    assert event.email == "ann@example.com"


def test_logout_without_a_session_still_answers(db):
    response = Browser().get("https://wiki.localhost/cdn-cgi/access/logout", **NAVIGATION)
    assert response.status_code == 200
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGOUT).exists()


def test_a_forged_cookie_revokes_nothing(browser):
    forged = Browser()
    forged.cookies("wiki.localhost")[CF_AUTHORIZATION] = "eyJhbGciOiJub25lIn0.e30."
    forged.get("https://wiki.localhost/cdn-cgi/access/logout", **NAVIGATION)
    assert AccessSession.objects.filter(revoked_at__isnull=False).count() == 0


def test_logout_refuses_a_cross_site_subrequest(browser):
    response = browser.get(
        "https://wiki.localhost/cdn-cgi/access/logout",
        HTTP_SEC_FETCH_SITE="cross-site",
        HTTP_SEC_FETCH_MODE="no-cors",
        HTTP_SEC_FETCH_DEST="image",
    )
    assert response.status_code == 403
    assert AccessSession.objects.filter(revoked_at__isnull=False).count() == 0
