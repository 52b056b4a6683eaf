"""Second factors at rest: enrol, confirm, use, remove and reset them; every write is here.

Every function takes the person's address as the verified session proved it and touches that
person's rows only, so one person's factor can never be used for (or removed by) another.
Code checks (authenticator apps, recovery codes) spend the second-factor budgets before they
compare (`identity.throttles.second_factor_budgets`), as PIN checks do. A person's factors
reset by an administrator end every sign-in of theirs, through the revocation machinery that
every process reads within a second.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from common.audit import record_change
from common.encryption import Undecryptable, decrypt_text, encrypt_text
from identity.events import record_event
from identity.factors import passkeys, recovery, totp
from identity.models import AccessSession, AuthEvent, FactorChallenge, RecoveryCode, SecondFactor
from identity.sessions import revocations_changed, revoke_tokens_issued_before
from identity.throttles import (
    FailureBudget,
    refund_budgets,
    second_factor_budgets,
    spend_budgets,
    throttle_key_for_ip,
)

TOTP_PURPOSE = b"accessproject.identity.totp-secret"
CHALLENGE_LIFETIME = timedelta(minutes=5)
MAX_NAME = 64
Address = IPv4Address | IPv6Address | None


class CodeOutcome(StrEnum):
    VALID = "valid"
    INVALID = "invalid"  # wrong, malformed, already used: one answer for them all
    THROTTLED = "throttled"  # a budget is spent: nothing is compared for a while


@dataclass(frozen=True)
class CodeCheck:
    outcome: CodeOutcome
    method: str = ""  # the FACTOR_METHODS key the code proved (otp, recovery)


def owner(email: str) -> str:
    """The key a person's factors are kept under: their address, lower case."""
    return email.strip().lower()


def confirmed_factors(email: str) -> list[SecondFactor]:
    """The person's factors in use (an authenticator app being set up is not yet one)."""
    return list(SecondFactor.objects.filter(email=owner(email), confirmed_at__isnull=False))


def enrolled_methods(email: str) -> frozenset[str]:
    """The methods the person's factors prove, and `recovery` while they hold unused codes."""
    methods = {factor.method for factor in confirmed_factors(email)}
    if RecoveryCode.objects.filter(email=owner(email), used_at__isnull=True).exists():
        methods.add("recovery")
    return frozenset(methods)


def recovery_codes_left(email: str) -> int:
    return RecoveryCode.objects.filter(email=owner(email), used_at__isnull=True).count()


# --- authenticator apps ------------------------------------------------------------------------


def totp_begin(*, email: str, now: datetime | None = None) -> str:
    """Start setting up an authenticator app: a new secret, stored encrypted, unconfirmed.

    Returns the secret, to show once (QR code and text). An earlier unconfirmed one is replaced.
    """
    now = now or timezone.now()
    secret = totp.new_secret()
    with transaction.atomic():
        SecondFactor.objects.filter(
            email=owner(email), kind=SecondFactor.Kind.TOTP, confirmed_at__isnull=True
        ).delete()
        SecondFactor.objects.create(
            email=owner(email),
            kind=SecondFactor.Kind.TOTP,
            name="Authenticator app",
            secret=encrypt_text(secret.encode(), purpose=TOTP_PURPOSE),
            method="otp",
            created_at=now,
        )
    return secret


def totp_pending_secret(email: str) -> str | None:
    """The secret of the authenticator app being set up, or None."""
    pending = SecondFactor.objects.filter(
        email=owner(email), kind=SecondFactor.Kind.TOTP, confirmed_at__isnull=True
    ).first()
    return _secret(pending) if pending is not None else None


def _secret(factor: SecondFactor) -> str | None:
    try:
        return decrypt_text(factor.secret, purpose=TOTP_PURPOSE).decode()
    except Undecryptable:
        return None  # SECRET_KEY changed: this app must be set up again


def _spend(email: str, ip: Address, now: datetime) -> tuple[bool, list[tuple[FailureBudget, str]]]:
    """Spend one attempt from the person's second-factor budgets, before a code is compared."""
    ip_key = throttle_key_for_ip(ip) if ip is not None else ""
    budgets = second_factor_budgets(ip_key=ip_key, email=owner(email))
    allowed, paused = spend_budgets(budgets, now=now)
    for budget in paused:
        record_event(
            AuthEvent.Kind.LOCKOUT,
            email=owner(email),
            ip=ip,
            detail={"scope": [budget.name], "step": "second factor"},
        )
    return allowed, budgets


def _take_step(factor: SecondFactor, code: str, now: datetime) -> bool:
    """Accept `code` for `factor` once: the step moves forward in one UPDATE, so two
    concurrent requests with one code cannot both pass."""
    secret = _secret(factor)
    if secret is None:
        return False
    step = totp.accepted_step(secret, code, now=now, last_step=factor.last_step)
    if step is None:
        return False
    return bool(
        SecondFactor.objects.filter(pk=factor.pk, last_step__lt=step).update(
            last_step=step, last_used_at=now
        )
    )


