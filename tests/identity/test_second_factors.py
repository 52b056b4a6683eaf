"""Second factors in the sign-in flow, over HTTP: an `mfa` policy steps a PIN sign-in up.

A person without a factor is taken through setting up an authenticator app (its key read from
the page, as a person types it into an app), gets ten recovery codes once, and is then asked
for a code: only then does the application open, with `mfa` and `otp` in the token's `amr`.
"""

import re
from datetime import timedelta
from html import unescape

import pytest
from django.utils import timezone

from identity.cookies import CF_AUTHORIZATION
from identity.factors import totp
from identity.models import AccessSession, AuthEvent, RecoveryCode, SecondFactor
from identity.tokens import verify_access_token
from policies import services
from tests.gatekit import committed
from tests.identity.signin_support import (
    Browser,
    LoginFlow,
    follow_hop,
    sign_in_with_pin,
)

LOGIN_HOST = "access.localhost"
ISSUER = f"https://{LOGIN_HOST}"
STEP = timedelta(seconds=30)


@pytest.fixture(autouse=True)
def _team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST


def _application(domain, *, require=(), **fields):
    with committed():
        application = services.application_create(
            name=domain, domain=f"{domain}/demo", allowed_idps=[], **fields
        )
        services.policy_create(
            application=application,
            name="people",
            decision="allow",
            precedence=1,
            include=[{"email_domain": {"domain": "example.com"}}],
            require=list(require),
        )
    return application


@pytest.fixture
def vault(db):
    """An application whose policy requires a second factor."""
    return _application("vault.localhost", require=[{"auth_method": {"auth_method": "mfa"}}])


@pytest.fixture
def wiki(db):
    return _application("wiki.localhost")


def _flow(browser, application):
    host = application.domain.split("/")[0]
    return LoginFlow(browser, application, app_host=host, login_host=LOGIN_HOST)


def _secret_on(response) -> str:
    found = re.search(r'data-secret="([A-Z2-7]+)"', response.content.decode())
    assert found is not None, response.content.decode()
    return found.group(1)


def _codes_on(response) -> list[str]:
    return re.findall(r"<li><code>([a-z2-9-]{11})</code></li>", response.content.decode())


def _app_claims(flow, hop):
    return verify_access_token(
        hop.cookies[CF_AUTHORIZATION].value,
        audience=flow.application.aud,
        token_type="app",
        issuer=ISSUER,
    )


def _enrol(flow, mailoutbox):
    """Sign in with a PIN, set up an app from the page's key; returns the secret and codes."""
    page = sign_in_with_pin(flow, mailoutbox)
    assert page.status_code == 200
    assert "Set up a second factor" in page.content.decode()
    secret = _secret_on(page)
    flow.confirming = totp.code_at(secret, timezone.now())
    confirmed = flow.post("enrol_totp", code=flow.confirming)
    assert confirmed.status_code == 200, confirmed.content.decode()
    codes = _codes_on(confirmed)
    return secret, codes


def test_an_mfa_policy_does_not_open_for_a_pin_alone(vault, mailoutbox):
    browser = Browser()
    flow = _flow(browser, vault)
    page = sign_in_with_pin(flow, mailoutbox)
    # Not the hop, and not the deny page: the person is asked for a second factor.
    assert page.status_code == 200
    assert "Location" not in page
    assert "That account does not have access" not in page.content.decode()
    # The org session started with what the PIN proved, and nothing more.
    org = verify_access_token(
        browser.cookies(LOGIN_HOST)[CF_AUTHORIZATION],
        audience=None,
        token_type="org",
        issuer=ISSUER,
    )
    assert org.auth_methods == ("otp",)
    # Opening the application again asks again: no code for the application host.
    again = flow.open()
    assert again.status_code == 200
    assert "Location" not in again
    assert CF_AUTHORIZATION not in browser.cookies("vault.localhost")


