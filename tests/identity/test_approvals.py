"""Temporary approval's services: requests, approvers' links, decisions, counting, revocation."""

import hashlib
from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from common import versioning
from common.models import AuditEntry
from identity import approvals
from identity.approvals import LinkRefused
from identity.claims import APPROVAL_CLAIM, AccessClaims
from identity.models import ApprovalRequest, Approver, AuthEvent, RevocationCutoff
from identity.sessions import is_revoked
from policies.approvals import ApprovalGroup
from tests.gatekit import committed, response_sent
from tests.identity.approval_support import ONE_OF_TWO, ORIGIN, approve, ask, links, make_vault
from tests.identity.signin_support import make_application


@pytest.fixture(autouse=True)
def _no_leftover_tasks(db):
    """Tasks an earlier test asked for and never saw sent are not this test's."""
    response_sent()


@pytest.fixture
def vault(db):
    return make_vault()


def test_each_approver_but_the_requester_is_emailed_a_link_stored_hashed(vault, mailoutbox):
    groups = [ApprovalGroup(1, ("bob@example.com", "ann@example.com", "cy@example.com"))]
    request = ask(vault, groups)
    emailed = links(mailoutbox)
    assert sorted(emailed) == ["bob@example.com", "cy@example.com"]
    assert mailoutbox[0].subject == "ann@example.com asks to enter Vault"
    assert "Incident 42: read the logs" in mailoutbox[0].body
    stored = dict(Approver.objects.filter(request=request).values_list("email", "link_hash"))
    for email, token in emailed.items():
        assert stored[email] == hashlib.sha256(token.encode()).hexdigest()
        assert token not in stored[email]
    assert request.justification == "Incident 42: read the logs"
    assert request.status == ApprovalRequest.Status.PENDING
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.APPROVAL_REQUESTED)
    assert event.email == "ann@example.com"
    assert event.detail["approvers"] == ["bob@example.com", "cy@example.com"]


def test_the_reason_in_the_approvers_text_email_cannot_pass_for_the_emails_own_lines(
    vault, mailoutbox
):
    # The requester writes the reason: each of its lines is quoted, so none reads as the email's
    # own instructions (a second "open this link" with another address, say).
    forged = "Incident 42\r\n\nTo approve or refuse, sign in and open:\u2028https://evil.example/"
    approvals.approval_request_create(
        email="ann@example.com",
        application_id=vault.pk,
        policy_name="people",
        approval_groups=ONE_OF_TWO,
        justification=forged,
        requested_duration=timedelta(hours=1),
        login_origin=ORIGIN,
    )
    response_sent()

    body = mailoutbox[0].body
    reason = body.split("Their reason:\n\n", 1)[1].split("\n\nTo approve or refuse", 1)[0]
    assert reason.split("\n") == [
        "    > Incident 42",
        "    >",
        "    > To approve or refuse, sign in and open:",
        "    > https://evil.example/",
    ]
    assert [line for line in body.splitlines() if line.startswith("To approve")] == [
        "To approve or refuse, sign in and open:"
    ]
    assert "\r" not in body
    assert "\u2028" not in body


def test_asking_again_while_waiting_emails_nobody_twice(vault, mailoutbox):
    first = ask(vault, ONE_OF_TWO)
    second = ask(vault, ONE_OF_TWO)
    assert second.pk == first.pk
    assert len(mailoutbox) == 2


def test_one_approval_of_a_group_needing_one_approves(vault, mailoutbox, clock):
    ask(vault, ONE_OF_TWO)
    token = links(mailoutbox)["bob@example.com"]
    mailoutbox.clear()
    decided = approvals.approval_decide(
        token=token, signed_in_as="Bob@example.com", approve=True, duration=timedelta(hours=1)
    )
    assert decided.status == ApprovalRequest.Status.APPROVED
    assert decided.granted_until == clock.now + timedelta(hours=1)
    assert approvals.live_approval(email="ann@example.com", application_id=vault.pk) == decided
    response_sent()
    assert [message.to for message in mailoutbox] == [["ann@example.com"]]
    assert mailoutbox[0].subject == "Your request to enter Vault: approved"
    assert "https://vault.localhost/demo/page" in mailoutbox[0].body


def test_every_group_needs_its_count_and_the_shortest_duration_wins(vault, mailoutbox, clock):
    groups = [
        ApprovalGroup(2, ("bob@example.com", "cy@example.com", "di@example.com")),
        ApprovalGroup(1, ("eve@example.com",)),
    ]
    request = ask(vault, groups)

    def status_after(approver, hours):
        return approve(mailoutbox, hours=hours, approver=approver).status

    assert status_after("bob@example.com", 8) == ApprovalRequest.Status.PENDING
    assert status_after("eve@example.com", 24) == ApprovalRequest.Status.PENDING
    clock.advance(timedelta(minutes=5))
    assert status_after("cy@example.com", 4) == ApprovalRequest.Status.APPROVED
    request.refresh_from_db()
    assert request.granted_until == clock.now + timedelta(hours=4)
    kinds = list(
        AuthEvent.objects.filter(kind=AuthEvent.Kind.APPROVAL_APPROVED)
        .order_by("id")
        .values_list("detail__approver", "detail__status")
    )
    assert kinds == [
        ("bob@example.com", "pending"),
        ("eve@example.com", "pending"),
        ("cy@example.com", "approved"),
    ]


