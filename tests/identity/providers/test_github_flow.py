"""Signing in with GitHub, against a stand-in for GitHub's OAuth endpoints and API.

The stand-in runs as its own server (tests/identity/providers/github_standin.py) and answers as
GitHub documents it. These tests show which email is taken (the primary one, only when
verified), that organisations and teams travel in the Access token, that
`github-organization` rules decide on them, and that failures sign nobody in.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest

from identity.cookies import CF_AUTHORIZATION
from identity.models import AccessSession, AuthEvent, AuthorizationCode
from identity.tokens import issuer_for, verify_access_token
from policies import services
from tests.gatekit import committed
from tests.identity.providers.github_standin import GitHubStandIn
from tests.identity.signin_support import NAVIGATION, Browser, make_application

pytestmark = [pytest.mark.django_db, pytest.mark.oidc]

CLIENT_ID = "Iv1.accessproject"
CLIENT_SECRET = "github-client-secret-0123456789abcdef"
ACCOUNTS = {
    "octocat": {
        "emails": [
            {"email": "octocat@users.noreply.github.com", "primary": False, "verified": True},
            {"email": "octocat@example.com", "primary": True, "verified": True},
            {"email": "old@example.net", "primary": False, "verified": False},
        ],
        "orgs": ["Acme", "octo-org"],
        "teams": [["Acme", "site-ops"]],
    },
    "hubot": {
        "emails": [{"email": "hubot@example.com", "primary": True, "verified": True}],
        "orgs": ["acme"],
        "teams": [["acme", "payroll"]],
    },
    "unverified": {
        "emails": [
            {"email": "nobody@example.com", "primary": True, "verified": False},
            {"email": "other@example.com", "primary": False, "verified": True},
        ]
    },
}
DEEP_PATH = "/demo/echo/deploys?env=prod"


@pytest.fixture(scope="module")
def github():
    standin = GitHubStandIn(
        clients=[
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": ["https://access.localhost/cdn-cgi/access/callback"],
            }
        ],
        accounts=ACCOUNTS,
        page_size=1,  # every list comes in pages of one: Link headers are followed
    )
    yield standin
    standin.stop()


@pytest.fixture
def provider(github, team_domain):
    github.api_fails(200)
    with committed():
        return services.identity_provider_create(
            name="GitHub",
            type="github",
            config={
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "base_url": github.url,
                "api_url": github.url,
            },
        )


def sign_in(github, application, login, *, cancel=False, browser=None):
    """Through the gate, the button, the stand-in's page and back: the callback's response."""
    browser = browser or Browser()
    gate = browser.get(f"https://app.localhost{DEEP_PATH}", **NAVIGATION)
    page = browser.get(gate["Location"], **NAVIGATION)
    found = re.search(r'href="([^"]+)"[^>]*>Sign in with GitHub</a>', page.content.decode())
    assert found, page.content
    start = browser.get(
        "https://access.localhost" + found.group(1).replace("&amp;", "&"), **NAVIGATION
    )
    assert start.status_code == 302, start.content
    authorize = start["Location"]
    query = parse_qs(urlsplit(authorize).query)
    assert query["code_challenge_method"] == ["S256"]
    assert query["scope"] == ["read:user user:email read:org"]
    answer = github.sign_in(authorize, login=login, cancel=cancel)
    callback = f"https://access.localhost/cdn-cgi/access/callback?{urlencode(answer)}"
    return browser, browser.get(callback, **NAVIGATION)


def app_claims(browser, application):
    return verify_access_token(
        browser.cookies("app.localhost")[CF_AUTHORIZATION],
        audience=application.aud,
        token_type="app",
        issuer=issuer_for("access.localhost", scheme="https"),
    )


def test_the_primary_verified_email_and_the_memberships_travel_in_the_token(github, provider):
    application = make_application(allowed_idps=[provider])

    browser, response = sign_in(github, application, "octocat")
    hop = browser.get(response["Location"], **NAVIGATION)

    assert hop["Location"] == DEEP_PATH
    claims = app_claims(browser, application)
    assert claims.email == "octocat@example.com"
    assert claims.raw["idp"] == {"id": str(provider.pk), "type": "github"}
    assert claims.raw["groups"] == ["acme", "octo-org", "acme/site-ops"]
    assert browser.get(f"https://app.localhost{DEEP_PATH}").status_code == 200


def test_an_unverified_primary_email_is_refused_even_with_a_verified_other(github, provider):
    application = make_application(allowed_idps=[provider])

    browser, response = sign_in(github, application, "unverified")

    assert response.status_code == 403
    assert "Your primary email address is not verified at GitHub." in response.content.decode()
    assert CF_AUTHORIZATION not in browser.cookies("access.localhost")
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.SIGN_IN_REFUSED)
    assert event.detail["reason"] == "GitHub says the primary email address is not verified"


@pytest.mark.parametrize(
    ("rule", "allowed"),
    [
        ({"name": "acme"}, {"octocat", "hubot"}),
        ({"name": "acme", "team": "site-ops"}, {"octocat"}),
        ({"name": "octo-org"}, {"octocat"}),
        ({"name": "elsewhere"}, set()),
    ],
)
def test_github_organization_rules_decide_at_sign_in(github, provider, rule, allowed):
    application = make_application(
        allowed_idps=[provider],
        include=[{"github-organization": {**rule, "identity_provider_id": provider.pk}}],
    )

    passed = set()
    for login in ("octocat", "hubot"):
        _, response = sign_in(github, application, login)
        if response.status_code == 302:
            passed.add(login)
        else:
            assert response.status_code == 403
            assert "That account does not have access." in response.content.decode()

    assert passed == allowed


def test_cancelling_at_github(github, provider):
    application = make_application(allowed_idps=[provider])

    _, response = sign_in(github, application, "octocat", cancel=True)

    assert response.status_code == 400
    assert "The sign-in was cancelled at the identity provider." in response.content.decode()
    assert not AccessSession.objects.exists()


def test_a_wrong_client_secret_is_a_clear_failure(github, provider):
    with committed():
        services.identity_provider_update(
            provider=provider,
            config={
                "client_id": CLIENT_ID,
                "client_secret": "not-the-secret",
                "base_url": github.url,
                "api_url": github.url,
            },
        )
    application = make_application(allowed_idps=[provider])

    _, response = sign_in(github, application, "octocat")

    assert response.status_code == 502
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.SIGN_IN_REFUSED)
    assert event.detail["reason"] == "token endpoint refused: incorrect_client_credentials"
    assert not AccessSession.objects.exists()


def test_a_failing_github_api_signs_nobody_in(github, provider):
    application = make_application(allowed_idps=[provider])
    github.api_fails(500)

    _, response = sign_in(github, application, "octocat")

    assert response.status_code == 502
    assert "could not be reached" in response.content.decode()
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.SIGN_IN_REFUSED)
    assert event.detail["reason"] == "GitHub API (emails): HTTP 500"
    assert not AccessSession.objects.exists()


def test_a_purpose_prompt_after_the_provider_posts_to_the_flows_login_page(github, provider):
    application = make_application(allowed_idps=[provider])
    with committed():
        services.policy_update(
            policy=application.policies.get(), purpose_justification_required=True
        )

    browser, response = sign_in(github, application, "octocat")

    # The callback shows the prompt; its form goes to the flow's login page, not the callback.
    assert response.status_code == 200
    page = response.content.decode()
    assert 'action="/cdn-cgi/access/login/app.localhost"' in page
    fields = dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', page))
    answered = browser.post(
        "https://access.localhost/cdn-cgi/access/login/app.localhost",
        {**fields, "purpose": "Reviewing the deploy"},
    )
    hop = browser.get(answered["Location"], **NAVIGATION)
    assert hop["Location"] == DEEP_PATH
    claims = app_claims(browser, application)
    assert claims.purpose_for(application.aud) == "Reviewing the deploy"


def test_a_provider_sign_in_the_policy_wants_approved_issues_no_code_and_asks(github, provider):
    application = make_application(allowed_idps=[provider])
    with committed():
        services.policy_update(
            policy=application.policies.get(),
            purpose_justification_required=True,
            approval_required=True,
            approval_groups=[{"approvals_needed": 1, "email_addresses": ["bob@example.com"]}],
        )

    browser, response = sign_in(github, application, "octocat")

    # The org session starts, but no code goes to the application: its page asks for approval.
    assert response.status_code == 302
    assert response["Location"].startswith("/cdn-cgi/access/login/app.localhost?")
    assert not AuthorizationCode.objects.exists()
    page = browser.get(f"https://access.localhost{response['Location']}", **NAVIGATION)
    assert page.status_code == 200
    assert b'name="step" value="request_approval"' in page.content
    assert not AuthorizationCode.objects.exists()
