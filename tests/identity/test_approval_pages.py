"""The approver's page on the login host: sign in first, for the link's address only, once."""

from datetime import timedelta
from urllib.parse import quote

import pytest

from identity import approvals
from identity.login_urls import APPROVAL_PATH
from identity.models import ApprovalRequest, Approver
from policies import services
from policies.models import Policy
from tests.gatekit import committed, response_sent
from tests.identity.approval_support import (
    ONE_OF_TWO,
    ORIGIN,
    ask,
    links,
    make_vault,
    set_approvers,
)
from tests.identity.signin_support import (
    NAVIGATION,
    Browser,
    sign_in_on_login_host,
)

LOGIN_HOST = "access.localhost"


@pytest.fixture(autouse=True)
def _team_domain(settings, db):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST
    response_sent()  # no task an earlier test left behind


@pytest.fixture
def vault(db):
    return make_vault()


@pytest.fixture
def bobs_link(vault, mailoutbox):
    ask(vault, ONE_OF_TWO)
    return f"{APPROVAL_PATH}/{links(mailoutbox)['bob@example.com']}"


def _signed_in(mailoutbox, email, *, then=""):
    browser, response = sign_in_on_login_host(mailoutbox, email, then=then)
    assert response.status_code == 302
    return browser, response


def test_without_a_session_the_page_sends_the_approver_to_sign_in_and_back(bobs_link, mailoutbox):
    browser = Browser()
    page = browser.get(f"{ORIGIN}{bobs_link}", **NAVIGATION)
    assert page.status_code == 200
    assert b"Sign in as bob@example.com to decide this request." in page.content
    assert b"Incident 42" not in page.content
    sign_in = f"/cdn-cgi/access/login?redirect_url={quote(bobs_link, safe='')}"
    assert f'href="{sign_in}"'.encode() in page.content

    _, response = _signed_in(mailoutbox, "bob@example.com", then=bobs_link)
    assert response["Location"] == bobs_link


def test_the_login_host_returns_only_to_its_own_approval_pages(mailoutbox, vault):
    for elsewhere in ("https://evil.example/", "//evil.example/x", "/cdn-cgi/access/account"):
        _, response = _signed_in(mailoutbox, "bob@example.com", then=elsewhere)
        assert response["Location"] == "/cdn-cgi/access/login"


def test_the_approver_sees_the_request_and_approves_it(bobs_link, mailoutbox, vault):
    browser, _ = _signed_in(mailoutbox, "bob@example.com", then=bobs_link)
    page = browser.get(f"{ORIGIN}{bobs_link}", **NAVIGATION)
    assert page.status_code == 200
    content = page.content.decode()
    assert "<dd>ann@example.com</dd>" in content
    assert "<dd>Vault</dd>" in content
    assert "<dd>4 hours</dd>" in content
    assert "Incident 42: read the logs" in content
    assert '<label for="id_duration">Approve for</label>' in content
    assert '<option value="14400" selected>4 hours</option>' in content

    mailoutbox.clear()
    decided = browser.post(f"{ORIGIN}{bobs_link}", {"decision": "approve", "duration": "3600"})
    assert decided.status_code == 200
    assert b"You approved the request. ann@example.com may enter Vault until" in decided.content
    request = ApprovalRequest.objects.get()
    assert request.status == ApprovalRequest.Status.APPROVED
    assert request.granted_until - request.decided_at == timedelta(hours=1)
    assert [message.to for message in mailoutbox] == [["ann@example.com"]]

    again = browser.post(f"{ORIGIN}{bobs_link}", {"decision": "refuse"})
    assert again.status_code == 410
    assert approvals.LINK_USED.encode() in again.content


def test_the_approver_refuses(bobs_link, mailoutbox):
    browser, _ = _signed_in(mailoutbox, "bob@example.com", then=bobs_link)
    decided = browser.post(f"{ORIGIN}{bobs_link}", {"decision": "refuse"})
    assert decided.status_code == 200
    assert b"You refused the request. ann@example.com has been emailed." in decided.content
    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.REFUSED


