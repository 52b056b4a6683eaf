"""A logout, a revocation or a key rotation rebuilds nothing of the policy snapshot, and a
revocation made by another process is still seen at the first check after the interval.

The states' clock is moved by hand (`common.versioning.clock`); nothing here waits.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from common import versioning
from identity import keys, sessions
from identity.claims import TokenError
from identity.models import AccessSession
from identity.tokens import issue_token, verify_access_token
from policies.services import policy_create
from policies.snapshot import get_snapshot
from tests.factories import ApplicationFactory
from tests.gatekit import ManualClock, bump_version_elsewhere, committed

ISSUER = "https://access.example.com"
INTERVAL = 0.5

pytestmark = pytest.mark.django_db


@pytest.fixture
def monotonic(monkeypatch: pytest.MonkeyPatch, settings) -> ManualClock:
    settings.ACCESS_VERSION_CHECK_INTERVAL = INTERVAL
    fake = ManualClock(5000.0)
    monkeypatch.setattr(versioning, "clock", fake)
    return fake


def _signed_in(application, nonce: str = "nonce-1") -> str:
    now = timezone.now()
    sessions.session_create(
        email="ada@example.com",
        application=application,
        identity_nonce=nonce,
        login_method="Password",
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


def _reason(token: str, aud: str) -> str:
    try:
        verify_access_token(token, audience=aud, token_type="app", issuer=ISSUER)
    except TokenError as error:
        return error.reason
    return "valid"


@pytest.fixture
def application():
    application = ApplicationFactory(domain="app.example.com")
    with committed():
        policy_create(
            application=application,
            name="everyone",
            decision="allow",
            precedence=1,
            include=[{"everyone": {}}],
        )
    return application


def _policy_snapshot_after(monotonic, change) -> tuple[object, object]:
    """The snapshot before `change` and the one served a check interval after it."""
    before = get_snapshot()
    change()
    monotonic.advance(INTERVAL)
    return before, get_snapshot()


def test_a_logout_rebuilds_nothing_of_the_policy_snapshot(
    application, monotonic, django_capture_on_commit_callbacks
):
    token = _signed_in(application)

    def log_out() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            assert sessions.sessions_revoke_for_nonce("nonce-1") == 1

    before, after = _policy_snapshot_after(monotonic, log_out)

    assert after is before
    assert _reason(token, application.aud) != "valid"  # the revocation itself is in force


def test_a_revocation_cutoff_rebuilds_nothing_of_the_policy_snapshot(
    application, monotonic, django_capture_on_commit_callbacks
):
    token = _signed_in(application)

    def revoke() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            sessions.revoke_tokens_issued_before(email="ada@example.com")

    before, after = _policy_snapshot_after(monotonic, revoke)

    assert after is before
    assert _reason(token, application.aud) != "valid"


def test_a_key_rotation_rebuilds_nothing_of_the_policy_snapshot(
    application, monotonic, django_capture_on_commit_callbacks
):
    keys.signing_key()
    old_kid = keys.active_keyset().current_kid

    def rotate() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            keys.rotate_keys()

    before, after = _policy_snapshot_after(monotonic, rotate)

    assert after is before
    assert keys.active_keyset().current_kid != old_kid


def test_a_policy_change_does_rebuild_the_policy_snapshot(
    application, monotonic, django_capture_on_commit_callbacks
):
    def change() -> None:
        with django_capture_on_commit_callbacks(execute=True):
            policy_create(
                application=application,
                name="blocked",
                decision="deny",
                precedence=2,
                include=[{"email": {"email": "eve@example.com"}}],
            )

    before, after = _policy_snapshot_after(monotonic, change)

    assert after is not before
    assert [policy.name for policy in after.applications[application.pk].policies] == [
        "everyone",
        "blocked",
    ]


def test_a_logout_by_another_process_is_seen_at_the_first_check_after_the_interval(
    application, monotonic
):
    token = _signed_in(application)
    assert _reason(token, application.aud) == "valid"

    # Another process signs the person out: it writes the row and moves the revocations'
    # version; it cannot touch this process's memory.
    AccessSession.objects.filter(identity_nonce="nonce-1").update(revoked_at=timezone.now())
    bump_version_elsewhere(versioning.REVOCATIONS)

    monotonic.advance(INTERVAL)
    assert _reason(token, application.aud) != "valid"
