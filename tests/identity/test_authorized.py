"""The authorized hop: exchanges a single-use code bound to CF_AppSession for the app cookie."""

import hashlib
from datetime import timedelta
from unittest import mock

import pytest
from django.utils import timezone

from identity.cookies import CF_APP_SESSION, CF_AUTHORIZATION, CF_BINDING
from identity.login_urls import new_app_session_state
from identity.models import AccessSession, AuthorizationCode
from identity.tokens import verify_access_token
from policies import services
from policies.models import IdentityProvider
from tests.gatekit import committed
from tests.identity.signin_support import (
    NAVIGATION,
    Browser,
    LoginFlow,
    follow_hop,
    make_application,
    sign_in_with_pin,
)


@pytest.fixture(autouse=True)
def _no_team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = ""


@pytest.fixture
def flow(db):
    return LoginFlow(Browser(), make_application(domain="app.localhost/demo"))


def _verify(token, application, host="app.localhost"):
    return verify_access_token(
        token, audience=application.aud, token_type="app", issuer=f"https://{host}"
    )


def _hop_url(flow, mailoutbox):
    response = sign_in_with_pin(flow, mailoutbox)
    assert response.status_code == 302
    return response["Location"]


def _assert_refused(response):
    assert response.status_code == 400
    assert b"This sign-in link is not valid or has expired" in response.content
    assert CF_AUTHORIZATION not in response.cookies


def test_the_hop_sets_the_app_cookie_and_goes_to_redirect_url(flow, mailoutbox):
    response = flow.browser.get(_hop_url(flow, mailoutbox), **NAVIGATION)
    assert response.status_code == 302
    assert response["Location"] == "/demo/page"
    cookie = response.cookies[CF_AUTHORIZATION]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["secure"] is True
    assert cookie["path"] == "/"
    assert cookie["max-age"] == 24 * 3600
    claims = _verify(cookie.value, flow.application)
    assert claims.audiences == (flow.application.aud,)
    assert claims.email == "ann@example.com"
    assert claims.raw["login_method"] == "One-time PIN"
    assert claims.raw["amr"] == ["otp"]
    pin = IdentityProvider.objects.get(name="One-time PIN")
    assert claims.raw["idp"] == {"id": str(pin.pk), "type": "onetimepin"}
    assert (claims.idp_id, claims.idp_type) == (str(pin.pk), "onetimepin")
    assert "groups" not in claims.raw
    assert "custom" not in claims.raw


def test_the_hop_clears_the_state_cookie(flow, mailoutbox):
    response = flow.browser.get(_hop_url(flow, mailoutbox), **NAVIGATION)
    assert response.cookies[CF_APP_SESSION]["max-age"] == 0
    assert CF_APP_SESSION not in flow.browser.cookies("app.localhost")


def test_the_hop_records_an_application_session_with_the_sign_ins_nonce(flow, mailoutbox):
    flow.browser.get(_hop_url(flow, mailoutbox), **NAVIGATION)
    org = AccessSession.objects.get(application__isnull=True)
    app = AccessSession.objects.get(application=flow.application)
    assert app.identity_nonce == org.identity_nonce
    assert app.email == "ann@example.com"


def test_the_application_cookie_attributes_follow_the_application(db, mailoutbox):
    application = make_application(
        domain="app.localhost/demo",
        same_site_cookie_attribute="strict",
        http_only_cookie_attribute=False,
        session_duration="2h",
    )
    flow = LoginFlow(Browser(), application)
    response = follow_hop(flow, sign_in_with_pin(flow, mailoutbox))
    cookie = response.cookies[CF_AUTHORIZATION]
    assert (cookie["samesite"], cookie["httponly"], cookie["max-age"]) == ("Strict", "", 7200)


def test_the_deciding_policys_session_duration_wins(db, mailoutbox):
    application = make_application(domain="app.localhost/demo", session_duration="2h")
    with committed():
        services.policy_update(policy=application.policies.get(), session_duration="30m")
    flow = LoginFlow(Browser(), application)
    response = follow_hop(flow, sign_in_with_pin(flow, mailoutbox))
    assert response.cookies[CF_AUTHORIZATION]["max-age"] == 1800


def test_the_binding_cookie_is_set_and_bound_into_the_token(db, mailoutbox):
    application = make_application(domain="app.localhost/demo", enable_binding_cookie=True)
    flow = LoginFlow(Browser(), application)
    response = follow_hop(flow, sign_in_with_pin(flow, mailoutbox))
    binding = response.cookies[CF_BINDING]
    assert binding["httponly"] is True
    claims = _verify(response.cookies[CF_AUTHORIZATION].value, application)
    assert claims.raw["binding"] == hashlib.sha256(binding.value.encode()).hexdigest()


def test_no_binding_cookie_unless_the_application_enables_it(flow, mailoutbox):
    response = follow_hop(flow, sign_in_with_pin(flow, mailoutbox))
    assert CF_BINDING not in response.cookies
    assert "binding" not in _verify(response.cookies[CF_AUTHORIZATION].value, flow.application).raw


def test_a_missing_code_is_refused(flow):
    _assert_refused(flow.browser.get("https://app.localhost/cdn-cgi/access/authorized"))


def test_an_unknown_code_is_refused(flow):
    _assert_refused(
        flow.browser.get("https://app.localhost/cdn-cgi/access/authorized?code=made-up")
    )


