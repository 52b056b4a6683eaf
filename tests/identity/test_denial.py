"""The deny page's ways on: "Try another account" (sign out, then straight back to the same
application's sign-in) and "Sign out" (the signed-out page, whose "Sign in again" leads back)."""

import html
import re

import pytest
from django.test import Client

from identity.cookies import CF_AUTHORIZATION
from identity.models import AccessSession
from tests.gatekit import (
    API_HOST,
    allow_policy,
    echo,
    live_sign_in,
    make_application,
    service_token,
    token_for,
)
from tests.identity.signin_support import Browser, LoginFlow, follow_hop, sign_in_with_pin
from tests.identity.signin_support import make_application as make_signin_application

LOGIN_HOST = "access.localhost"
MALLORY = "mallory@example.com"


def _link(response, text: str) -> str:
    found = re.search(rf'<a (?:class="[^"]*" )?href="([^"]*)">{re.escape(text)}</a>', response.text)
    assert found is not None, response.text
    return html.unescape(found.group(1))


@pytest.fixture
def refused(client: Client, db):
    """Mallory, signed in, refused by an application that lets only Alice in (the gate's 403)."""
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)
    live_sign_in(MALLORY)
    client.cookies[CF_AUTHORIZATION] = token_for(app, email=MALLORY)
    return echo(client, "/demo/echo/api/x?page=2")


def test_the_gates_deny_page_offers_another_account_and_keeps_its_sign_out(refused):
    assert refused.status_code == 403
    assert f"You are signed in as <strong>{MALLORY}</strong>." in refused.text
    assert _link(refused, "Try another account") == (
        "/cdn-cgi/access/logout?redirect_url=%2Fdemo%2Fecho%2Fapi%2Fx%3Fpage%3D2&sign_in_again=1"
    )
    assert _link(refused, "Sign out") == (
        "/cdn-cgi/access/logout?redirect_url=%2Fdemo%2Fecho%2Fapi%2Fx%3Fpage%3D2"
    )


def test_try_another_account_signs_out_and_goes_back_to_the_refused_page(client, refused):
    response = client.get(_link(refused, "Try another account"), HTTP_HOST=API_HOST)

    assert response.status_code == 302
    assert response["Location"] == f"http://{API_HOST}/demo/echo/api/x?page=2"
    assert response.cookies[CF_AUTHORIZATION]["max-age"] == 0
    assert AccessSession.objects.filter(email=MALLORY, revoked_at__isnull=True).count() == 0
    # Back at the application without a session, the gate asks who is signing in.
    back = echo(client, "/demo/echo/api/x?page=2")
    assert back.status_code == 302
    assert back["Location"].startswith(f"http://{API_HOST}/cdn-cgi/access/login/{API_HOST}?")


def test_sign_out_shows_the_signed_out_page_leading_back_to_the_refused_page(client, refused):
    response = client.get(_link(refused, "Sign out"), HTTP_HOST=API_HOST)

    assert response.status_code == 200
    assert _link(response, "Sign in again") == f"http://{API_HOST}/demo/echo/api/x?page=2"


def test_a_refused_service_token_is_offered_no_account_to_switch(client, db):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    token, secret = service_token()
    allow_policy(app)

    response = echo(
        client,
        "/demo/echo/api/x",
        HTTP_CF_ACCESS_CLIENT_ID=token.client_id,
        HTTP_CF_ACCESS_CLIENT_SECRET=secret,
    )

    assert response.status_code == 403
    assert "Try another account" not in response.text
    assert "/cdn-cgi/access/logout" not in response.text


# --- refused at sign-in, on the login host -------------------------------------------------------


@pytest.fixture
def refused_at_sign_in(settings, db, mailoutbox):
    """Ann signed in to the wiki; the payroll's policies refuse her at its sign-in (SSO)."""
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST
    browser = Browser()
    wiki = make_signin_application(domain="wiki.localhost/demo", name="Wiki")
    flow = LoginFlow(browser, wiki, app_host="wiki.localhost", login_host=LOGIN_HOST)
    follow_hop(flow, sign_in_with_pin(flow, mailoutbox))
    payroll = make_signin_application(
        domain="payroll.localhost/demo", include=[{"email": {"email": "boss@example.com"}}]
    )
    payroll_flow = LoginFlow(browser, payroll, app_host="payroll.localhost", login_host=LOGIN_HOST)
    return payroll_flow, payroll_flow.open()


def test_the_sign_ins_deny_page_offers_another_account_for_the_same_application(
    refused_at_sign_in,
):
    _, response = refused_at_sign_in

    assert response.status_code == 403
    assert _link(response, "Try another account") == (
        "/cdn-cgi/access/logout?redirect_url=https%3A%2F%2Fpayroll.localhost%2Fdemo%2Fpage"
        "&sign_in_again=1"
    )


def test_try_another_account_at_sign_in_ends_the_org_session_and_returns_to_the_application(
    refused_at_sign_in,
):
    flow, response = refused_at_sign_in
    browser = flow.browser

    signed_out = browser.get(f"https://{LOGIN_HOST}{_link(response, 'Try another account')}")

    assert signed_out.status_code == 302
    assert signed_out["Location"] == "https://payroll.localhost/demo/page"
    assert CF_AUTHORIZATION not in browser.cookies(LOGIN_HOST)
    assert AccessSession.objects.filter(revoked_at__isnull=True).count() == 0
    # The payroll's sign-in now shows its page: someone else may sign in.
    again = LoginFlow(
        browser, flow.application, app_host="payroll.localhost", login_host=LOGIN_HOST
    ).open()
    assert again.status_code == 200
    assert 'name="step" value="send_pin"' in again.text
