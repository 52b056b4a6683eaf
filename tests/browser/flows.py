"""What a person and a calling page do in the scenarios, and the server-side steps they need."""

import email
import email.policy
import json
import re
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from playwright.sync_api import BrowserContext, Page, expect

from identity.cookies import CF_AUTHORIZATION
from identity.login_urls import APPROVAL_PATH, LOGIN_PATH
from tests.browser.records import wait_for
from tests.browser.scenario_config import ADA, PURPOSE_PROMPT, Person, ProtectedApp
from tests.browser.servers import LOGIN_HOST, ProjectServer

# The file email backend separates messages in one file with a line of 79 dashes.
MESSAGE_SEPARATOR = "\n" + "-" * 79 + "\n"
PIN_PATTERN = re.compile(r"(?<!\d)(\d{6})(?!\d)")
# The link of an approver's email (temporary approval).
APPROVAL_LINK = re.compile(r"(https://\S+" + re.escape(APPROVAL_PATH) + r"/[A-Za-z0-9_-]+)")


def new_marker() -> str:
    """A unique path segment, to find one request in the server logs."""
    return uuid.uuid4().hex


def app_url(project: ProjectServer, app: ProtectedApp, marker: str, query: str = "") -> str:
    url = project.url(app.host, app.path_for(marker))
    return f"{url}?{query}" if query else url