def test_enrolment_then_a_code_opens_the_application_with_mfa(vault, mailoutbox):
    flow = _flow(Browser(), vault)
    secret, codes = _enrol(flow, mailoutbox)
    assert len(codes) == 10
    factor = SecondFactor.objects.get(email="ann@example.com")
    assert (factor.kind, factor.method) == ("totp", "otp")
    assert secret not in factor.secret  # encrypted at rest
    # Enrolment alone proves nothing: the application still asks for a code.
    asked = flow.open()
    assert asked.status_code == 200
    assert 'name="step" value="factor_code"' in asked.content.decode()
    response = flow.post("factor_code", code=totp.code_at(secret, timezone.now() + STEP))
    hop = follow_hop(flow, response)
    assert hop.status_code == 302
    claims = _app_claims(flow, hop)
    assert set(claims.auth_methods) == {"otp", "mfa"}
    # The org session was stepped up too: the same sign-in, now with mfa.
    org = verify_access_token(
        flow.browser.cookies(LOGIN_HOST)[CF_AUTHORIZATION],
        audience=None,
        token_type="org",
        issuer=ISSUER,
    )
    assert set(org.auth_methods) == {"otp", "mfa"}
    assert org.identity_nonce == claims.identity_nonce
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.STEP_UP, email="ann@example.com").exists()


def test_get_identity_reports_the_stepped_up_amr(vault, mailoutbox):
    flow = _flow(Browser(), vault)
    secret, _ = _enrol(flow, mailoutbox)
    follow_hop(flow, flow.post("factor_code", code=totp.code_at(secret, timezone.now() + STEP)))
    identity = flow.browser.get("https://vault.localhost/cdn-cgi/access/get-identity")
    assert identity.status_code == 200
    assert sorted(identity.json()["amr"]) == ["mfa", "otp"]


def test_a_used_code_is_refused(vault, mailoutbox):
    flow = _flow(Browser(), vault)
    secret, _ = _enrol(flow, mailoutbox)
    # The code that confirmed the app cannot serve as the second factor.
    refused = flow.post("factor_code", code=flow.confirming)
    assert refused.status_code == 200
    assert "That code is not valid." in refused.content.decode()
    code = totp.code_at(secret, timezone.now() + STEP)
    follow_hop(flow, flow.post("factor_code", code=code))
    # Signed in once with it: a second browser (the same person) cannot use it again.
    other = _flow(Browser(), flow.application)
    page = sign_in_with_pin(other, mailoutbox)
    assert 'value="factor_code"' in page.content.decode()
    again = other.post("factor_code", code=code)
    assert again.status_code == 200
    assert "Location" not in again
    assert "That code is not valid." in again.content.decode()


def test_a_wrong_code_is_refused_and_changes_nothing(vault, mailoutbox):
    flow = _flow(Browser(), vault)
    secret, _ = _enrol(flow, mailoutbox)
    right = totp.code_at(secret, timezone.now() + STEP)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    response = flow.post("factor_code", code=wrong)
    assert response.status_code == 200
    assert "That code is not valid." in response.content.decode()
    assert CF_AUTHORIZATION not in flow.browser.cookies("vault.localhost")
    # The right code still works afterwards.
    assert follow_hop(flow, flow.post("factor_code", code=right)).status_code == 302


def test_recovery_codes_work_once(vault, mailoutbox):
    flow = _flow(Browser(), vault)
    _, codes = _enrol(flow, mailoutbox)
    assert RecoveryCode.objects.filter(email="ann@example.com").count() == 10
    assert not any(
        code in stored
        for code in codes
        for stored in RecoveryCode.objects.values_list("code_hash", flat=True)
    )
    hop = follow_hop(flow, flow.post("factor_code", code=codes[0].upper()))
    assert set(_app_claims(flow, hop).auth_methods) == {"otp", "mfa"}
    other = _flow(Browser(), flow.application)
    sign_in_with_pin(other, mailoutbox)
    refused = other.post("factor_code", code=codes[0])
    assert "That code is not valid." in refused.content.decode()
    assert "Location" not in refused
    assert follow_hop(other, other.post("factor_code", code=codes[1])).status_code == 302


def test_the_codes_are_shown_once(vault, mailoutbox):
    flow = _flow(Browser(), vault)
    _, codes = _enrol(flow, mailoutbox)
    page = flow.open()
    assert not any(code in page.content.decode() for code in codes)


