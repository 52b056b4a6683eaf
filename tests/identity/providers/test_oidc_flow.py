"""Signing in with OpenID Connect against a real, certified OpenID Provider (oidc-provider).

The whole code flow over HTTP: the gate sends the browser to the login page, the person
clicks "Sign in with Corp", signs in on the provider's own page, comes back to
`/cdn-cgi/access/callback` on the login host, passes the authorized hop and lands on the deep
URL with an Access token that carries what the provider said. Then every failure: the
provider misbehaving (wrong key, wrong audience, expired or future token, wrong nonce, error
and garbage answers, slow, stopped), the person cancelling, a reused or foreign `state`, an
unverified email, a rotated client secret. Each is a readable page with a way to try again, an
authentication event with the reason, and no session.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model

from identity.cookies import CF_AUTHORIZATION
from identity.models import AccessSession, AuthEvent, ProviderSignIn
from identity.tokens import issuer_for, verify_access_token
from policies import services
from policies.models import IdentityProvider
from tests.gatekit import committed
from tests.identity.providers.conftest import CLIENT_ID, CLIENT_SECRET, make_oidc_provider
from tests.identity.providers.openid_provider import OpenIdProvider
from tests.identity.signin_support import NAVIGATION, Browser, make_application

pytestmark = [pytest.mark.django_db, pytest.mark.oidc]

APP = "https://app.localhost"
DEEP_PATH = "/demo/echo/reports/2024?page=2"


@dataclass
class Journey:
    """One browser's way through the gate, the login page, the provider and back."""

    op: OpenIdProvider
    browser: Browser
    application: object

    def protected(self, path: str = DEEP_PATH):
        return self.browser.get(f"{APP}{path}", **NAVIGATION)

    def login_page(self, path: str = DEEP_PATH):
        gate = self.protected(path)
        assert gate.status_code == 302, gate.content
        assert gate["Location"].startswith("https://access.localhost/cdn-cgi/access/login/")
        return gate["Location"], self.browser.get(gate["Location"], **NAVIGATION)

    def click(self, page) -> str:
        """The "Sign in with Corp" button's URL on a login page."""
        html = page.content.decode()
        found = re.search(r'<a class="button idp" href="([^"]+)"[^>]*>Sign in with Corp</a>', html)
        assert found, html
        return "https://access.localhost" + found.group(1).replace("&amp;", "&")

    def to_provider(self, path: str = DEEP_PATH) -> str:
        _, page = self.login_page(path)
        assert page.status_code == 200
        start = self.browser.get(self.click(page), **NAVIGATION)
        assert start.status_code == 302, start.content
        assert start["Location"].startswith(self.op.issuer + "/auth?")
        return start["Location"]

    def callback(self, answer: dict[str, str]):
        url = f"https://access.localhost/cdn-cgi/access/callback?{urlencode(answer)}"
        return self.browser.get(url, **NAVIGATION)

    def sign_in(self, login: str = "alice", path: str = DEEP_PATH):
        """The callback's answer after signing in at the provider as `login`."""
        return self.callback(self.op.sign_in(self.to_provider(path), login=login))

    def follow_hop(self, response):
        assert response.status_code == 302, response.content
        assert response["Location"].startswith(f"{APP}/cdn-cgi/access/authorized?code=")
        return self.browser.get(response["Location"], **NAVIGATION)


@pytest.fixture
def corp(op, team_domain):
    return make_oidc_provider(op.issuer, claims=["department"])


@pytest.fixture
def journey(op, corp):
    application = make_application(domain="app.localhost/demo", allowed_idps=[corp])
    return Journey(op=op, browser=Browser(), application=application)


def app_token_claims(journey: Journey):
    token = journey.browser.cookies("app.localhost")[CF_AUTHORIZATION]
    return verify_access_token(
        token,
        audience=journey.application.aud,
        token_type="app",
        issuer=issuer_for("access.localhost", scheme="https"),
    )


