"""The authorization code goes only to the host it was issued for.

The attack: a victim with a global session opens an attacker's link to the login page, naming
the application host in a spelling that normalises to it but leads a browser elsewhere (another
port, `claß.` which a browser reads as `xn--cla-7ka.`). A login flow that built its redirect
from that spelling would hand the attacker a fresh code for the victim.
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

import jwt
import pytest

from identity.cookies import CF_APP_SESSION, CF_AUTHORIZATION
from identity.login_urls import new_app_session_state
from identity.models import AuthorizationCode
from tests.identity.signin_support import (
    NAVIGATION,
    Browser,
    LoginFlow,
    follow_hop,
    make_application,
    sign_in_on_login_host,
    sign_in_with_pin,
)

LOGIN_HOST = "access.localhost"
INVALID_LINK = b"This sign-in link is not valid."

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST


@pytest.fixture
def classes():
    """An application on `class.localhost` (its host and one more) and one on a sigma host."""
    return make_application(
        domain="class.localhost/demo",
        destinations=["other.localhost/demo", "xn--4xa.localhost/demo"],
        name="Classes",
    )


@pytest.fixture
def victim(classes, mailoutbox):
    """A browser with a global session on the login host (signed in to the application once)."""
    browser = Browser()
    flow = LoginFlow(browser, classes, app_host="class.localhost", login_host=LOGIN_HOST)
    follow_hop(flow, sign_in_with_pin(flow, mailoutbox))
    assert CF_AUTHORIZATION in browser.cookies(LOGIN_HOST)
    return browser


def _attackers_link(application, app_host: str, *, state: bool = True) -> str:
    query = {"kid": application.aud, "redirect_url": "/demo/"}
    if state:
        query["state"] = new_app_session_state()[1]  # the attacker's own flow
    return f"https://{LOGIN_HOST}/cdn-cgi/access/login/{app_host}?{urlencode(query)}"


SPELLINGS = [
    "class.localhost:8081",  # another port of the application host
    "class.localhost:443",  # the default port, written out
    "class.localhost.",  # a trailing dot
    "CLASS.localhost",  # upper case
    "Class.Localhost",
    "cla\u00df.localhost",  # IDNA 2003: class.localhost; a browser: xn--cla-7ka.localhost
    "\u03c2.localhost",  # IDNA 2003: xn--4xa.localhost; a browser: xn--3xa.localhost
    "class.localhost:08443",
]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_an_application_host_in_another_spelling_gets_the_invalid_link_page(
    victim, classes, spelling
):
    codes_before = AuthorizationCode.objects.count()

    response = victim.get(_attackers_link(classes, spelling), **NAVIGATION)

    assert response.status_code == 400
    assert INVALID_LINK in response.content
    assert not response.has_header("Location")
    assert AuthorizationCode.objects.count() == codes_before


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_without_state_another_spelling_is_not_an_open_redirect(victim, classes, spelling):
    response = victim.get(_attackers_link(classes, spelling, state=False), **NAVIGATION)

    assert response.status_code == 400
    assert not response.has_header("Location")


def test_the_canonical_spelling_still_signs_in_through_sso(victim, classes):
    response = victim.get(_attackers_link(classes, "class.localhost"), **NAVIGATION)

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert (location.scheme, location.netloc, location.path) == (
        "https",
        "class.localhost",
        "/cdn-cgi/access/authorized",
    )
    assert AuthorizationCode.objects.get(used_at=None).app_host == "class.localhost"


def test_a_port_the_login_host_is_served_on_is_the_applications_too(settings, classes, mailoutbox):
    settings.ACCESS_TEAM_DOMAIN = f"{LOGIN_HOST}:8443"
    browser = Browser()
    flow = LoginFlow(
        browser, classes, app_host="class.localhost:8443", login_host=f"{LOGIN_HOST}:8443"
    )

    response = sign_in_with_pin(flow, mailoutbox)

    assert response.status_code == 302
    assert urlsplit(response["Location"]).netloc == "class.localhost:8443"


def test_a_configured_application_port_is_served(settings, classes, victim):
    settings.ACCESS_APPLICATION_PORTS = ["8081"]

    response = victim.get(_attackers_link(classes, "class.localhost:8081"), **NAVIGATION)

    assert response.status_code == 302
    assert urlsplit(response["Location"]).netloc == "class.localhost:8081"


def _code_for(victim, classes, app_host: str) -> str:
    """A real code issued through SSO for `app_host`, with the browser's state cookie there."""
    state_value, state_hash = new_app_session_state()
    victim.jars[app_host][CF_APP_SESSION] = state_value
    query = urlencode({"kid": classes.aud, "redirect_url": "/demo/", "state": state_hash})
    response = victim.get(
        f"https://{LOGIN_HOST}/cdn-cgi/access/login/{app_host}?{query}", **NAVIGATION
    )
    assert response.status_code == 302
    return response["Location"].split("code=", 1)[1]


