"""Rate limits and lock-outs for the sign-in flows, kept as counters in the shared cache.

Counters live in fixed time buckets (keyed by `timezone.now()`, so tests move time by patching
it) and are read as a sliding window: the current bucket plus the previous one weighted by how
much of it still lies inside the window. `cache.incr` is atomic on Redis and on the local-memory
cache, so concurrent failures are all counted. Keys are hashed: an email address or username
never appears in the cache as plain text.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import Any

from django.core.cache import cache
from django.utils import timezone

_PREFIX = "accessproject:throttle"
# One IPv6 client (a home, a phone, a cloud VM) routinely holds a whole /64 and can send from any
# address in it: throttling per address would give it 2**64 fresh allowances.
IPV6_CLIENT_PREFIX = 64


class ThrottleUnavailable(Exception):
    """The cache holding the counters cannot be reached: sign-in must wait, not go unlimited."""


class _Counters:
    """The cache, with any failure to reach it raised as `ThrottleUnavailable` (fail closed)."""

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(cache, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return method(*args, **kwargs)
            except ValueError:
                raise  # `incr` of a missing key: the caller starts the count again
            except Exception as error:
                raise ThrottleUnavailable(str(error)) from error

        return call


_counters = _Counters()


def throttle_key_for_ip(ip: IPv4Address | IPv6Address) -> str:
    """The key a client IP is throttled under: the IPv4 address, or the IPv6 address's /64."""
    if isinstance(ip, IPv6Address):
        return str(IPv6Network((ip, IPV6_CLIENT_PREFIX), strict=False))
    return str(ip)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class Throttle:
    """At most `limit` events per `window` for one key (an address, a client IP, a username)."""

    name: str
    limit: int
    window: timedelta

    def _bucket_key(self, key: str, bucket: int) -> str:
        return f"{_PREFIX}:{self.name}:{_digest(key)}:{bucket}"

    def _position(self, now: datetime | None) -> tuple[int, float]:
        seconds = (now or timezone.now()).timestamp()
        width = self.window.total_seconds()
        return int(seconds // width), (seconds % width) / width

    def _weighted(self, current: int, previous: int, elapsed: float) -> int:
        # Round up: the estimate may only err on the strict side.
        return current + math.ceil(previous * (1.0 - elapsed))

    def count(self, key: str, *, now: datetime | None = None) -> int:
        """How many events the window holds for `key`."""
        bucket, elapsed = self._position(now)
        values = _counters.get_many(
            [self._bucket_key(key, bucket), self._bucket_key(key, bucket - 1)]
        )
        current = int(values.get(self._bucket_key(key, bucket), 0))
        previous = int(values.get(self._bucket_key(key, bucket - 1), 0))
        return self._weighted(current, previous, elapsed)

    def hit(self, key: str, *, now: datetime | None = None) -> int:
        """Record one event for `key` and return the count in the window, this event included."""
        bucket, elapsed = self._position(now)
        bucket_key = self._bucket_key(key, bucket)
        # Two windows of lifetime: the bucket is still read, weighted, during the next one.
        timeout = math.ceil(self.window.total_seconds() * 2)
        _counters.add(bucket_key, 0, timeout=timeout)
        try:
            current = int(_counters.incr(bucket_key))
        except ValueError:  # evicted between add and incr: start again at one
            _counters.set(bucket_key, 1, timeout=timeout)
            current = 1
        previous = int(_counters.get(self._bucket_key(key, bucket - 1), 0))
        return self._weighted(current, previous, elapsed)

    def exceeded(self, key: str, *, now: datetime | None = None) -> bool:
        """True when `key` has used up its allowance."""
        return self.count(key, now=now) >= self.limit

    def clear(self, key: str, *, now: datetime | None = None) -> None:
        """Forget `key`'s events (for example after a successful sign-in)."""
        bucket, _ = self._position(now)
        _counters.delete_many([self._bucket_key(key, bucket), self._bucket_key(key, bucket - 1)])


@dataclass(frozen=True)
class Lockout:
    """Ban a key for `ban` once it fails `limit` times within `window`."""

    name: str
    limit: int
    window: timedelta
    ban: timedelta

    @property
    def failures(self) -> Throttle:
        return Throttle(f"{self.name}:failures", self.limit, self.window)

    def _ban_key(self, key: str) -> str:
        return f"{_PREFIX}:{self.name}:ban:{_digest(key)}"

    def is_locked(self, key: str, *, now: datetime | None = None) -> bool:
        """True while `key` is banned."""
        until = _counters.get(self._ban_key(key))
        return isinstance(until, float) and (now or timezone.now()).timestamp() < until

    def record_failure(self, key: str, *, now: datetime | None = None) -> bool:
        """Count a failure; return True when this failure starts a ban."""
        now = now or timezone.now()
        if self.failures.hit(key, now=now) < self.limit or self.is_locked(key, now=now):
            return False
        until = (now + self.ban).timestamp()
        _counters.set(self._ban_key(key), until, timeout=math.ceil(self.ban.total_seconds()) + 60)
        return True

    def clear(self, key: str, *, now: datetime | None = None) -> None:
        """Forget `key`'s failures (a successful sign-in); an active ban stays."""
        self.failures.clear(key, now=now)


# The limits of the sign-in flows. A PIN may be requested 5 times per address and 20 times per
# client IP in 10 minutes; 5 wrong passwords in 10 minutes, per username or per client IP, ban
# that username or IP for 10 minutes.
PIN_SEND_PER_ADDRESS = Throttle("pin-send-address", 5, timedelta(minutes=10))
PIN_SEND_PER_IP = Throttle("pin-send-ip", 20, timedelta(minutes=10))
PASSWORD_PER_USERNAME = Lockout(
    "password-username", 5, timedelta(minutes=10), ban=timedelta(minutes=10)
)
PASSWORD_PER_IP = Lockout("password-ip", 5, timedelta(minutes=10), ban=timedelta(minutes=10))
# Each PIN dies after 5 wrong codes, but one client may ask for 20 PINs in 10 minutes (for any
# addresses an email_domain rule allows): 10 wrong codes in 10 minutes ban its PIN checks.
PIN_VERIFY_PER_IP = Lockout("pin-verify-ip", 10, timedelta(minutes=10), ban=timedelta(minutes=10))
