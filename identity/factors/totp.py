"""Authenticator apps: RFC 6238 time-based one-time passwords (pyotp), six digits every 30 s.

A code is accepted for the current time step or one step either side (a clock up to 30 s
wrong, or a code typed as it changed), and only for a step later than the last one accepted
for that factor: a code works once, even within its window (RFC 6238 §5.2).
"""

from __future__ import annotations

import re
from datetime import datetime

import pyotp
import segno

DIGITS = 6
STEP_SECONDS = 30
# Steps accepted either side of the current one (RFC 6238 §5.2 recommends at most one).
SKEW_STEPS = 1
_CODE = re.compile(r"[0-9]{6}")


def new_secret() -> str:
    """A fresh secret: 32 base32 characters, 160 random bits (RFC 4226 §4's recommendation)."""
    return pyotp.random_base32(length=32)


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS)


def code_at(secret: str, when: datetime) -> str:
    """The code an authenticator shows at `when` (tests, and nothing else, need it)."""
    return _totp(secret).at(when)


def time_step(when: datetime) -> int:
    """The RFC 6238 time step `when` falls in."""
    return int(when.timestamp()) // STEP_SECONDS


def accepted_step(
    secret: str, code: str, *, now: datetime, last_step: int, skew: int = SKEW_STEPS
) -> int | None:
    """The time step `code` is right for, within `skew` steps of `now` and after `last_step`;
    None when it is wrong, malformed, too old or already used."""
    code = code.strip().replace(" ", "")
    if not _CODE.fullmatch(code):
        return None
    totp = _totp(secret)
    current = time_step(now)
    for step in range(current - skew, current + skew + 1):
        # Every candidate is compared, in constant time, whatever matched before.
        if pyotp.utils.strings_equal(code, totp.generate_otp(step)) and step > last_step:
            return step
    return None


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The `otpauth://totp/...` URI authenticator apps read from the QR code."""
    return _totp(secret).provisioning_uri(name=account, issuer_name=issuer)


def qr_code_svg(uri: str) -> str:
    """The URI as a QR code, an inline SVG element drawn on the server (segno)."""
    # Black on white, whatever the page's colour scheme: cameras read only that reliably.
    return str(
        segno.make(uri, error="m").svg_inline(
            scale=4, border=2, dark="#000", light="#fff", title="QR code"
        )
    )


def grouped(secret: str) -> str:
    """The secret in groups of four characters, as people type it into an app."""
    return " ".join(secret[index : index + 4] for index in range(0, len(secret), 4))
