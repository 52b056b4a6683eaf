"""What a revocation writes: the sessions it ends, its audit entry and its event, exactly.

The gate-facing effect (a revoked token refused) is in test_sessions.py and
test_user_revocation.py; these are the records an administrator reads afterwards.
"""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from common.models import AuditEntry
from identity.models import AccessSession, AuthEvent
from identity.sessions import (
    revoke_tokens_issued_before,
    session_create,
    session_revoke,
    sessions_revoke,
    sessions_revoke_for_nonce,
    sessions_revoke_for_user,
)
from tests.gatekit import committed
from tests.identity.signin_support import make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def ann():
    return get_user_model().objects.create_user("ann", "ann@example.com", "pw-pw-pw-pw-pw")


def _session(nonce, *, user=None, application=None, email="ann@example.com", hours=1):
    now = timezone.now()
    return session_create(
        email=email,
        application=application,
        identity_nonce=nonce,
        login_method="Password",
        issued_at=now - timedelta(hours=2),
        expires_at=now + timedelta(hours=hours),
        user=user,
    )


def _revocations():
    return list(
        AuthEvent.objects.filter(kind=AuthEvent.Kind.REVOCATION).values_list(
            "email", "application_id", "detail"
        )
    )


def _audit():
    return list(
        AuditEntry.objects.filter(action="revoke").values_list(
            "object_type", "object_id", "object_name", "before", "after", "detail"
        )
    )


def test_revoking_a_user_ends_every_session_of_their_sign_ins_and_says_so(ann):
    wiki = make_application(domain="wiki.localhost")
    org = _session("sign-in-1", user=ann)
    app = _session("sign-in-1", application=wiki)  # minted from the org session: no user link
    other = _session("sign-in-2", user=ann)
    elsewhere = _session("someone-else", email="bob@example.com")
    with committed():
        count = sessions_revoke_for_user(user=ann, reason="deactivated", actor="admin")

    assert count == 3
    revoked = set(
        AccessSession.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)
    )
    assert revoked == {org.pk, app.pk, other.pk}
    assert elsewhere.pk not in revoked
    assert _audit() == [
        (
            "sessions of a user",
            str(ann.pk),
            "ann",
            None,
            None,
            {"reason": "deactivated", "sessions": 3},
        )
    ]
    assert _revocations() == [
        (
            "ann@example.com",
            None,
            {"scope": "user", "reason": "deactivated", "sessions": 3, "actor": "admin"},
        )
    ]


def test_revoking_a_user_leaves_expired_and_nonce_less_sessions_and_records_nothing_then(ann):
    expired = _session("old-sign-in", user=ann, hours=-1)
    # A row without a nonce (written before nonces, or by hand): it names no sign-in to end,
    # and must not gather every other nonce-less row with it.
    nonce_less = _session("to-blank", user=ann)
    _session("to-blank-too", email="bob@example.com")
    AccessSession.objects.filter(identity_nonce__startswith="to-blank").update(identity_nonce="")

    assert sessions_revoke_for_user(user=ann, reason="deleted") == 0
    assert AccessSession.objects.filter(revoked_at__isnull=False).count() == 0
    assert {expired.pk, nonce_less.pk} <= set(AccessSession.objects.values_list("pk", flat=True))
    assert (_audit(), _revocations()) == ([], [])


def test_revoking_a_user_twice_records_the_second_time_nothing(ann):
    _session("sign-in-1", user=ann)
    assert sessions_revoke_for_user(user=ann, reason="deactivated") == 1

    assert sessions_revoke_for_user(user=ann, reason="deactivated") == 0
    assert (len(_audit()), len(_revocations())) == (1, 1)


def test_a_user_without_an_email_is_named_by_username_in_the_event():
    bob = get_user_model().objects.create_user("bob", "", "pw-pw-pw-pw-pw")
    _session("sign-in-b", user=bob, email="")

    assert sessions_revoke_for_user(user=bob, reason="password changed") == 1
    assert _revocations() == [
        ("bob", None, {"scope": "user", "reason": "password changed", "sessions": 1, "actor": ""})
    ]


