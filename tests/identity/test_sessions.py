"""Sessions and revocation: what is revoked, and that every process sees it within a second."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from identity import sessions
from identity.claims import TokenError
from identity.models import AccessSession, AuthEvent, RevocationCutoff
from identity.tokens import issue_token, verify_access_token
from tests.factories import ApplicationFactory

ROOT = Path(__file__).resolve().parent.parent.parent
ISSUER = "https://access.example.com"
DAY = timedelta(days=1)


def _session(clock, *, nonce="nonce-1", email="ada@example.com", application=None):
    return sessions.session_create(
        email=email,
        application=application,
        identity_nonce=nonce,
        login_method="One-time PIN",
        issued_at=clock.now,
        expires_at=clock.now + DAY,
        ip="203.0.113.9",
        user_agent="pytest",
        country="PT",
    )


def _token(*, aud, nonce="nonce-1", email="ada@example.com"):
    return issue_token(
        token_type="app",
        audiences=[aud],
        email=email,
        subject="user-1",
        identity_nonce=nonce,
        lifetime=DAY,
        issuer=ISSUER,
    )


def _reason(token, aud):
    try:
        verify_access_token(token, audience=aud, token_type="app", issuer=ISSUER)
    except TokenError as error:
        return error.reason
    return "valid"


# --- sessions -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_session_create_stores_the_sign_in(clock):
    session = _session(clock)

    stored = AccessSession.objects.get(pk=session.pk)
    assert (stored.email, stored.identity_nonce, stored.login_method) == (
        "ada@example.com",
        "nonce-1",
        "One-time PIN",
    )
    assert (stored.issued_at, stored.expires_at, stored.revoked_at) == (
        clock.now,
        clock.now + DAY,
        None,
    )
    assert (stored.ip, stored.user_agent, stored.country) == ("203.0.113.9", "pytest", "PT")


@pytest.mark.django_db
def test_session_must_expire_after_it_is_issued(clock):
    with pytest.raises(ValueError, match="expire"):
        sessions.session_create(
            email="ada@example.com",
            application=None,
            identity_nonce="n",
            login_method="Password",
            issued_at=clock.now,
            expires_at=clock.now,
        )


@pytest.mark.django_db
def test_session_create_writes_no_event(clock):
    _session(clock)

    assert not AuthEvent.objects.exists()


def test_identity_nonces_are_unique_and_url_safe():
    first, second = sessions.new_identity_nonce(), sessions.new_identity_nonce()

    assert first != second
    assert len(first) == 32
    assert first.replace("-", "").replace("_", "").isalnum()


# --- revocation ---------------------------------------------------------------------------------


@pytest.mark.django_db
def test_revoked_org_session_revokes_every_token_of_the_sign_in(clock):
    app = ApplicationFactory()
    session = _session(clock)
    token = _token(aud=app.aud)

    sessions.session_revoke(session=session)

    assert _reason(token, app.aud) == "revoked"


@pytest.mark.django_db
def test_session_revoke_records_the_moment_and_an_event(clock):
    session = _session(clock)

    assert sessions.session_revoke(session=session, actor="admin") is True

    session.refresh_from_db()
    assert session.revoked_at == clock.now
    event = AuthEvent.objects.get()
    assert (event.kind, event.email) == (AuthEvent.Kind.REVOCATION, "ada@example.com")
    assert event.detail == {"scope": "session", "session": session.pk, "actor": "admin"}


@pytest.mark.django_db
def test_revoking_a_revoked_session_does_nothing(clock):
    session = _session(clock)
    sessions.session_revoke(session=session)

    assert sessions.session_revoke(session=session) is False
    assert AuthEvent.objects.count() == 1


@pytest.mark.django_db
def test_revoked_application_session_revokes_that_application_only(clock):
    app, other = ApplicationFactory(), ApplicationFactory()
    session = _session(clock, application=app)
    token, other_token = _token(aud=app.aud), _token(aud=other.aud)

    sessions.session_revoke(session=session)

    assert _reason(token, app.aud) == "revoked"
    assert _reason(other_token, other.aud) == "valid"


@pytest.mark.django_db
def test_other_sign_ins_are_untouched(clock):
    app = ApplicationFactory()
    sessions.session_revoke(session=_session(clock, nonce="nonce-1"))

    assert _reason(_token(aud=app.aud, nonce="nonce-2"), app.aud) == "valid"


@pytest.mark.django_db
def test_revoke_for_nonce_revokes_every_session_of_the_sign_in(clock):
    app = ApplicationFactory()
    _session(clock)
    _session(clock, application=app)
    _session(clock, nonce="nonce-2")

    assert sessions.sessions_revoke_for_nonce("nonce-1") == 2

    revoked = set(
        AccessSession.objects.filter(revoked_at__isnull=False).values_list(
            "identity_nonce", flat=True
        )
    )
    assert revoked == {"nonce-1"}
    assert _reason(_token(aud=app.aud), app.aud) == "revoked"


@pytest.mark.django_db
def test_revoke_for_nonce_writes_one_event(clock):
    _session(clock)
    _session(clock, application=ApplicationFactory())

    sessions.sessions_revoke_for_nonce("nonce-1")

    assert AuthEvent.objects.get().detail == {"scope": "sign-in", "sessions": 2, "actor": ""}


@pytest.mark.django_db
def test_revoke_for_an_empty_nonce_revokes_nothing(clock):
    _session(clock)

    assert sessions.sessions_revoke_for_nonce("") == 0
    assert not AccessSession.objects.filter(revoked_at__isnull=False).exists()


@pytest.mark.django_db
def test_cutoff_for_a_person_refuses_their_older_tokens(clock):
    app = ApplicationFactory()
    token = _token(aud=app.aud)
    clock.advance(timedelta(seconds=1))

    sessions.revoke_tokens_issued_before(email="Ada@Example.com")

    assert _reason(token, app.aud) == "revoked"


@pytest.mark.django_db
def test_cutoff_for_a_person_spares_tokens_issued_after(clock):
    app = ApplicationFactory()
    sessions.revoke_tokens_issued_before(email="ada@example.com")
    clock.advance(timedelta(seconds=1))

    assert _reason(_token(aud=app.aud), app.aud) == "valid"


@pytest.mark.django_db
def test_cutoff_for_a_person_spares_other_people(clock):
    app = ApplicationFactory()
    token = _token(aud=app.aud, email="bob@example.com")
    clock.advance(timedelta(seconds=1))

    sessions.revoke_tokens_issued_before(email="ada@example.com")

    assert _reason(token, app.aud) == "valid"


@pytest.mark.django_db
def test_cutoff_for_an_application_refuses_its_older_tokens_only(clock):
    app, other = ApplicationFactory(), ApplicationFactory()
    token, other_token = _token(aud=app.aud), _token(aud=other.aud)
    clock.advance(timedelta(seconds=1))

    sessions.revoke_tokens_issued_before(application=app)

    assert (_reason(token, app.aud), _reason(other_token, other.aud)) == ("revoked", "valid")


@pytest.mark.django_db
def test_cutoff_for_everyone_refuses_every_older_token(clock):
    app = ApplicationFactory()
    token = _token(aud=app.aud, email="zoe@example.net")
    clock.advance(timedelta(seconds=1))

    sessions.revoke_tokens_issued_before()

    assert _reason(token, app.aud) == "revoked"


@pytest.mark.django_db
def test_cutoff_is_stored_with_an_event(clock):
    app = ApplicationFactory()

    cutoff = sessions.revoke_tokens_issued_before(email="ada@example.com", application=app)

    assert RevocationCutoff.objects.get() == cutoff
    assert (cutoff.email, cutoff.application, cutoff.not_before) == (
        "ada@example.com",
        app,
        clock.now,
    )
    event = AuthEvent.objects.get()
    assert (event.kind, event.application) == (AuthEvent.Kind.REVOCATION, app)


@pytest.mark.django_db
def test_expired_revoked_sessions_leave_the_state(clock):
    sessions.session_revoke(session=_session(clock))
    clock.advance(DAY)

    sessions._revocation_state.invalidate()

    assert sessions.revocation_state().revoked_nonces == frozenset()


@pytest.mark.django_db
def test_revocation_check_makes_no_query_in_steady_state(
    clock, settings, django_assert_num_queries
):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    app = ApplicationFactory()
    sessions.revoke_tokens_issued_before(email="bob@example.com")
    token = _token(aud=app.aud)
    _reason(token, app.aud)

    with django_assert_num_queries(0):
        for _ in range(100):
            assert _reason(token, app.aud) == "valid"


# --- across processes ---------------------------------------------------------------------------

_SETUP = """
from datetime import timedelta
from django.utils import timezone
from identity.sessions import session_create
from identity.tokens import issue_token
now = timezone.now()
session_create(email="ada@example.com", application=None, identity_nonce="cross-process",
               login_method="Password", issued_at=now, expires_at=now + timedelta(hours=1))
