"""Temporary approval at sign-in: ask, wait, enter for the approved while, and no longer."""

import logging
from datetime import timedelta

import pytest

from identity import approvals
from identity.claims import APPROVAL_CLAIM
from identity.cookies import CF_AUTHORIZATION
from identity.flows.purpose import CONTROL_IN_ANSWER, EMPTY_ANSWER, LONG_ANSWER
from identity.gate import NO_APPROVAL
from identity.models import ApprovalRequest, AuthEvent
from identity.tokens import LEEWAY, verify_access_token
from policies import services
from tests.gatekit import committed, response_sent
from tests.identity.approval_support import approve, links
from tests.identity.signin_support import (
    NAVIGATION,
    Browser,
    LoginFlow,
    follow_hop,
    sign_in_with_pin,
)

LOGIN_HOST = "access.localhost"
PAGE = "https://vault.localhost/demo/echo/page"
APPROVERS = [{"approvals_needed": 1, "email_addresses": ["bob@example.com"]}]


@pytest.fixture(autouse=True)
def _team_domain(settings, db):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST
    response_sent()  # no task an earlier test left behind


def _vault(*, approval_required=True):
    with committed():
        application = services.application_create(name="Vault", domain="vault.localhost/demo")
        policy = services.policy_create(
            application=application,
            name="people",
            decision="allow",
            precedence=1,
            include=[{"email_domain": {"domain": "example.com"}}],
            purpose_justification_required=True,
            purpose_justification_prompt="What will you do in the vault?",
            approval_required=approval_required,
            approval_groups=APPROVERS if approval_required else [],
        )
    return application, policy


@pytest.fixture
def vault():
    return _vault()[0]


@pytest.fixture
def browser():
    return Browser()


def _flow(browser, application):
    return LoginFlow(
        browser,
        application,
        app_host="vault.localhost",
        login_host=LOGIN_HOST,
        redirect_url="/demo/echo/page",
    )


def _here(flow):
    """The flow's login page, as the login host's own redirects name it."""
    return flow.url.removeprefix(f"https://{LOGIN_HOST}")


def _ask(flow, *, justification="Incident 42", duration="3600"):
    return flow.post("request_approval", justification=justification, duration=duration)


def _asked(browser, vault, mailoutbox):
    """Ann signs in and asks; returns her flow."""
    flow = _flow(browser, vault)
    assert sign_in_with_pin(flow, mailoutbox)["Location"] == _here(flow)
    assert _ask(flow)["Location"] == _here(flow)
    response_sent()
    return flow


def _app_claims(browser, vault):
    return verify_access_token(
        browser.cookies("vault.localhost")[CF_AUTHORIZATION],
        audience=vault.aud,
        token_type="app",
        issuer=f"https://{LOGIN_HOST}",
    )


def test_a_sign_in_the_policy_wants_approved_asks_for_approval(browser, vault, mailoutbox):
    flow = _flow(browser, vault)
    signed_in = sign_in_with_pin(flow, mailoutbox)
    assert signed_in.status_code == 302
    assert signed_in["Location"] == _here(flow)  # the org session starts; the page asks
    assert CF_AUTHORIZATION in browser.cookies(LOGIN_HOST)
    page = flow.open()
    assert page.status_code == 200
    content = page.content.decode()
    assert '<label for="id_justification">What will you do in the vault?</label>' in content
    assert '<label for="id_duration">For how long</label>' in content
    assert 'name="step" value="request_approval"' in content
    assert CF_AUTHORIZATION not in browser.cookies("vault.localhost")


def test_asking_emails_the_approvers_and_the_page_then_waits(browser, vault, mailoutbox):
    flow = _asked(browser, vault, mailoutbox)
    request = ApprovalRequest.objects.get()
    assert (request.email, request.application_id, request.policy_name) == (
        "ann@example.com",
        vault.pk,
        "people",
    )
    assert (request.justification, request.requested_duration) == (
        "Incident 42",
        timedelta(hours=1),
    )
    assert request.return_url == "https://vault.localhost/demo/echo/page"
    assert list(links(mailoutbox)) == ["bob@example.com"]
    page = flow.open()
    assert page.status_code == 200
    assert b"Waiting for approval" in page.content
    assert b'href="https://vault.localhost/demo/echo/page"' in page.content
    assert _ask(flow)["Location"] == _here(flow)  # asking again changes nothing
    assert ApprovalRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("justification", "duration", "field", "message"),
    [
        ("   ", "3600", "justification", EMPTY_ANSWER),
        ("x" * 501, "3600", "justification", LONG_ANSWER),
        ("Incident \u202e24", "3600", "justification", CONTROL_IN_ANSWER),
        ("Incident 42", "60", "duration", approvals.CHOOSE_DURATION),
        ("Incident 42", "\u00b3600", "duration", approvals.CHOOSE_DURATION),
        ("Incident 42", "\u0663600", "duration", approvals.CHOOSE_DURATION),
    ],
)
def test_a_request_with_a_bad_field_says_so_at_the_field(
    browser, vault, mailoutbox, justification, duration, field, message
):
    flow = _flow(browser, vault)
    sign_in_with_pin(flow, mailoutbox)
    page = _ask(flow, justification=justification, duration=duration)
    assert page.status_code == 400
    content = page.content.decode()
    assert f'<p class="error" role="alert" id="id_{field}_error">{message}</p>' in content
    assert f'id_{field}_error" aria-invalid="true"' in content
    assert not ApprovalRequest.objects.exists()