def totp_confirm(
    *, email: str, code: str, ip: Address = None, now: datetime | None = None
) -> CodeOutcome:
    """Confirm the authenticator app being set up with a first code; it then replaces any
    earlier app of the person. The code is used up: it cannot also serve as a second factor."""
    now = now or timezone.now()
    pending = SecondFactor.objects.filter(
        email=owner(email), kind=SecondFactor.Kind.TOTP, confirmed_at__isnull=True
    ).first()
    if pending is None:
        return CodeOutcome.INVALID
    allowed, budgets = _spend(email, ip, now)
    if not allowed:
        return CodeOutcome.THROTTLED
    if not _take_step(pending, code, now):
        return CodeOutcome.INVALID
    refund_budgets(budgets, now=now)
    with transaction.atomic():
        SecondFactor.objects.filter(
            email=owner(email), kind=SecondFactor.Kind.TOTP, confirmed_at__isnull=False
        ).delete()
        SecondFactor.objects.filter(pk=pending.pk).update(confirmed_at=now)
        record_event(
            AuthEvent.Kind.FACTOR_ADDED,
            email=owner(email),
            ip=ip,
            detail={"kind": "totp", "name": pending.name},
        )
    return CodeOutcome.VALID


CODE_METHODS = frozenset({"otp", "recovery"})


def check_code(
    *,
    email: str,
    code: str,
    ip: Address = None,
    now: datetime | None = None,
    accept: frozenset[str] = CODE_METHODS,
) -> CodeCheck:
    """Check a second-factor code: the person's authenticator app, else one of their unused
    recovery codes (which it then uses up); only the kinds in `accept` (a page that would not
    let a recovery code in does not spend one)."""
    now = now or timezone.now()
    apps = [
        f for f in confirmed_factors(email) if f.kind == SecondFactor.Kind.TOTP and "otp" in accept
    ]
    recovery_code = recovery.normalized(code) if "recovery" in accept else None
    allowed, budgets = _spend(email, ip, now)
    if not allowed:
        return CodeCheck(CodeOutcome.THROTTLED)
    if recovery_code is None:
        if any(_take_step(app, code, now) for app in apps):
            refund_budgets(budgets, now=now)
            return CodeCheck(CodeOutcome.VALID, "otp")
        return CodeCheck(CodeOutcome.INVALID)
    digest = recovery.code_hash(recovery_code, email=owner(email))
    for stored in RecoveryCode.objects.filter(email=owner(email), used_at__isnull=True):
        if constant_time_compare(stored.code_hash, digest) and RecoveryCode.objects.filter(
            pk=stored.pk, used_at__isnull=True
        ).update(used_at=now):
            refund_budgets(budgets, now=now)
            return CodeCheck(CodeOutcome.VALID, "recovery")
    return CodeCheck(CodeOutcome.INVALID)


# --- recovery codes ----------------------------------------------------------------------------


def recovery_codes_issue(*, email: str, now: datetime | None = None) -> list[str]:
    """Ten new recovery codes, replacing any earlier ones; returned once, stored hashed."""
    now = now or timezone.now()
    codes = recovery.new_codes()
    with transaction.atomic():
        RecoveryCode.objects.filter(email=owner(email)).delete()
        RecoveryCode.objects.bulk_create(
            RecoveryCode(
                email=owner(email),
                code_hash=recovery.code_hash(code, email=owner(email)),
                created_at=now,
            )
            for code in codes
        )
    return codes


# --- passkeys and security keys ----------------------------------------------------------------


def _challenge_digest(challenge: bytes) -> str:
    return hashlib.sha256(challenge).hexdigest()


def _new_challenge(email: str, purpose: str, now: datetime) -> bytes:
    challenge = secrets.token_bytes(32)
    FactorChallenge.objects.filter(expires_at__lt=now).delete()
    FactorChallenge.objects.create(
        challenge_hash=_challenge_digest(challenge),
        email=owner(email),
        purpose=purpose,
        created_at=now,
        expires_at=now + CHALLENGE_LIFETIME,
    )
    return challenge


def _take_challenge(email: str, purpose: str, credential_json: str, now: datetime) -> bytes:
    """Spend the challenge a browser's answer signed: issued to this person, for this purpose,
    unexpired and unused; else `CeremonyFailed`."""
    challenge = passkeys.client_challenge(credential_json)
    if challenge is None:
        raise passkeys.CeremonyFailed("not a credential")
    spent = FactorChallenge.objects.filter(
        challenge_hash=_challenge_digest(challenge),
        email=owner(email),
        purpose=purpose,
        used_at__isnull=True,
        expires_at__gt=now,
    ).update(used_at=now)
    if not spent:
        raise passkeys.CeremonyFailed("unknown, used or expired challenge")
    return challenge


def passkey_user_id(email: str) -> bytes:
    """The WebAuthn user handle: stable per address, revealing nothing of it."""
    return salted_hmac(
        "accessproject.identity.webauthn-user", owner(email), algorithm="sha256"
    ).digest()[:32]


