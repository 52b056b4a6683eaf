"""Username and password sign-in against Django users, with lock-outs.

Failures are counted per username at one client address, per username and per address
(`identity.throttles`, the PASSWORD_* lock-outs); any of them running out bans its key for ten
minutes. What an outsider who knows a username can do to its person is bounded: an attempt
refused by the lock-out of the username at its address is not a guess and counts for nothing
more, so one address cannot lock the username out everywhere; and the username's own lock-out
does not refuse it at an address it signed in from in the last 30 days, so guesses from many
addresses cannot keep the person out where they sign in. Usernames are counted as NFKC, case
folded, without surrounding spaces: however a project's backend matches them, every spelling
that reaches one account counts against it.

A failure — wrong password, unknown user, inactive user — gives one message and costs the same:
`authenticate()` runs the password hasher even for unknown users, and it runs *before* the
lock-out check, so a lock-out is not faster to answer either. A lock-out says so, and for how
long (`password_locked_for`); it is keyed by the username as typed, so it tells nothing of
whether that account exists.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import timedelta
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING

from django.contrib.auth import authenticate
from django.http import HttpRequest

from identity.events import record_event
from identity.models import AuthEvent
from identity.throttles import (
    PASSWORD_KNOWN_ADDRESSES,
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


def username_key(username: str) -> str:
    """The one spelling a username is counted under (NFKC, case folded, stripped)."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", username).casefold())
    return folded.strip()


def _keys(username: str, ip: IPv4Address | IPv6Address | None) -> dict[str, str]:
    return lockout_keys(username_key(username), throttle_key_for_ip(ip) if ip else "")


def _applying(keys: dict[str, str]) -> dict[str, str]:
    """The lock-outs that refuse this attempt: all of them, but the username's own at an
    address the username signed in from."""
    here = keys.get("username at ip")
    if here is not None and PASSWORD_KNOWN_ADDRESSES.holds(here):
        return {scope: key for scope, key in keys.items() if scope != "username"}
    return keys


def _locked_left(keys: dict[str, str]) -> timedelta | None:
    left = [
        remaining
        for scope, key in _applying(keys).items()
        if (remaining := SCOPES[scope].locked_for(key)) is not None
    ]
    return max(left) if left else None


def password_locked_for(*, username: str, ip: IPv4Address | IPv6Address | None) -> timedelta | None:
    """How much longer password sign-ins for `username` from `ip` stay locked; None: not."""
    return _locked_left(_keys(username, ip))


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
    locked = _locked_left(keys) is not None
    if user is None:
        _record_failure(keys, ip)
        return None
    if locked:
        return None
    for scope in ("username at ip", "username"):
        if scope in keys:
            SCOPES[scope].clear(keys[scope])
    if "username at ip" in keys:
        PASSWORD_KNOWN_ADDRESSES.remember(keys["username at ip"])
    return user


def _record_failure(keys: dict[str, str], ip: IPv4Address | IPv6Address | None) -> None:
    counted = keys
    here = keys.get("username at ip")
    if here is not None and SCOPES["username at ip"].is_locked(here):
        # Refused before any check: not a guess at the username, only the address's abuse.
        counted = {scope: key for scope, key in keys.items() if scope == "ip"}
    locked_now = [scope for scope, key in counted.items() if SCOPES[scope].record_failure(key)]
    if locked_now:
        # The username is recorded as counted (the lock-outs page derives its keys from it);
        # no password is ever logged.
        record_event(
            AuthEvent.Kind.LOCKOUT,
            ip=ip,
            detail={"username": keys["username"], "scope": locked_now, "step": "password"},
        )


def identity_email(user: User) -> str:
    """The email a password user signs in as: their email, else their username."""
    return (user.email or user.get_username()).strip().lower()
