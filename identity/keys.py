"""Signing keys: RSA-2048 pairs in the database (private half encrypted), public halves in memory.

One key signs at a time (the current key). It rotates when it is older than
`ACCESS_KEY_ROTATION` (6 weeks by default) or on demand (`manage.py access_rotate_keys`, the
admin, the API); the key it replaces stops signing at once but keeps verifying for 7 more days,
so tokens issued just before a rotation stay valid. Verification reads `active_keyset()`, an
in-memory map rebuilt when the signing keys' version moves: no SQL query per token.

Private keys are encrypted with Fernet under a key derived from SECRET_KEY (HKDF/SHA-256), so a
database dump alone cannot mint tokens. Changing SECRET_KEY makes stored keys unreadable: the
next signature then rotates to a fresh key (tokens signed before keep verifying until they
expire, since verification only needs the public half).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from jwt.algorithms import RSAAlgorithm

from common import versioning
from common.audit import SYSTEM, acting_as, record_change
from common.encryption import Undecryptable, decrypt_text, encrypt_text
from common.versioning import SIGNING_KEYS, VersionedState, bump_version
from identity.conf import conf
from identity.events import record_event
from identity.models import AuthEvent, SigningKey

logger = logging.getLogger("accessproject.keys")

ALGORITHM = "RS256"
KEY_SIZE = 2048
_FERNET_INFO = b"accessproject signing-key encryption v1"
# The certificate only packages the public key for `public_cert`; verifiers use the key, not
# the validity period, but give it one that outlives every token the key can sign.
_CERTIFICATE_VALIDITY = timedelta(days=3650)


class SigningKeyUnavailable(Exception):
    """No key can sign (the database is unreachable or a stored key cannot be decrypted)."""


@dataclass(frozen=True, slots=True)
class PublicSigningKey:
    """The public half of a signing key, as verification and `/cdn-cgi/access/certs` need it."""

    kid: str
    public_key: rsa.RSAPublicKey
    jwk: Mapping[str, str]
    certificate_pem: str
    activated_at: datetime
    retired_at: datetime | None
    expires_at: datetime | None

    def verifies_at(self, now: datetime) -> bool:
        """Whether tokens signed by this key are still accepted at `now`."""
        return self.expires_at is None or now < self.expires_at


class Keyset(Mapping[str, PublicSigningKey]):
    """Every key that still verifies (kid -> public key), the current one first."""

    def __init__(self, keys: list[PublicSigningKey], current_kid: str | None) -> None:
        self._keys = {key.kid: key for key in keys}
        self.current_kid = current_kid

    def __getitem__(self, kid: str) -> PublicSigningKey:
        return self._keys[kid]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def get(self, kid: str, default: Any = None) -> Any:  # the hot path: skip Mapping's try/except
        return self._keys.get(kid, default)

    @property
    def current(self) -> PublicSigningKey | None:
        return self._keys.get(self.current_kid) if self.current_kid else None


@dataclass(frozen=True, slots=True)
class PrivateSigningKey:
    """The current key, ready to sign."""

    kid: str
    private_key: rsa.RSAPrivateKey
    activated_at: datetime


# --- encryption at rest ---------------------------------------------------------------------


def _encrypt_private_key(key: rsa.RSAPrivateKey) -> str:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return encrypt_text(pem, purpose=_FERNET_INFO)


@functools.lru_cache(maxsize=8)
def _decrypt_private_key(ciphertext: str, secret_key: str) -> rsa.RSAPrivateKey:
    # Cached: decrypting and parsing a PEM costs milliseconds, and tokens are minted often.
    try:
        pem = decrypt_text(ciphertext, purpose=_FERNET_INFO, secret_key=secret_key)
    except Undecryptable as error:
        raise SigningKeyUnavailable("a stored signing key cannot be decrypted") from error
    key = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise SigningKeyUnavailable("a stored signing key is not an RSA key")
    return key


# --- key material ---------------------------------------------------------------------------


def _kid_for(public_key: rsa.RSAPublicKey) -> str:
    # 64 hex characters like Access's kids; derived from the key so it can never collide.
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def public_jwk(public_key: rsa.RSAPublicKey, kid: str) -> dict[str, str]:
    """The JWK of a public key in the shape `/cdn-cgi/access/certs` publishes."""
    numbers = RSAAlgorithm.to_jwk(public_key, as_dict=True)
    return {
        "kid": kid,
        "kty": "RSA",
        "alg": ALGORITHM,
        "use": "sig",
        "e": str(numbers["e"]),
        "n": str(numbers["n"]),
    }


def _self_signed_certificate(key: rsa.RSAPrivateKey, kid: str, now: datetime) -> str:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"accessproject {kid[:16]}")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + _CERTIFICATE_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _new_signing_key(now: datetime) -> SigningKey:
    private_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    kid = _kid_for(private_key.public_key())
    return SigningKey.objects.create(
        kid=kid,
        algorithm=ALGORITHM,
        private_key=_encrypt_private_key(private_key),
        public_jwk=public_jwk(private_key.public_key(), kid),
        certificate_pem=_self_signed_certificate(private_key, kid, now),
        activated_at=now,
    )


# --- the in-memory keyset -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _KeyState:
    keyset: Keyset
    # The current key's encrypted private half, decrypted lazily by `signing_key()`.
    current_ciphertext: str | None


def _load_public_key(row: SigningKey) -> PublicSigningKey:
    algorithm = RSAAlgorithm(RSAAlgorithm.SHA256)
    public_key = algorithm.from_jwk(dict(row.public_jwk))
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise SigningKeyUnavailable(f"signing key {row.kid} has no RSA public key")
    return PublicSigningKey(
        kid=row.kid,
        public_key=public_key,
        jwk=dict(row.public_jwk),
        certificate_pem=row.certificate_pem,
        activated_at=row.activated_at,
        retired_at=row.retired_at,
        expires_at=row.expires_at,
    )


def _build_key_state(version: int) -> _KeyState:
    now = timezone.now()
    rows = [
        row
        for row in SigningKey.objects.all()
        if row.retired_at is None or row.expires_at is None or row.expires_at > now
    ]
    # The current key first, then the most recently retired.
    rows.sort(key=lambda row: (row.retired_at is not None, -row.activated_at.timestamp()))
    current = rows[0] if rows and rows[0].retired_at is None else None
    keyset = Keyset([_load_public_key(row) for row in rows], current.kid if current else None)
    return _KeyState(keyset=keyset, current_ciphertext=current.private_key if current else None)


_key_state: VersionedState[_KeyState] = VersionedState(
    _build_key_state, name="signing keys", watches=SIGNING_KEYS
)
_creation_lock = threading.Lock()


def active_keyset() -> Keyset:
    """Every key that still verifies, from memory (rebuilt when the keys' version moves)."""
    return _key_state.get().keyset


# When this process last looked again for a key its keyset did not have (`newer_key`).
_looked_again_at: float | None = None


def newer_key(kid: str, *, now: bool = False) -> PublicSigningKey | None:
    """The key `kid` when it is newer than this process's keyset, else None.

    Another process that rotated the keys signs with the new key at once, while this process
    learns of it at its next version check (within a second). A token signed in that second must
    not be refused here, nor, worse, be ignored by a logout that another process's gate would
    then let in. So a kid the keyset lacks makes the keys' version be read again: at most once
    per check interval (made-up kids cost no more than that), or at once when `now` is set.
    """
    global _looked_again_at
    moment = versioning.clock()
    last = _looked_again_at
    if not now and last is not None and moment - last < versioning.check_interval():
        return None
    _looked_again_at = moment
    _key_state.check_at_next_get()
    return active_keyset().get(kid)


def signing_key() -> PrivateSigningKey:
    """The key to sign with now; creates the first key, and rotates one older than the interval."""
    state = _key_state.get()
    current = state.keyset.current
    if current is None or timezone.now() - current.activated_at >= conf.key_rotation:
        _rotate_if_due()
        state = _key_state.get()
    try:
        return _private_half(state)
    except SigningKeyUnavailable:
        # SECRET_KEY changed: the stored key is useless for signing, so replace it (once).
        logger.warning("the current signing key cannot be decrypted; rotating to a new key")
        rotate_keys(reason="undecryptable")
        return _private_half(_key_state.get())


def _private_half(state: _KeyState) -> PrivateSigningKey:
    current = state.keyset.current
    if current is None or state.current_ciphertext is None:
        raise SigningKeyUnavailable("no current signing key")
    private_key = _decrypt_private_key(state.current_ciphertext, settings.SECRET_KEY)
    return PrivateSigningKey(
        kid=current.kid, private_key=private_key, activated_at=current.activated_at
    )


def _rotate_if_due() -> None:
    # Several processes may notice an old key at once: the row lock (and, where the database
    # has no row locks, the conditional UPDATE and the one-current-key constraint) let only
    # one of them rotate; the others simply reload.
    with _creation_lock:
        try:
            with transaction.atomic():
                now = timezone.now()
                current = (
                    SigningKey.objects.select_for_update().filter(retired_at__isnull=True).first()
                )
                if current is not None and now - current.activated_at < conf.key_rotation:
                    _key_state.invalidate()
                    return
                with acting_as(SYSTEM):
                    _retire_and_replace(
                        current, now, reason="scheduled" if current else "first key"
                    )
        except IntegrityError:
            logger.info("another process rotated the signing key first")
    _key_state.invalidate()


def _retire_and_replace(current: SigningKey | None, now: datetime, *, reason: str) -> SigningKey:
    if current is not None:
        retired = SigningKey.objects.filter(pk=current.pk, retired_at__isnull=True).update(
            retired_at=now, expires_at=now + conf.previous_key_grace
        )
        if not retired:
            raise IntegrityError("the signing key was rotated concurrently")
    new_key = _new_signing_key(now)
    record_change(
        "rotate",
        new_key,
        before={"current_kid": current.kid if current else None},
        after={"current_kid": new_key.kid},
        object_type="signing key",
        object_name=new_key.kid,
        detail={"reason": reason},
    )
    record_event(
        AuthEvent.Kind.KEY_ROTATION,
        detail={
            "kid": new_key.kid,
            "previous_kid": current.kid if current else None,
            "reason": reason,
        },
    )
    bump_version(SIGNING_KEYS)
    logger.info("signing key %s is now current (%s)", new_key.kid, reason)
    return new_key


def rotate_keys(*, reason: str = "manual") -> SigningKey:
    """Make a new key current now; the previous one stops signing and verifies for 7 more days."""
    now = timezone.now()
    with _creation_lock, transaction.atomic():
        current = SigningKey.objects.select_for_update().filter(retired_at__isnull=True).first()
        new_key = _retire_and_replace(current, now, reason=reason)
    _key_state.invalidate()
    return new_key


def retire_previous_keys(*, reason: str = "manual") -> int:
    """Stop trusting every retired key now, not 7 days from its retirement (a leaked key).

    Every token a retired key signed fails from this moment; the current key is untouched.
    Returns how many keys were cut off.
    """
    now = timezone.now()
    with transaction.atomic():
        cut = list(
            SigningKey.objects.filter(retired_at__isnull=False, expires_at__gt=now).values_list(
                "kid", flat=True
            )
        )
        SigningKey.objects.filter(kid__in=cut).update(expires_at=now)
        for kid in cut:
            record_change(
                "retire",
                SigningKey.objects.get(kid=kid),
                before={"verifies": True},
                after={"verifies": False, "expires_at": now},
                object_type="signing key",
                object_name=kid,
                detail={"reason": reason},
            )
        if cut:
            record_event(
                AuthEvent.Kind.KEY_ROTATION, detail={"retired_kids": cut, "reason": reason}
            )
            bump_version(SIGNING_KEYS)
    _key_state.invalidate()
    logger.info("previous signing keys no longer verify: %s (%s)", cut, reason)
    return len(cut)


def published_keys() -> Keyset:
    """The keyset `/cdn-cgi/access/certs` publishes, making sure a current key exists."""
    signing_key()
    return active_keyset()
