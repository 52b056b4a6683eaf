"""Signing keys: creation, encryption at rest, rotation, the in-memory keyset."""

import re
from datetime import timedelta
from io import StringIO

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import IntegrityError

from common.encryption import decrypt_text
from identity import keys
from identity.claims import TokenError
from identity.models import AuthEvent, SigningKey
from identity.tokens import issue_token, verify_access_token

pytestmark = pytest.mark.django_db

SIX_WEEKS = timedelta(hours=1008)


def test_first_signature_creates_the_first_key(clock):
    key = keys.signing_key()

    row = SigningKey.objects.get()
    assert row.kid == key.kid
    assert row.retired_at is None
    assert row.expires_at is None
    assert row.activated_at == clock.now


def test_kid_is_64_hex_characters(clock):
    assert re.fullmatch(r"[0-9a-f]{64}", keys.signing_key().kid)


def test_signing_again_reuses_the_current_key(clock):
    first = keys.signing_key()
    clock.advance(timedelta(days=3))

    assert keys.signing_key().kid == first.kid
    assert SigningKey.objects.count() == 1


def test_private_key_is_encrypted_at_rest(clock):
    keys.signing_key()

    stored = SigningKey.objects.get().private_key
    assert "PRIVATE KEY" not in stored
    assert stored.startswith("gAAAA")  # a Fernet token


def test_private_key_decrypts_to_the_key_that_signs(clock):
    key = keys.signing_key()

    row = SigningKey.objects.get()
    pem = decrypt_text(row.private_key, purpose=b"accessproject signing-key encryption v1")
    loaded = serialization.load_pem_private_key(pem, password=None)
    assert loaded.private_numbers() == key.private_key.private_numbers()


def test_key_is_rsa_2048(clock):
    assert keys.signing_key().private_key.key_size == 2048


def test_public_jwk_has_the_published_shape(clock):
    key = keys.signing_key()

    jwk = SigningKey.objects.get().public_jwk
    assert set(jwk) == {"kty", "kid", "alg", "use", "n", "e"}
    assert (jwk["kty"], jwk["kid"], jwk["alg"], jwk["use"], jwk["e"]) == (
        "RSA",
        key.kid,
        "RS256",
        "sig",
        "AQAB",
    )


def test_certificate_holds_the_public_key(clock):
    key = keys.signing_key()

    pem = SigningKey.objects.get().certificate_pem.encode()

    certificate = x509.load_pem_x509_certificate(pem)
    expected = key.private_key.public_key().public_numbers()
    assert certificate.public_key().public_numbers() == expected


def test_key_older_than_the_rotation_interval_is_replaced(clock):
    old = keys.signing_key()
    clock.advance(SIX_WEEKS)

    new = keys.signing_key()

    assert new.kid != old.kid
    retired = SigningKey.objects.get(kid=old.kid)
    assert retired.retired_at == clock.now
    assert retired.expires_at == clock.now + timedelta(days=7)


def test_key_younger_than_the_rotation_interval_is_kept(clock):
    old = keys.signing_key()
    clock.advance(SIX_WEEKS - timedelta(seconds=1))

    assert keys.signing_key().kid == old.kid


def test_rotation_interval_comes_from_the_setting(clock, settings):
    settings.ACCESS_KEY_ROTATION = "1h"
    old = keys.signing_key()
    clock.advance(timedelta(hours=1))

    assert keys.signing_key().kid != old.kid


def test_rotate_keys_makes_a_new_current_key(clock):
    old = keys.signing_key()

    new = keys.rotate_keys()

    assert keys.signing_key().kid == new.kid != old.kid
    assert SigningKey.objects.filter(retired_at__isnull=True).get().kid == new.kid


def test_rotation_records_an_event(clock):
    old = keys.signing_key()

    new = keys.rotate_keys()

    event = AuthEvent.objects.filter(kind=AuthEvent.Kind.KEY_ROTATION).latest("id")
    assert event.detail == {"kid": new.kid, "previous_kid": old.kid, "reason": "manual"}


def test_previous_key_stays_in_the_keyset_after_rotation(clock):
    old = keys.signing_key()

    new = keys.rotate_keys()

    keyset = keys.active_keyset()
    assert list(keyset) == [new.kid, old.kid]
    assert keyset.current_kid == new.kid


def test_previous_key_verifies_for_seven_days(clock):
    old = keys.signing_key()
    keys.rotate_keys()
    previous = keys.active_keyset()[old.kid]

    assert previous.verifies_at(clock.now + timedelta(days=7) - timedelta(seconds=1))
    assert not previous.verifies_at(clock.now + timedelta(days=7))


def test_expired_key_leaves_the_keyset_when_it_is_rebuilt(clock):
    old = keys.signing_key()
    keys.rotate_keys()
    clock.advance(timedelta(days=8))

    keys._key_state.invalidate()

    assert old.kid not in keys.active_keyset()


def test_recheck_under_lock_does_not_rotate_a_key_another_process_just_made(clock):
    keys.signing_key()
    clock.advance(SIX_WEEKS)
    keys.rotate_keys()  # "another process" rotated first

    keys._rotate_if_due()

    assert SigningKey.objects.count() == 2


def test_database_refuses_two_current_keys(clock):
    keys.signing_key()
    row = SigningKey.objects.get()

    with pytest.raises(IntegrityError):
        SigningKey.objects.create(
            kid="b" * 64,
            private_key=row.private_key,
            public_jwk=row.public_jwk,
            certificate_pem=row.certificate_pem,
            activated_at=clock.now,
        )


def test_key_unreadable_after_a_secret_key_change_is_replaced(clock, settings):
    old = keys.signing_key()
    settings.SECRET_KEY = "a different secret key for this deployment, long enough"
    keys._key_state.invalidate()

    new = keys.signing_key()

    assert new.kid != old.kid
    assert SigningKey.objects.get(kid=old.kid).retired_at is not None


def test_keyset_is_read_from_memory(clock, settings, django_assert_num_queries):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    keys.signing_key()
    keys.active_keyset()

    with django_assert_num_queries(0):
        for _ in range(100):
            keys.active_keyset()
            keys.signing_key()


def test_rotate_command_prints_the_new_kid(clock):
    out = StringIO()

    call_command("access_rotate_keys", stdout=out)

    current = SigningKey.objects.get(retired_at__isnull=True)
    assert out.getvalue().strip().endswith(current.kid)


def test_rotate_command_can_stop_trusting_previous_keys_at_once(clock):
    first = keys.signing_key().kid
    token = issue_token(
        token_type="app",
        audiences=["a" * 64],
        email="ann@example.com",
        subject="ann",
        identity_nonce="n",
        lifetime=timedelta(hours=1),
        issuer="https://access.example.com",
    )
    out = StringIO()

    call_command("access_rotate_keys", "--retire-previous", stdout=out)

    assert first not in keys.active_keyset()
    assert "Previous keys no longer trusted: 1" in out.getvalue()
    with pytest.raises(TokenError, match="unknown kid"):
        verify_access_token(
            token, audience=None, token_type="app", issuer="https://access.example.com"
        )


@pytest.mark.parametrize("value", ["six weeks", "-1h", "0s"])
def test_invalid_rotation_interval_is_a_configuration_error(clock, settings, value):
    keys.signing_key()
    settings.ACCESS_KEY_ROTATION = value

    with pytest.raises(ImproperlyConfigured, match="ACCESS_KEY_ROTATION"):
        keys.signing_key()
