"""Access tokens: RS256 JWTs with a `kid` header and the claims of docs/architecture.md.

`verify_access_token` is what the gate calls on every request that carries a token, so it is
strict and cheap: the header must say exactly RS256 (never `none`, never HS256 "signed" with our
public key), the `kid` must be a key that still verifies (from memory), and the signature is
checked once per distinct token (a bounded LRU keyed by the token's SHA-256; an entry lives only
as long as its key). Time, audience, issuer, type and revocation are checked on every call.
Any malformed input raises `TokenError`, never anything else.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from types import MappingProxyType
from typing import Literal

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from django.utils import timezone

from identity import keys
from identity.claims import (
    AccessClaims,
    TokenError,
)
from identity.keys import ALGORITHM
from identity.sessions import is_revoked

TokenType = Literal["app", "org"]

# Tolerated clock difference between the processes that issue and verify tokens.
LEEWAY = timedelta(seconds=5)
# An RS256 token with our claims is under 1 KB; anything far larger is not ours.
MAX_TOKEN_LENGTH = 8192
SIGNATURE_CACHE_SIZE = 10_000

# Claims the issuer sets; `extra` may not override them.
_REGISTERED_CLAIMS = frozenset(
    {
        "aud",
        "email",
        "exp",
        "iat",
        "nbf",
        "iss",
        "type",
        "identity_nonce",
        "sub",
        "country",
        "common_name",
    }
)


ISSUER_SCHEMES = frozenset({"http", "https"})


def issuer_for(login_host: str, *, scheme: str) -> str:
    """The `iss` of tokens minted on `login_host` (port kept) for requests made over `scheme`:
    `https://access.example.com` behind TLS, `http://localhost:8000` on plain HTTP in
    development. A token minted over one scheme is refused over the other ("wrong issuer")."""
    if scheme not in ISSUER_SCHEMES:
        raise ValueError(f"a token issuer's scheme is http or https, not {scheme!r}")
    return f"{scheme}://{login_host.strip().lower()}"


def issue_token(
    *,
    token_type: TokenType,
    audiences: Sequence[str],
    email: str,
    subject: str,
    identity_nonce: str,
    lifetime: timedelta,
    issuer: str,
    country: str = "",
    common_name: str = "",
    extra: Mapping[str, object] | None = None,
) -> str:
    """Sign a token with the current key. Service tokens pass `common_name` and `subject=""`."""
    if token_type not in ("app", "org"):
        raise ValueError(f"token_type must be 'app' or 'org', not {token_type!r}")
    if isinstance(audiences, str):
        raise TypeError("audiences must be a sequence of AUD tags, not a string")
    if lifetime <= timedelta(0):
        raise ValueError("a token lifetime must be positive")
    clashes = _REGISTERED_CLAIMS.intersection(extra or {})
    if clashes:
        raise ValueError(f"extra claims may not override {', '.join(sorted(clashes))}")
    now = int(timezone.now().timestamp())
    payload: dict[str, object] = {
        **(extra or {}),
        "aud": list(audiences),
        "email": email,
        "exp": now + int(lifetime.total_seconds()),
        "iat": now,
        "nbf": now,
        "iss": issuer,
        "type": token_type,
        "identity_nonce": identity_nonce,
        "sub": subject,
        "country": country,
    }
    if common_name:
        payload["common_name"] = common_name
    key = keys.signing_key()
    return jwt.encode(payload, key.private_key, algorithm=ALGORITHM, headers={"kid": key.kid})


def verify_access_token(
    token: str,
    *,
    audience: str | None,
    token_type: TokenType,
    issuer: str,
    keys_now: bool = False,
) -> AccessClaims:
    """Verify `token` for one purpose, or raise `TokenError(reason)`.

    `audience=None` skips the audience check (the caller then checks `claims.audiences`
    itself, e.g. against every application of a host). A kid this process does not know makes
    it look for a newer key (`keys.newer_key`): at once with `keys_now`, else at most once per
    check interval.
    """
    if not isinstance(token, str) or not 0 < len(token) <= MAX_TOKEN_LENGTH:
        raise TokenError("malformed")
    # A token seen before skips parsing and the RSA check; its key must still be verifying.
    cached = _signature_cache.get(token)
    if cached is not None:
        kid, claims = cached
    else:
        kid, signing_input, signature, payload_segment = _split(token)
    now = timezone.now()
    key = keys.active_keyset().get(kid)
    if key is None:
        key = keys.newer_key(kid, now=keys_now)
    if key is None or not key.verifies_at(now):
        raise TokenError("unknown kid")
    if cached is None:
        try:
            key.public_key.verify(signature, signing_input, padding.PKCS1v15(), hashes.SHA256())
        except (InvalidSignature, ValueError):
            raise TokenError("bad signature") from None
        claims = _parse_claims(payload_segment)
        _signature_cache.put(token, kid, claims)
    _check_claims(claims, now=now, audience=audience, token_type=token_type, issuer=issuer)
    return claims


def verified_tokens(
    searches: Iterable[tuple[Iterable[str], TokenType]], *, issuer: str
) -> Iterator[tuple[AccessClaims, TokenType]]:
    """The claims of each token that verifies as its type (for any audience), in the order of
    `searches`, with that type; the others are passed over. Lazy: a caller that stops at the
    first it accepts verifies no more."""
    for candidates, token_type in searches:
        for token in candidates:
            try:
                claims = verify_access_token(
                    token, audience=None, token_type=token_type, issuer=issuer
                )
            except TokenError:
                continue
            yield claims, token_type


def _check_claims(
    claims: AccessClaims,
    *,
    now: datetime,
    audience: str | None,
    token_type: TokenType,
    issuer: str,
) -> None:
    if now >= claims.expires_at + LEEWAY:
        raise TokenError("expired")
    if now + LEEWAY < claims.not_before or now + LEEWAY < claims.issued_at:
        raise TokenError("not yet valid")
    if audience is not None and audience not in claims.audiences:
        raise TokenError("wrong audience")
    if claims.issuer != issuer:
        raise TokenError("wrong issuer")
    if claims.token_type != token_type:
        raise TokenError("wrong type")
    if is_revoked(claims):
        raise TokenError("revoked")


# --- parsing ----------------------------------------------------------------------------------


_BASE64URL = re.compile(r"[A-Za-z0-9_-]+")


def _b64decode(segment: str) -> bytes:
    # JWTs use unpadded base64url; refuse anything else (padding, other alphabets, whitespace).
    # The check is explicit because `urlsafe_b64decode` skips characters outside its alphabet
    # and takes `+` and `/` too: one signature would then have endless spellings, each a new
    # token to the signature cache.
    if not _BASE64URL.fullmatch(segment):
        raise TokenError("malformed")
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        raise TokenError("malformed") from None


def _json_object(raw: bytes) -> dict[str, object]:
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise TokenError("malformed") from None
    if not isinstance(value, dict):
        raise TokenError("malformed")
    return value


def _split(token: str) -> tuple[str, bytes, bytes, str]:
    if not token.isascii():
        raise TokenError("malformed")
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed")
    header_segment, payload_segment, signature_segment = parts
    header = _json_object(_b64decode(header_segment))
    # Exactly RS256: `none`, HS256 (which would treat our public key as an HMAC secret) and
    # every other algorithm are refused before any key is touched.
    if header.get("alg") != ALGORITHM:
        raise TokenError("malformed")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise TokenError("malformed")
    signature = _b64decode(signature_segment)
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    return kid, signing_input, signature, payload_segment


def _string_claim(payload: Mapping[str, object], name: str, *, required: bool = True) -> str:
    value = payload.get(name, None if required else "")
    if not isinstance(value, str):
        raise TokenError("malformed")
    return value


def _time_claim(payload: Mapping[str, object], name: str) -> datetime:
    value = payload.get(name)
    # bool is an int in Python; `"exp": true` is not a time.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenError("malformed")
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (OverflowError, OSError, ValueError):
        raise TokenError("malformed") from None


def _parse_claims(payload_segment: str) -> AccessClaims:
    payload = _json_object(_b64decode(payload_segment))
    audiences = payload.get("aud")
    if not isinstance(audiences, list) or not all(isinstance(aud, str) for aud in audiences):
        raise TokenError("malformed")
    return AccessClaims(
        email=_string_claim(payload, "email", required=False),
        subject=_string_claim(payload, "sub", required=False),
        audiences=tuple(audiences),
        token_type=_string_claim(payload, "type"),
        issued_at=_time_claim(payload, "iat"),
        expires_at=_time_claim(payload, "exp"),
        not_before=_time_claim(payload, "nbf"),
        issuer=_string_claim(payload, "iss"),
        identity_nonce=_string_claim(payload, "identity_nonce", required=False),
        country=_string_claim(payload, "country", required=False),
        common_name=_string_claim(payload, "common_name", required=False),
        raw=MappingProxyType(payload),
    )


# --- the signature cache --------------------------------------------------------------------


class _SignatureCache:
    """A bounded LRU of tokens whose signature verified, keyed by the token itself.

    Only the signature check (and claim parsing, which depends on nothing else) is cached, with
    the kid that verified it: `verify_access_token` still requires that key to be verifying, so
    an entry dies with its key, and re-checks time, audience, issuer, type and revocation on
    every call. The token string is its own key: hashing it with SHA-256 first cost more than
    the lookup (the tokens are in this process's memory anyway, in the requests).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[str, tuple[str, AccessClaims]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, token: str) -> tuple[str, AccessClaims] | None:
        """The (kid, claims) of a token whose signature verified before, or None."""
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                self._entries.move_to_end(token)
            return entry

    def put(self, token: str, kid: str, claims: AccessClaims) -> None:
        with self._lock:
            self._entries[token] = (kid, claims)
            self._entries.move_to_end(token)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


_signature_cache = _SignatureCache(SIGNATURE_CACHE_SIZE)