def passkey_registration_options(*, email: str, rp_id: str, now: datetime | None = None) -> str:
    now = now or timezone.now()
    existing = [f.credential_id for f in confirmed_factors(email) if f.credential_id]
    return passkeys.registration_options(
        rp_id=rp_id,
        user_id=passkey_user_id(email),
        email=owner(email),
        challenge=_new_challenge(email, "register", now),
        existing=existing,
    )


def passkey_register(
    *,
    email: str,
    name: str,
    credential_json: str,
    rp_id: str,
    origin: str,
    ip: Address = None,
    now: datetime | None = None,
) -> SecondFactor:
    """Verify and keep a new key; `CeremonyFailed` when it does not verify."""
    now = now or timezone.now()
    challenge = _take_challenge(email, "register", credential_json, now)
    new = passkeys.verify_new_credential(
        credential_json=credential_json, challenge=challenge, rp_id=rp_id, origin=origin
    )
    label = " ".join(name.split())[:MAX_NAME] or "Passkey"
    with transaction.atomic():
        if SecondFactor.objects.filter(credential_id=new.credential_id).exists():
            raise passkeys.CeremonyFailed("credential already registered")
        factor = SecondFactor.objects.create(
            email=owner(email),
            kind=SecondFactor.Kind.WEBAUTHN,
            name=label,
            secret=new.public_key,
            credential_id=new.credential_id,
            method=new.method,
            sign_count=new.sign_count,
            created_at=now,
            confirmed_at=now,
        )
        record_event(
            AuthEvent.Kind.FACTOR_ADDED,
            email=owner(email),
            ip=ip,
            detail={"kind": "webauthn", "name": label, "method": new.method},
        )
    return factor


def passkey_assertion_options(*, email: str, rp_id: str, now: datetime | None = None) -> str | None:
    """Request options for the person's keys, or None when they have none."""
    now = now or timezone.now()
    ids = [f.credential_id for f in confirmed_factors(email) if f.credential_id]
    if not ids:
        return None
    return passkeys.authentication_options(
        rp_id=rp_id, challenge=_new_challenge(email, "assert", now), credential_ids=ids
    )


def passkey_assert(
    *, email: str, credential_json: str, rp_id: str, origin: str, now: datetime | None = None
) -> str:
    """Verify a key's answer for this person; returns the method it proves (hwk, swk).

    The key must be one of this person's: another person's key, even a valid signature from
    it, is refused.
    """
    now = now or timezone.now()
    credential_id = passkeys.credential_id_of(credential_json)
    factor = (
        SecondFactor.objects.filter(
            email=owner(email),
            kind=SecondFactor.Kind.WEBAUTHN,
            credential_id=credential_id,
            confirmed_at__isnull=False,
        ).first()
        if credential_id
        else None
    )
    if factor is None:
        raise passkeys.CeremonyFailed("not a key of this person")
    challenge = _take_challenge(email, "assert", credential_json, now)
    count = passkeys.verify_assertion(
        credential_json=credential_json,
        challenge=challenge,
        rp_id=rp_id,
        origin=origin,
        public_key=factor.secret,
        sign_count=factor.sign_count,
    )
    SecondFactor.objects.filter(pk=factor.pk).update(sign_count=count, last_used_at=now)
    return factor.method


# --- removing and resetting --------------------------------------------------------------------


def factor_remove(*, email: str, factor_id: int, ip: Address = None) -> bool:
    """Remove one of the person's own factors; False when it is not theirs (or gone)."""
    with transaction.atomic():
        factor = SecondFactor.objects.filter(pk=factor_id, email=owner(email)).first()
        if factor is None:
            return False
        factor.delete()
        record_event(
            AuthEvent.Kind.FACTOR_REMOVED,
            email=owner(email),
            ip=ip,
            detail={"kind": factor.kind, "name": factor.name},
        )
        if not confirmed_factors(email):
            RecoveryCode.objects.filter(email=owner(email)).delete()
    return True


def factors_reset(*, email: str, actor: str = "", now: datetime | None = None) -> int:
    """An administrator's reset: every factor and recovery code of the person goes, and every
    sign-in of theirs ends (sessions revoked, and tokens issued before now refused), within a
    second in every process. Returns how many factors were removed."""
    now = now or timezone.now()
    who = owner(email)
    with transaction.atomic():
        removed, _ = SecondFactor.objects.filter(email=who).delete()
        RecoveryCode.objects.filter(email=who).delete()
        AccessSession.objects.filter(
            Q(email__iexact=who), revoked_at__isnull=True, expires_at__gt=now
        ).update(revoked_at=now)
        revoke_tokens_issued_before(email=who, now=now, actor=actor)
        record_change(
            "reset",
            None,
            object_type="second factors of a person",
            object_name=who,
            detail={"factors": removed},
        )
        record_event(
            AuthEvent.Kind.FACTORS_RESET, email=who, detail={"factors": removed, "actor": actor}
        )
        revocations_changed()
    return removed
