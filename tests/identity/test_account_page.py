"""A person's own page on the login host: their factors and sessions, and signing out."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from identity.cookies import CF_AUTHORIZATION
from identity.factors import totp
from identity.models import AccessSession, SecondFactor
from tests.identity.signin_support import (
    NAVIGATION,
    Browser,
    LoginFlow,
    follow_hop,
    sign_in_with_pin,
)
from tests.identity.test_second_factors import _application, _enrol, _secret_on

LOGIN_HOST = "access.localhost"
ACCOUNT = f"https://{LOGIN_HOST}/cdn-cgi/access/account"
STEP = timedelta(seconds=30)


@pytest.fixture(autouse=True)
def _team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST


@pytest.fixture
def vault(db):
    return _application("vault.localhost", require=[{"auth_method": {"auth_method": "mfa"}}])


def _flow(browser, application):
    host = application.domain.split("/")[0]
    return LoginFlow(browser, application, app_host=host, login_host=LOGIN_HOST)


def _open(browser):
    return browser.get(ACCOUNT, **NAVIGATION)


def _post(browser, **data):
    return browser.post(ACCOUNT, data)


def test_without_a_session_the_page_sends_to_the_sign_in(db):
    response = _open(Browser())
    assert response.status_code == 302
    assert response["Location"] == "/cdn-cgi/access/login"


def test_on_another_host_the_page_goes_to_the_login_host(db):
    response = Browser().get("https://vault.localhost/cdn-cgi/access/account", **NAVIGATION)
    assert response.status_code == 302
    assert response["Location"] == ACCOUNT


def test_the_page_lists_factors_and_sessions(vault, mailoutbox):
    flow = _flow(Browser(), vault)
    _enrol(flow, mailoutbox)
    page = _open(flow.browser)
    assert page.status_code == 200
    body = page.content.decode()
    assert "ann@example.com" in body
    assert "Authenticator app" in body
    assert 'Recovery codes left: <strong id="recovery-left">10</strong>' in body
    session = AccessSession.objects.get(email="ann@example.com", application__isnull=True)
    assert f'data-session="{session.pk}"' in body
    assert "(this session)" in body
    factor = SecondFactor.objects.get(email="ann@example.com")
    assert factor.secret not in body
    # Without having given the factor in this session, changes first ask for it.
    assert 'value="remove"' not in body
    assert 'value="verify"' in body


def test_changing_factors_asks_for_one_first(vault, mailoutbox):
    flow = _flow(Browser(), vault)
    secret, _ = _enrol(flow, mailoutbox)
    factor = SecondFactor.objects.get(email="ann@example.com")
    asked = _post(flow.browser, step="remove", factor=factor.pk)
    assert asked.status_code == 200
    assert 'value="factor_code"' in asked.content.decode()
    assert SecondFactor.objects.filter(pk=factor.pk).exists()
    given = _post(
        flow.browser, step="factor_code", code=totp.code_at(secret, timezone.now() + STEP)
    )
    assert given.status_code == 302
    assert given["Location"] == "/cdn-cgi/access/account"
    page = _open(flow.browser).content.decode()
    assert "mfa" in re.search(r'id="session-amr">([^<]*)<', page).group(1)
    assert 'value="remove"' in page
    removed = _post(flow.browser, step="remove", factor=factor.pk)
    assert removed.status_code == 302
    assert not SecondFactor.objects.filter(email="ann@example.com").exists()


def test_another_persons_factor_cannot_be_removed(vault, mailoutbox):
    ann = _flow(Browser(), vault)
    _enrol(ann, mailoutbox)
    factor = SecondFactor.objects.get(email="ann@example.com")
    bob = _flow(Browser(), vault)
    sign_in_with_pin(bob, mailoutbox, email="bob@example.com")
    # Bob has no factor, so he may change his own: Ann's is not his to remove.
    response = _post(bob.browser, step="remove", factor=factor.pk)
    assert response.status_code == 302
    assert SecondFactor.objects.filter(pk=factor.pk).exists()


def test_adding_an_app_from_the_page(vault, mailoutbox):
    browser = Browser()
    flow = _flow(browser, vault)
    sign_in_with_pin(flow, mailoutbox)  # the enrol page, left unfinished
    page = _post(browser, step="add_totp")
    assert page.status_code == 200
    secret = _secret_on(page)
    assert 'value="enrol_passkey"' not in page.content.decode()
    confirmed = _post(browser, step="enrol_totp", code=totp.code_at(secret, timezone.now()))
    assert confirmed.status_code == 200
    assert "Your recovery codes" in confirmed.content.decode()
    assert SecondFactor.objects.filter(email="ann@example.com", confirmed_at__isnull=False).exists()


def test_signing_out_one_session_keeps_the_other(vault, mailoutbox):
    first = _flow(Browser(), vault)
    _enrol(first, mailoutbox)
    second = _flow(Browser(), vault)
    sign_in_with_pin(second, mailoutbox)
    sessions = list(AccessSession.objects.filter(application__isnull=True).order_by("issued_at"))
    assert len(sessions) == 2
    response = _post(first.browser, step="end_session", session=sessions[1].pk)
    assert response.status_code == 302
    sessions[0].refresh_from_db()
    sessions[1].refresh_from_db()
    assert sessions[1].revoked_at is not None
    assert sessions[0].revoked_at is None
    assert _open(second.browser).status_code == 302  # that browser is signed out
    assert _open(first.browser).status_code == 200


def test_signing_out_everywhere_ends_every_session(vault, mailoutbox):
    first = _flow(Browser(), vault)
    secret, _ = _enrol(first, mailoutbox)
    follow_hop(first, first.post("factor_code", code=totp.code_at(secret, timezone.now() + STEP)))
    second = _flow(Browser(), vault)
    sign_in_with_pin(second, mailoutbox)
    response = _post(first.browser, step="end_all")
    assert response.status_code == 302
    assert response["Location"] == "/cdn-cgi/access/login"
    assert CF_AUTHORIZATION not in first.browser.cookies(LOGIN_HOST)
    assert not AccessSession.objects.filter(email="ann@example.com", revoked_at__isnull=True)
    assert _open(second.browser).status_code == 302


def test_a_cross_site_post_changes_nothing(vault, mailoutbox):
    flow = _flow(Browser(), vault)
    _enrol(flow, mailoutbox)
    response = flow.browser.post(
        ACCOUNT,
        {"step": "end_all"},
        HTTP_SEC_FETCH_SITE="cross-site",
        HTTP_ORIGIN="https://evil.test",
    )
    assert response.status_code == 403
    assert AccessSession.objects.filter(email="ann@example.com", revoked_at__isnull=True).exists()