def test_another_persons_factor_is_never_theirs(vault, mailoutbox):
    ann = _flow(Browser(), vault)
    secret, codes = _enrol(ann, mailoutbox)
    bob = _flow(Browser(), vault)
    page = sign_in_with_pin(bob, mailoutbox, email="bob@example.com")
    # Bob has no factor: he is asked to set one up, and Ann's codes do nothing for him.
    assert "Set up a second factor" in page.content.decode()
    for code in (totp.code_at(secret, timezone.now() + STEP), codes[0]):
        response = bob.post("factor_code", code=code)
        assert "Location" not in response
        assert "That code is not valid." in response.content.decode()
    assert CF_AUTHORIZATION not in bob.browser.cookies("vault.localhost")
    # And Ann's codes are still hers.
    assert RecoveryCode.objects.filter(email="ann@example.com", used_at__isnull=True).count() == 10


def test_a_factor_step_without_a_session_starts_again(vault):
    flow = _flow(Browser(), vault)
    flow.open()
    response = flow.post("factor_code", code="123456")
    assert response.status_code == 400
    assert "Your sign-in has ended" in response.content.decode()


def test_a_second_app_needs_a_session_with_mfa(vault, mailoutbox):
    flow = _flow(Browser(), vault)
    secret, _ = _enrol(flow, mailoutbox)
    # A signed-in person with a factor cannot add another without giving it first.
    response = flow.post("enrol_totp", code=totp.code_at(secret, timezone.now()))
    assert response.status_code == 403
    assert SecondFactor.objects.filter(email="ann@example.com").count() == 1


def test_wrong_codes_are_budgeted(vault, mailoutbox):
    flow = _flow(Browser(), vault)
    secret, _ = _enrol(flow, mailoutbox)
    right = totp.code_at(secret, timezone.now() + STEP)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    statuses = [flow.post("factor_code", code=wrong).status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    paused = flow.post("factor_code", code=right)
    assert paused.status_code == 429
    assert "Too many wrong codes" in paused.content.decode()
    assert CF_AUTHORIZATION not in flow.browser.cookies("vault.localhost")
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.LOCKOUT, email="ann@example.com").exists()


def test_an_application_without_mfa_opens_with_a_pin(wiki, mailoutbox):
    flow = _flow(Browser(), wiki)
    hop = follow_hop(flow, sign_in_with_pin(flow, mailoutbox))
    assert _app_claims(flow, hop).auth_methods == ("otp",)


def test_required_enrolment_takes_a_person_without_a_factor_through_it(db, mailoutbox):
    application = _application("docs.localhost", require_second_factor_enrolment=True)
    flow = _flow(Browser(), application)
    secret, codes = _enrol(flow, mailoutbox)
    assert len(codes) == 10
    # The policy wants no second factor: once one is set up, the application opens.
    response = flow.open()
    hop = follow_hop(flow, response)
    assert _app_claims(flow, hop).auth_methods == ("otp",)


def test_required_enrolment_lets_a_person_with_a_factor_in(db, vault, mailoutbox):
    _enrol(_flow(Browser(), vault), mailoutbox)
    application = _application("docs.localhost", require_second_factor_enrolment=True)
    flow = _flow(Browser(), application)
    assert follow_hop(flow, sign_in_with_pin(flow, mailoutbox)).status_code == 302


def test_enrolment_shows_a_qr_code_of_the_secret(vault, mailoutbox):
    flow = _flow(Browser(), vault)
    page = sign_in_with_pin(flow, mailoutbox)
    body = page.content.decode()
    assert "<svg" in body
    assert "QR code" in body
    secret = _secret_on(page)
    assert unescape(body).count(totp.grouped(secret)) == 1


def test_a_second_sign_in_with_the_org_session_is_stepped_up_alone(vault, wiki, mailoutbox):
    """A session that signed in to a plain application is asked for the factor by the vault."""
    browser = Browser()
    first = _flow(browser, wiki)
    follow_hop(first, sign_in_with_pin(first, mailoutbox))
    vault_flow = _flow(browser, vault)
    page = vault_flow.open()
    assert page.status_code == 200
    assert "Set up a second factor" in page.content.decode()
    assert AccessSession.objects.filter(application__isnull=True).count() == 1
    assert len(mailoutbox) == 1


