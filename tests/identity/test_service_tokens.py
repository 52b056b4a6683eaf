"""Service tokens at the gate: authentication from the snapshot, the token they earn, their log."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from common.credentials import hash_secret
from identity import service_tokens
from identity.models import AuthEvent
from identity.service_tokens import (
    authenticate_service_token,
    issue_service_access_token,
    record_service_token_use,
)
from identity.tokens import verify_access_token
from policies.snapshot import CompiledServiceToken, get_snapshot
from tests.factories import ApplicationFactory, ServiceTokenFactory

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
SECRET = "s" * 64
CLIENT_ID = "0" * 32 + ".access"


class FakeSnapshot:
    def __init__(self, *tokens):
        self.service_tokens = {token.client_id: token for token in tokens}


def _compiled(**overrides):
    fields = {
        "id": 1,
        "name": "ci",
        "client_id": CLIENT_ID,
        "secret_hash": hash_secret(SECRET),
        "expires_at": NOW + timedelta(days=365),
    }
    fields.update(overrides)
    return CompiledServiceToken(**fields)


def test_right_credentials_authenticate():
    token = _compiled()

    assert authenticate_service_token(CLIENT_ID, SECRET, FakeSnapshot(token), NOW) is token


def test_wrong_secret_is_refused():
    assert authenticate_service_token(CLIENT_ID, "t" * 64, FakeSnapshot(_compiled()), NOW) is None


def test_unknown_client_id_is_refused():
    snapshot = FakeSnapshot(_compiled())

    assert authenticate_service_token("f" * 32 + ".access", SECRET, snapshot, NOW) is None


def test_expired_token_is_refused():
    token = _compiled(expires_at=NOW)

    assert authenticate_service_token(CLIENT_ID, SECRET, FakeSnapshot(token), NOW) is None


def test_token_that_never_expires_authenticates():
    token = _compiled(expires_at=None)

    assert authenticate_service_token(CLIENT_ID, SECRET, FakeSnapshot(token), NOW) is token


def test_previous_secret_is_accepted_during_its_grace():
    token = _compiled(
        secret_hash=hash_secret("n" * 64),
        previous_secret_hash=hash_secret(SECRET),
        previous_secret_expires_at=NOW + timedelta(hours=1),
    )

    assert authenticate_service_token(CLIENT_ID, SECRET, FakeSnapshot(token), NOW) is token


def test_previous_secret_is_refused_after_its_grace():
    token = _compiled(
        secret_hash=hash_secret("n" * 64),
        previous_secret_hash=hash_secret(SECRET),
        previous_secret_expires_at=NOW,
    )

    assert authenticate_service_token(CLIENT_ID, SECRET, FakeSnapshot(token), NOW) is None


@pytest.mark.parametrize(
    ("client_id", "secret"),
    [
        (None, SECRET),
        (CLIENT_ID, None),
        ("", SECRET),
        (CLIENT_ID, ""),
        (CLIENT_ID, "x" * 10_000),
        ("x" * 10_000, SECRET),
        (CLIENT_ID, "\udc80"),
    ],
)
def test_missing_or_absurd_credentials_are_refused(client_id, secret):
    assert authenticate_service_token(client_id, secret, FakeSnapshot(_compiled()), NOW) is None


def test_surrounding_whitespace_is_ignored():
    token = _compiled()

    assert authenticate_service_token(f" {CLIENT_ID} ", f"{SECRET}\t", FakeSnapshot(token), NOW)


def test_unknown_client_id_costs_a_hash_comparison_too():
    with mock.patch.object(
        service_tokens, "verify_secret", wraps=service_tokens.verify_secret
    ) as verify:
        authenticate_service_token("f" * 32 + ".access", SECRET, FakeSnapshot(_compiled()), NOW)

    assert verify.call_count == 1


def test_secret_is_compared_in_constant_time():
    with mock.patch("common.credentials.hmac.compare_digest", return_value=False) as compare:
        authenticate_service_token(CLIENT_ID, SECRET, FakeSnapshot(_compiled()), NOW)

    assert compare.call_count == 1


@pytest.mark.django_db
def test_tokens_are_read_from_the_real_snapshot():
    ServiceTokenFactory(client_id=CLIENT_ID, secret=SECRET, expires_at=None)

    token = authenticate_service_token(CLIENT_ID, SECRET, get_snapshot(), NOW)

    assert token is not None
    assert token.client_id == CLIENT_ID


@pytest.mark.django_db
def test_issued_token_names_the_service_token(clock):
    application = ApplicationFactory(session_duration="2h")
    ServiceTokenFactory(client_id=CLIENT_ID, secret=SECRET, expires_at=None)
    snapshot = get_snapshot()
    token = snapshot.service_tokens[CLIENT_ID]

    jwt = issue_service_access_token(
        token=token, application=snapshot.by_aud[application.aud], issuer="https://a.example.com"
    )

    claims = verify_access_token(
        jwt, audience=application.aud, token_type="app", issuer="https://a.example.com"
    )
    assert (claims.common_name, claims.subject, claims.email) == (CLIENT_ID, "", "")
    assert claims.expires_at == clock.now + timedelta(hours=2)


@pytest.mark.django_db
def test_issued_token_never_outlives_the_service_token(clock):
    application = ApplicationFactory(session_duration="24h")
    ServiceTokenFactory(
        client_id=CLIENT_ID, secret=SECRET, expires_at=clock.now + timedelta(minutes=10)
    )
    snapshot = get_snapshot()

    jwt = issue_service_access_token(
        token=snapshot.service_tokens[CLIENT_ID],
        application=snapshot.by_aud[application.aud],
        issuer="https://a.example.com",
    )

    claims = verify_access_token(
        jwt, audience=application.aud, token_type="app", issuer="https://a.example.com"
    )
    assert claims.expires_at == clock.now + timedelta(minutes=10)


@pytest.mark.django_db
def test_use_is_recorded_once_a_minute_per_token_and_application():
    application = ApplicationFactory()
    ServiceTokenFactory(name="ci", client_id=CLIENT_ID, secret=SECRET, expires_at=None)
    snapshot = get_snapshot()
    token, compiled_app = snapshot.service_tokens[CLIENT_ID], snapshot.by_aud[application.aud]

    written = [record_service_token_use(token, compiled_app, None) for _ in range(5)]

    assert written == [True, False, False, False, False]
    event = AuthEvent.objects.get()
    assert (event.kind, event.application_id) == (AuthEvent.Kind.SERVICE_TOKEN, application.pk)
    assert event.detail == {"service_token": "ci", "client_id": CLIENT_ID}


@pytest.mark.django_db
def test_use_on_another_application_is_recorded_separately():
    first, second = ApplicationFactory(), ApplicationFactory()
    ServiceTokenFactory(client_id=CLIENT_ID, secret=SECRET, expires_at=None)
    snapshot = get_snapshot()
    token = snapshot.service_tokens[CLIENT_ID]

    record_service_token_use(token, snapshot.by_aud[first.aud], None)
    record_service_token_use(token, snapshot.by_aud[second.aud], None)

    assert AuthEvent.objects.count() == 2


@pytest.mark.django_db
def test_use_is_not_recorded_when_the_cache_fails():
    application = ApplicationFactory()
    ServiceTokenFactory(client_id=CLIENT_ID, secret=SECRET, expires_at=None)
    snapshot = get_snapshot()

    with mock.patch.object(service_tokens.cache, "add", side_effect=ConnectionError):
        written = record_service_token_use(
            snapshot.service_tokens[CLIENT_ID], snapshot.by_aud[application.aud], None
        )

    assert written is False
    assert not AuthEvent.objects.exists()
