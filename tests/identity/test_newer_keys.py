"""A token signed with a key another process rotated a moment ago: this process looks for the
newer key instead of refusing it, and its logout revokes the session that token carries.

The keys' clock is moved by hand (`common.versioning.clock`); nothing here waits.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from common import versioning
from identity import keys, sessions
from identity.claims import TokenError
from identity.cookies import CF_AUTHORIZATION
from identity.models import AccessSession, AuthEvent, SigningKey
from identity.tokens import issue_token, verify_access_token
from tests.factories import ApplicationFactory
from tests.gatekit import ManualClock, bump_version_elsewhere
from tests.identity.signin_support import NAVIGATION, Browser

LOGIN_HOST = "access.localhost"
ISSUER = "https://access.localhost"
INTERVAL = 0.5

pytestmark = pytest.mark.django_db


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch, settings) -> ManualClock:
    settings.ACCESS_VERSION_CHECK_INTERVAL = INTERVAL
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST
    fake = ManualClock(9000.0)
    monkeypatch.setattr(versioning, "clock", fake)
    monkeypatch.setattr(keys, "_looked_again_at", None)
    return fake


def rotate_elsewhere(monkeypatch: pytest.MonkeyPatch) -> SigningKey:
    """Another process rotates the keys and signs with the new one from now on. It writes the
    rows and moves the keys' version; it cannot touch this process's memory."""
    known = keys.active_keyset()
    now = timezone.now()
    with transaction.atomic():
        SigningKey.objects.filter(retired_at__isnull=True).update(
            retired_at=now, expires_at=now + timedelta(days=7)
        )
        new = keys._new_signing_key(now)
    bump_version_elsewhere(versioning.SIGNING_KEYS)
    assert keys.active_keyset() is known  # still this process's keyset: within the interval
    assert new.kid not in known
    signer = keys.PrivateSigningKey(
        kid=new.kid,
        private_key=keys._decrypt_private_key(new.private_key, keys.settings.SECRET_KEY),
        activated_at=now,
    )
    monkeypatch.setattr(keys, "signing_key", lambda: signer)
    return new


@pytest.fixture
def known_key(monotonic) -> None:
    """This process has signed and knows the keys as they were."""
    keys.signing_key()


def _signed_in(nonce: str = "nonce-1") -> str:
    application = ApplicationFactory(domain="wiki.localhost")
    now = timezone.now()
    sessions.session_create(
        email="ada@example.com",
        application=application,
        identity_nonce=nonce,
        login_method="PIN",
        issued_at=now,
        expires_at=now + timedelta(hours=1),
    )
    return issue_token(
        token_type="app",
        audiences=[application.aud],
        email="ada@example.com",
        subject="ada",
        identity_nonce=nonce,
        lifetime=timedelta(hours=1),
        issuer=ISSUER,
    )


def _reason(token: str) -> str:
    try:
        verify_access_token(token, audience=None, token_type="app", issuer=ISSUER)
    except TokenError as error:
        return error.reason
    return "valid"


def test_a_token_signed_with_a_key_rotated_elsewhere_verifies_at_once(known_key, monkeypatch):
    new = rotate_elsewhere(monkeypatch)
    token = _signed_in()

    assert _reason(token) == "valid"
    assert new.kid in keys.active_keyset()


def test_a_made_up_kid_reads_the_keys_version_at_most_once_per_interval(
    known_key, monotonic, monkeypatch
):
    looks: list[None] = []
    check = keys._key_state.check_at_next_get

    def counted_check() -> None:
        looks.append(None)
        check()

    monkeypatch.setattr(keys._key_state, "check_at_next_get", counted_check)

    assert keys.newer_key("0" * 64) is None
    assert keys.newer_key("1" * 64) is None
    assert len(looks) == 1
    monotonic.advance(INTERVAL)
    assert keys.newer_key("2" * 64) is None
    assert len(looks) == 2


def test_a_key_rotated_elsewhere_waits_for_the_next_look_unless_asked_now(
    known_key, monotonic, monkeypatch
):
    assert keys.newer_key("0" * 64) is None  # this interval's look, spent on a made-up kid
    new = rotate_elsewhere(monkeypatch)

    assert keys.newer_key(new.kid) is None
    assert keys.newer_key(new.kid, now=True) is not None


def test_the_gate_finds_a_key_rotated_elsewhere_at_the_next_interval(
    known_key, monotonic, monkeypatch
):
    assert keys.newer_key("0" * 64) is None
    rotate_elsewhere(monkeypatch)
    token = _signed_in()

    assert _reason(token) == "unknown kid"
    monotonic.advance(INTERVAL)
    assert _reason(token) == "valid"


def test_logout_revokes_a_session_signed_with_a_key_rotated_elsewhere(known_key, monkeypatch):
    assert keys.newer_key("0" * 64) is None  # this interval's look is spent: logout looks anyway
    rotate_elsewhere(monkeypatch)
    token = _signed_in()
    browser = Browser()
    browser.cookies("wiki.localhost")[CF_AUTHORIZATION] = token

    response = browser.get("https://wiki.localhost/cdn-cgi/access/logout", **NAVIGATION)

    assert response.status_code == 200
    assert AccessSession.objects.get(identity_nonce="nonce-1").revoked_at is not None
    assert AuthEvent.objects.get(kind=AuthEvent.Kind.LOGOUT).email == "ada@example.com"
    assert _reason(token) == "revoked"


def test_logout_logs_why_a_cookie_revokes_nothing(db, settings, caplog):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST
    browser = Browser()
    browser.cookies("wiki.localhost")[CF_AUTHORIZATION] = "eyJhbGciOiJub25lIn0.e30."

    with caplog.at_level(logging.INFO, logger="accessproject.access"):
        browser.get("https://wiki.localhost/cdn-cgi/access/logout", **NAVIGATION)

    assert "logout: a cookie revokes nothing: malformed / malformed" in caplog.messages
    assert not any("eyJhbGciOiJub25lIn0" in message for message in caplog.messages)
    assert not AuthEvent.objects.filter(kind=AuthEvent.Kind.LOGOUT).exists()