def assert_refused(journey: Journey, response, *, status: int, reason: str, message: str):
    """A readable page with a way to try again, an event with the reason, and no session."""
    assert response.status_code == status, response.content
    html = response.content.decode()
    assert message in html
    restart = re.search(r'<a href="([^"]+)">Start again</a>', html)
    assert restart is not None
    assert restart.group(1).startswith("/cdn-cgi/access/login")
    assert CF_AUTHORIZATION not in response.cookies
    assert CF_AUTHORIZATION not in journey.browser.cookies("access.localhost")
    assert not AccessSession.objects.exists()
    event = AuthEvent.objects.filter(kind=AuthEvent.Kind.SIGN_IN_REFUSED).latest("created_at")
    assert reason in event.detail["reason"], event.detail
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.SIGN_IN).exists()
    return event


# --- the code flow ----------------------------------------------------------------------------


def test_the_whole_code_flow_through_the_gate_lands_on_the_deep_url(journey):
    authorize = journey.to_provider()

    query = {key: values[0] for key, values in parse_qs(urlsplit(authorize).query).items()}
    assert query["response_type"] == "code"
    assert query["client_id"] == CLIENT_ID
    assert query["redirect_uri"] == "https://access.localhost/cdn-cgi/access/callback"
    assert query["scope"] == "openid email profile"
    assert query["code_challenge_method"] == "S256"
    assert len(query["code_challenge"]) == 43
    assert len(query["state"]) == 43
    assert len(query["nonce"]) == 43

    answer = journey.op.sign_in(authorize, login="alice")
    assert answer["state"] == query["state"]
    assert answer["iss"] == journey.op.issuer  # RFC 9207, checked by the callback
    hop = journey.follow_hop(journey.callback(answer))
    assert hop.status_code == 302
    assert hop["Location"] == DEEP_PATH

    page = journey.protected()
    assert page.status_code == 200
    seen = page.json()
    assert seen["path"] == "/demo/echo/reports/2024"
    assert seen["query"] == {"page": ["2"]}
    assert seen["headers"]["Cf-Access-Authenticated-User-Email"] == "alice@example.com"
    claims = app_token_claims(journey)
    provider = IdentityProvider.objects.get(name="Corp")
    assert claims.email == "alice@example.com"
    assert claims.raw["idp"] == {"id": str(provider.pk), "type": "oidc"}
    assert claims.raw["login_method"] == "Corp"
    assert claims.raw["groups"] == ["admins", "staff"]
    assert claims.raw["custom"] == {"department": "ops"}
    assert claims.raw["amr"] == []
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.SIGN_IN, application=journey.application.pk)
    assert event.email == "alice@example.com"
    assert event.detail["login_method"] == "Corp"


def test_get_identity_reports_the_provider_its_groups_and_custom_claims(journey):
    journey.follow_hop(journey.sign_in("alice"))

    identity = journey.browser.get(f"{APP}/cdn-cgi/access/get-identity").json()

    provider = IdentityProvider.objects.get(name="Corp")
    assert identity["idp"] == {"id": str(provider.pk), "name": "Corp", "type": "oidc"}
    assert identity["idp_groups"] == ["admins", "staff"]
    assert identity["custom"] == {"department": "ops"}


def test_amr_is_carried_as_the_provider_sent_it(journey):
    journey.follow_hop(journey.sign_in("dave"))

    assert app_token_claims(journey).raw["amr"] == ["mfa", "pwd"]


def test_pkce_is_enforced_end_to_end(journey):
    """The provider requires PKCE; a verifier other than the one the challenge was made from
    is refused at its token endpoint, so the challenge we sent is the one we prove."""
    authorize = journey.to_provider()
    answer = journey.op.sign_in(authorize, login="alice")
    ProviderSignIn.objects.update(code_verifier="x" * 86)

    response = journey.callback(answer)

    assert_refused(
        journey,
        response,
        status=502,
        reason="token endpoint refused: invalid_grant",
        message="could not be trusted",
    )


def test_the_token_request_authenticates_the_client(journey):
    journey.follow_hop(journey.sign_in("alice"))

    token_requests = journey.op.requests_seen("token")
    assert token_requests[-1]["authorization"] is True  # client_secret_basic


def test_a_rotated_client_secret_is_a_clear_failure(op, team_domain):
    corp = make_oidc_provider(op.issuer, client_secret="the-secret-before-rotation")
    journey = Journey(op, Browser(), make_application(allowed_idps=[corp]))

    response = journey.sign_in("alice")

    assert_refused(
        journey,
        response,
        status=502,
        reason="token endpoint refused: invalid_client (is the client secret still the "
        "provider's?)",
        message="could not be trusted",
    )


