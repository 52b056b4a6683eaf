"""`/api/access/logs`: authentication events, newest first, filterable."""

from datetime import timedelta

import pytest
from django.utils import timezone

from identity.events import record_event
from identity.models import AuthEvent
from tests.api.conftest import error_messages
from tests.factories import ApplicationFactory

pytestmark = pytest.mark.django_db

LOGS = "/api/access/logs"


def test_list_newest_first(api):
    first = record_event(AuthEvent.Kind.SIGN_IN, email="ann@example.com", ip="192.0.2.1")
    second = record_event(AuthEvent.Kind.LOGOUT, email="ann@example.com")

    response = api.get(LOGS)

    assert response.status_code == 200
    result = response.json()["result"]
    assert [item["id"] for item in result] == [second.pk, first.pk]
    assert result[1]["kind"] == "sign_in"
    assert result[1]["ip"] == "192.0.2.1"


def test_filter_by_kind_email_and_application(api):
    application = ApplicationFactory()
    wanted = record_event(
        AuthEvent.Kind.SIGN_IN, email="ann@example.com", application=application.pk
    )
    record_event(AuthEvent.Kind.SIGN_IN, email="ann@example.com")
    record_event(AuthEvent.Kind.LOGOUT, email="ann@example.com", application=application.pk)
    record_event(AuthEvent.Kind.SIGN_IN, email="bob@example.com", application=application.pk)

    response = api.get(
        LOGS, {"kind": "sign_in", "email": "ann@example.com", "application": application.pk}
    )

    assert [item["id"] for item in response.json()["result"]] == [wanted.pk]


def test_filter_since(api):
    old = record_event(AuthEvent.Kind.SIGN_IN, email="old@example.com")
    AuthEvent.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=2))
    new = record_event(AuthEvent.Kind.SIGN_IN, email="new@example.com")
    since = (timezone.now() - timedelta(days=1)).isoformat()

    response = api.get(LOGS, {"since": since})

    assert [item["id"] for item in response.json()["result"]] == [new.pk]


def test_unknown_kind_is_a_validation_error(api):
    response = api.get(LOGS, {"kind": "everything"})

    assert response.status_code == 400
    assert error_messages(response) == ['kind: "everything" is not a valid choice.']


def test_needs_the_view_permission(client_with):
    assert client_with().get(LOGS).status_code == 403
    assert client_with("identity.view_authevent").get(LOGS).status_code == 200


def test_application_id_past_64_bits_is_a_validation_error(api):
    response = api.get(LOGS, {"application": 10**30})

    assert response.status_code == 400
    assert error_messages(response)[0].startswith("application: Ensure this value is less than")
