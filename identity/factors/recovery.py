"""Recovery codes: ten single-use codes shown once, for when no other factor is at hand.

Each code is ten characters from a 31-letter alphabet without look-alikes (49 random bits),
written `xxxxx-xxxxx`. Only an HMAC of the code with the person's address, keyed by SECRET_KEY,
is stored: a database dump alone reveals none, and a code of one person is no code of another.
"""

from __future__ import annotations

import secrets

from django.utils.crypto import salted_hmac

COUNT = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no i, l, o, 0, 1
_LENGTH = 10


def new_codes(count: int = COUNT) -> list[str]:
    """`count` fresh codes, as shown to the person."""
    return [
        _format("".join(secrets.choice(_ALPHABET) for _ in range(_LENGTH))) for _ in range(count)
    ]


def _format(raw: str) -> str:
    return f"{raw[:5]}-{raw[5:]}"


def normalized(code: str) -> str | None:
    """The code as stored, whatever its case, spaces and dashes; None when it cannot be one."""
    raw = "".join(code.split()).replace("-", "").lower()
    if len(raw) != _LENGTH or any(character not in _ALPHABET for character in raw):
        return None
    return _format(raw)


def code_hash(code: str, *, email: str) -> str:
    """What is stored for `code` of `email` (`code` already `normalized`)."""
    value = f"{email.lower()}:{code}"
    return salted_hmac("accessproject.identity.recovery", value, algorithm="sha256").hexdigest()