def test_an_unverified_email_is_refused(journey):
    response = journey.sign_in("carol")

    assert_refused(
        journey,
        response,
        status=403,
        reason="the provider says the email address is not verified",
        message="Your email address is not verified at the identity provider.",
    )


def test_cancelling_at_the_provider(journey):
    answer = journey.op.sign_in(journey.to_provider(), login="alice", abort=True)
    assert answer["error"] == "access_denied"

    response = journey.callback(answer)

    assert_refused(
        journey,
        response,
        status=400,
        reason="access_denied",
        message="The sign-in was cancelled at the identity provider.",
    )


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("wrong_key", "id_token: bad signature"),
        ("wrong_audience", "id_token: wrong or missing aud"),
        ("extra_audience", "id_token: wrong or missing azp"),
        ("wrong_issuer", "id_token: wrong or missing iss"),
        ("expired", "id_token: expired"),
        ("future", "id_token: wrong or missing iat"),
        ("wrong_nonce", "id_token: wrong or missing nonce"),
        ("no_nonce", "id_token: wrong or missing nonce"),
        ("unsigned", "id_token: not signed with the provider's public-key algorithm"),
        ("hs256", "id_token: not signed with the provider's public-key algorithm"),
        ("token_500", "token endpoint: HTTP 500"),
        ("token_garbage", "token endpoint: not JSON"),
        ("no_id_token", "the token endpoint sent no id_token"),
        ("jwks_garbage", "key set (JWKS): not a set of keys"),
    ],
)
def test_a_misbehaving_provider_signs_nobody_in(journey, mode, reason):
    authorize = journey.to_provider()
    answer = journey.op.sign_in(authorize, login="alice")
    journey.op.misbehave(mode)

    response = journey.callback(answer)

    message = "could not be reached" if "HTTP 500" in reason else "could not be trusted"
    assert_refused(journey, response, status=502, reason=reason, message=message)


def test_a_slow_provider_times_out(journey, settings):
    settings.ACCESS_IDP_TIMEOUT = 0.5
    answer = journey.op.sign_in(journey.to_provider(), login="alice")
    journey.op.misbehave("normal", delay_ms=3000)

    response = journey.callback(answer)

    assert_refused(
        journey,
        response,
        status=502,
        reason="token endpoint: timed out",
        message="The identity provider could not be reached.",
    )


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("discovery_garbage", "discovery document: not JSON"),
        ("discovery_redirect", "discovery document: HTTP 302"),
        ("discovery_wrong_issuer", "discovery document: its issuer is not the configured one"),
    ],
)
def test_a_bad_discovery_document_stops_the_sign_in_before_the_provider(journey, mode, reason):
    _, page = journey.login_page()
    journey.op.misbehave(mode)

    response = journey.browser.get(journey.click(page), **NAVIGATION)

    assert_refused(journey, response, status=502, reason=reason, message="could not be trusted")
    assert not ProviderSignIn.objects.exists()


def test_the_providers_key_rollover_is_followed(journey):
    journey.follow_hop(journey.sign_in("alice"))  # its keys are now cached
    other = Journey(journey.op, Browser(), journey.application)
    journey.op.misbehave("rollover")  # signs with a key the cached set does not hold

    hop = other.follow_hop(other.sign_in("bob"))

    assert hop["Location"] == DEEP_PATH
    assert app_token_claims(other).email == "bob@example.com"


def test_an_answer_naming_another_issuer_is_refused(journey):
    answer = journey.op.sign_in(journey.to_provider(), login="alice")

    response = journey.callback({**answer, "iss": "https://attacker.example"})

    assert_refused(
        journey,
        response,
        status=502,
        reason="the answer came from another issuer (iss)",
        message="could not be trusted",
    )


# --- state ------------------------------------------------------------------------------------


