"""Purpose justification: the prompt before entering, once per session; where the answer goes.

The sign-in flow asks when the deciding policy wants a purpose (`identity.flows.purpose`); the
answer is stored with the org session, named in the sign-in event, carried in the app token, and
shown by get-identity and the access log; the gate sends a token without it to sign in again.
"""

from __future__ import annotations

import logging
import re

import pytest
from django.urls import reverse

from identity.claims import PURPOSE_CLAIM
from identity.cookies import CF_AUTHORIZATION
from identity.flows.purpose import (
    CONTROL_IN_ANSWER,
    EMPTY_ANSWER,
    LONG_ANSWER,
    UNSTORABLE_ANSWER,
)
from identity.gate import NO_PURPOSE
from identity.models import AccessSession, AuthEvent, AuthorizationCode, PurposeJustification
from identity.tokens import verify_access_token
from policies import services
from policies.models import DEFAULT_PURPOSE_PROMPT, Policy
from tests.gatekit import committed
from tests.identity.signin_support import (
    NAVIGATION,
    Browser,
    LoginFlow,
    follow_hop,
    make_application,
    sign_in_with_pin,
)

pytestmark = pytest.mark.django_db

LOGIN_HOST = "access.localhost"
PAYROLL = "payroll.localhost"
ISSUER = f"https://{LOGIN_HOST}"
PROMPT = "Which ticket are you working on?"
ANSWER = "INC-1234: the March export is wrong"
HIDDEN_FIELD = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">')


@pytest.fixture(autouse=True)
def _team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST


@pytest.fixture
def browser():
    return Browser()


@pytest.fixture
def payroll(db):
    """An application whose one allow policy asks for a purpose."""
    application = make_application(domain=f"{PAYROLL}/demo", name="Payroll")
    _ask_purpose(application, prompt=PROMPT)
    return application


def _ask_purpose(application, *, prompt=""):
    with committed():
        services.policy_update(
            policy=Policy.objects.get(application=application),
            purpose_justification_required=True,
            purpose_justification_prompt=prompt,
        )


def _flow(browser, application, host=PAYROLL):
    return LoginFlow(browser, application, app_host=host, login_host=LOGIN_HOST)


def _app_claims(response, application):
    return verify_access_token(
        response.cookies[CF_AUTHORIZATION].value,
        audience=application.aud,
        token_type="app",
        issuer=ISSUER,
    )


@pytest.fixture
def answered(browser, payroll, mailoutbox):
    """Ann signed in to payroll and gave her purpose; returns the hop's response."""
    flow = _flow(browser, payroll)
    asked = sign_in_with_pin(flow, mailoutbox)
    assert asked.status_code == 200
    return follow_hop(flow, flow.post("purpose", purpose=ANSWER))


# --- the prompt ----------------------------------------------------------------------------------


def test_a_sign_in_the_policy_asks_about_shows_the_prompt_before_the_hop(
    browser, payroll, mailoutbox
):
    response = sign_in_with_pin(_flow(browser, payroll), mailoutbox)

    assert response.status_code == 200
    page = response.content.decode()
    assert f'<label for="id_purpose">{PROMPT}</label>' in page
    assert 'name="step" value="purpose"' in page
    assert f'action="/cdn-cgi/access/login/{PAYROLL}"' in page
    assert 'aria-describedby="id_purpose_hint"' in page
    assert 'maxlength="500"' in page
    # The org session has started (its cookie is set), but no code goes to the application yet.
    assert CF_AUTHORIZATION in response.cookies
    assert not AuthorizationCode.objects.exists()
    assert not PurposeJustification.objects.exists()


def test_without_a_prompt_of_its_own_the_page_asks_the_default_question(browser, mailoutbox):
    wiki = make_application(domain="wiki.localhost/demo", name="Wiki")
    _ask_purpose(wiki)

    response = sign_in_with_pin(_flow(browser, wiki, "wiki.localhost"), mailoutbox)

    assert f'<label for="id_purpose">{DEFAULT_PURPOSE_PROMPT}</label>' in response.content.decode()


def test_an_application_whose_policy_asks_nothing_goes_straight_to_the_hop(browser, mailoutbox):
    wiki = make_application(domain="wiki.localhost/demo", name="Wiki")

    response = sign_in_with_pin(_flow(browser, wiki, "wiki.localhost"), mailoutbox)

    assert response.status_code == 302
    assert response["Location"].startswith("https://wiki.localhost/cdn-cgi/access/authorized?")