def test_once_approved_the_person_enters_until_the_approval_ends(browser, vault, mailoutbox, clock):
    flow = _asked(browser, vault, mailoutbox)
    approval = approve(mailoutbox, hours=1)
    assert approval.granted_until == clock.now + timedelta(hours=1)

    clock.advance(timedelta(minutes=10))
    sso = flow.open()
    assert sso.status_code == 302
    assert sso["Location"].startswith("https://vault.localhost/cdn-cgi/access/authorized?code=")
    hop = follow_hop(flow, sso)
    assert hop["Location"] == "/demo/echo/page"
    claims = _app_claims(browser, vault)
    assert claims.raw[APPROVAL_CLAIM] == {
        vault.aud: {"id": str(approval.pk), "until": int(approval.granted_until.timestamp())}
    }
    assert claims.expires_at == approval.granted_until  # 50 minutes, not the session's 24 hours
    assert int(hop.cookies[CF_AUTHORIZATION]["max-age"]) == 50 * 60
    sign_in = AuthEvent.objects.filter(kind=AuthEvent.Kind.SIGN_IN).latest("id")
    assert sign_in.detail["approval"] == str(approval.pk)
    assert browser.get(PAGE, **NAVIGATION).status_code == 200

    clock.advance(timedelta(minutes=50) + LEEWAY + timedelta(seconds=1))
    assert browser.get(PAGE, **NAVIGATION).status_code == 302  # the token has ended
    again = _flow(browser, vault).open()
    assert again.status_code == 200
    assert b"Ask for access to Vault" in again.content


def test_a_revoked_approval_cuts_off_the_issued_token_at_once(browser, vault, mailoutbox, clock):
    flow = _asked(browser, vault, mailoutbox)
    approval = approve(mailoutbox, hours=8)
    follow_hop(flow, flow.open())
    assert browser.get(PAGE, **NAVIGATION).status_code == 200

    clock.advance(timedelta(seconds=2))
    with committed():
        approvals.approval_revoke(approval=approval, actor="admin")
    gate = browser.get(PAGE, **NAVIGATION)
    assert gate.status_code == 302
    assert gate["Location"].startswith(f"https://{LOGIN_HOST}/cdn-cgi/access/login/")
    page = _flow(browser, vault).open()
    assert page.status_code == 200
    assert b"Your last approval was ended by an administrator." in page.content
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.APPROVAL_REVOKED).count() == 1


def test_a_refused_request_says_so_and_may_be_asked_again(browser, vault, mailoutbox):
    flow = _asked(browser, vault, mailoutbox)
    approvals.approval_decide(
        token=links(mailoutbox)["bob@example.com"], signed_in_as="bob@example.com", approve=False
    )
    page = flow.open()
    assert page.status_code == 200
    assert b"Your last request was refused. You may ask again." in page.content
    assert _ask(flow, justification="Incident 42, with the ticket")["Location"] == _here(flow)
    assert ApprovalRequest.objects.filter(status="pending").count() == 1


def _access_records(caplog):
    return [record.access for record in caplog.records if hasattr(record, "access")]


def test_the_gate_sends_a_token_without_the_approval_to_sign_in(browser, mailoutbox, caplog):
    vault, policy = _vault(approval_required=False)
    flow = _flow(browser, vault)
    # Without an approval the policy asks its purpose prompt on a page of its own.
    assert sign_in_with_pin(flow, mailoutbox).status_code == 200
    follow_hop(flow, flow.post("purpose", purpose="Rotating the keys"))
    assert browser.get(PAGE, **NAVIGATION).status_code == 200
    with committed():
        services.policy_update(policy=policy, approval_required=True, approval_groups=APPROVERS)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="accessproject.access"):
        gate = browser.get(PAGE, **NAVIGATION)
    assert gate.status_code == 302
    assert gate["Location"].startswith(f"https://{LOGIN_HOST}/cdn-cgi/access/login/")
    [record] = _access_records(caplog)
    assert (record["decision"], record["reason"]) == ("unauthenticated", NO_APPROVAL)


def test_the_access_log_names_the_approval_a_request_came_in_under(
    browser, vault, mailoutbox, caplog
):
    flow = _asked(browser, vault, mailoutbox)
    approval = approve(mailoutbox, hours=1)
    follow_hop(flow, flow.open())
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="accessproject.access"):
        assert browser.get(PAGE, **NAVIGATION).status_code == 200
    [record] = _access_records(caplog)
    assert (record["decision"], record["approval"]) == ("allow", str(approval.pk))


def test_get_identity_shows_the_approval(browser, vault, mailoutbox):
    flow = _asked(browser, vault, mailoutbox)
    approval = approve(mailoutbox, hours=1)
    follow_hop(flow, flow.open())
    identity = browser.get("https://vault.localhost/cdn-cgi/access/get-identity").json()
    assert identity["approval"] == {
        vault.aud: {"id": str(approval.pk), "until": int(approval.granted_until.timestamp())}
    }


def test_an_approved_entry_costs_no_sql_query_in_steady_state(
    browser, vault, mailoutbox, settings, django_assert_num_queries
):
    flow = _asked(browser, vault, mailoutbox)
    approve(mailoutbox, hours=1)
    follow_hop(flow, flow.open())
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    assert browser.get(PAGE).status_code == 200  # warm-up

    with django_assert_num_queries(0):
        for _ in range(20):
            assert browser.get(PAGE).status_code == 200
