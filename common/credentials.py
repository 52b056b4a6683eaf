"""Service-token secrets: generated at random, stored only as a hash, compared in constant time.

A client secret is 32 random bytes, so a single SHA-256 is enough: there is nothing to guess that
a slow password hash would protect (unlike a human password).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

__all__ = ["code_hash", "generate_secret", "hash_secret", "verify_secret"]

_ALGORITHM = "sha256"
_HEX_DIGITS = frozenset("0123456789abcdef")


def generate_secret() -> str:
    """A new client secret: 64 hex characters (32 random bytes)."""
    return secrets.token_hex(32)


def hash_secret(secret: str) -> str:
    """The stored form of a secret: "sha256$<hex digest>"."""
    digest = hashlib.sha256(secret.encode("utf-8")).hexdigest()
    return f"{_ALGORITHM}${digest}"


def verify_secret(secret: str, hashed: str) -> bool:
    """Whether `secret` is the one `hashed` was made from; a malformed hash never verifies."""
    if not isinstance(secret, str) or not isinstance(hashed, str):
        return False
    algorithm, separator, digest = hashed.partition("$")
    if algorithm != _ALGORITHM or not separator:
        return False
    if len(digest) != 64 or not set(digest) <= _HEX_DIGITS:
        return False
    try:
        candidate = hash_secret(secret)
    except UnicodeEncodeError:  # a lone surrogate cannot be the secret we generated
        return False
    return hmac.compare_digest(candidate.encode("ascii"), hashed.encode("ascii"))


def code_hash(code: str) -> str:
    """What a single-use random code (an authorization code, an approver's link) is stored and
    looked up as: its SHA-256 in hex (a code is 256 random bits, so no salt or slow hash is
    needed). A code from a request may hold any character, a lone surrogate included
    (`surrogatepass`), and then matches nothing."""
    return hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()