# --- the answer ----------------------------------------------------------------------------------


def test_the_answer_is_stored_with_the_org_session_and_carried_to_the_application(
    browser, payroll, mailoutbox
):
    flow = _flow(browser, payroll)
    sign_in_with_pin(flow, mailoutbox)

    response = flow.post("purpose", purpose=f"  {ANSWER}\n")

    assert response.status_code == 302
    assert response["Location"].startswith(f"https://{PAYROLL}/cdn-cgi/access/authorized?code=")
    stored = PurposeJustification.objects.get()
    org_session = AccessSession.objects.get(application__isnull=True)
    assert (stored.session, stored.application_id) == (org_session, payroll.pk)
    assert (stored.policy_name, stored.answer) == ("people", ANSWER)
    hop = follow_hop(flow, response)
    assert hop["Location"] == "/demo/page"
    assert _app_claims(hop, payroll).raw[PURPOSE_CLAIM] == {payroll.aud: ANSWER}


def test_the_sign_in_event_names_the_answer(browser, payroll, answered):
    events = AuthEvent.objects.filter(kind=AuthEvent.Kind.SIGN_IN).order_by("created_at", "pk")
    assert [event.detail for event in events] == [
        {"login_method": "One-time PIN", "sso": False},
        {"login_method": "One-time PIN", "sso": True, "purpose_justification": ANSWER},
    ]


def test_the_prompt_is_asked_once_per_session(browser, payroll, answered):
    flow = _flow(browser, payroll)
    again = flow.open()

    assert again.status_code == 302
    assert again["Location"].startswith(f"https://{PAYROLL}/cdn-cgi/access/authorized?code=")
    hop = follow_hop(flow, again)
    assert hop.status_code == 302
    assert PurposeJustification.objects.count() == 1


def test_another_session_is_asked_again(browser, payroll, answered, mailoutbox):
    other = Browser()

    response = sign_in_with_pin(_flow(other, payroll), mailoutbox)

    assert response.status_code == 200
    assert f'<label for="id_purpose">{PROMPT}</label>' in response.content.decode()


def test_a_second_answer_in_the_same_session_keeps_the_first(browser, payroll, answered):
    response = _flow(browser, payroll).post("purpose", purpose="something else")

    assert response.status_code == 302
    assert list(PurposeJustification.objects.values_list("answer", flat=True)) == [ANSWER]


@pytest.mark.parametrize(
    ("written", "error"),
    [
        ("", EMPTY_ANSWER),
        ("   \n\t ", EMPTY_ANSWER),
        ("x" * 501, LONG_ANSWER),
        ("é" * 200, LONG_ANSWER),  # each spelled \u00e9 in the token: too big for its cookie
        ("before\x00after", UNSTORABLE_ANSWER),
        # Shown to approvers and administrators: no terminal escapes, no text turned around.
        ("\x1b[31mred\x1b[0m", CONTROL_IN_ANSWER),
        ("INC-1 \u202egnp.exe", CONTROL_IN_ANSWER),
        ("INC-1 \u2066x\u2069", CONTROL_IN_ANSWER),
        ("bell\x07", CONTROL_IN_ANSWER),
    ],
)
def test_a_refused_answer_is_asked_again_with_the_error_tied_to_the_field(
    browser, payroll, mailoutbox, written, error
):
    flow = _flow(browser, payroll)
    sign_in_with_pin(flow, mailoutbox)

    response = flow.post("purpose", purpose=written)

    assert response.status_code == 400
    page = response.content.decode()
    assert f'<p class="error" role="alert" id="id_purpose_error">{error}</p>' in page
    assert 'aria-describedby="id_purpose_hint id_purpose_error" aria-invalid="true"' in page
    assert not PurposeJustification.objects.exists()
    assert not AuthorizationCode.objects.exists()


def test_an_answer_on_several_lines_with_tabs_is_kept_as_written(browser, payroll, mailoutbox):
    flow = _flow(browser, payroll)
    sign_in_with_pin(flow, mailoutbox)

    response = flow.post("purpose", purpose="INC-1\r\n\tstep one\nétape deux")

    assert response.status_code == 302
    assert PurposeJustification.objects.get().answer == "INC-1\r\n\tstep one\nétape deux"