def test_a_reused_state_is_refused(journey):
    answer = journey.op.sign_in(journey.to_provider(), login="alice")
    journey.follow_hop(journey.callback(answer))
    AccessSession.objects.all().delete()
    AuthEvent.objects.all().delete()
    journey.browser.cookies("access.localhost").pop(CF_AUTHORIZATION)

    again = journey.callback(answer)

    assert_refused(
        journey,
        again,
        status=400,
        reason="state already used",
        message="This sign-in has expired or was started in another browser.",
    )


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("A" * 43, "unknown state"),
        ("not a state", "state missing or malformed"),
        ("", "state missing or malformed"),
    ],
)
def test_a_state_this_browser_did_not_start_is_refused(journey, state, reason):
    answer = journey.op.sign_in(journey.to_provider(), login="alice")

    response = journey.callback({**answer, "state": state})

    assert_refused(
        journey,
        response,
        status=400,
        reason=reason,
        message="This sign-in has expired or was started in another browser.",
    )


def test_a_state_started_in_another_browser_is_refused(journey):
    answer = journey.op.sign_in(journey.to_provider(), login="alice")
    attacker = Journey(journey.op, Browser(), journey.application)

    response = attacker.callback(answer)

    assert_refused(
        attacker,
        response,
        status=400,
        reason="state from another browser",
        message="This sign-in has expired or was started in another browser.",
    )


def test_the_callback_on_another_host_is_refused(journey):
    answer = journey.op.sign_in(journey.to_provider(), login="alice")
    cookies = journey.browser.cookies("access.localhost")
    journey.browser.jars["app.localhost"].update(cookies)

    url = f"{APP}/cdn-cgi/access/callback?{urlencode(answer)}"
    response = journey.browser.get(url, **NAVIGATION)

    assert_refused(
        journey,
        response,
        status=400,
        reason="callback on another host",
        message="This sign-in has expired or was started in another browser.",
    )


def test_the_flow_resumes_as_it_was_validated_not_as_the_redirect_says(journey):
    """The redirect URL and application come from the stored flow: parameters added to the
    callback's query are ignored."""
    answer = journey.op.sign_in(journey.to_provider(), login="alice")

    response = journey.callback(
        {**answer, "redirect_url": "https://evil.example/", "kid": "0" * 64}
    )
    hop = journey.follow_hop(response)

    assert hop["Location"] == DEEP_PATH


# --- outages ------------------------------------------------------------------------------------


def test_a_stopped_provider_blocks_neither_passwords_nor_valid_tokens(db, team_domain, settings):
    stopped = OpenIdProvider(
        clients=[{"client_id": CLIENT_ID, "client_secret": "s", "redirect_uris": ["https://x/"]}],
        users={},
    )
    issuer = stopped.issuer
    stopped.stop()
    corp = make_oidc_provider(issuer)
    password = IdentityProvider.objects.get(name="Password")
    application = make_application(allowed_idps=[corp, password])
    get_user_model().objects.create_user("ann", "ann@example.com", "correct horse")
    journey = Journey(stopped, Browser(), application)

    login_url, page = journey.login_page()
    assert page.status_code == 200
    assert "Sign in with Corp" in page.content.decode()
    response = journey.browser.get(journey.click(page), **NAVIGATION)
    assert_refused(
        journey,
        response,
        status=502,
        reason="discovery document: unreachable",
        message="The identity provider could not be reached.",
    )

    parts = urlsplit(login_url)
    fields = {key: values[0] for key, values in parse_qs(parts.query).items()}
    signed_in = journey.browser.post(
        f"https://access.localhost{parts.path}",
        {"step": "password", "username": "ann", "password": "correct horse", **fields},
    )
    hop = journey.follow_hop(signed_in)
    assert hop["Location"] == DEEP_PATH
    assert journey.protected().status_code == 200


def test_a_provider_whose_token_fails_checks_never_creates_a_user_or_session(journey):
    answer = journey.op.sign_in(journey.to_provider(), login="alice")
    journey.op.misbehave("wrong_key")
    journey.callback(answer)

    assert not get_user_model().objects.exists()
    assert not AccessSession.objects.exists()
    with pytest.raises(KeyError):
        journey.browser.cookies("access.localhost")[CF_AUTHORIZATION]


# --- the login page, single sign-on and policies on claims ---------------------------------------


