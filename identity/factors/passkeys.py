"""Passkeys and security keys: the WebAuthn ceremonies, done by the `webauthn` library.

The relying party is the login host (its name without the port as `rp.id`, its origin as the
only one expected): every key is registered and used there. User verification is required
(a PIN or a biometric on the authenticator), so a key proves possession and its owner.
A key bound to its device (`single_device`, a security key) proves `hwk`; a synced passkey
(`multi_device`, whose private key a platform copies between devices) proves `swk` (RFC 8176).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    CredentialDeviceType,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

RP_NAME = "accessproject"
TIMEOUT_MS = 120_000


class CeremonyFailed(Exception):
    """What the browser sent does not verify; `reason` is for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class NewCredential:
    credential_id: str  # base64url
    public_key: str  # base64url COSE key
    sign_count: int
    method: str  # hwk or swk


def registration_options(
    *, rp_id: str, user_id: bytes, email: str, challenge: bytes, existing: list[str]
) -> str:
    """The `PublicKeyCredentialCreationOptions` for a new key, as JSON for the page's script."""
    options = generate_registration_options(
        rp_id=rp_id,
        rp_name=RP_NAME,
        user_id=user_id,
        user_name=email,
        user_display_name=email,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(item)) for item in existing
        ],
    )
    return str(options_to_json(options))


def authentication_options(*, rp_id: str, challenge: bytes, credential_ids: list[str]) -> str:
    """The `PublicKeyCredentialRequestOptions` for one person's keys, as JSON."""
    options = generate_authentication_options(
        rp_id=rp_id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=[
            PublicKeyCredentialDescriptor(id=base64url_to_bytes(item)) for item in credential_ids
        ],
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return str(options_to_json(options))


def client_challenge(credential_json: str) -> bytes | None:
    """The challenge the browser signed (from `clientDataJSON`), to find what it answers;
    None when the post is not a credential at all. The library checks it again."""
    try:
        credential = json.loads(credential_json)
        client_data = json.loads(base64url_to_bytes(credential["response"]["clientDataJSON"]))
        challenge = client_data["challenge"]
        return base64url_to_bytes(challenge) if isinstance(challenge, str) else None
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def credential_id_of(credential_json: str) -> str | None:
    """The credential id a browser's answer names (base64url), or None."""
    try:
        value = json.loads(credential_json)["id"]
        if not isinstance(value, str) or not value:
            return None
        return bytes_to_base64url(base64url_to_bytes(value))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None


def verify_new_credential(
    *, credential_json: str, challenge: bytes, rp_id: str, origin: str
) -> NewCredential:
    """Verify a registration (attestation `none` accepted: no vendor list is trusted)."""
    try:
        verified = verify_registration_response(
            credential=credential_json,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as error:
        raise CeremonyFailed(f"registration refused: {error}") from error
    single = verified.credential_device_type == CredentialDeviceType.SINGLE_DEVICE
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=base64.urlsafe_b64encode(verified.credential_public_key).decode(),
        sign_count=verified.sign_count,
        method="hwk" if single else "swk",
    )


def verify_assertion(
    *,
    credential_json: str,
    challenge: bytes,
    rp_id: str,
    origin: str,
    public_key: str,
    sign_count: int,
) -> int:
    """Verify a key's signature over the challenge; returns the authenticator's new counter."""
    try:
        verified = verify_authentication_response(
            credential=credential_json,
            expected_challenge=challenge,
            expected_rp_id=rp_id,
            expected_origin=origin,
            credential_public_key=base64.urlsafe_b64decode(public_key.encode()),
            credential_current_sign_count=sign_count,
            require_user_verification=True,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as error:
        raise CeremonyFailed(f"assertion refused: {error}") from error
    return int(verified.new_sign_count)