def test_an_answer_of_500_characters_is_accepted(browser, payroll, mailoutbox):
    flow = _flow(browser, payroll)
    sign_in_with_pin(flow, mailoutbox)

    response = flow.post("purpose", purpose="x" * 500)

    assert response.status_code == 302
    assert PurposeJustification.objects.get().answer == "x" * 500


def test_a_post_without_the_answer_field_is_refused(browser, payroll, mailoutbox):
    flow = _flow(browser, payroll)
    sign_in_with_pin(flow, mailoutbox)

    response = flow.post("purpose")

    assert response.status_code == 400
    assert not PurposeJustification.objects.exists()


def test_a_post_for_an_application_that_asks_nothing_stores_nothing(browser, payroll, answered):
    wiki = make_application(domain="wiki.localhost/demo", name="Wiki")

    response = _flow(browser, wiki, "wiki.localhost").post("purpose", purpose="forged")

    # It goes on as single sign-on would, and nothing is recorded for either application.
    assert response.status_code == 302
    assert response["Location"].startswith("https://wiki.localhost/cdn-cgi/access/authorized?")
    assert list(PurposeJustification.objects.values_list("application_id", "answer")) == [
        (payroll.pk, ANSWER)
    ]


def test_a_post_for_a_person_the_policy_refuses_stores_nothing(browser, payroll, mailoutbox):
    flow = _flow(browser, payroll)
    sign_in_with_pin(flow, mailoutbox)
    with committed():
        services.policy_update(
            policy=Policy.objects.get(application=payroll),
            include=[{"email": {"email": "boss@example.com"}}],
        )

    response = flow.post("purpose", purpose=ANSWER)

    assert response.status_code == 403
    assert not PurposeJustification.objects.exists()


def test_a_post_without_a_session_stores_nothing(payroll):
    response = _flow(Browser(), payroll).post("purpose", purpose=ANSWER)

    assert response.status_code == 400
    assert b"Your sign-in has ended" in response.content
    assert not PurposeJustification.objects.exists()


def test_a_post_without_the_csrf_token_is_refused(browser, payroll, mailoutbox):
    flow = _flow(browser, payroll)
    sign_in_with_pin(flow, mailoutbox)
    strict = Browser(enforce_csrf_checks=True, jars=browser.jars)

    response = strict.post(
        flow.page_url,
        {"step": "purpose", "purpose": ANSWER, **flow.fields},
        HTTP_ORIGIN=f"https://{LOGIN_HOST}",
        HTTP_SEC_FETCH_SITE="same-origin",
    )

    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert not PurposeJustification.objects.exists()


# --- where the answer shows --------------------------------------------------------------------


def test_get_identity_on_the_application_host_shows_the_answer(browser, payroll, answered):
    response = browser.get(f"https://{PAYROLL}/cdn-cgi/access/get-identity")

    assert response.status_code == 200
    assert response.json()["purpose_justification"] == {payroll.aud: ANSWER}


def test_get_identity_without_an_answer_has_no_purpose(browser, mailoutbox):
    wiki = make_application(domain="wiki.localhost/demo", name="Wiki")
    flow = _flow(browser, wiki, "wiki.localhost")
    follow_hop(flow, sign_in_with_pin(flow, mailoutbox))

    identity = browser.get("https://wiki.localhost/cdn-cgi/access/get-identity").json()

    assert "purpose_justification" not in identity


def test_the_access_log_record_carries_the_answer(browser, payroll, answered, caplog):
    with caplog.at_level(logging.INFO, logger="accessproject.access"):
        response = browser.get(f"https://{PAYROLL}/demo/echo/x")

    assert response.status_code == 200
    (record,) = [r for r in caplog.records if hasattr(r, "access")]
    assert record.access["decision"] == "allow"
    assert record.access["purpose_justification"] == ANSWER


# --- the gate ------------------------------------------------------------------------------------


@pytest.fixture
def signed_in_before_it_asked(browser, mailoutbox):
    """Ann's payroll token was minted before its policy asked for a purpose; then it asks."""
    payroll = make_application(domain=f"{PAYROLL}/demo", name="Payroll")
    flow = _flow(browser, payroll)
    follow_hop(flow, sign_in_with_pin(flow, mailoutbox))
    assert browser.get(f"https://{PAYROLL}/demo/echo/x").status_code == 200
    _ask_purpose(payroll, prompt=PROMPT)
    return payroll


