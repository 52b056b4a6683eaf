"""Helpers for the sign-in flow tests: a cookie jar per host, applications, and whole flows.

Django's test client keeps one cookie jar for every host; a browser keeps one per host, and the
flows depend on it (the org cookie on the login host, the app cookie on the application host,
both named CF_Authorization). `Browser` keeps one jar per host and sends each host its own.
"""

from __future__ import annotations

import itertools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

from django.test import Client

from identity.cookies import CF_APP_SESSION
from identity.login_urls import new_app_session_state
from policies import services
from tests.gatekit import committed

NAVIGATION = {
    "HTTP_SEC_FETCH_SITE": "cross-site",
    "HTTP_SEC_FETCH_MODE": "navigate",
    "HTTP_SEC_FETCH_DEST": "document",
}


_application_names = itertools.count(1)


def make_application(*, domain="app.localhost/demo", include=None, allowed_idps=(), **fields):
    """An application with one allow policy (default: anyone at example.com), through the
    services, with their commit callbacks run (`allowed_idps`: providers or their names)."""
    fields.setdefault("name", f"Application {next(_application_names)}")
    with committed():
        application = services.application_create(
            domain=domain,
            allowed_idps=[getattr(idp, "name", idp) for idp in allowed_idps],
            **fields,
        )
        services.policy_create(
            application=application,
            name="people",
            decision="allow",
            precedence=1,
            include=include or [{"email_domain": {"domain": "example.com"}}],
        )
    return application


@dataclass
class Browser:
    """A test client with one cookie jar per host (paths and expiry beyond max-age=0 ignored)."""

    enforce_csrf_checks: bool = False
    jars: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    client: Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = Client(enforce_csrf_checks=self.enforce_csrf_checks)

    def cookies(self, host: str) -> dict[str, str]:
        return self.jars[host]

    def request(self, method: str, url: str, data=None, **extra):
        parts = urlsplit(url)
        host = parts.netloc
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        cookie_header = "; ".join(f"{name}={value}" for name, value in self.jars[host].items())
        extra.setdefault("HTTP_COOKIE", cookie_header)
        self.client.cookies.clear()
        send = getattr(self.client, method.lower())
        arguments = {} if data is None else {"data": data}
        # What the request wrote is announced when it ends, as after a real request's commit.
        with committed():
            response = send(
                path, secure=parts.scheme == "https", HTTP_HOST=host, **arguments, **extra
            )
        for name, morsel in response.cookies.items():
            if morsel["max-age"] in (0, "0") or not morsel.value:
                self.jars[host].pop(name, None)
            else:
                self.jars[host][name] = morsel.value
        return response

    def get(self, url: str, **extra):
        return self.request("GET", url, **extra)

    def post(self, url: str, data, **extra):
        return self.request("POST", url, data, **extra)


@dataclass
class LoginFlow:
    """One flow the gate would have started: state cookie set on the app host, login URL."""

    browser: Browser
    application: object
    app_host: str = "app.localhost"
    login_host: str = "app.localhost"
    redirect_url: str = "/demo/page"
    scheme: str = "https"
    state_value: str = ""
    state_hash: str = ""

    def __post_init__(self) -> None:
        self.state_value, self.state_hash = new_app_session_state()
        self.browser.jars[self.app_host][CF_APP_SESSION] = self.state_value

    @property
    def fields(self) -> dict[str, str]:
        return {
            "kid": self.application.aud,
            "redirect_url": self.redirect_url,
            "state": self.state_hash,
        }

    @property
    def page_url(self) -> str:
        return f"{self.scheme}://{self.login_host}/cdn-cgi/access/login/{self.app_host}"

    @property
    def url(self) -> str:
        return f"{self.page_url}?{urlencode(self.fields)}"

    def open(self, **extra):
        return self.browser.get(self.url, **{**NAVIGATION, **extra})

    def post(self, step: str, **data):
        return self.browser.post(self.page_url, {"step": step, **self.fields, **data})

    def send_pin(self, email: str = "ann@example.com"):
        return self.post("send_pin", email=email)

    def verify_pin(self, code: str, email: str = "ann@example.com"):
        return self.post("verify_pin", email=email, code=code)

    def password(self, username: str, password: str):
        return self.post("password", username=username, password=password)


def code_from(message) -> str:
    """The six-digit code in a PIN email."""
    found = re.search(r"^\s*(\d{6})\s*$", message.body, re.MULTILINE)
    assert found is not None, message.body
    return found.group(1)


def sign_in_with_pin(flow: LoginFlow, mailoutbox, email: str = "ann@example.com"):
    """Open the page, ask for a code, enter it: returns the response that goes to the hop."""
    assert flow.open().status_code == 200
    assert flow.send_pin(email).status_code == 200
    return flow.verify_pin(code_from(mailoutbox[-1]), email=email)


def follow_hop(flow: LoginFlow, response):
    """Take the browser from the sign-in response through the authorized hop."""
    assert response.status_code == 302, response.content
    return flow.browser.get(response["Location"], **NAVIGATION)


def sign_in_on_login_host(
    mailoutbox,
    email: str = "ann@example.com",
    browser: Browser | None = None,
    *,
    login_host: str = "access.localhost",
    then: str = "",
):
    """Sign in on the login host's own page with a PIN (`then`: the login-host page it returns
    to): returns the browser and the answer to the code."""
    browser = browser or Browser()
    login = f"https://{login_host}/cdn-cgi/access/login"
    back = {"redirect_url": then} if then else {}
    query = f"?{urlencode(back)}" if back else ""
    assert browser.get(f"{login}{query}", **NAVIGATION).status_code == 200
    assert browser.post(login, {"step": "send_pin", "email": email, **back}).status_code == 200
    response = browser.post(
        login,
        {"step": "verify_pin", "email": email, "code": code_from(mailoutbox[-1]), **back},
    )
    return browser, response
