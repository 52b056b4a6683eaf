"""`/api/access/sessions`: listing sessions and revoking them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from identity.models import AccessSession, AuthEvent, RevocationCutoff
from identity.sessions import session_create
from tests.api.conftest import error_messages
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

SESSIONS = "/api/access/sessions"


def make_session(*, email="ann@example.com", application=None, issued_ago=timedelta(minutes=5)):
    issued_at = timezone.now() - issued_ago
    return session_create(
        email=email,
        application=application,
        identity_nonce=f"nonce-{email}-{issued_ago}",
        login_method="One-time PIN",
        issued_at=issued_at,
        expires_at=issued_at + timedelta(hours=24),
        ip="192.0.2.10",
    )


def test_list_shows_sessions_newest_first(api):
    old = make_session(email="old@example.com", issued_ago=timedelta(hours=2))
    new = make_session(email="new@example.com")

    response = api.get(SESSIONS)

    assert response.status_code == 200
    assert [item["id"] for item in response.json()["result"]] == [new.pk, old.pk]
    assert response.json()["result"][0]["ip"] == "192.0.2.10"
    assert "identity_nonce" not in response.json()["result"][0]


def test_list_filters_by_email_and_application(api):
    application = ApplicationFactory()
    wanted = make_session(email="ann@example.com", application=application)
    make_session(email="ann@example.com")
    make_session(email="bob@example.com", application=application)

    response = api.get(SESSIONS, {"email": "ANN@example.com", "application": application.pk})

    assert [item["id"] for item in response.json()["result"]] == [wanted.pk]


def test_list_filters_active(api):
    live = make_session(email="live@example.com")
    expired = make_session(email="expired@example.com", issued_ago=timedelta(hours=25))

    active = api.get(SESSIONS, {"active": "true"}).json()["result"]
    inactive = api.get(SESSIONS, {"active": "false"}).json()["result"]

    assert [item["id"] for item in active] == [live.pk]
    assert [item["id"] for item in inactive] == [expired.pk]


def test_revoke_one_session(api):
    session = make_session()

    response = api.post(f"{SESSIONS}/{session.pk}/revoke")

    assert response.status_code == 200
    assert response.json()["result"]["revoked_at"] is not None
    assert AccessSession.objects.get(pk=session.pk).revoked_at is not None
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.REVOCATION)
    assert event.detail["actor"] == "api:root"


def test_revoke_unknown_session_is_404(api):
    assert api.post(f"{SESSIONS}/999999/revoke").status_code == 404


def test_revoke_a_person(api):
    before = timezone.now()

    response = api.post(f"{SESSIONS}/revoke", {"email": "Ann@Example.com"}, format="json")

    assert response.status_code == 201
    cutoff = RevocationCutoff.objects.get()
    assert (cutoff.email, cutoff.application_id) == ("ann@example.com", None)
    assert cutoff.not_before >= before
    assert response.json()["result"]["id"] == cutoff.pk


def test_revoke_an_application(api):
    application = ApplicationFactory()

    response = api.post(f"{SESSIONS}/revoke", {"application": application.pk}, format="json")

    assert response.status_code == 201
    cutoff = RevocationCutoff.objects.get()
    assert (cutoff.email, cutoff.application_id) == ("", application.pk)


def test_revoke_needs_a_target(api):
    response = api.post(f"{SESSIONS}/revoke", {}, format="json")

    assert response.status_code == 400
    assert error_messages(response) == ["give email, application, or both"]
    assert not RevocationCutoff.objects.exists()


def test_revoke_unknown_application_is_refused(api):
    response = api.post(f"{SESSIONS}/revoke", {"application": 999999}, format="json")

    assert response.status_code == 400
    assert error_messages(response) == ["application: no application has this id"]


def test_revoke_bad_email_is_refused(api):
    response = api.post(f"{SESSIONS}/revoke", {"email": 42}, format="json")

    assert response.status_code == 400
    assert error_messages(response) == ["email: Enter a valid email address."]


def test_revoking_needs_permissions(client_with):
    session = make_session()

    assert client_with("identity.view_accesssession").get(SESSIONS).status_code == 200
    assert client_with().get(SESSIONS).status_code == 403
    url = f"{SESSIONS}/{session.pk}/revoke"
    assert client_with("identity.view_accesssession").post(url).status_code == 403
    assert client_with("identity.change_accesssession").post(url).status_code == 200
    revoke = f"{SESSIONS}/revoke"
    body = {"email": "ann@example.com"}
    assert (
        client_with("identity.change_accesssession").post(revoke, body, format="json").status_code
        == 403
    )
    assert (
        client_with("identity.add_revocationcutoff").post(revoke, body, format="json").status_code
        == 201
    )


def test_application_filter_past_64_bits_is_a_validation_error(api):
    response = api.get(SESSIONS, {"application": 10**30})

    assert response.status_code == 400