def test_the_gate_sends_a_navigation_without_the_answer_to_sign_in(
    browser, signed_in_before_it_asked, caplog
):
    with caplog.at_level(logging.INFO, logger="accessproject.access"):
        response = browser.get(f"https://{PAYROLL}/demo/echo/x", **NAVIGATION)

    assert response.status_code == 302
    assert response["Location"].startswith(f"https://{LOGIN_HOST}/cdn-cgi/access/login/{PAYROLL}?")
    (record,) = [r for r in caplog.records if hasattr(r, "access")]
    assert (record.access["decision"], record.access["reason"]) == ("unauthenticated", NO_PURPOSE)


def test_the_gate_answers_an_xhr_without_the_answer_with_401(browser, signed_in_before_it_asked):
    response = browser.get(f"https://{PAYROLL}/demo/echo/x", HTTP_X_REQUESTED_WITH="XMLHttpRequest")

    assert response.status_code == 401


def test_signing_in_again_asks_the_prompt_and_then_the_gate_lets_the_answer_in(
    browser, signed_in_before_it_asked
):
    sent = browser.get(f"https://{PAYROLL}/demo/echo/x", **NAVIGATION)
    # The gate started a new flow (its state cookie on the application host): follow it.
    page = browser.get(sent["Location"], **NAVIGATION)
    assert page.status_code == 200
    assert f'<label for="id_purpose">{PROMPT}</label>' in page.content.decode()
    fields = _hidden_fields(page)

    hop = browser.post(
        f"https://{LOGIN_HOST}/cdn-cgi/access/login/{PAYROLL}", {**fields, "purpose": ANSWER}
    )
    back = browser.get(hop["Location"], **NAVIGATION)
    assert back["Location"] == "/demo/echo/x"
    response = browser.get(f"https://{PAYROLL}/demo/echo/x")

    assert response.status_code == 200
    assert PurposeJustification.objects.get().answer == ANSWER


def _hidden_fields(response) -> dict[str, str]:
    return dict(HIDDEN_FIELD.findall(response.content.decode()))


# --- the admin ----------------------------------------------------------------------------------