print(issue_token(token_type="org", audiences=[], email="ada@example.com", subject="1",
                  identity_nonce="cross-process", lifetime=timedelta(hours=1),
                  issuer="https://access.example.com"))
"""

# Answers each line it reads with what its own states say of the token (warm after the first).
_VERIFIER = """
import sys
from identity.tokens import TokenError, verify_access_token
token = sys.stdin.readline().strip()
def check():
    try:
        verify_access_token(token, audience=None, token_type="org",
                            issuer="https://access.example.com")
    except TokenError as error:
        return error.reason
    return "valid"
print("ready", check(), flush=True)
for _ in sys.stdin:
    print(check(), flush=True)
"""

_REVOKER = """
from identity.sessions import sessions_revoke_for_nonce
sessions_revoke_for_nonce("cross-process")
"""


def _next_line(process):
    """The next line the script prints (`manage.py shell` may print a banner first)."""
    for line in process.stdout:
        if line.strip() and "objects imported automatically" not in line:
            return line.strip()
    return ""


@pytest.mark.multiprocess
def test_revocation_is_seen_by_another_process_at_its_next_check(tmp_path):
    """Checking the versions on every call (`ACCESS_VERSION_CHECK_INTERVAL=0`), another
    process's first verification after the revocation committed refuses the token."""
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "CACHE_URL": "locmemcache://",
        "ACCESS_VERSION_CHECK_INTERVAL": "0",
    }

    def manage(*args, **kwargs):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
            **kwargs,
        )

    manage("migrate", "--noinput")
    token = manage("shell", "-c", _SETUP).stdout.strip().splitlines()[-1]
    log = tmp_path / "verifier.log"
    verifier = subprocess.Popen(
        [sys.executable, "manage.py", "shell", "-c", _VERIFIER],
        cwd=ROOT,
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=log.open("w"),
        text=True,
    )

    def check() -> str:
        verifier.stdin.write("check\n")
        verifier.stdin.flush()
        return _next_line(verifier)

    try:
        verifier.stdin.write(token + "\n")
        verifier.stdin.flush()
        assert _next_line(verifier) == "ready valid", log.read_text()
        before = check()
        manage("shell", "-c", _REVOKER)
        after = check()
    finally:
        verifier.kill()
        verifier.wait()
    assert (before, after) == ("valid", "revoked")