def test_a_refusal_ends_the_request(vault, mailoutbox):
    groups = [ApprovalGroup(2, ("bob@example.com", "cy@example.com"))]
    ask(vault, groups)
    emailed = links(mailoutbox)
    mailoutbox.clear()
    approvals.approval_decide(
        token=emailed["bob@example.com"],
        signed_in_as="bob@example.com",
        approve=True,
        duration=timedelta(hours=1),
    )
    refused = approvals.approval_decide(
        token=emailed["cy@example.com"], signed_in_as="cy@example.com", approve=False
    )
    assert refused.status == ApprovalRequest.Status.REFUSED
    assert approvals.live_approval(email="ann@example.com", application_id=vault.pk) is None
    assert approvals.last_refusal(email="ann@example.com", application_id=vault.pk) == refused
    response_sent()
    assert [message.subject for message in mailoutbox] == ["Your request to enter Vault: refused"]
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.APPROVAL_REFUSED).count() == 1


def test_a_link_decides_only_for_its_own_approver(vault, mailoutbox):
    ask(vault, ONE_OF_TWO)
    token = links(mailoutbox)["bob@example.com"]
    for someone_else in ("cy@example.com", "ann@example.com"):
        with pytest.raises(LinkRefused) as refused:
            approvals.approval_decide(
                token=token, signed_in_as=someone_else, approve=True, duration=timedelta(hours=1)
            )
        assert refused.value.status == 403
        assert refused.value.message == (
            "This link is for bob@example.com. Sign in as bob@example.com to decide, "
            "or ignore this request."
        )
    assert Approver.objects.filter(decided_at__isnull=False).count() == 0


def test_a_link_decides_once(vault, mailoutbox):
    groups = [ApprovalGroup(2, ("bob@example.com", "cy@example.com"))]
    ask(vault, groups)
    token = links(mailoutbox)["bob@example.com"]
    approvals.approval_decide(
        token=token, signed_in_as="bob@example.com", approve=True, duration=timedelta(hours=1)
    )
    with pytest.raises(LinkRefused) as refused:
        approvals.approval_decide(
            token=token, signed_in_as="bob@example.com", approve=True, duration=timedelta(hours=1)
        )
    assert (refused.value.status, refused.value.message) == (410, approvals.LINK_USED)


@pytest.mark.parametrize("token", ["", "x" * 43, "x" * 300, "\udcff"])
def test_an_unknown_link_is_refused(vault, token):
    with pytest.raises(LinkRefused) as refused:
        approvals.approver_for_link(token)
    assert (refused.value.status, refused.value.message) == (404, approvals.LINK_INVALID)


def test_a_request_lapses_with_its_links(vault, mailoutbox, clock):
    ask(vault, ONE_OF_TWO)
    token = links(mailoutbox)["bob@example.com"]
    clock.advance(approvals.REQUEST_LIFETIME)
    with pytest.raises(LinkRefused) as refused:
        approvals.approver_for_link(token)
    assert (refused.value.status, refused.value.message) == (410, approvals.LINK_EXPIRED)
    assert approvals.open_request(email="ann@example.com", application_id=vault.pk) is None


def test_an_approval_ends_when_its_duration_does(vault, mailoutbox, clock):
    ask(vault, ONE_OF_TWO)
    approve(mailoutbox, hours=1)
    clock.advance(timedelta(minutes=59))
    assert approvals.live_approval(email="ann@example.com", application_id=vault.pk) is not None
    clock.advance(timedelta(minutes=1))
    assert approvals.live_approval(email="ann@example.com", application_id=vault.pk) is None


def _claims(*, audiences, issued_at, raw=None):
    return AccessClaims(
        email="ann@example.com",
        subject="s",
        audiences=audiences,
        token_type="app",
        issued_at=issued_at,
        expires_at=issued_at + timedelta(hours=1),
        not_before=issued_at,
        issuer=ORIGIN,
        identity_nonce="n",
        country="",
        common_name="",
        raw=raw or {},
    )


def test_revoking_cuts_off_the_persons_tokens_for_the_application(vault, mailoutbox, clock):
    other = make_application(domain="wiki.localhost/demo", name="Wiki")
    request = ask(vault, ONE_OF_TWO)
    approve(mailoutbox, hours=8)
    response_sent()
    issued = clock.now
    clock.advance(timedelta(minutes=10))
    mailoutbox.clear()
    assert approvals.approval_revoke(approval=request, actor="admin") is True
    assert is_revoked(_claims(audiences=(vault.aud,), issued_at=issued)) is True
    assert is_revoked(_claims(audiences=(other.aud,), issued_at=issued)) is False
    assert approvals.live_approval(email="ann@example.com", application_id=vault.pk) is None
    assert approvals.approval_revoke(approval=request, actor="admin") is False
    response_sent()
    assert [message.subject for message in mailoutbox] == [
        "Your request to enter Vault: access ended"
    ]
    entry = AuditEntry.objects.get(object_type="approval")
    assert entry.object_name == "ann@example.com, Vault"
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.APPROVAL_REVOKED)
    assert event.detail == {"approval": str(request.pk), "actor": "admin"}