def test_single_sign_on_to_a_second_application_skips_the_provider(journey, corp):
    journey.follow_hop(journey.sign_in("alice"))
    asked = len(journey.op.requests_seen("auth"))
    other = make_application(domain="wiki.localhost", allowed_idps=[corp])

    gate = journey.browser.get("https://wiki.localhost/demo/echo/page", **NAVIGATION)
    sso = journey.browser.get(gate["Location"], **NAVIGATION)

    assert sso.status_code == 302
    assert sso["Location"].startswith("https://wiki.localhost/cdn-cgi/access/authorized?code=")
    hop = journey.browser.get(sso["Location"], **NAVIGATION)
    assert hop["Location"] == "/demo/echo/page"
    assert journey.browser.get("https://wiki.localhost/demo/echo/page").status_code == 200
    assert len(journey.op.requests_seen("auth")) == asked
    token = journey.browser.cookies("wiki.localhost")[CF_AUTHORIZATION]
    claims = verify_access_token(
        token,
        audience=other.aud,
        token_type="app",
        issuer=issuer_for("access.localhost", scheme="https"),
    )
    assert claims.raw["groups"] == ["admins", "staff"]


def test_a_policy_on_an_oidc_group_claim_lets_one_person_in_and_not_another(op, corp):
    rule = {
        "oidc": {
            "claim_name": "groups",
            "claim_value": "admins",
            "identity_provider_id": corp.pk,
        }
    }
    application = make_application(allowed_idps=[corp], include=[rule])

    alice = Journey(op, Browser(), application)
    assert alice.follow_hop(alice.sign_in("alice"))["Location"] == DEEP_PATH
    assert alice.protected().status_code == 200

    bob = Journey(op, Browser(), application)
    refused = bob.sign_in("bob")
    assert refused.status_code == 403
    assert "That account does not have access." in refused.content.decode()
    assert CF_AUTHORIZATION not in bob.browser.cookies("app.localhost")
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.SIGN_IN_REFUSED, email="bob@example.com")
    assert event.detail["login_method"] == "Corp"


def test_auto_redirect_to_identity_skips_the_picker(op, corp):
    application = make_application(allowed_idps=[corp], auto_redirect_to_identity=True)
    journey = Journey(op, Browser(), application)

    _, page = journey.login_page()

    assert page.status_code == 302
    assert page["Location"].startswith(op.issuer + "/auth?")
    hop = journey.follow_hop(journey.callback(op.sign_in(page["Location"], login="alice")))
    assert hop["Location"] == DEEP_PATH


def test_auto_redirect_shows_the_page_when_there_is_more_than_one_way_in(op, corp):
    pin = IdentityProvider.objects.get(name="One-time PIN")
    application = make_application(allowed_idps=[corp, pin], auto_redirect_to_identity=True)

    _, page = Journey(op, Browser(), application).login_page()

    assert page.status_code == 200
    html = page.content.decode()
    assert "Sign in with Corp" in html
    assert 'name="step" value="send_pin"' in html


def test_one_button_per_offered_provider(op, corp):
    second = make_oidc_provider(op.issuer, name="Partners")
    make_oidc_provider(op.issuer, name="Not offered here")
    application = make_application(allowed_idps=[corp, second])

    _, page = Journey(op, Browser(), application).login_page()

    buttons = re.findall(
        r'<a class="button idp" href="[^"]+" data-idp="(\d+)">([^<]+)</a>', page.content.decode()
    )
    assert buttons == [
        (str(corp.pk), "Sign in with Corp"),
        (str(second.pk), "Sign in with Partners"),
    ]
    assert 'name="step"' not in page.content.decode()  # neither PIN nor password offered


def test_a_button_for_a_provider_the_application_does_not_offer_is_refused(journey, op):
    other = make_oidc_provider(op.issuer, name="Elsewhere")
    login_url, _ = journey.login_page()

    response = journey.browser.get(f"{login_url}&idp={other.pk}", **NAVIGATION)

    assert response.status_code == 400
    assert not ProviderSignIn.objects.exists()


