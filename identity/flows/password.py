"""Username and password sign-in against Django users, with lock-outs.

Five failures in ten minutes, for one username or from one client IP, lock it out for ten
minutes. Every failure — wrong password, unknown user, inactive user, locked out — gives the
same message and costs the same: `authenticate()` runs the password hasher even for unknown
users, and it runs *before* the lock-out check, so a lock-out is not faster to answer either.
"""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING

from django.contrib.auth import authenticate
from django.http import HttpRequest

from identity.events import record_event
from identity.models import AuthEvent
from identity.throttles import PASSWORD_PER_IP, PASSWORD_PER_USERNAME, throttle_key_for_ip

if TYPE_CHECKING:
    from django.contrib.auth.models import User

INCORRECT = "Incorrect username or password."


def password_sign_in(
    request: HttpRequest | None,
    *,
    username: str,
    password: str,
    ip: IPv4Address | IPv6Address | None,
) -> User | None:
    """The active user these credentials name, or None (wrong, unknown, or locked out)."""
    user = authenticate(request, username=username, password=password)
    username_key = username.strip().lower()
    ip_key = throttle_key_for_ip(ip) if ip is not None else ""
    locked = PASSWORD_PER_USERNAME.is_locked(username_key) or (
        bool(ip_key) and PASSWORD_PER_IP.is_locked(ip_key)
    )
    if user is None:
        _record_failure(username_key, ip_key, ip)
        return None
    if locked:
        return None
    PASSWORD_PER_USERNAME.clear(username_key)
    return user


def _record_failure(username_key: str, ip_key: str, ip: IPv4Address | IPv6Address | None) -> None:
    locked_now = []
    if PASSWORD_PER_USERNAME.record_failure(username_key):
        locked_now.append("username")
    if ip_key and PASSWORD_PER_IP.record_failure(ip_key):
        locked_now.append("ip")
    if locked_now:
        # The username is recorded only as typed by the person; no password is ever logged.
        record_event(
            AuthEvent.Kind.LOCKOUT,
            ip=ip,
            detail={"username": username_key[:150], "scope": locked_now},
        )


def identity_email(user: User) -> str:
    """The email a password user signs in as: their email, else their username."""
    return (user.email or user.get_username()).strip().lower()
