"""Sessions and revocation.

Every sign-in is an `AccessSession`. Revoking one (logout, the admin, the API) or creating a
`RevocationCutoff` ("tokens issued before now", per person or per application) bumps the
revocations' version, and every process rebuilds its in-memory `RevocationState` within a
second (and nothing else: the policy snapshot and the signing keys have versions of their own).
`is_revoked(claims)` reads only that state: no SQL query per token.

A token is tied to its sessions by `identity_nonce` (one per sign-in, shared by the org session
and the application tokens minted from it), so logging out revokes them all.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from common.audit import record_change
from common.versioning import REVOCATIONS, VersionedState, bump_version
from identity.events import record_event
from identity.models import AccessSession, ApprovalRequest, AuthEvent, RevocationCutoff

if TYPE_CHECKING:
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import User

    from identity.claims import AccessClaims
    from policies.models import Application


def new_identity_nonce() -> str:
    """A fresh identity nonce for a sign-in (32 url-safe characters, unguessable)."""
    return secrets.token_urlsafe(24)


@dataclass(frozen=True, slots=True)
class RevocationState:
    """What is revoked, compiled from the database.

    `revoked_nonces`: sign-ins revoked everywhere (org session revoked, logout).
    `revoked_nonce_audiences`: (nonce, AUD) pairs of revoked application sessions.
    `cutoffs`: (email or "", AUD or "") -> tokens issued before this moment are refused.
    `revoked_approvals`: ids of temporary approvals revoked before their end: a token naming one
    is refused whenever it was issued (a hop that read the approval just before the revocation
    committed may mint one after the cutoff's moment).
    """

    revoked_nonces: frozenset[str]
    revoked_nonce_audiences: frozenset[tuple[str, str]]
    cutoffs: dict[tuple[str, str], datetime]
    revoked_approvals: frozenset[str] = frozenset()


def _build_revocation_state(version: int) -> RevocationState:
    now = timezone.now()
    nonces: set[str] = set()
    nonce_audiences: set[tuple[str, str]] = set()
    # Only unexpired sessions matter: their tokens cannot outlive them.
    revoked = AccessSession.objects.filter(
        revoked_at__isnull=False, expires_at__gt=now
    ).values_list("identity_nonce", "application__aud")
    for nonce, aud in revoked:
        if not nonce:
            continue
        if aud is None:
            nonces.add(nonce)
        else:
            nonce_audiences.add((nonce, aud))
    # A user deactivated behind the signals' back (`QuerySet.update()`) loses their sign-ins at
    # the latest when this state is next rebuilt; `identity.accounts` revokes them at once.
    if _user_field_exists("is_active"):
        nonces.update(
            AccessSession.objects.filter(user__is_active=False, expires_at__gt=now)
            .exclude(identity_nonce="")
            .values_list("identity_nonce", flat=True)
        )
    cutoffs: dict[tuple[str, str], datetime] = {}
    for email, aud, not_before in RevocationCutoff.objects.values_list(
        "email", "application__aud", "not_before"
    ):
        key = (email.lower(), aud or "")
        if key not in cutoffs or cutoffs[key] < not_before:
            cutoffs[key] = not_before
    # Only approvals that would still be running: a token naming one cannot outlive its end.
    revoked_approvals = frozenset(
        str(approval)
        for approval in ApprovalRequest.objects.filter(
            status=ApprovalRequest.Status.REVOKED, granted_until__gt=now
        ).values_list("id", flat=True)
    )
    return RevocationState(
        frozenset(nonces), frozenset(nonce_audiences), cutoffs, revoked_approvals
    )


def _user_field_exists(name: str) -> bool:
    # A custom user model may have no such column (AbstractBaseUser's is_active is a constant).
    fields = get_user_model()._meta.concrete_fields
    return any(field.name == name for field in fields)


_revocation_state: VersionedState[RevocationState] = VersionedState(
    _build_revocation_state, name="revocations", watches=REVOCATIONS
)


def revocation_state() -> RevocationState:
    """The revocation state in force, from memory."""
    return _revocation_state.get()


def is_revoked(claims: AccessClaims) -> bool:
    """Whether a verified token has been revoked (its sign-in, or a cutoff covering it)."""
    state = _revocation_state.get()
    nonce = claims.identity_nonce
    if nonce and nonce in state.revoked_nonces:
        return True
    # A token carrying several audiences is refused as a whole when any of them is revoked.
    if nonce and state.revoked_nonce_audiences:
        for aud in claims.audiences:
            if (nonce, aud) in state.revoked_nonce_audiences:
                return True
    if state.revoked_approvals and not state.revoked_approvals.isdisjoint(claims.approval_ids):
        return True
    if not state.cutoffs:
        return False
    email = claims.email.lower()
    for aud in ("", *claims.audiences):
        for who in ("", email) if email else ("",):
            cutoff = state.cutoffs.get((who, aud))
            if cutoff is not None and claims.issued_at < cutoff:
                return True
    return False


def session_create(
    *,
    email: str,
    application: Application | None,
    identity_nonce: str,
    login_method: str,
    issued_at: datetime,
    expires_at: datetime,
    user: User | None = None,
    common_name: str = "",
    ip: IPv4Address | IPv6Address | str | None = None,
    user_agent: str = "",
    country: str = "",
) -> AccessSession:
    """Record a sign-in (`application=None` for the org session).

    A new session changes nothing the gate decides, so it neither bumps the configuration
    version nor writes an event: the sign-in flow records the `sign_in` event itself.
    """
    if expires_at <= issued_at:
        raise ValueError("a session must expire after it is issued")
    session = AccessSession(
        user=user,
        email=email,
        application=application,
        identity_nonce=identity_nonce,
        login_method=login_method,
        common_name=common_name,
        issued_at=issued_at,
        expires_at=expires_at,
        ip=str(ip) if ip is not None else None,
        user_agent=user_agent[:1000],
        country=country[:2],
    )
    session.full_clean()
    session.save()
    return session


def session_revoke(*, session: AccessSession, actor: str = "") -> bool:
    """Revoke one session; returns False when it was already revoked."""
    now = timezone.now()
    with transaction.atomic():
        updated = AccessSession.objects.filter(pk=session.pk, revoked_at__isnull=True).update(
            revoked_at=now
        )
        if not updated:
            return False
        session.revoked_at = now
        record_change(
            "revoke",
            session,
            before={"revoked_at": None},
            after={"revoked_at": now},
            object_type="session",
            object_name=_session_name(session),
        )
        record_event(
            AuthEvent.Kind.REVOCATION,
            email=session.email,
            application=session.application_id,
            detail={"scope": "session", "session": session.pk, "actor": actor},
        )
        revocations_changed()
    return True


def sessions_revoke(*, sessions: Iterable[AccessSession], actor: str = "") -> int:
    """Revoke several sessions at once (the admin action); returns how many were revoked."""
    count = 0
    with transaction.atomic():
        for session in sessions:
            count += session_revoke(session=session, actor=actor)
    return count


def sessions_revoke_for_nonce(identity_nonce: str, *, actor: str = "") -> int:
    """Revoke every session of one sign-in, across all applications (logout)."""
    if not identity_nonce:
        return 0
    now = timezone.now()
    with transaction.atomic():
        sessions = list(
            AccessSession.objects.filter(identity_nonce=identity_nonce, revoked_at__isnull=True)
        )
        if not sessions:
            return 0
        AccessSession.objects.filter(pk__in=[session.pk for session in sessions]).update(
            revoked_at=now
        )
        record_event(
            AuthEvent.Kind.REVOCATION,
            email=sessions[0].email,
            detail={"scope": "sign-in", "sessions": len(sessions), "actor": actor},
        )
        revocations_changed()
    return len(sessions)


def sessions_revoke_for_user(*, user: AbstractBaseUser, reason: str, actor: str = "") -> int:
    """Revoke every sign-in of a Django user (deactivated, deleted, password changed).

    Each unexpired session linked to the user names a sign-in; every session of those sign-ins
    (the org session and the application sessions minted from it) is revoked, as a logout would.
    Returns how many sessions were revoked.
    """
    now = timezone.now()
    with transaction.atomic():
        nonces = set(
            AccessSession.objects.filter(user_id=user.pk, expires_at__gt=now)
            .exclude(identity_nonce="")
            .values_list("identity_nonce", flat=True)
        )
        if not nonces:
            return 0
        count = AccessSession.objects.filter(
            identity_nonce__in=nonces, revoked_at__isnull=True
        ).update(revoked_at=now)
        if not count:
            return 0
        record_change(
            "revoke",
            user,
            object_type="sessions of a user",
            object_name=str(user.get_username()),
            detail={"reason": reason, "sessions": count},
        )
        record_event(
            AuthEvent.Kind.REVOCATION,
            email=str(getattr(user, user.get_email_field_name(), "") or user.get_username()),
            detail={"scope": "user", "reason": reason, "sessions": count, "actor": actor},
        )
        revocations_changed()
    return count


def sign_in_is_live(
    session: AccessSession | None, *, needs_user: bool, now: datetime | None = None
) -> bool:
    """Whether a sign-in may still open applications (SSO, the authorized hop).

    Read from the database, not from the in-memory revocation state a second behind: the session
    exists and is neither revoked nor expired, and when it is a Django user's (or `needs_user`:
    a password sign-in, whose user may since have been deleted) that user exists and is active.
    """
    if session is None or session.revoked_at is not None:
        return False
    if session.expires_at <= (now or timezone.now()):
        return False
    if session.user_id is None:
        return not needs_user
    user = session.user
    return user is not None and bool(getattr(user, "is_active", True))


def revoke_tokens_issued_before(
    *,
    email: str | None = None,
    application: Application | None = None,
    now: datetime | None = None,
    actor: str = "",
) -> RevocationCutoff:
    """Refuse every token issued before `now` for one person, one application, or everyone."""
    cutoff = RevocationCutoff(
        email=(email or "").strip().lower(),
        application=application,
        not_before=now or timezone.now(),
        created_by=actor[:150],
    )
    with transaction.atomic():
        cutoff.full_clean()
        cutoff.save()
        record_change(
            "create",
            cutoff,
            after={
                "email": cutoff.email or "(everyone)",
                "application": application.name if application is not None else "(every one)",
                "not_before": cutoff.not_before,
            },
            object_type="revocation",
            object_name=f"tokens issued before {cutoff.not_before:%Y-%m-%d %H:%M:%S} UTC",
        )
        record_event(
            AuthEvent.Kind.REVOCATION,
            email=cutoff.email,
            application=application.pk if application is not None else None,
            detail={
                "scope": "tokens issued before",
                "not_before": cutoff.not_before.isoformat(),
                "actor": actor,
            },
        )
        revocations_changed()
    return cutoff


def _session_name(session: AccessSession) -> str:
    application = session.application.name if session.application else "org session"
    return f"{session.email or '(no email)'}, {application}"


def revocations_changed() -> None:
    """Tell every process that sessions or cutoffs changed, so `is_revoked` rereads them."""
    # Other processes see the new version within a second of the commit; this process forgets
    # its state at once (a rebuild on this connection already reads the uncommitted rows). Only
    # the revocations' version moves: the policy snapshot and the keys are not rebuilt.
    bump_version(REVOCATIONS)
    _revocation_state.invalidate()
