"""Second factors in Chromium: passkeys through DevTools' virtual authenticator, and an
authenticator app whose key is read from the page.

The virtual authenticator (CDP `WebAuthn.addVirtualAuthenticator`, CTAP2, internal transport,
resident keys, user verification that succeeds) signs what the real page asks for; the server
verifies it with the `webauthn` library, as it would a person's key.
"""

import json
import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import BrowserContext, CDPSession, Page, expect

from identity.factors import totp
from identity.login_urls import ACCOUNT_PATH, LOGOUT_PATH
from tests.browser.flows import (
    app_url,
    new_marker,
    sign_in_with_a_pin,
)
from tests.browser.scenario_config import MFA, PLAIN
from tests.browser.servers import LOGIN_HOST, ROOT, SECOND_HOST, ProjectServer

pytestmark = pytest.mark.browser

ARTIFACTS = ROOT / "artifacts" / "browser"


def _virtual_authenticator(context: BrowserContext, page: Page) -> tuple[CDPSession, str]:
    session = context.new_cdp_session(page)
    session.send("WebAuthn.enable", {"enableUI": False})
    added = session.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return session, added["authenticatorId"]


def _someone() -> str:
    # The server's database lives for the whole session: each scenario is a new person.
    return f"pk-{uuid.uuid4().hex[:12]}@example.com"


def _identity(page: Page, project: ProjectServer, host: str) -> dict:
    """What `get-identity` on `host` says of the browser's token (the page goes there)."""
    response = page.goto(project.url(host, "/cdn-cgi/access/get-identity"))
    assert response is not None
    assert response.status == 200, response.text()
    return json.loads(page.locator("body").inner_text())


def test_a_passkey_is_registered_used_for_step_up_and_removed(
    browser_context: BrowserContext, page: Page, project: ProjectServer
):
    session, authenticator = _virtual_authenticator(browser_context, page)
    address = _someone()
    url = app_url(project, MFA, new_marker())

    # A PIN alone does not open the MFA app: the page takes the person through setting up a key.
    sign_in_with_a_pin(page, project, url, address)
    expect(page.get_by_role("heading", name="Sign in to MFA App")).to_be_visible()
    page.get_by_label("Name of the key").fill("Laptop key")
    page.get_by_role("button", name="Register a passkey or security key").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    credentials = session.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    assert len(credentials["credentials"]) == 1

    # Then it asks for the key, which signs with user verification, and the app opens.
    page.get_by_role("link", name="Continue").click()
    page.get_by_role("button", name="Use a passkey or security key").click()
    expect(page).to_have_url(url)
    identity = _identity(page, project, SECOND_HOST)
    assert identity["email"] == address
    assert "mfa" in identity["amr"]
    assert "hwk" in identity["amr"]  # the virtual key is bound to its device

    # Signed out, then in again with the PIN to a plain app: no second factor asked.
    page.goto(project.url(LOGIN_HOST, LOGOUT_PATH))
    plain = app_url(project, PLAIN, new_marker())
    sign_in_with_a_pin(page, project, plain, address)
    expect(page).to_have_url(plain)
    assert "mfa" not in _identity(page, project, PLAIN.host)["amr"]

    # The MFA app steps the same session up with the key, without the PIN again.
    stepped = app_url(project, MFA, new_marker())
    page.goto(stepped)
    page.get_by_role("button", name="Use a passkey or security key").click()
    expect(page).to_have_url(stepped)
    assert "mfa" in _identity(page, project, SECOND_HOST)["amr"]

    # The person's own page lists the key and removes it (this session gave a factor).
    page.goto(project.url(LOGIN_HOST, ACCOUNT_PATH))
    expect(page.locator("#factors")).to_contain_text("Laptop key")
    page.get_by_role("button", name="Remove Laptop key").click()
    expect(page.locator("#no-factors")).to_be_visible()

    # Without it, the next sign-in to the MFA app must set up a factor again.
    page.goto(project.url(LOGIN_HOST, LOGOUT_PATH))
    sign_in_with_a_pin(page, project, app_url(project, MFA, new_marker()), address)
    expect(page.get_by_role("button", name="Register a passkey or security key")).to_be_visible()


def test_a_second_key_is_added_from_the_persons_page(
    browser_context: BrowserContext, page: Page, project: ProjectServer
):
    session, first = _virtual_authenticator(browser_context, page)
    address = _someone()
    url = app_url(project, MFA, new_marker())
    sign_in_with_a_pin(page, project, url, address)
    page.get_by_label("Name of the key").fill("First key")
    page.get_by_role("button", name="Register a passkey or security key").click()
    page.get_by_role("link", name="Continue").click()
    page.get_by_role("button", name="Use a passkey or security key").click()
    expect(page).to_have_url(url)

    # A second device: the first key is excluded from registering twice, so it is another one.
    session.send("WebAuthn.removeVirtualAuthenticator", {"authenticatorId": first})
    _, second = _virtual_authenticator(browser_context, page)
    page.goto(project.url(LOGIN_HOST, ACCOUNT_PATH))
    page.get_by_role("button", name="Add a passkey or security key").click()
    page.get_by_label("Name of the key").fill("Second key")
    page.get_by_role("button", name="Register a passkey or security key").click()
    expect(page).to_have_url(project.url(LOGIN_HOST, ACCOUNT_PATH))
    expect(page.locator("#factors li")).to_have_count(2)
    expect(page.locator("#factors")).to_contain_text("Second key")
    credentials = session.send("WebAuthn.getCredentials", {"authenticatorId": second})
    assert len(credentials["credentials"]) == 1


def test_an_authenticator_app_is_set_up_from_the_key_on_the_page(
    page: Page, project: ProjectServer
):
    address = _someone()
    url = app_url(project, MFA, new_marker())
    sign_in_with_a_pin(page, project, url, address)

    # The key as a person reads it: the text under the QR code.
    expect(page.locator(".qr svg")).to_be_visible()
    shown = page.locator("#totp-secret").inner_text()
    secret = re.sub(r"\s", "", shown)
    now = datetime.now(UTC)
    page.get_by_label("The code the app shows").fill(totp.code_at(secret, now))
    page.get_by_role("button", name="Confirm the app").click()
    expect(page.locator("#recovery-codes li")).to_have_count(10)
    page.get_by_role("link", name="Continue").click()

    # The confirming code is spent; the next one opens the app.
    field = page.get_by_label("Code from your authenticator app, or a recovery code")
    field.fill(totp.code_at(secret, now))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_have_text("That code is not valid.")
    page.get_by_label("Code from your authenticator app, or a recovery code").fill(
        totp.code_at(secret, now + timedelta(seconds=30))
    )
    page.get_by_role("button", name="Continue").click()
    expect(page).to_have_url(url)
    assert sorted(_identity(page, project, SECOND_HOST)["amr"]) == ["mfa", "otp"]


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_the_enrolment_and_account_pages_fit_the_screen(
    page: Page, project: ProjectServer, width: int, height: int
):
    page.set_viewport_size({"width": width, "height": height})
    sign_in_with_a_pin(page, project, app_url(project, MFA, new_marker()), _someone())
    expect(page.locator(".qr svg")).to_be_visible()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"enrol-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.goto(project.url(LOGIN_HOST, ACCOUNT_PATH))
    expect(page.locator("#sessions")).to_be_visible()
    page.screenshot(path=str(ARTIFACTS / f"account-{width}.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= width