def test_administrators_see_who_has_factors_but_no_secret(vault, mailoutbox, admin_client):
    flow = _flow(Browser(), vault)
    secret, codes = _enrol(flow, mailoutbox)
    factor = SecondFactor.objects.get(email="ann@example.com")
    listing = admin_client.get("/admin/identity/secondfactor/", HTTP_HOST=LOGIN_HOST)
    assert listing.status_code == 200
    body = listing.content.decode()
    assert "ann@example.com" in body
    assert "Authenticator app" in body
    detail = admin_client.get(
        f"/admin/identity/secondfactor/{factor.pk}/change/", HTTP_HOST=LOGIN_HOST
    ).content.decode()
    for shown in (body, detail):
        assert secret not in shown
        assert factor.secret not in shown
        assert not any(code in shown for code in codes)


def test_an_administrators_reset_removes_the_factors_and_ends_the_sign_ins(
    vault, mailoutbox, admin_client
):
    flow = _flow(Browser(), vault)
    secret, _ = _enrol(flow, mailoutbox)
    hop = follow_hop(
        flow, flow.post("factor_code", code=totp.code_at(secret, timezone.now() + STEP))
    )
    app_token = hop.cookies[CF_AUTHORIZATION].value
    factor = SecondFactor.objects.get(email="ann@example.com")
    response = admin_client.post(
        "/admin/identity/secondfactor/",
        {"action": "reset_factors", "_selected_action": [factor.pk]},
        HTTP_HOST=LOGIN_HOST,
    )
    assert response.status_code == 302
    assert not SecondFactor.objects.filter(email="ann@example.com").exists()
    assert not RecoveryCode.objects.filter(email="ann@example.com").exists()
    assert not AccessSession.objects.filter(email="ann@example.com", revoked_at__isnull=True)
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.FACTORS_RESET).exists()
    from common.models import AuditEntry

    entry = AuditEntry.objects.get(object_type="second factors of a person")
    assert (entry.action, entry.object_name, entry.channel) == ("reset", "ann@example.com", "admin")
    # The app token no longer opens the application, and the org session signs in nowhere.
    from django.test import Client

    client = Client()
    client.cookies[CF_AUTHORIZATION] = app_token
    assert client.get("/demo/page", HTTP_HOST="vault.localhost", secure=True).status_code == 302
    page = flow.open()
    assert page.status_code == 200
    assert 'value="send_pin"' in page.content.decode()


def test_a_recovery_code_is_not_spent_where_it_would_not_let_the_person_in(db, mailoutbox):
    """An application that wants a device-bound key (hwk), for a person with an app and codes."""
    strict = _application(
        "strict.localhost",
        require=[
            {"auth_method": {"auth_method": "mfa"}},
            {"auth_method": {"auth_method": "hwk"}},
        ],
    )
    vault = _application("vault.localhost", require=[{"auth_method": {"auth_method": "mfa"}}])
    _, codes = _enrol(_flow(Browser(), vault), mailoutbox)
    SecondFactor.objects.create(
        email="ann@example.com",
        kind=SecondFactor.Kind.WEBAUTHN,
        name="Key",
        secret="",
        credential_id="AAAA",
        method="hwk",
        created_at=timezone.now(),
        confirmed_at=timezone.now(),
    )
    flow = _flow(Browser(), strict)
    page = sign_in_with_pin(flow, mailoutbox)
    # Asked for the key only: neither the app nor a recovery code proves hwk.
    assert page.status_code == 200
    assert 'value="factor_passkey"' in page.content.decode()
    assert 'value="factor_code"' not in page.content.decode()
    response = flow.post("factor_code", code=codes[0])
    assert "Location" not in response
    assert "That code is not valid." in response.content.decode()
    assert RecoveryCode.objects.filter(email="ann@example.com", used_at__isnull=True).count() == 10
