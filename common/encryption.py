"""Secrets encrypted at rest: Fernet under a key derived from SECRET_KEY, one key per purpose.

Signing keys (`identity.keys`) and identity providers' client secrets (`policies.models`) are
stored this way, so a database dump alone can neither mint Access tokens nor sign in to an
identity provider as this installation. Each purpose derives its own key (HKDF/SHA-256 with the
purpose as `info`), so a ciphertext of one kind never decrypts as another. Changing SECRET_KEY
makes what was stored unreadable: `decrypt_text` then raises `Undecryptable`, and each caller
says what that means for it (a new signing key; an identity provider whose secret must be
entered again).
"""

from __future__ import annotations

import base64
import functools

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

__all__ = ["Undecryptable", "decrypt_text", "encrypt_text"]


class Undecryptable(Exception):
    """A stored ciphertext cannot be decrypted (another SECRET_KEY, or not ours at all)."""


@functools.lru_cache(maxsize=8)
def _fernet(secret_key: str, purpose: bytes) -> Fernet:
    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose).derive(
        secret_key.encode()
    )
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt_text(plaintext: bytes, *, purpose: bytes) -> str:
    """`plaintext` encrypted for storage under the current SECRET_KEY (a Fernet token, text)."""
    return _fernet(settings.SECRET_KEY, purpose).encrypt(plaintext).decode()


def decrypt_text(ciphertext: str, *, purpose: bytes, secret_key: str | None = None) -> bytes:
    """What `encrypt_text` stored, or `Undecryptable`."""
    key = settings.SECRET_KEY if secret_key is None else secret_key
    try:
        return _fernet(key, purpose).decrypt(ciphertext.encode())
    except (InvalidToken, ValueError, TypeError) as error:
        raise Undecryptable("a stored secret cannot be decrypted") from error