def test_a_reused_code_is_refused(flow, mailoutbox):
    url = _hop_url(flow, mailoutbox)
    state = flow.browser.cookies("app.localhost")[CF_APP_SESSION]
    assert flow.browser.get(url, **NAVIGATION).status_code == 302
    flow.browser.cookies("app.localhost")[CF_APP_SESSION] = state
    _assert_refused(flow.browser.get(url, **NAVIGATION))


def test_an_expired_code_is_refused(flow, mailoutbox):
    url = _hop_url(flow, mailoutbox)
    later = timezone.now() + timedelta(seconds=61)
    with mock.patch("django.utils.timezone.now", return_value=later):
        _assert_refused(flow.browser.get(url, **NAVIGATION))


def test_a_missing_state_cookie_is_refused(flow, mailoutbox):
    url = _hop_url(flow, mailoutbox)
    del flow.browser.cookies("app.localhost")[CF_APP_SESSION]
    _assert_refused(flow.browser.get(url, **NAVIGATION))
    assert AuthorizationCode.objects.get().used_at is None


def test_a_mismatched_state_cookie_is_refused(flow, mailoutbox):
    url = _hop_url(flow, mailoutbox)
    flow.browser.cookies("app.localhost")[CF_APP_SESSION] = new_app_session_state()[0]
    _assert_refused(flow.browser.get(url, **NAVIGATION))


def test_a_code_stolen_into_another_browser_is_refused(flow, mailoutbox):
    url = _hop_url(flow, mailoutbox)
    _assert_refused(Browser().get(url, **NAVIGATION))


def test_a_code_for_another_host_is_refused(flow, mailoutbox):
    make_application(domain="other.localhost/demo")
    url = _hop_url(flow, mailoutbox).replace("app.localhost", "other.localhost")
    state = flow.browser.cookies("app.localhost")[CF_APP_SESSION]
    flow.browser.cookies("other.localhost")[CF_APP_SESSION] = state
    _assert_refused(flow.browser.get(url, **NAVIGATION))


def test_the_redirect_url_is_checked_again_at_the_hop(flow, mailoutbox):
    url = _hop_url(flow, mailoutbox)
    AuthorizationCode.objects.update(redirect_url="https://evil.example/")
    response = flow.browser.get(url, **NAVIGATION)
    assert response.status_code == 302
    assert response["Location"] == "/demo"


def test_the_hop_refuses_a_cross_site_subrequest(flow, mailoutbox):
    url = _hop_url(flow, mailoutbox)
    response = flow.browser.get(
        url,
        HTTP_SEC_FETCH_SITE="cross-site",
        HTTP_SEC_FETCH_MODE="no-cors",
        HTTP_SEC_FETCH_DEST="image",
    )
    assert response.status_code == 403
    assert AuthorizationCode.objects.get().used_at is None


def test_a_token_merges_the_audiences_of_the_hosts_other_applications(db, mailoutbox):
    first = make_application(domain="app.localhost/one")
    second = make_application(domain="app.localhost/two")
    browser = Browser()
    one = LoginFlow(browser, first, redirect_url="/one")
    follow_hop(one, sign_in_with_pin(one, mailoutbox))
    two = LoginFlow(browser, second, redirect_url="/two")
    # The app token on this host proves the sign-in: the second login goes straight through.
    response = follow_hop(two, two.open())
    assert response["Location"] == "/two"
    claims = _verify(response.cookies[CF_AUTHORIZATION].value, second)
    assert set(claims.audiences) == {first.aud, second.aud}


def test_a_merged_token_too_long_for_a_cookie_opens_its_own_application_only(
    db, mailoutbox, monkeypatch
):
    first = make_application(domain="app.localhost/one")
    second = make_application(domain="app.localhost/two")
    browser = Browser()
    one = LoginFlow(browser, first, redirect_url="/one")
    follow_hop(one, sign_in_with_pin(one, mailoutbox))
    # Any token merging two applications is now over the bound.
    monkeypatch.setattr("identity.flows.authorized.MAX_TOKEN_LENGTH", 1)
    two = LoginFlow(browser, second, redirect_url="/two")

    response = follow_hop(two, two.open())

    assert response["Location"] == "/two"
    claims = _verify(response.cookies[CF_AUTHORIZATION].value, second)
    assert claims.audiences == (second.aud,)
    # The first application's path, with the cookie that replaced the merged one: sign in again.
    again = browser.get("https://app.localhost/one/x")
    assert again.status_code == 302
    assert again["Location"].startswith(
        f"https://app.localhost/cdn-cgi/access/login/app.localhost?kid={first.aud}&"
    )


def test_audiences_of_another_persons_token_are_not_merged(db, mailoutbox):
    first = make_application(domain="app.localhost/one")
    second = make_application(domain="app.localhost/two")
    browser = Browser()
    one = LoginFlow(browser, first)
    follow_hop(one, sign_in_with_pin(one, mailoutbox, email="ann@example.com"))
    two = LoginFlow(browser, second)
    # A different person signs in on the same browser (the login page is shown again).
    claims_of_ann = browser.cookies("app.localhost")[CF_AUTHORIZATION]
    browser.cookies("app.localhost").pop(CF_AUTHORIZATION)
    hop = sign_in_with_pin(two, mailoutbox, email="bob@example.com")
    browser.cookies("app.localhost")[CF_AUTHORIZATION] = claims_of_ann
    response = follow_hop(two, hop)
    claims = _verify(response.cookies[CF_AUTHORIZATION].value, second)
    assert claims.audiences == (second.aud,)