def test_the_session_admin_page_shows_the_answer_read_only(payroll, answered, admin_client):
    org_session = AccessSession.objects.get(application__isnull=True)

    response = admin_client.get(
        reverse("admin:identity_accesssession_change", args=[org_session.pk]),
        HTTP_HOST=LOGIN_HOST,
        secure=True,
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert ANSWER in page
    assert "Payroll" in page
    assert 'name="purpose_justifications-0-answer"' not in page


# --- several applications of one host -------------------------------------------------------------

# The longest answer the prompt takes: 1000 characters once each é is spelled \u00e9 in the token.
LONGEST = "é" * 165 + "abcd"


def _set_cookie_line(response) -> str:
    return response.cookies[CF_AUTHORIZATION].output(header="Set-Cookie:")


def test_longest_answers_for_every_application_of_a_host_keep_its_cookie_under_4_kb(
    browser, mailoutbox
):
    # Browsers drop a cookie over 4096 bytes: the person would sign in again and again. A token
    # carries the answers of the applications it opens only within a bound, its own first.
    names = "abcdef"
    applications = []
    for name in names:
        application = make_application(domain=f"{PAYROLL}/demo/echo/{name}", name=f"Tool {name}")
        _ask_purpose(application, prompt=PROMPT)
        applications.append(application)

    for index, (name, application) in enumerate(zip(names, applications, strict=True)):
        flow = _flow(browser, application)
        flow.redirect_url = f"/demo/echo/{name}/x"
        asked = sign_in_with_pin(flow, mailoutbox) if index == 0 else flow.open()
        assert asked.status_code == 200  # each application asks its own prompt once
        hop = follow_hop(flow, flow.post("purpose", purpose=LONGEST))

        assert hop["Location"] == f"/demo/echo/{name}/x"
        assert len(_set_cookie_line(hop)) <= 4096
        claims = _app_claims(hop, application)
        assert claims.raw[PURPOSE_CLAIM][application.aud] == LONGEST
        assert browser.get(f"https://{PAYROLL}/demo/echo/{name}/x").status_code == 200

    assert PurposeJustification.objects.count() == len(names)


@pytest.fixture
def two_of_one_host(db):
    """A wiki and payroll on one host, each asking for a purpose."""
    applications = []
    for name in ("wiki", "payroll"):
        application = make_application(domain=f"{PAYROLL}/demo/echo/{name}", name=name.title())
        _ask_purpose(application, prompt=PROMPT)
        applications.append(application)
    return applications


def test_a_token_carries_answers_only_for_the_applications_it_opens(
    browser, mailoutbox, two_of_one_host
):
    wiki, payroll = two_of_one_host
    # Ann answers for the wiki without ever holding its token here, then enters payroll.
    flow = _flow(browser, wiki)
    sign_in_with_pin(flow, mailoutbox)
    assert flow.post("purpose", purpose="wiki: fix a page").status_code == 302
    browser.jars[PAYROLL].clear()
    flow = _flow(browser, payroll)
    flow.redirect_url = "/demo/echo/payroll/x"
    hop = follow_hop(flow, flow.post("purpose", purpose=ANSWER))

    claims = _app_claims(hop, payroll)
    assert claims.audiences == (payroll.aud,)
    assert claims.raw[PURPOSE_CLAIM] == {payroll.aud: ANSWER}


def test_short_answers_of_a_host_ride_together_in_one_token(browser, mailoutbox, two_of_one_host):
    # Within the bound, moving between the applications of one host needs no new sign-in.
    wiki, payroll = two_of_one_host
    flow = _flow(browser, wiki)
    flow.redirect_url = "/demo/echo/wiki/x"
    sign_in_with_pin(flow, mailoutbox)
    follow_hop(flow, flow.post("purpose", purpose="wiki: fix a page"))
    flow = _flow(browser, payroll)
    flow.redirect_url = "/demo/echo/payroll/x"
    assert flow.open().status_code == 200
    hop = follow_hop(flow, flow.post("purpose", purpose=ANSWER))

    claims = _app_claims(hop, payroll)
    assert claims.audiences == (payroll.aud, wiki.aud)
    assert claims.raw[PURPOSE_CLAIM] == {payroll.aud: ANSWER, wiki.aud: "wiki: fix a page"}
    assert browser.get(f"https://{PAYROLL}/demo/echo/wiki/x").status_code == 200
    assert browser.get(f"https://{PAYROLL}/demo/echo/payroll/x").status_code == 200


def test_an_answered_entry_costs_no_sql_query_in_steady_state(
    browser, payroll, answered, settings, django_assert_num_queries
):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    assert browser.get(f"https://{PAYROLL}/demo/echo/x").status_code == 200  # warm-up

    with django_assert_num_queries(0):
        for _ in range(20):
            assert browser.get(f"https://{PAYROLL}/demo/echo/x").status_code == 200


def test_however_many_applications_of_a_host_a_token_merges_its_cookie_stays_under_4_kb(
    browser, mailoutbox
):
    # Each application of a host adds its AUD tag to the token that merges it: past what a
    # cookie holds, the token opens only its own application (the others hop through sign-in).
    for index in range(40):
        application = make_application(domain=f"{PAYROLL}/demo/echo/t{index}", name=f"T{index}")
        flow = _flow(browser, application)
        flow.redirect_url = f"/demo/echo/t{index}/x"
        hop = follow_hop(flow, sign_in_with_pin(flow, mailoutbox) if index == 0 else flow.open())
        assert len(_set_cookie_line(hop)) <= 4096
        assert _app_claims(hop, application).audiences[0] == application.aud
        assert browser.get(f"https://{PAYROLL}/demo/echo/t{index}/x").status_code == 200
    _ask_purpose(application, prompt=PROMPT)
    flow = _flow(browser, application)
    flow.redirect_url = f"/demo/echo/t{index}/x"
    hop = follow_hop(flow, flow.post("purpose", purpose=LONGEST))

    assert len(_set_cookie_line(hop)) <= 4096
    assert _app_claims(hop, application).raw[PURPOSE_CLAIM] == {application.aud: LONGEST}
    assert browser.get(f"https://{PAYROLL}/demo/echo/t{index}/x").status_code == 200
