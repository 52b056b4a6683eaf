"""Logout revokes the sign-in across all applications and clears this host's cookies."""

import html
import re
from unittest import mock
from urllib.parse import urlencode

import pytest

from identity.claims import TokenError
from identity.cookies import CF_AUTHORIZATION
from identity.models import AccessSession, AuthEvent
from identity.tokens import verify_access_token
from policies.snapshot import SnapshotError
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


# --- the signed-out page's way back --------------------------------------------------------------

WIKI_LOGOUT = "https://wiki.localhost/cdn-cgi/access/logout"
LOGIN_HOST_ROOT = "https://access.localhost/"


def _sign_in_again_link(response) -> str:
    """The href of the page's "Sign in again" button (HTML-unescaped)."""
    found = re.search(r'<a class="button primary" href="([^"]*)">Sign in again</a>', response.text)
    assert found is not None, response.text
    return html.unescape(found.group(1))


def test_sign_in_again_leads_to_the_page_redirect_url_names(browser):
    response = browser.get(f"{WIKI_LOGOUT}?redirect_url=/demo/notes%3Fid%3D7", **NAVIGATION)

    assert response.status_code == 200
    assert _sign_in_again_link(response) == "https://wiki.localhost/demo/notes?id=7"
    # The login host's logout carries it on, so its page leads back there too.
    assert (
        'href="https://access.localhost/cdn-cgi/access/logout?'
        'redirect_url=https%3A%2F%2Fwiki.localhost%2Fdemo%2Fnotes%3Fid%3D7"'
    ) in response.text


def test_sign_in_again_takes_another_applications_absolute_url(browser):
    response = browser.post(
        f"https://{LOGIN_HOST}/cdn-cgi/access/logout",
        {"redirect_url": "https://tracker.localhost/demo/issues/3"},
    )

    assert response.status_code == 200
    assert _sign_in_again_link(response) == "https://tracker.localhost/demo/issues/3"


def test_sign_in_again_leads_to_the_page_that_linked_to_the_logout(browser):
    response = browser.get(
        WIKI_LOGOUT, HTTP_REFERER="https://wiki.localhost/demo/notes/7", **NAVIGATION
    )

    assert _sign_in_again_link(response) == "https://wiki.localhost/demo/notes/7"


def test_sign_in_again_is_written_in_the_canonical_spelling(browser):
    response = browser.get(
        f"{WIKI_LOGOUT}?redirect_url=HTTPS://Tracker.LOCALHOST:443/demo/x", **NAVIGATION
    )

    assert _sign_in_again_link(response) == "https://tracker.localhost/demo/x"


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/demo",
        "//evil.example/demo",
        "/\\evil.example/demo",
        "https://wiki.localhost.evil.example/demo",
        "https://wiki.localhost@evil.example/demo",
        "javascript:alert(document.domain)",
        "http://wiki.localhost/demo/x",  # plain HTTP outside DEBUG
        "https://wiki.localhost:8443/demo/x",  # a port the site does not serve
        "https://wiki.localhost/elsewhere",  # no application covers the path
        "/elsewhere",
        "/demo/../admin/",  # a path with two readings
        "/demo/%2e%2e/admin/",
        "/cdn-cgi/access/logout",  # the gate's own endpoints sign nobody in
        "https://wiki.localhost/cdn-cgi/access/login",
        "/demo/x\n",
        "x" * 3000,
    ],
)
def test_sign_in_again_never_leads_off_the_applications(browser, target):
    response = browser.get(f"{WIKI_LOGOUT}?{urlencode({'redirect_url': target})}", **NAVIGATION)

    assert response.status_code == 200
    assert _sign_in_again_link(response) == LOGIN_HOST_ROOT
    assert "evil" not in response.text
    assert 'href="https://access.localhost/cdn-cgi/access/logout"' in response.text


def test_a_refused_redirect_url_is_not_replaced_by_the_referer(browser):
    response = browser.get(
        f"{WIKI_LOGOUT}?redirect_url=https://evil.example/",
        HTTP_REFERER="https://wiki.localhost/demo/notes",
        **NAVIGATION,
    )

    assert _sign_in_again_link(response) == LOGIN_HOST_ROOT


def test_a_referer_from_another_site_is_ignored(browser):
    response = browser.get(WIKI_LOGOUT, HTTP_REFERER="https://evil.example/demo", **NAVIGATION)

    assert _sign_in_again_link(response) == LOGIN_HOST_ROOT


def test_without_a_way_back_sign_in_again_is_the_login_hosts_root(browser):
    response = browser.get(WIKI_LOGOUT, **NAVIGATION)

    assert _sign_in_again_link(response) == LOGIN_HOST_ROOT


