"""Identity admin: pages load, records stay read-only, and the revoke and rotate actions work."""

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from identity import keys, sessions
from identity.models import AccessSession, AuthEvent, RevocationCutoff, SigningKey
from tests.factories import ApplicationFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_login_host")]


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # `admin_client` creates a superuser with a password; the real hasher costs a second each.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _session(clock, *, email="ada@example.com", application=None, nonce="nonce-1"):
    return sessions.session_create(
        email=email,
        application=application,
        identity_nonce=nonce,
        login_method="Password",
        issued_at=clock.now,
        expires_at=clock.now + timedelta(days=1),
        ip="203.0.113.9",
    )


def _act(admin_client, model, action, objects):
    return admin_client.post(
        reverse(f"admin:identity_{model}_changelist"),
        {"action": action, "_selected_action": [obj.pk for obj in objects]},
        follow=True,
    )


def _messages(response):
    return [str(message) for message in get_messages(response.wsgi_request)]


@pytest.mark.parametrize("model", ["accesssession", "revocationcutoff", "signingkey", "authevent"])
def test_changelists_load(clock, admin_client, model):
    keys.signing_key()
    _session(clock)

    response = admin_client.get(reverse(f"admin:identity_{model}_changelist"))

    assert response.status_code == 200


def test_session_page_loads_read_only(clock, admin_client):
    session = _session(clock)

    response = admin_client.get(reverse("admin:identity_accesssession_change", args=[session.pk]))

    assert response.status_code == 200
    assert b"ada@example.com" in response.content
    assert b'name="email"' not in response.content


def test_sessions_cannot_be_added_by_hand(admin_client):
    assert admin_client.get(reverse("admin:identity_accesssession_add")).status_code == 403


def test_sessions_are_searched_by_email(clock, admin_client):
    _session(clock, email="ada@example.com")
    _session(clock, email="bob@example.com", nonce="nonce-2")

    response = admin_client.get(reverse("admin:identity_accesssession_changelist"), {"q": "bob@"})

    assert [s.email for s in response.context["cl"].result_list] == ["bob@example.com"]


def test_sessions_are_filtered_by_revocation(clock, admin_client):
    revoked = _session(clock, nonce="nonce-1")
    _session(clock, nonce="nonce-2")
    sessions.session_revoke(session=revoked)

    response = admin_client.get(
        reverse("admin:identity_accesssession_changelist"), {"revoked": "yes"}
    )

    assert [s.pk for s in response.context["cl"].result_list] == [revoked.pk]


def test_sessions_are_filtered_by_application(clock, admin_client):
    app = ApplicationFactory()
    mine = _session(clock, application=app)
    _session(clock, nonce="nonce-2")

    response = admin_client.get(
        reverse("admin:identity_accesssession_changelist"), {"application__id__exact": app.pk}
    )

    assert [s.pk for s in response.context["cl"].result_list] == [mine.pk]


def test_revoke_selected_sessions(clock, admin_client):
    first, second = _session(clock, nonce="n1"), _session(clock, nonce="n2")

    response = _act(admin_client, "accesssession", "revoke_sessions", [first, second])

    assert AccessSession.objects.filter(revoked_at__isnull=False).count() == 2
    assert _messages(response) == ["Revoked 2 sessions."]


def test_revoke_tokens_of_the_selected_users(clock, admin_client):
    session = _session(clock, email="Ada@Example.com")

    response = _act(admin_client, "accesssession", "revoke_user_tokens", [session])

    cutoff = RevocationCutoff.objects.get()
    assert (cutoff.email, cutoff.application, cutoff.not_before) == (
        "ada@example.com",
        None,
        clock.now,
    )
    assert cutoff.created_by == "admin"
    assert _messages(response) == ["Tokens issued before now are refused for: ada@example.com."]