def test_a_token_naming_a_revoked_approval_is_refused_whenever_it_was_issued(
    vault, mailoutbox, clock
):
    # A hop that read the approval just before the revocation committed mints a token after
    # the cutoff's moment: the approval's id itself is refused, not only older tokens.
    request = ask(vault, ONE_OF_TWO)
    approve(mailoutbox, hours=8)
    request.refresh_from_db()
    named = {APPROVAL_CLAIM: {vault.aud: {"id": str(request.pk), "until": 1_900_000_000}}}
    assert approvals.approval_revoke(approval=request, actor="admin") is True
    clock.advance(timedelta(seconds=3))

    late = _claims(audiences=(vault.aud,), issued_at=clock.now, raw=named)
    assert is_revoked(late) is True
    assert is_revoked(_claims(audiences=(vault.aud,), issued_at=clock.now)) is False


def test_revoking_moves_the_version_every_process_reads(vault, mailoutbox):
    # Other processes learn of the cutoff only through the revocations' version in the database.
    request = ask(vault, ONE_OF_TWO)
    approve(mailoutbox, hours=8)
    before = versioning.current_version(versioning.REVOCATIONS)

    with committed():
        assert approvals.approval_revoke(approval=request, actor="admin") is True

    assert versioning._read_database_version(versioning.REVOCATIONS) == before + 1


@pytest.mark.usefixtures("on_login_host")
def test_the_admin_lists_and_revokes_approvals(vault, mailoutbox, admin_client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    request = ask(vault, ONE_OF_TWO)
    approve(mailoutbox, hours=8)
    changelist = reverse("admin:identity_approvalrequest_changelist")
    page = admin_client.get(reverse("admin:identity_approvalrequest_change", args=[request.pk]))
    assert page.status_code == 200
    assert b"Incident 42: read the logs" in page.content
    response = admin_client.post(
        changelist,
        {"action": "revoke_approvals", "_selected_action": [request.pk]},
        follow=True,
    )
    assert [str(m) for m in get_messages(response.wsgi_request)] == ["Revoked 1 approval."]
    request.refresh_from_db()
    assert (request.status, request.revoked_by) == (ApprovalRequest.Status.REVOKED, "admin")
    cutoff = RevocationCutoff.objects.get()
    assert (cutoff.email, cutoff.application_id) == ("ann@example.com", vault.pk)


def test_a_lapsed_request_is_marked_so_and_a_new_one_may_be_asked(vault, mailoutbox, clock):
    first = ask(vault, ONE_OF_TWO)
    old_link = links(mailoutbox)["bob@example.com"]
    clock.advance(approvals.REQUEST_LIFETIME)
    mailoutbox.clear()

    second = ask(vault, ONE_OF_TWO)

    assert second.pk != first.pk
    first.refresh_from_db()
    assert first.status == ApprovalRequest.Status.LAPSED
    assert sorted(links(mailoutbox)) == ["bob@example.com", "cy@example.com"]
    with pytest.raises(LinkRefused) as refused:
        approvals.approver_for_link(old_link)
    assert (refused.value.status, refused.value.message) == (410, approvals.LINK_EXPIRED)


def test_two_requests_asked_at_once_make_one(vault, mailoutbox):
    first = ask(vault, ONE_OF_TWO)
    mailoutbox.clear()
    # The second request checked for a waiting one before the first was saved.
    with mock.patch.object(approvals, "open_request", side_effect=[None, first]):
        second = ask(vault, ONE_OF_TWO)

    assert second.pk == first.pk
    assert ApprovalRequest.objects.count() == 1
    assert mailoutbox == []


def test_an_approver_whose_email_fails_gets_a_link_when_the_task_runs_again(vault, mailoutbox):
    sent = []

    def refuse_bobs(message, *args, **kwargs):
        if message.to == ["bob@example.com"]:
            raise OSError("mail server refused")
        sent.append(message.to[0])
        return 1

    with mock.patch("django.core.mail.EmailMessage.send", refuse_bobs, create=False):
        request = ask(vault, ONE_OF_TWO)
    assert sent == ["cy@example.com"]
    hashes = dict(Approver.objects.filter(request=request).values_list("email", "link_hash"))
    assert hashes["bob@example.com"] == ""
    assert len(hashes["cy@example.com"]) == 64

    approvals.email_approvers.call(approval_id=str(request.pk), login_origin=ORIGIN)
    assert list(links(mailoutbox)) == ["bob@example.com"]