def call_api(page: Page, url: str, init: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run `fetch(url, init)` in the page (site/calling.js) and return what the script saw."""
    result: dict[str, Any] = page.evaluate("([url, init]) => callApi(url, init)", [url, init or {}])
    return result


def json_body(result: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(result["body"])
    return body


def is_login_url(url: str, project: ProjectServer) -> bool:
    parts = urlsplit(url)
    return (
        parts.hostname == LOGIN_HOST
        and parts.port == project.port
        and parts.path.startswith(LOGIN_PATH)
    )


def login_query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query)


def submit_password(page: Page, person: Person) -> None:
    form = page.locator("form").filter(has=page.get_by_label("Password"))
    form.get_by_label("Username").fill(person.username)
    form.get_by_label("Password").fill(person.password)
    form.get_by_role("button", name="Sign in").click()


def request_pin(page: Page, address: str) -> None:
    form = page.locator("form").filter(has=page.get_by_label("Email"))
    form.get_by_label("Email").fill(address)
    form.get_by_role("button", name="Send me a code").click()


def submit_pin(page: Page, code: str) -> None:
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Sign in").click()


def sign_in_with_password(
    page: Page, project: ProjectServer, url: str, person: Person = ADA
) -> None:
    """Open a protected `url` in the top-level window, sign in on the login page, land back."""
    page.goto(url)
    expect(page).to_have_url(re.compile(re.escape(project.url(LOGIN_HOST, LOGIN_PATH))))
    submit_password(page, person)
    expect(page).to_have_url(url)


def sign_in_with_a_pin(page: Page, project: ProjectServer, url: str, address: str) -> None:
    """Open a protected `url`, and sign in on the login page with a PIN sent to `address`."""
    page.goto(url)
    assert is_login_url(page.url, project)
    sent = pins_sent(project.outbox, address)
    request_pin(page, address)
    submit_pin(page, read_pin(project.outbox, address, after=sent))


def open_the_launcher(page: Page, project: ProjectServer, person: Person) -> None:
    """Open the App Launcher (`/` on the login host) and sign in there with a PIN: the page
    comes back to the launcher, loaded."""
    launcher = project.url(LOGIN_HOST, "/")
    sign_in_with_a_pin(page, project, launcher, person.email)
    expect(page).to_have_url(launcher)
    page.wait_for_load_state()


def expect_landed(page: Page, url: str, email: str) -> None:
    """The browser is on `url` of a protected application (the demo echo view), signed in
    as `email`: the gate says so to the view."""
    expect(page).to_have_url(url)
    body = json.loads(page.locator("body").inner_text())
    assert body["access"]["email"] == email
    assert body["headers"]["Cf-Access-Authenticated-User-Email"] == email


def ask_for_access(page: Page, application: str, prompt: str, justification: str) -> None:
    """On the page asking for a temporary approval: say why, for an hour, and ask."""
    expect(page.get_by_role("heading", name=f"Ask for access to {application}")).to_be_visible()
    page.get_by_label(prompt).fill(justification)
    page.get_by_label("For how long").select_option(label="1 hour")
    page.get_by_role("button", name="Ask for access").click()


def answer_purpose(page: Page, answer: str) -> None:
    page.get_by_label(PURPOSE_PROMPT).fill(answer)
    page.get_by_role("button", name="Continue").click()


def sign_in_to_the_purpose_app(page: Page, project: ProjectServer, url: str) -> None:
    """Open `url` of the purpose application and sign in with a password: the prompt shows."""
    page.goto(url)
    expect(page).to_have_url(re.compile(re.escape(project.url(LOGIN_HOST, LOGIN_PATH))))
    submit_password(page, ADA)
    expect(page.get_by_label(PURPOSE_PROMPT)).to_be_focused()


def sign_in_then_open(page: Page, project: ProjectServer, app: ProtectedApp, url: str) -> None:
    """Sign in to `app` with a password in the top-level window, then open `url`."""
    sign_in_with_password(page, project, app_url(project, app, new_marker()))
    page.goto(url)


def _messages(outbox: Path) -> list[EmailMessage]:
    messages = []
    for path in sorted(outbox.glob("*.log"), key=lambda p: p.stat().st_mtime_ns):
        for chunk in path.read_text().split(MESSAGE_SEPARATOR):
            if chunk.strip():
                message = email.message_from_string(chunk.lstrip(), policy=email.policy.default)
                messages.append(message)
    return messages


def pins_sent(outbox: Path, address: str) -> int:
    """How many emails the file outbox holds for `address`."""
    return sum(address in str(message.get("To", "")) for message in _messages(outbox))


def read_pin(outbox: Path, address: str, *, after: int) -> str:
    """The code of the newest one-time PIN email sent to `address`, from the file outbox, once
    there are more than `after` (`pins_sent` before the request): the server sends in the
    background and keeps its outbox for the session, so without the count an earlier test's
    email to the same address could be read before the new one arrives."""
    return read_email(outbox, address, PIN_PATTERN, after=after)


def read_email(outbox: Path, address: str, pattern: re.Pattern[str], *, after: int) -> str:
    """The first group of `pattern` in the newest email to `address` that has it, once the
    outbox holds more than `after` emails to that address (see `read_pin`)."""

    def newest_match() -> str | None:
        if after and pins_sent(outbox, address) <= after:
            return None
        for message in reversed(_messages(outbox)):
            if address not in str(message.get("To", "")):
                continue
            part = message.get_body(preferencelist=("plain",))
            text = part.get_content() if part is not None else ""
            found = pattern.search(text)
            if found:
                return found.group(1)
        return None

    found = wait_for(newest_match)
    assert found is not None, f"no email to {address} matching {pattern.pattern} in {outbox}"
    return found


_ISSUE_TOKEN = """
from datetime import timedelta
from unittest import mock

from django.conf import settings
from django.utils import timezone

from identity import keys
from identity.sessions import new_identity_nonce, session_create
from identity.tokens import issue_token, issuer_for
from policies.models import Application

keys.signing_key()  # made now if this is the first token, not at the back-dated time

apps = list(Application.objects.filter(name__in={names!r}))
issued_at = timezone.now() - timedelta(seconds={issued_ago})
lifetime = timedelta(seconds={lifetime})
nonce = new_identity_nonce()
session_create(
    email={email!r}, application=apps[0], identity_nonce=nonce, login_method="password",
    issued_at=issued_at, expires_at=issued_at + lifetime,
)
with mock.patch("django.utils.timezone.now", return_value=issued_at):
    token = issue_token(
        token_type="app", audiences=[app.aud for app in apps], email={email!r},
        subject="", identity_nonce=nonce, lifetime=lifetime,
        issuer=issuer_for(settings.ACCESS_TEAM_DOMAIN, scheme="https"),
    )
print(token)
"""


def issue_app_token(
    project: ProjectServer, person: Person, apps: list[ProtectedApp], *, expired: bool
) -> str:
    """An app token for `person` signed by the server's key, as the authorized hop would mint it.

    `expired=True` makes one issued two hours ago that lived one hour: the session ran out
    without the test waiting for it.
    """
    issued_ago, lifetime = (7200, 3600) if expired else (0, 3600)
    code = _ISSUE_TOKEN.format(
        names=[app.name for app in apps],
        issued_ago=issued_ago,
        lifetime=lifetime,
        email=person.email,
    )
    return project.manage("shell", "-c", code).strip().splitlines()[-1]


def set_app_cookie(context: BrowserContext, project: ProjectServer, host: str, token: str) -> None:
    """Put an app token in the browser as the authorized hop would (SameSite=None; Secure)."""
    context.add_cookies(
        [
            {
                "name": CF_AUTHORIZATION,
                "value": token,
                "url": project.url(host, "/"),
                "secure": True,
                "httpOnly": True,
                "sameSite": "None",
            }
        ]
    )