def test_revoke_tokens_of_the_selected_applications(clock, admin_client):
    app = ApplicationFactory(name="Wiki")
    session = _session(clock, application=app)

    response = _act(admin_client, "accesssession", "revoke_application_tokens", [session])

    cutoff = RevocationCutoff.objects.get()
    assert (cutoff.email, cutoff.application) == ("", app)
    assert _messages(response) == ["Tokens issued before now are refused for: Wiki."]


def test_revoke_application_tokens_of_org_sessions_warns(clock, admin_client):
    session = _session(clock)

    response = _act(admin_client, "accesssession", "revoke_application_tokens", [session])

    assert not RevocationCutoff.objects.exists()
    assert _messages(response) == [
        "No application to revoke: the selected sessions are org (global) sessions."
    ]


def test_cutoff_added_in_the_admin_goes_through_the_service(clock, admin_client):
    response = admin_client.post(
        reverse("admin:identity_revocationcutoff_add"),
        {"email": "eve@example.com", "application": ""},
    )

    assert response.status_code == 302
    cutoff = RevocationCutoff.objects.get()
    assert (cutoff.email, cutoff.not_before, cutoff.created_by) == (
        "eve@example.com",
        clock.now,
        "admin",
    )
    assert AuthEvent.objects.get().kind == AuthEvent.Kind.REVOCATION


def test_cutoffs_cannot_be_edited(clock, admin_client):
    cutoff = sessions.revoke_tokens_issued_before(email="eve@example.com")

    response = admin_client.post(
        reverse("admin:identity_revocationcutoff_change", args=[cutoff.pk]),
        {"email": "someone@example.com"},
    )

    assert response.status_code == 403


def test_cutoff_can_be_deleted(clock, admin_client):
    cutoff = sessions.revoke_tokens_issued_before(email="eve@example.com")

    response = admin_client.post(
        reverse("admin:identity_revocationcutoff_delete", args=[cutoff.pk]), {"post": "yes"}
    )

    assert response.status_code == 302
    assert not RevocationCutoff.objects.exists()
    assert sessions.revocation_state().cutoffs == {}


def test_signing_key_page_never_shows_the_private_key(clock, admin_client):
    keys.signing_key()
    row = SigningKey.objects.get()

    response = admin_client.get(reverse("admin:identity_signingkey_change", args=[row.pk]))

    assert response.status_code == 200
    assert row.kid.encode() in response.content
    assert row.private_key[:40].encode() not in response.content
    assert b"PRIVATE KEY" not in response.content


def test_signing_keys_list_shows_their_status(clock, admin_client):
    keys.signing_key()
    keys.rotate_keys()

    response = admin_client.get(reverse("admin:identity_signingkey_changelist"))

    assert b"current" in response.content
    assert b"previous (still verifies)" in response.content


def test_rotate_action_makes_a_new_current_key(clock, admin_client):
    keys.signing_key()
    old = SigningKey.objects.get()

    response = _act(admin_client, "signingkey", "rotate", [old])

    current = SigningKey.objects.get(retired_at__isnull=True)
    assert current.kid != old.kid
    assert _messages(response) == [
        f"Signing key {current.kid} is now current; the previous key verifies for 7 more days."
    ]


def test_signing_keys_cannot_be_deleted(clock, admin_client):
    keys.signing_key()
    row = SigningKey.objects.get()

    response = admin_client.get(reverse("admin:identity_signingkey_delete", args=[row.pk]))

    assert response.status_code == 403


def test_events_are_filtered_by_kind(clock, admin_client):
    keys.signing_key()
    sessions.revoke_tokens_issued_before(email="eve@example.com")

    response = admin_client.get(
        reverse("admin:identity_authevent_changelist"), {"kind__exact": "revocation"}
    )

    assert [event.kind for event in response.context["cl"].result_list] == ["revocation"]


def test_event_page_loads_read_only(clock, admin_client):
    sessions.revoke_tokens_issued_before(email="eve@example.com")
    event = AuthEvent.objects.get()

    response = admin_client.get(reverse("admin:identity_authevent_change", args=[event.pk]))

    assert response.status_code == 200
    assert b'name="email"' not in response.content