@pytest.mark.parametrize(
    "duration", ["99999999", "", "-3600", "3600.0", "abc", "\u00b3600", "\u0663600"]
)
def test_a_duration_not_offered_is_an_error_tied_to_the_field(bobs_link, mailoutbox, duration):
    # Digits of other scripts (superscript three, Arabic-Indic three) are not seconds either.
    browser, _ = _signed_in(mailoutbox, "bob@example.com", then=bobs_link)
    page = browser.post(f"{ORIGIN}{bobs_link}", {"decision": "approve", "duration": duration})
    assert page.status_code == 400
    content = page.content.decode()
    assert '<p class="error" role="alert" id="id_duration_error">' in content
    assert 'aria-describedby="id_duration_hint id_duration_error" aria-invalid="true"' in content
    assert Approver.objects.filter(decided_at__isnull=False).count() == 0


def test_someone_else_signed_in_is_told_whom_the_link_is_for(bobs_link, mailoutbox):
    browser, _ = _signed_in(mailoutbox, "cy@example.com")
    page = browser.get(f"{ORIGIN}{bobs_link}", **NAVIGATION)
    assert page.status_code == 403
    assert b"This link is for bob@example.com." in page.content
    assert b"Incident 42" not in page.content
    assert b'action="/cdn-cgi/access/logout"' in page.content
    posted = browser.post(f"{ORIGIN}{bobs_link}", {"decision": "approve", "duration": "3600"})
    assert posted.status_code == 403
    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.PENDING


def test_someone_else_signed_in_signs_out_and_is_sent_to_sign_in_and_back(bobs_link, mailoutbox):
    browser, _ = _signed_in(mailoutbox, "cy@example.com")
    page = browser.get(f"{ORIGIN}{bobs_link}", **NAVIGATION)
    assert f'name="redirect_url" value="{bobs_link}"'.encode() in page.content

    signed_out = browser.post(
        f"{ORIGIN}/cdn-cgi/access/logout", {"redirect_url": bobs_link, "sign_in_again": "1"}
    )
    assert signed_out.status_code == 302
    sign_in = f"/cdn-cgi/access/login?redirect_url={quote(bobs_link, safe='')}"
    assert signed_out["Location"] == sign_in
    assert browser.get(f"{ORIGIN}{bobs_link}", **NAVIGATION).status_code == 200  # no session now

    _, response = _signed_in(mailoutbox, "bob@example.com", then=bobs_link)
    assert response["Location"] == bobs_link


@pytest.mark.parametrize(
    "elsewhere", ["/cdn-cgi/access/account", "//evil.example/cdn-cgi/access/approval/x", "/x"]
)
def test_signing_out_returns_only_to_the_login_hosts_approval_pages(db, elsewhere):
    signed_out = Browser().post(
        f"{ORIGIN}/cdn-cgi/access/logout", {"redirect_url": elsewhere, "sign_in_again": "1"}
    )
    assert signed_out.status_code == 200  # the signed-out page, no redirect
    assert b"/cdn-cgi/access/login?redirect_url=" not in signed_out.content


def test_the_requester_cannot_approve_their_own_request(bobs_link, mailoutbox):
    browser, _ = _signed_in(mailoutbox, "ann@example.com")
    posted = browser.post(f"{ORIGIN}{bobs_link}", {"decision": "approve", "duration": "3600"})
    assert posted.status_code == 403
    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.PENDING


@pytest.mark.parametrize(
    ("token", "status", "message"),
    [
        ("A" * 43, 404, approvals.LINK_INVALID),
        ("A" * 300, 404, approvals.LINK_INVALID),
        ("not-a-link", 404, approvals.LINK_INVALID),
    ],
)
def test_a_bad_link_gets_a_clear_page(db, token, status, message):
    page = Browser().get(f"{ORIGIN}{APPROVAL_PATH}/{token}", **NAVIGATION)
    assert page.status_code == status
    assert message.encode() in page.content
    assert b'href="/"' in page.content


def test_an_expired_link_gets_a_clear_page(bobs_link, clock):
    clock.advance(approvals.REQUEST_LIFETIME)
    page = Browser().get(f"{ORIGIN}{bobs_link}", **NAVIGATION)
    assert page.status_code == 410
    assert approvals.LINK_EXPIRED.encode() in page.content


