"""Username and password sign-in against Django users, with lock-outs.

Failures are counted per username at one client address, per username and per address
(`identity.throttles`, the PASSWORD_* lock-outs); any of them running out bans its key for ten
minutes. A failure — wrong password, unknown user, inactive user — gives one message and costs
the same: `authenticate()` runs the password hasher even for unknown users, and it runs *before*
the lock-out check, so a lock-out is not faster to answer either. A lock-out says so, and for how
long (`password_locked_for`); it is keyed by the username as typed, so it tells nothing of
whether that account exists.
"""

from __future__ import annotations

import math
from datetime import timedelta
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING

from django.contrib.auth import authenticate
from django.http import HttpRequest

from identity.events import record_event
from identity.models import AuthEvent
from identity.throttles import (
    PASSWORD_PER_IP,
    PASSWORD_PER_USERNAME,
    PASSWORD_PER_USERNAME_AT_IP,
    Lockout,
    throttle_key_for_ip,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User

INCORRECT = "Incorrect username or password."
LOCKED = (
    "Too many failed sign-ins for this username or from your network: sign-in is locked for "
    "{minutes} more minute{s}. Try again then, or ask an administrator to lift the lock-out."
)

# What a lock-out event's `scope` calls each lock-out.
SCOPES: dict[str, Lockout] = {
    "username at ip": PASSWORD_PER_USERNAME_AT_IP,
    "username": PASSWORD_PER_USERNAME,
    "ip": PASSWORD_PER_IP,
}


def lockout_keys(username_key: str, ip_key: str) -> dict[str, str]:
    """The key each password lock-out (by scope) counts a sign-in under."""
    keys = {"username": username_key}
    if ip_key:
        keys.update({"username at ip": f"{ip_key} {username_key}", "ip": ip_key})
    return keys


def _keys(username: str, ip: IPv4Address | IPv6Address | None) -> dict[str, str]:
    return lockout_keys(username.strip().lower(), throttle_key_for_ip(ip) if ip else "")


def password_locked_for(*, username: str, ip: IPv4Address | IPv6Address | None) -> timedelta | None:
    """How much longer password sign-ins for `username` from `ip` stay locked; None: not."""
    left = [
        remaining
        for scope, key in _keys(username, ip).items()
        if (remaining := SCOPES[scope].locked_for(key)) is not None
    ]
    return max(left) if left else None


def locked_message(left: timedelta) -> str:
    """What the sign-in page says while locked out (whole minutes, rounded up)."""
    minutes = max(1, math.ceil(left.total_seconds() / 60))
    return LOCKED.format(minutes=minutes, s="" if minutes == 1 else "s")


def password_sign_in(
    request: HttpRequest | None,
    *,
    username: str,
    password: str,
    ip: IPv4Address | IPv6Address | None,
) -> User | None:
    """The active user these credentials name, or None (wrong, unknown, or locked out)."""
    user = authenticate(request, username=username, password=password)
    keys = _keys(username, ip)
    locked = any(SCOPES[scope].is_locked(key) for scope, key in keys.items())
    if user is None:
        _record_failure(keys, ip)
        return None
    if locked:
        return None
    for scope in ("username at ip", "username"):
        if scope in keys:
            SCOPES[scope].clear(keys[scope])
    return user


def _record_failure(keys: dict[str, str], ip: IPv4Address | IPv6Address | None) -> None:
    locked_now = [scope for scope, key in keys.items() if SCOPES[scope].record_failure(key)]
    if locked_now:
        # The username is recorded only as typed by the person; no password is ever logged.
        record_event(
            AuthEvent.Kind.LOCKOUT,
            ip=ip,
            detail={"username": keys["username"][:150], "scope": locked_now, "step": "password"},
        )


def identity_email(user: User) -> str:
    """The email a password user signs in as: their email, else their username."""
    return (user.email or user.get_username()).strip().lower()
