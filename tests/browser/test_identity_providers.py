"""Signing in with an OpenID Connect provider in real Chromium.

The project runs under gunicorn over HTTPS as in the rest of the suite; the identity provider is
a real, certified OpenID Provider (the npm package oidc-provider) on loopback. A person clicks
"Sign in with Corp", signs in on the provider's own page and lands on the deep URL they asked
for; a second application opens without the provider's page (single sign-on); a policy on the
provider's `groups` claim lets one person in and refuses another; `auto_redirect_to_identity`
skips the picker.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.certificates import CertificateFiles
from tests.browser.flows import expect_landed, is_login_url, new_marker
from tests.browser.scenario_config import ProtectedApp
from tests.browser.servers import (
    API_HOST,
    LOGIN_HOST,
    SECOND_HOST,
    ProjectServer,
    run_manage,
    running_project,
)
from tests.identity.providers.openid_provider import OpenIdProvider

pytestmark = [pytest.mark.browser, pytest.mark.oidc]

CLIENT_ID = "accessproject-browser"
CLIENT_SECRET = "browser-client-secret-0123456789"
USERS = {
    "alice": {"email": "alice@example.com", "email_verified": True, "groups": ["admins"]},
    "bob": {"email": "bob@example.com", "email_verified": True, "groups": ["staff"]},
}
PICKER = ProtectedApp("OIDC Picker", API_HOST, "/demo/echo/oidc")
ADMINS = ProtectedApp("OIDC Admins", API_HOST, "/demo/echo/oidcadmins")
SSO = ProtectedApp("OIDC Second", SECOND_HOST, "/demo/echo/oidcsecond")
AUTO = ProtectedApp("OIDC Auto", SECOND_HOST, "/demo/echo/oidcauto")


def _application(app: ProtectedApp, include: list, **fields) -> dict:
    return {
        "name": app.name,
        "domain": app.domain,
        "policies": [{"name": "People", "decision": "allow", "precedence": 1, "include": include}],
        **fields,
    }


@pytest.fixture(scope="module")
def oidc_project(
    tmp_path_factory: pytest.TempPathFactory, certificate: CertificateFiles
) -> Iterator[tuple[ProjectServer, OpenIdProvider]]:
    """Its own project server, with an OpenID Provider that knows its login host."""
    run_dir = tmp_path_factory.mktemp("oidc-project")
    started: list[OpenIdProvider] = []

    def configure(port: int, env: dict[str, str]) -> None:
        op = OpenIdProvider(
            clients=[
                {
                    "client_id": CLIENT_ID,
                    "client_secret": CLIENT_SECRET,
                    "redirect_uris": [f"https://{LOGIN_HOST}:{port}/cdn-cgi/access/callback"],
                }
            ],
            users=USERS,
        )
        started.append(op)
        providers = {
            "identity_providers": [
                {"name": "One-time PIN", "type": "onetimepin"},
                {"name": "Password", "type": "password"},
                {
                    "name": "Corp",
                    "type": "oidc",
                    "config": {
                        "client_id": CLIENT_ID,
                        "client_secret": "${CORP_CLIENT_SECRET}",
                        "issuer": op.issuer,
                    },
                },
            ]
        }
        _apply(run_dir / "providers.json", providers, {**env, "CORP_CLIENT_SECRET": CLIENT_SECRET})
        corp_id = int(
            run_manage(
                env,
                "shell",
                "-c",
                "from policies.models import IdentityProvider; "
                "print(IdentityProvider.objects.get(name='Corp').pk)",
            ).split()[-1]
        )
        example = [{"email_domain": {"domain": "example.com"}}]
        admins = [
            {
                "oidc": {
                    "claim_name": "groups",
                    "claim_value": "admins",
                    "identity_provider_id": corp_id,
                }
            }
        ]
        applications = {
            "applications": [
                _application(PICKER, example),
                _application(ADMINS, admins, allowed_idps=["Corp"]),
                _application(SSO, example, allowed_idps=["Corp"]),
                _application(AUTO, example, allowed_idps=["Corp"], auto_redirect_to_identity=True),
            ]
        }
        _apply(run_dir / "applications.json", applications, env)

    try:
        with running_project(
            run_dir, certificate, prepare=[("migrate", "--noinput")], before_start=configure
        ) as server:
            yield server, started[0]
    finally:
        for op in started:
            op.stop()


def _apply(path: Path, data: dict, env: dict[str, str]) -> None:
    path.write_text(json.dumps(data))
    run_manage(env, "access_apply", str(path))


def _sign_in_at_the_provider(page: Page, op: OpenIdProvider, login: str) -> None:
    """The provider's own sign-in page (oidc-provider's): the person types who they are."""
    assert page.url.startswith(op.issuer + "/interaction/"), page.url
    page.fill("input[name=login]", login)
    page.fill("input[name=password]", "any password")
    page.click("button[type=submit]")


def test_sign_in_with_the_provider_lands_on_the_deep_url(page: Page, oidc_project):
    project, op = oidc_project
    url = project.url(PICKER.host, PICKER.path_for(new_marker())) + "?tab=2"

    page.goto(url)
    assert is_login_url(page.url, project)
    expect(page.get_by_label("Email")).to_be_visible()  # the PIN form beside the button
    page.get_by_role("link", name="Sign in with Corp").click()
    _sign_in_at_the_provider(page, op, "alice")

    expect_landed(page, url, "alice@example.com")


def test_a_second_application_opens_without_the_providers_page(page: Page, oidc_project):
    project, op = oidc_project
    first = project.url(PICKER.host, PICKER.path_for(new_marker()))
    page.goto(first)
    page.get_by_role("link", name="Sign in with Corp").click()
    _sign_in_at_the_provider(page, op, "alice")
    expect_landed(page, first, "alice@example.com")
    asked = len(op.requests_seen("auth"))

    second = project.url(SSO.host, SSO.path_for(new_marker()))
    page.goto(second)

    expect_landed(page, second, "alice@example.com")
    assert len(op.requests_seen("auth")) == asked


@pytest.mark.parametrize(("login", "allowed"), [("alice", True), ("bob", False)])
def test_a_policy_on_the_providers_group_claim(page: Page, oidc_project, login, allowed):
    project, op = oidc_project
    url = project.url(ADMINS.host, ADMINS.path_for(new_marker()))

    page.goto(url)
    page.get_by_role("link", name="Sign in with Corp").click()
    _sign_in_at_the_provider(page, op, login)

    if allowed:
        expect_landed(page, url, f"{login}@example.com")
    else:
        expect(page.get_by_text("That account does not have access.")).to_be_visible()
        assert not page.url.startswith(url)


def test_auto_redirect_to_identity_skips_the_picker(page: Page, oidc_project):
    project, op = oidc_project
    url = project.url(AUTO.host, AUTO.path_for(new_marker()))
    pages_seen: list[str] = []
    page.on("framenavigated", lambda frame: pages_seen.append(frame.url))

    page.goto(url)

    assert page.url.startswith(op.issuer + "/interaction/")
    # The login page never showed: the browser went from the gate through it to the provider.
    assert not any(is_login_url(seen, project) for seen in pages_seen)
    _sign_in_at_the_provider(page, op, "bob")
    expect_landed(page, url, "bob@example.com")