@pytest.mark.parametrize(
    "redeemed_on",
    [
        "other.localhost",
        "class.localhost:8081",
        "class.localhost.",
        "CLASS.localhost",
        "class.localhost:443",
    ],
)
def test_a_code_is_redeemed_only_on_the_host_it_was_issued_for(victim, classes, redeemed_on):
    code = _code_for(victim, classes, "class.localhost")
    # The attacker's own browser, with a state cookie of its own on the other host.
    attacker = Browser()
    state_value, _ = new_app_session_state()
    attacker.jars[redeemed_on][CF_APP_SESSION] = state_value
    victim.jars[redeemed_on][CF_APP_SESSION] = victim.jars["class.localhost"][CF_APP_SESSION]

    for browser in (attacker, victim):
        response = browser.get(
            f"https://{redeemed_on}/cdn-cgi/access/authorized?code={code}", **NAVIGATION
        )
        assert response.status_code == 400
        assert CF_AUTHORIZATION not in response.cookies
    assert AuthorizationCode.objects.filter(used_at=None).count() == 1


def test_a_code_is_redeemed_on_its_own_host(victim, classes):
    code = _code_for(victim, classes, "other.localhost")

    response = victim.get(
        f"https://other.localhost/cdn-cgi/access/authorized?code={code}", **NAVIGATION
    )

    assert response.status_code == 302
    assert response["Location"] == "/demo/"
    assert CF_AUTHORIZATION in response.cookies


def test_the_gate_sends_the_canonical_spelling_to_the_login_page(classes, client):
    response = client.get("/demo/x", HTTP_HOST="CLASS.localhost.")

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/cdn-cgi/access/login/class.localhost"


def test_a_redirect_url_on_another_port_of_a_covered_host_is_not_followed(victim, classes):
    state_value, state_hash = new_app_session_state()
    victim.jars["class.localhost"][CF_APP_SESSION] = state_value
    query = urlencode(
        {
            "kid": classes.aud,
            "redirect_url": "https://other.localhost:8081/steal",
            "state": state_hash,
        }
    )
    response = victim.get(
        f"https://{LOGIN_HOST}/cdn-cgi/access/login/class.localhost?{query}", **NAVIGATION
    )
    hop = victim.get(response["Location"], **NAVIGATION)

    assert hop.status_code == 302
    assert hop["Location"] == "/demo"


def test_the_login_hosts_own_page_on_another_host_goes_to_the_login_host(client, mailoutbox):
    response = client.get("/cdn-cgi/access/login", HTTP_HOST="class.localhost", secure=True)
    posted = client.post(
        "/cdn-cgi/access/login",
        {"step": "send_pin", "email": "ann@example.com"},
        HTTP_HOST="class.localhost",
        secure=True,
    )

    assert response.status_code == 302
    assert response["Location"] == f"https://{LOGIN_HOST}/cdn-cgi/access/login"
    assert posted.status_code == 400
    assert mailoutbox == []


# Without a team domain each application host is its own login host, and the org token the
# login page mints names it in its issuer: only in its one spelling, never in the request's.
OWN_LOGIN_HOST_SPELLINGS = ["class.localhost.", "class.localhost:443", "class.localhost:00443"]


@pytest.mark.parametrize("spelling", OWN_LOGIN_HOST_SPELLINGS)
def test_without_a_team_domain_the_login_page_goes_to_its_hosts_own_spelling(
    settings, classes, spelling
):
    settings.ACCESS_TEAM_DOMAIN = ""

    response = Browser().get(f"https://{spelling}/cdn-cgi/access/login", **NAVIGATION)

    assert response.status_code == 302
    assert response["Location"] == "https://class.localhost/cdn-cgi/access/login"
    assert not response.cookies


@pytest.mark.parametrize("spelling", OWN_LOGIN_HOST_SPELLINGS)
def test_without_a_team_domain_no_sign_in_starts_on_another_spelling(
    settings, classes, mailoutbox, spelling
):
    settings.ACCESS_TEAM_DOMAIN = ""

    response = Browser().post(
        f"https://{spelling}/cdn-cgi/access/login",
        {"step": "send_pin", "email": "ann@example.com"},
    )

    assert response.status_code == 400
    assert INVALID_LINK in response.content
    assert mailoutbox == []


def test_without_a_team_domain_the_org_token_names_the_canonical_host(
    settings, classes, mailoutbox
):
    settings.ACCESS_TEAM_DOMAIN = ""

    _, response = sign_in_on_login_host(mailoutbox, login_host="class.localhost")

    token = response.cookies[CF_AUTHORIZATION].value
    issuer = jwt.decode(token, options={"verify_signature": False})["iss"]
    assert issuer == "https://class.localhost"