def test_a_refused_redirect_url_is_not_read_as_the_hosts_root(db):
    """Where an application covers a whole host, a refused target still leads nowhere on it:
    the way back is unknown, not the host's root page."""
    make_application(domain="root.localhost")
    logout = "https://root.localhost/cdn-cgi/access/logout"

    response = Browser().get(f"{logout}?redirect_url=https://evil.example/", **NAVIGATION)

    assert _sign_in_again_link(response) == LOGIN_HOST_ROOT


def test_in_debug_sign_in_again_keeps_a_plain_http_page_of_a_local_application(db, settings):
    settings.DEBUG = True
    make_application(domain="wiki.localhost/demo")
    logout = "http://wiki.localhost/cdn-cgi/access/logout"

    response = Browser().get(f"{logout}?redirect_url=http://wiki.localhost/demo/x", **NAVIGATION)

    assert _sign_in_again_link(response) == "http://wiki.localhost/demo/x"


def test_without_a_team_domain_sign_in_again_is_this_hosts_sign_in_page(db, settings):
    settings.ACCESS_TEAM_DOMAIN = ""

    response = Browser().get(WIKI_LOGOUT, **NAVIGATION)

    assert _sign_in_again_link(response) == "/cdn-cgi/access/login"


def test_sign_in_again_when_the_configuration_cannot_be_read_still_signs_out(browser):
    with mock.patch("identity.views.logout.get_snapshot", side_effect=SnapshotError("unreadable")):
        response = browser.get(f"{WIKI_LOGOUT}?redirect_url=/demo/x", **NAVIGATION)

    assert response.status_code == 200
    assert _sign_in_again_link(response) == LOGIN_HOST_ROOT
    assert AccessSession.objects.filter(revoked_at__isnull=True).count() == 0


# --- "Try another account": sign out, then straight back to the application's sign-in -----------


def test_sign_in_again_at_once_goes_through_the_login_hosts_logout(browser):
    response = browser.get(f"{WIKI_LOGOUT}?redirect_url=/demo/notes&sign_in_again=1", **NAVIGATION)

    assert response.status_code == 302
    assert response["Location"] == (
        "https://access.localhost/cdn-cgi/access/logout"
        "?redirect_url=https%3A%2F%2Fwiki.localhost%2Fdemo%2Fnotes&sign_in_again=1"
    )
    assert response.cookies[CF_AUTHORIZATION]["max-age"] == 0
    assert AccessSession.objects.filter(revoked_at__isnull=True).count() == 0


def test_the_login_hosts_logout_then_sends_the_browser_to_the_application(browser):
    first = browser.get(f"{WIKI_LOGOUT}?redirect_url=/demo/notes&sign_in_again=1", **NAVIGATION)

    response = browser.get(first["Location"], **NAVIGATION)

    assert response.status_code == 302
    assert response["Location"] == "https://wiki.localhost/demo/notes"
    assert response.cookies[CF_AUTHORIZATION]["max-age"] == 0
    assert CF_AUTHORIZATION not in browser.cookies(LOGIN_HOST)


def test_after_signing_out_at_once_the_application_asks_who_signs_in(browser):
    first = browser.get(f"{WIKI_LOGOUT}?redirect_url=/demo/notes&sign_in_again=1", **NAVIGATION)
    back = browser.get(browser.get(first["Location"], **NAVIGATION)["Location"], **NAVIGATION)
    assert back.status_code == 302  # the gate: no session any more
    assert back["Location"].startswith(
        "https://access.localhost/cdn-cgi/access/login/wiki.localhost?"
    )

    page = browser.get(back["Location"], **NAVIGATION)

    assert page.status_code == 200  # the sign-in page itself, not single sign-on
    assert 'name="step" value="send_pin"' in page.text


@pytest.mark.parametrize(
    "query",
    [
        "redirect_url=https://evil.example/&sign_in_again=1",
        "redirect_url=/elsewhere&sign_in_again=1",
        "sign_in_again=1",  # a Referer alone never sends the browser anywhere
        "redirect_url=/demo/notes&sign_in_again=yes",
    ],
)
def test_sign_in_again_at_once_only_with_a_valid_redirect_url(browser, query):
    response = browser.get(
        f"{WIKI_LOGOUT}?{query}", HTTP_REFERER="https://wiki.localhost/demo/notes", **NAVIGATION
    )

    assert response.status_code == 200
    assert b"You have been signed out" in response.content
    assert AccessSession.objects.filter(revoked_at__isnull=True).count() == 0