def test_a_decision_needs_the_csrf_token(bobs_link, mailoutbox):
    signed_in, _ = _signed_in(mailoutbox, "bob@example.com")
    browser = Browser(enforce_csrf_checks=True, jars=signed_in.jars)
    same_origin = {"HTTP_ORIGIN": ORIGIN, "HTTP_SEC_FETCH_SITE": "same-origin"}
    decision = {"decision": "approve", "duration": "3600"}
    posted = browser.post(f"{ORIGIN}{bobs_link}", decision, **same_origin)
    assert posted.status_code == 403
    assert Approver.objects.filter(decided_at__isnull=False).count() == 0

    page = browser.get(f"{ORIGIN}{bobs_link}", **NAVIGATION).content.decode()
    token = page.split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    posted = browser.post(
        f"{ORIGIN}{bobs_link}", {**decision, "csrfmiddlewaretoken": token}, **same_origin
    )
    assert posted.status_code == 200
    assert Approver.objects.filter(decided_at__isnull=False).count() == 1


def test_the_link_on_another_host_goes_to_the_login_host(bobs_link):
    page = Browser().get(f"https://vault.localhost{bobs_link}", **NAVIGATION)
    assert page.status_code == 302
    assert page["Location"] == f"{ORIGIN}{bobs_link}"


def _cys_decision(mailoutbox, link):
    browser, _ = _signed_in(mailoutbox, "cy@example.com", then=link)
    return browser.post(f"{ORIGIN}{link}", {"decision": "approve", "duration": "604800"})


def test_after_a_refusal_another_approvers_link_approves_nothing(bobs_link, mailoutbox):
    cys_link = f"{APPROVAL_PATH}/{links(mailoutbox)['cy@example.com']}"
    bob, _ = _signed_in(mailoutbox, "bob@example.com", then=bobs_link)
    assert bob.post(f"{ORIGIN}{bobs_link}", {"decision": "refuse"}).status_code == 200

    posted = _cys_decision(mailoutbox, cys_link)

    assert posted.status_code == 410
    assert approvals.REQUEST_CLOSED.encode() in posted.content
    request = ApprovalRequest.objects.get()
    assert (request.status, request.granted_until) == (ApprovalRequest.Status.REFUSED, None)
    assert not Approver.objects.filter(email="cy@example.com", decided_at__isnull=False).exists()


def test_after_a_revocation_a_waiting_requests_links_approve_nothing(bobs_link, mailoutbox):
    cys_link = f"{APPROVAL_PATH}/{links(mailoutbox)['cy@example.com']}"
    assert approvals.approval_revoke(approval=ApprovalRequest.objects.get(), actor="admin")

    posted = _cys_decision(mailoutbox, cys_link)

    assert posted.status_code == 410
    assert approvals.REQUEST_CLOSED.encode() in posted.content
    request = ApprovalRequest.objects.get()
    assert (request.status, request.granted_until) == (ApprovalRequest.Status.REVOKED, None)


def test_an_approver_taken_off_the_policy_can_no_longer_decide_through_their_link(
    bobs_link, mailoutbox, vault
):
    cys_link = f"{APPROVAL_PATH}/{links(mailoutbox)['cy@example.com']}"
    set_approvers(vault, ["cy@example.com"])  # Bob has left the team
    bob, _ = _signed_in(mailoutbox, "bob@example.com", then=bobs_link)

    page = bob.get(f"{ORIGIN}{bobs_link}", **NAVIGATION)
    posted = bob.post(f"{ORIGIN}{bobs_link}", {"decision": "approve", "duration": "604800"})

    for answer in (page, posted):
        assert answer.status_code == 403
        assert approvals.NO_LONGER_APPROVER.encode() in answer.content
        assert b"Incident 42" not in answer.content
    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.PENDING
    assert not Approver.objects.filter(decided_at__isnull=False).exists()
    # The approvers the policy still names decide as before.
    assert _cys_decision(mailoutbox, cys_link).status_code == 200
    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.APPROVED


def test_once_the_policy_no_longer_asks_for_approval_no_link_decides(bobs_link, mailoutbox, vault):
    with committed():
        services.policy_update(
            policy=Policy.objects.get(application=vault), approval_required=False
        )
    bob, _ = _signed_in(mailoutbox, "bob@example.com", then=bobs_link)

    posted = bob.post(f"{ORIGIN}{bobs_link}", {"decision": "approve", "duration": "3600"})

    assert posted.status_code == 403
    assert ApprovalRequest.objects.get().status == ApprovalRequest.Status.PENDING