def test_revoking_one_session_records_its_name_its_change_and_the_actor():
    wiki = make_application(domain="wiki.localhost", name="Wiki")
    session = _session("sign-in-1", application=wiki)
    with committed():
        assert session_revoke(session=session, actor="admin") is True

    assert session.revoked_at is not None  # the caller's instance says so too
    session.refresh_from_db()
    assert session.revoked_at is not None
    ((object_type, object_id, name, before, after, detail),) = _audit()
    assert (object_type, object_id, name, before, detail) == (
        "session",
        str(session.pk),
        "ann@example.com, Wiki",
        {"revoked_at": None},
        {},
    )
    assert list(after) == ["revoked_at"]
    assert after["revoked_at"]
    assert _revocations() == [
        ("ann@example.com", wiki.pk, {"scope": "session", "session": session.pk, "actor": "admin"})
    ]


def test_an_org_session_without_an_email_is_named_so():
    session = _session("sign-in-1", email="")
    assert session_revoke(session=session) is True
    assert _audit()[0][2] == "(no email), org session"


def test_revoking_a_revoked_session_changes_and_records_nothing():
    session = _session("sign-in-1")
    assert session_revoke(session=session) is True
    first = AccessSession.objects.get(pk=session.pk).revoked_at

    assert session_revoke(session=session) is False
    assert AccessSession.objects.get(pk=session.pk).revoked_at == first
    assert (len(_audit()), len(_revocations())) == (1, 1)


def test_revoking_several_sessions_counts_only_those_it_revoked():
    first, second, third = (_session(f"sign-in-{n}") for n in range(3))
    session_revoke(session=second)

    assert sessions_revoke(sessions=[first, second, third], actor="admin") == 2
    assert AccessSession.objects.filter(revoked_at__isnull=True).count() == 0
    assert sorted(detail["actor"] for _, _, detail in _revocations()) == ["", "admin", "admin"]


def test_revoking_a_sign_in_by_its_nonce_ends_its_sessions_only():
    mine = [_session("sign-in-1"), _session("sign-in-1")]
    theirs = _session("sign-in-2")

    assert sessions_revoke_for_nonce("sign-in-1", actor="logout") == 2
    ((email, _application, detail),) = _revocations()
    assert (email, detail["actor"]) == ("ann@example.com", "logout")
    assert sessions_revoke_for_nonce("sign-in-1") == 0
    assert sessions_revoke_for_nonce("") == 0
    revoked = set(
        AccessSession.objects.filter(revoked_at__isnull=False).values_list("pk", flat=True)
    )
    assert revoked == {session.pk for session in mine}
    assert theirs.pk not in revoked


def _cutoff_audit():
    return list(
        AuditEntry.objects.filter(object_type="revocation").values_list(
            "action", "object_name", "after"
        )
    )


def test_a_cutoff_for_everyone_says_so_in_its_audit_entry_and_event():
    now = timezone.now().replace(microsecond=0)
    with committed():
        cutoff = revoke_tokens_issued_before(now=now, actor="incident")

    assert (cutoff.email, cutoff.application, cutoff.created_by) == ("", None, "incident")
    ((action, name, after),) = _cutoff_audit()
    assert (action, name) == ("create", f"tokens issued before {now:%Y-%m-%d %H:%M:%S} UTC")
    assert (after["email"], after["application"]) == ("(everyone)", "(every one)")
    assert "not_before" in after
    assert _revocations() == [
        (
            "",
            None,
            {"scope": "tokens issued before", "not_before": now.isoformat(), "actor": "incident"},
        )
    ]


def test_a_cutoff_for_one_person_of_one_application_names_both():
    wiki = make_application(domain="wiki.localhost", name="Wiki")
    now = timezone.now().replace(microsecond=0)
    cutoff = revoke_tokens_issued_before(email=" Ann@Example.com ", application=wiki, now=now)

    assert (cutoff.email, cutoff.application_id, cutoff.created_by) == (
        "ann@example.com",
        wiki.pk,
        "",
    )
    ((_action, _name, after),) = _cutoff_audit()
    assert (after["email"], after["application"]) == ("ann@example.com", "Wiki")
    assert _revocations() == [
        (
            "ann@example.com",
            wiki.pk,
            {"scope": "tokens issued before", "not_before": now.isoformat(), "actor": ""},
        )
    ]


def test_a_cutoff_keeps_at_most_150_characters_of_its_actor():
    cutoff = revoke_tokens_issued_before(actor="a" * 151)
    assert cutoff.created_by == "a" * 150