def test_the_login_hosts_own_page_signs_in_with_a_provider(op, corp):
    browser = Browser()
    page = browser.get("https://access.localhost/cdn-cgi/access/login", **NAVIGATION)
    found = re.search(r'href="(/cdn-cgi/access/login\?idp=\d+)"', page.content.decode())
    assert found, page.content

    start = browser.get("https://access.localhost" + found.group(1), **NAVIGATION)
    answer = op.sign_in(start["Location"], login="alice")
    response = browser.get(
        f"https://access.localhost/cdn-cgi/access/callback?{urlencode(answer)}", **NAVIGATION
    )

    assert response.status_code == 302
    assert response["Location"] == "/cdn-cgi/access/login"
    assert CF_AUTHORIZATION in browser.cookies("access.localhost")


def test_the_login_hosts_own_page_returns_to_an_approvers_link_after_a_provider(op, corp):
    link = "/cdn-cgi/access/approval/" + "A" * 43
    browser = Browser()
    page = browser.get(
        f"https://access.localhost/cdn-cgi/access/login?redirect_url={link}", **NAVIGATION
    )
    found = re.search(r'href="(/cdn-cgi/access/login\?[^"]*idp=\d+)"', page.content.decode())
    assert found, page.content

    start = browser.get("https://access.localhost" + html.unescape(found.group(1)), **NAVIGATION)
    answer = op.sign_in(start["Location"], login="alice")
    response = browser.get(
        f"https://access.localhost/cdn-cgi/access/callback?{urlencode(answer)}", **NAVIGATION
    )

    assert response.status_code == 302
    assert response["Location"] == link


def test_starting_sign_ins_at_a_provider_is_throttled_per_client(journey):
    login_url, page = journey.login_page()
    button = journey.click(page)
    for _ in range(30):
        assert journey.browser.get(button, **NAVIGATION).status_code == 302

    response = journey.browser.get(button, **NAVIGATION)

    assert response.status_code == 429
    assert "Too many sign-ins were started from here." in response.content.decode()
    assert ProviderSignIn.objects.count() == 30


def test_a_gated_request_on_a_claim_rule_makes_no_query(
    op, corp, settings, django_assert_num_queries
):
    # The periodic version check (a query with a per-process cache) is not what this counts: on a
    # loaded machine the warm-up and the counted request may be more than the default apart.
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    rule = {
        "oidc": {"claim_name": "groups", "claim_value": "admins", "identity_provider_id": corp.pk}
    }
    application = make_application(allowed_idps=[corp], include=[rule])
    journey = Journey(op, Browser(), application)
    journey.follow_hop(journey.sign_in("alice"))
    assert journey.protected().status_code == 200  # in-memory states built: steady state

    with django_assert_num_queries(0):
        assert journey.protected().status_code == 200


def test_a_preset_finds_its_endpoints_from_its_issuer(op, team_domain):
    """Okta's preset derives its issuer from okta_account; discovery does the rest."""
    with committed():
        okta = services.identity_provider_create(
            name="Corp",
            type="okta",
            config={
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "okta_account": op.issuer,
            },
        )
    journey = Journey(op, Browser(), make_application(allowed_idps=[okta]))

    hop = journey.follow_hop(journey.sign_in("alice"))

    assert hop["Location"] == DEEP_PATH
    assert app_token_claims(journey).raw["idp"] == {"id": str(okta.pk), "type": "okta"}


@pytest.fixture
def mfa_journey(journey):
    """The journey's application, its policy now requiring a second factor."""
    policy = journey.application.policies.get()
    with committed():
        services.policy_update(policy=policy, require=[{"auth_method": {"auth_method": "mfa"}}])
    return journey


def test_a_provider_that_says_mfa_satisfies_an_mfa_policy(mfa_journey):
    hop = mfa_journey.follow_hop(mfa_journey.sign_in("dave"))
    assert hop["Location"] == DEEP_PATH
    assert "mfa" in app_token_claims(mfa_journey).raw["amr"]


def test_a_provider_sign_in_without_mfa_is_asked_for_a_second_factor(mfa_journey):
    response = mfa_journey.sign_in("alice")
    # Not refused: the flow's login page, where the org session is asked for a factor.
    assert response.status_code == 302
    assert response["Location"].startswith("/cdn-cgi/access/login/app.localhost?")
    page = mfa_journey.browser.get(f"https://access.localhost{response['Location']}", **NAVIGATION)
    assert page.status_code == 200
    assert "Set up a second factor" in page.content.decode()
    assert CF_AUTHORIZATION not in mfa_journey.browser.cookies("app.localhost")
