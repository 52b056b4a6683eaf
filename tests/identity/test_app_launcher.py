"""The App Launcher at `/` on the login host: its own policy, exactly the tiles a person may
open, search with and without JavaScript, logos, and the short page when it is off."""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from common import versioning
from identity.cookies import CF_AUTHORIZATION
from identity.models import AccessSession
from identity.sessions import sessions_revoke_for_nonce
from identity.views.launcher import NO_LAUNCHER
from policies import services
from policies.models import Application
from tests.gatekit import committed
from tests.identity.signin_support import NAVIGATION, Browser, code_from, sign_in_on_login_host

LOGIN_HOST = "access.localhost"
ROOT = f"https://{LOGIN_HOST}/"
LOGIN = f"https://{LOGIN_HOST}/cdn-cgi/access/login"
EXAMPLE = [{"email_domain": {"domain": "example.com"}}]

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _launcher_on(settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST
    settings.ACCESS_APP_LAUNCHER = True


def _policy(application, decision, include, precedence=1, name=None):
    services.policy_create(
        application=application,
        name=name or f"{decision} {precedence}",
        decision=decision,
        precedence=precedence,
        include=include,
    )


def _app(name, domain, decision="allow", include=EXAMPLE, **fields):
    application = services.application_create(name=name, domain=domain, **fields)
    if include is not None:
        _policy(application, decision, include)
    return application


@pytest.fixture
def launcher():
    with committed():
        application = services.application_create(
            name="App Launcher", type="app_launcher", custom_deny_message="Not for you."
        )
        _policy(application, "allow", EXAMPLE)
    return application


@pytest.fixture
def applications():
    """Applications of every kind: which of them each person may open is the point."""
    with committed():
        services.service_token_create(name="ci", duration="forever")
        _app("Wiki", "wiki.localhost", logo_url="https://cdn.example.com/logos/wiki.png")
        _app(
            "payroll",
            "payroll.localhost/app/*/home",
            include=[{"email": {"email": "ann@example.com"}}],
        )
        _app("Docs", "docs.localhost", decision="bypass", include=[{"everyone": {}}])
        _app(
            "Robots",
            "robots.localhost",
            decision="non_identity",
            include=[{"service_token": {"name": "ci"}}],
        )
        _app("Vault", "vault.localhost", decision="deny", include=[{"everyone": {}}])
        _app("Nobody", "nobody.localhost", include=None)
        _app("Hidden", "hidden.localhost", app_launcher_visible=False)
        _app("Wildcard", "*.apps.localhost")
        _app("Password only", "secret.localhost", allowed_idps=["Password"])
        _app(
            "Partner portal",
            "partner.localhost",
            include=[{"email_domain": {"domain": "partner.test"}}],
        )


@dataclass(frozen=True)
class ShownTile:
    name: str
    host: str
    url: str
    hidden: bool


TILE = re.compile(
    r'<li data-launcher-tile data-name="(?P<name>[^"]*)" data-host="(?P<host>[^"]*)"'
    r'(?P<hidden> hidden)?>\s*<a href="(?P<url>[^"]*)">'
)


def tiles(response) -> list[ShownTile]:
    return [
        ShownTile(m["name"], m["host"], m["url"], bool(m["hidden"]))
        for m in TILE.finditer(response.content.decode())
    ]


def visible(response) -> list[str]:
    return [tile.name for tile in tiles(response) if not tile.hidden]


def sign_in(mailoutbox, email="ann@example.com", browser=None):
    """Sign in on the login host's own page with a PIN: returns the browser and the answer."""
    return sign_in_on_login_host(mailoutbox, email, browser, login_host=LOGIN_HOST)


def signed_in(mailoutbox, email="ann@example.com"):
    browser, response = sign_in(mailoutbox, email)
    assert response.status_code == 302
    return browser


def open_launcher(browser, query=None):
    url = ROOT if query is None else f"{ROOT}?q={query}"
    return browser.get(url, **NAVIGATION)


# Who may open it


def test_without_a_session_the_launcher_sends_to_the_sign_in_which_comes_back(
    launcher, applications, mailoutbox
):
    browser = Browser()
    first = open_launcher(browser)
    assert first.status_code == 302
    assert first["Location"] == "/cdn-cgi/access/login"

    _, signed = sign_in(mailoutbox, browser=browser)

    assert signed.status_code == 302
    assert signed["Location"] == "/"
    page = open_launcher(browser)
    assert page.status_code == 200
    assert "Signed in as <strong>ann@example.com</strong>" in page.content.decode()


def test_a_person_the_launcher_policy_allows_sees_the_launcher(launcher, applications, mailoutbox):
    page = open_launcher(signed_in(mailoutbox))

    assert page.status_code == 200
    assert page["Content-Type"] == "text/html; charset=utf-8"
    assert page["Cache-Control"] == "no-store"
    assert page["X-Frame-Options"] == "DENY"
    assert "<h1>Your applications</h1>" in page.content.decode()


def test_a_person_the_launcher_policy_refuses_gets_its_deny_page_and_no_tile(
    launcher, applications, mailoutbox
):
    # carol may open the partner portal (so she can sign in), not the launcher.
    page = open_launcher(signed_in(mailoutbox, "carol@partner.test"))

    assert page.status_code == 403
    body = page.content.decode()
    assert "Not for you." in body
    assert "Partner portal" not in body
    assert tiles(page) == []


def test_a_deny_policy_before_the_allow_refuses_the_launcher(launcher, applications, mailoutbox):
    with committed():
        services.policy_create(
            application=Application.objects.get(pk=launcher.pk),
            name="not bob",
            decision="deny",
            precedence=2,
            include=[{"email": {"email": "bob@example.com"}}],
        )
        policy = launcher.policies.get(name="allow 1")
        services.policy_update(policy=policy, precedence=3)

    assert open_launcher(signed_in(mailoutbox, "bob@example.com")).status_code == 403
    assert open_launcher(signed_in(mailoutbox, "ann@example.com")).status_code == 200


def test_the_launcher_accepts_only_its_own_identity_providers(launcher, applications, mailoutbox):
    with committed():
        services.application_update(application=launcher, allowed_idps=["Password"])

    page = open_launcher(signed_in(mailoutbox))

    assert page.status_code == 403
    assert tiles(page) == []


def test_without_a_launcher_application_nobody_may_open_it(applications, mailoutbox):
    page = open_launcher(signed_in(mailoutbox))

    assert page.status_code == 403
    assert NO_LAUNCHER in page.content.decode()
    assert tiles(page) == []


def test_a_revoked_sign_in_opens_no_launcher(launcher, applications, mailoutbox):
    browser = signed_in(mailoutbox)
    assert browser.cookies(LOGIN_HOST)[CF_AUTHORIZATION]
    nonce = AccessSession.objects.get(
        email="ann@example.com", application__isnull=True
    ).identity_nonce
    with committed():
        sessions_revoke_for_nonce(nonce, actor="test")

    response = open_launcher(browser)

    assert response.status_code == 302
    assert response["Location"] == "/cdn-cgi/access/login"
    assert AccessSession.objects.get(identity_nonce=nonce).revoked_at is not None


def test_off_the_login_hosts_root_is_the_short_page_even_when_signed_in(
    settings, launcher, applications, mailoutbox
):
    browser = signed_in(mailoutbox)
    settings.ACCESS_APP_LAUNCHER = False

    page = open_launcher(browser)

    assert page.status_code == 200
    body = page.content.decode()
    assert "This is where you sign in to the applications protected by accessproject." in body
    assert tiles(page) == []


def test_off_the_login_hosts_own_sign_in_stays_on_the_sign_in_page(
    settings, applications, mailoutbox
):
    settings.ACCESS_APP_LAUNCHER = False

    _, response = sign_in(mailoutbox)

    assert response.status_code == 302
    assert response["Location"] == "/cdn-cgi/access/login"


def test_without_a_team_domain_there_is_no_launcher(settings, launcher):
    settings.ACCESS_TEAM_DOMAIN = ""

    assert Browser().get(ROOT, **NAVIGATION).status_code == 404


def test_the_launcher_is_not_shown_on_an_application_host(launcher, applications):
    assert Browser().get("https://wiki.localhost/", **NAVIGATION).status_code == 302


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_launcher_answers_only_get_and_head(method, launcher):
    response = getattr(Browser().client, method)("/", HTTP_HOST=LOGIN_HOST, secure=True)

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_another_site_cannot_load_the_launcher_as_a_subresource(launcher, applications, mailoutbox):
    browser = signed_in(mailoutbox)

    response = browser.get(
        ROOT,
        HTTP_SEC_FETCH_SITE="cross-site",
        HTTP_SEC_FETCH_MODE="no-cors",
        HTTP_SEC_FETCH_DEST="iframe",
    )

    assert response.status_code == 403
    assert tiles(response) == []


# Exactly the tiles a person may open


def test_ann_sees_exactly_the_applications_she_may_open(launcher, applications, mailoutbox):
    page = open_launcher(signed_in(mailoutbox, "ann@example.com"))

    assert tiles(page) == [
        ShownTile("Docs", "docs.localhost", "https://docs.localhost/", False),
        ShownTile(
            "payroll", "payroll.localhost/app/*/home", "https://payroll.localhost/app/", False
        ),
        ShownTile("Wiki", "wiki.localhost", "https://wiki.localhost/", False),
    ]


def test_bob_sees_exactly_the_applications_he_may_open(launcher, applications, mailoutbox):
    page = open_launcher(signed_in(mailoutbox, "bob@example.com"))

    assert tiles(page) == [
        ShownTile("Docs", "docs.localhost", "https://docs.localhost/", False),
        ShownTile("Wiki", "wiki.localhost", "https://wiki.localhost/", False),
    ]
    body = page.content.decode()
    for name in ("payroll", "Robots", "Vault", "Nobody", "Hidden", "Wildcard", "Password only"):
        assert f'data-name="{name}"' not in body


def test_a_policy_change_changes_the_tiles_at_the_next_visit(launcher, applications, mailoutbox):
    browser = signed_in(mailoutbox, "bob@example.com")
    assert "payroll" not in visible(open_launcher(browser))
    with committed():
        payroll = Application.objects.get(name="payroll")
        _policy(payroll, "allow", [{"email": {"email": "bob@example.com"}}], precedence=2)

    assert visible(open_launcher(browser)) == ["Docs", "payroll", "Wiki"]


def test_tiles_are_linked_on_the_port_the_launcher_was_reached_on(
    settings, launcher, applications, mailoutbox
):
    settings.ACCESS_TEAM_DOMAIN = f"{LOGIN_HOST}:8443"
    browser = Browser()
    login = f"https://{LOGIN_HOST}:8443/cdn-cgi/access/login"
    assert browser.get(login, **NAVIGATION).status_code == 200
    browser.post(login, {"step": "send_pin", "email": "ann@example.com"})
    browser.post(
        login,
        {"step": "verify_pin", "email": "ann@example.com", "code": code_from(mailoutbox[-1])},
    )

    page = browser.get(f"https://{LOGIN_HOST}:8443/", **NAVIGATION)

    assert page.status_code == 200
    assert [tile.url for tile in tiles(page)] == [
        "https://docs.localhost:8443/",
        "https://payroll.localhost:8443/app/",
        "https://wiki.localhost:8443/",
    ]


def test_the_tiles_cost_no_query_each(launcher, applications, mailoutbox, monkeypatch):
    # A state checks its version once an interval by its clock, whatever the page: stopped here,
    # so that a slow run does not count a check in one page and not the other.
    now = versioning.clock()
    monkeypatch.setattr(versioning, "clock", lambda: now)
    browser = signed_in(mailoutbox)
    open_launcher(browser)
    with CaptureQueriesContext(connection) as few:
        assert len(tiles(open_launcher(browser))) == 3
    # Read now: `captured_queries` slices the connection's log, which the next request clears.
    few_queries = [query["sql"] for query in few.captured_queries]
    with committed():
        for number in range(6):
            _app(f"More {number}", f"more{number}.localhost")
    open_launcher(browser)  # the snapshot is rebuilt once for the change

    with CaptureQueriesContext(connection) as many:
        assert len(tiles(open_launcher(browser))) == 9

    assert len(many.captured_queries) == len(few_queries), few_queries


# Logos


def test_a_logo_is_shown_from_its_url_and_allowed_by_the_pages_csp(
    launcher, applications, mailoutbox
):
    page = open_launcher(signed_in(mailoutbox))

    body = page.content.decode()
    assert (
        '<img class="tile-logo" src="https://cdn.example.com/logos/wiki.png" alt="" width="48" '
        'height="48" referrerpolicy="no-referrer">'
    ) in body
    assert page["Content-Security-Policy"].endswith("; img-src 'self' https://cdn.example.com")
    # Tiles without a logo show their initial instead.
    assert '<span class="tile-initial" aria-hidden="true">D</span>' in body


def test_a_logo_url_stored_by_hand_is_rendered_escaped(launcher, applications, mailoutbox):
    # Validation refuses this; a row edited in the database must still render harmlessly.
    Application.objects.filter(name="Wiki").update(
        logo_url='https://evil.example/x.png" onerror="alert(1)'
    )
    with committed():
        services.application_update(
            application=Application.objects.get(name="Docs"), session_duration="12h"
        )

    page = open_launcher(signed_in(mailoutbox))

    body = page.content.decode()
    assert 'src="https://evil.example/x.png&quot; onerror=&quot;alert(1)"' in body
    assert 'onerror="alert(1)"' not in body
    # Only the origin reaches the CSP: nothing of the attribute, nothing that adds a directive.
    assert page["Content-Security-Policy"].endswith("; img-src 'self' https://evil.example")


# Search


def test_search_without_javascript_shows_only_matching_tiles(launcher, applications, mailoutbox):
    page = open_launcher(signed_in(mailoutbox), query="PAY")

    assert visible(page) == ["payroll"]
    assert [tile.name for tile in tiles(page)] == ["Docs", "payroll", "Wiki"]
    assert 'value="PAY"' in page.content.decode()
    assert re.search(r'<p id="launcher-empty" role="status" hidden>', page.content.decode())


def test_search_matches_the_host_too(launcher, applications, mailoutbox):
    page = open_launcher(signed_in(mailoutbox), query="wiki.local")

    assert visible(page) == ["Wiki"]


def test_a_search_nothing_matches_says_so(launcher, applications, mailoutbox):
    page = open_launcher(signed_in(mailoutbox), query="zzz")

    assert visible(page) == []
    assert (
        '<p id="launcher-empty" role="status">No application matches this search.</p>'
        in page.content.decode()
    )


def test_a_search_never_widens_the_tiles(launcher, applications, mailoutbox):
    page = open_launcher(signed_in(mailoutbox, "bob@example.com"), query="payroll")

    assert tiles(page) == [
        ShownTile("Docs", "docs.localhost", "https://docs.localhost/", True),
        ShownTile("Wiki", "wiki.localhost", "https://wiki.localhost/", True),
    ]


def test_the_search_is_shown_back_escaped_and_trimmed(launcher, applications, mailoutbox):
    page = open_launcher(signed_in(mailoutbox), query="%20%20%3Cscript%3E%20%20x" + "y" * 200)

    body = page.content.decode()
    assert 'value="<script>' not in body
    expected = "&lt;script&gt; x" + "y" * 90
    assert f'value="{expected}"' in body


def test_the_search_script_is_served_from_the_login_host(launcher):
    response = Browser().get(f"https://{LOGIN_HOST}/cdn-cgi/access/launcher.js")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert b"data-launcher-search" in response.content


# The signed-in page


def test_the_signed_in_page_links_to_the_launcher(launcher, applications, mailoutbox):
    page = signed_in(mailoutbox).get(LOGIN, **NAVIGATION)

    assert '<a class="button" href="/">Your applications</a>' in page.content.decode()
