"""Rate limits and lock-outs for the sign-in flows, kept as counters in the shared cache.

Counters live in fixed time buckets (keyed by `timezone.now()`, so tests move time by patching
it) and are read as a sliding window: the current bucket plus the previous one weighted by how
much of it still lies inside the window. `cache.incr` is atomic on Redis and on the local-memory
cache, so concurrent failures are all counted. Keys are hashed: an email address or username
never appears in the cache as plain text.

Three shapes: a `Throttle` caps events per window (PINs sent), a `Lockout` bans a key for a while
after too many failures (passwords), and a `FailureBudget` is spent before each check and given
back on success, so concurrent checks cannot overrun it, and pauses its key for longer each time it
runs out (PIN checks). Any failure to reach the cache is `ThrottleUnavailable`: the caller refuses.
"""

from __future__ import annotations

import contextlib
import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import Any, ClassVar

from django.core.cache import cache
from django.utils import timezone

from identity.conf import conf

_PREFIX = "accessproject:throttle"


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
    """The key a client IP is throttled under: the IPv4 address, or the IPv6 network around it
    (`ACCESS_THROTTLE_IPV6_PREFIX`, a /56 by default).

    One IPv6 subscriber (a home, an office, a cloud account) is routed a whole /56 or /48 and can
    send from any address in it: per address, or per /64, it would hold 2**64 or 256 fresh
    allowances. docs/security.md says why /56 rather than /48.
    """
    if isinstance(ip, IPv6Address):
        return str(IPv6Network((ip, conf.throttle_ipv6_prefix), strict=False))
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

    def refund(self, key: str, *, now: datetime | None = None) -> None:
        """Take back one event recorded by `hit` at the same `now` (it did not happen after all)."""
        bucket, _ = self._position(now)
        with contextlib.suppress(ValueError):  # the bucket is gone: nothing left to take back
            _counters.decr(self._bucket_key(key, bucket))

    def exceeded(self, key: str, *, now: datetime | None = None) -> bool:
        """True when `key` has used up its allowance."""
        return self.count(key, now=now) >= self.limit

    def clear(self, key: str, *, now: datetime | None = None) -> None:
        """Forget `key`'s events (for example after a successful sign-in)."""
        bucket, _ = self._position(now)
        _counters.delete_many([self._bucket_key(key, bucket), self._bucket_key(key, bucket - 1)])


def _left(until: object, now: datetime | None) -> timedelta | None:
    """The time left until a stored deadline (a timestamp), or None once it has passed."""
    if not isinstance(until, float):
        return None
    left = until - (now or timezone.now()).timestamp()
    return timedelta(seconds=left) if left > 0 else None


@dataclass(frozen=True)
class _Deadline:
    """A deadline kept per key (a ban, a pause): started for a while, read as the time left."""

    name: str

    def _key(self, key: str) -> str:
        return f"{_PREFIX}:{self.name}:{_digest(key)}"

    def left(self, key: str, *, now: datetime | None = None) -> timedelta | None:
        return _left(_counters.get(self._key(key)), now)

    def start(self, key: str, *, now: datetime, lasting: timedelta) -> None:
        until = (now + lasting).timestamp()
        _counters.set(self._key(key), until, timeout=math.ceil(lasting.total_seconds()) + 60)

    def end(self, key: str) -> None:
        _counters.delete(self._key(key))


@dataclass(frozen=True)
class _Hold:
    """Failures of a key counted per `window`, and a hold on the key (a ban, a pause) that too
    many of them start; `lift` ends the hold early."""

    name: str
    limit: int
    window: timedelta
    hold: ClassVar[str]  # what the hold is called in its cache key: "ban", "pause"

    @property
    def _failures(self) -> Throttle:
        return Throttle(f"{self.name}:failures", self.limit, self.window)

    @property
    def _held(self) -> _Deadline:
        return _Deadline(f"{self.name}:{self.hold}")

    def is_held(self, key: str, *, now: datetime | None = None) -> bool:
        """True while `key` is held."""
        return self.held_for(key, now=now) is not None

    def held_for(self, key: str, *, now: datetime | None = None) -> timedelta | None:
        """How much longer `key` stays held; None when it is not."""
        return self._held.left(key, now=now)

    def lift(self, key: str, *, now: datetime | None = None) -> None:
        """End `key`'s hold now and forget its failures (an administrator let it in again).

        A budget's earlier pauses are not forgotten: they still lengthen its next pause."""
        self._held.end(key)
        self._failures.clear(key, now=now)


@dataclass(frozen=True)
class Lockout(_Hold):
    """Ban a key for `ban` once it fails `limit` times within `window`."""

    ban: timedelta
    hold: ClassVar[str] = "ban"
    is_locked = _Hold.is_held
    locked_for = _Hold.held_for

    def record_failure(self, key: str, *, now: datetime | None = None) -> bool:
        """Count a failure; return True when this failure starts a ban."""
        now = now or timezone.now()
        if self._failures.hit(key, now=now) < self.limit or self.is_locked(key, now=now):
            return False
        self._held.start(key, now=now, lasting=self.ban)
        return True

    def clear(self, key: str, *, now: datetime | None = None) -> None:
        """Forget `key`'s failures (a successful sign-in); an active ban stays."""
        self._failures.clear(key, now=now)


@dataclass(frozen=True)
class Remembered:
    """Keys remembered for `lifetime` after something happened to them (a successful sign-in)."""

    name: str
    lifetime: timedelta

    def _key(self, key: str) -> str:
        return f"{_PREFIX}:{self.name}:{_digest(key)}"

    def remember(self, key: str) -> None:
        _counters.set(self._key(key), 1, timeout=math.ceil(self.lifetime.total_seconds()))

    def holds(self, key: str) -> bool:
        return _counters.get(self._key(key)) is not None


@dataclass(frozen=True)
class FailureBudget(_Hold):
    """At most `limit` failures per `window` for one key, with a pause that grows (backoff).

    An attempt is *spent* before it is checked and refunded if it succeeds, so concurrent
    attempts can never overrun the budget: each fixed `window`-long bucket accepts at most
    `limit` failures (the sliding count that decides is never below the bucket's own). When an
    attempt finds the budget spent, the key pauses: `first_pause`, doubled for each earlier
    pause in the last `memory`, at most `max_pause`. A paused key spends nothing.
    """

    first_pause: timedelta
    max_pause: timedelta
    memory: timedelta = timedelta(days=1)
    hold: ClassVar[str] = "pause"
    is_paused = _Hold.is_held
    paused_for = _Hold.held_for

    @property
    def _pauses(self) -> Throttle:
        return Throttle(f"{self.name}:pauses", 1, self.memory)

    def spend(self, key: str, *, now: datetime | None = None) -> Spent:
        """Take one attempt from `key`'s budget, before the check it pays for."""
        now = now or timezone.now()
        if self.is_paused(key, now=now):
            return Spent.REFUSED
        if self._failures.hit(key, now=now) <= self.limit:
            return Spent.SPENT
        self._failures.refund(key, now=now)  # refused: nothing was tried
        pauses = self._pauses.hit(key, now=now)
        pause = min(self.first_pause * 2 ** min(pauses - 1, 32), self.max_pause)
        self._held.start(key, now=now, lasting=pause)
        return Spent.PAUSED

    def refund(self, key: str, *, now: datetime | None = None) -> None:
        """Give back an attempt spent at the same `now` that succeeded (or was never tried)."""
        self._failures.refund(key, now=now)


class Spent(Enum):
    SPENT = "spent"  # go on and check
    REFUSED = "refused"  # the key is paused
    PAUSED = "paused"  # the budget ran out with this attempt: the key pauses from now


def spend_budgets(
    budgets: Sequence[tuple[FailureBudget, str]], *, now: datetime
) -> tuple[bool, list[FailureBudget]]:
    """Spend one attempt from each (budget, key), narrowest first; all or none.

    Returns whether every budget allowed the attempt, and the budgets whose pause this attempt
    started (to record). When one refuses, the attempts already spent are given back: a check
    that never ran costs nothing.
    """
    spent: list[tuple[FailureBudget, str]] = []
    for budget, key in budgets:
        outcome = budget.spend(key, now=now)
        if outcome is Spent.SPENT:
            spent.append((budget, key))
            continue
        for taken, taken_key in spent:
            taken.refund(taken_key, now=now)
        return False, [budget] if outcome is Spent.PAUSED else []
    return True, []


def refund_budgets(budgets: Sequence[tuple[FailureBudget, str]], *, now: datetime) -> None:
    """Give back the attempts `spend_budgets` took at the same `now` (the check succeeded)."""
    for budget, key in budgets:
        budget.refund(key, now=now)


# The limits of the sign-in flows. A PIN may be requested 5 times per address and 20 times per
# client IP in 10 minutes.
PIN_SEND_PER_ADDRESS = Throttle("pin-send-address", 5, timedelta(minutes=10))
PIN_SEND_PER_IP = Throttle("pin-send-ip", 20, timedelta(minutes=10))
# Sign-ins started at identity providers, per client: each records its state until it expires.
PROVIDER_STARTS_PER_IP = Throttle("idp-start-ip", 30, timedelta(minutes=10))
# Wrong passwords ban for 10 minutes: 5 in 10 minutes for one username from one client address
# (a person who forgot theirs locks out only that username there), 10 for one username from
# anywhere (guesses spread over many addresses), and 100 from one address for any usernames. The
# address's budget is that large because one address is often a whole office behind NAT: one
# person's mistakes must not lock everyone there out (docs/security.md, Limits).
PASSWORD_PER_USERNAME_AT_IP = Lockout(
    "password-username-ip", 5, timedelta(minutes=10), ban=timedelta(minutes=10)
)
PASSWORD_PER_USERNAME = Lockout(
    "password-username", 10, timedelta(minutes=10), ban=timedelta(minutes=10)
)
PASSWORD_PER_IP = Lockout("password-ip", 100, timedelta(minutes=10), ban=timedelta(minutes=10))
# Where each username last signed in (username and client address, for 30 days): the username's
# own lock-out does not refuse it there, so guesses from elsewhere cannot keep the person out
# where they sign in. The lock-outs of that address still hold (docs/security.md, Limits).
PASSWORD_KNOWN_ADDRESSES = Remembered("password-known-address", timedelta(days=30))
# Each PIN dies after 5 wrong codes, but one client may ask for 20 PINs in 10 minutes (for any
# addresses an email_domain rule allows): 10 wrong codes in 10 minutes pause its PIN checks for
# 10 minutes, longer each time. Fresh addresses and fresh networks are endless, so wrong codes are
# also budgeted per address, per application and overall (`pin_verify_budgets`).
PIN_VERIFY_PER_IP = FailureBudget(
    "pin-verify-ip",
    10,
    timedelta(minutes=10),
    first_pause=timedelta(minutes=10),
    max_pause=timedelta(hours=4),
)
PIN_BUDGET_WINDOW = timedelta(hours=1)
PIN_BUDGET_FIRST_PAUSE = timedelta(minutes=15)
PIN_BUDGET_MAX_PAUSE = timedelta(hours=4)
# The key of the login host's own page in the per-application budget: it signs in to them all.
LOGIN_HOST_PAGE = "login host"


def _pin_budget(name: str, limit: int) -> FailureBudget:
    return FailureBudget(
        name,
        limit,
        PIN_BUDGET_WINDOW,
        first_pause=PIN_BUDGET_FIRST_PAUSE,
        max_pause=PIN_BUDGET_MAX_PAUSE,
    )


def pin_verify_budgets(
    *, ip_key: str, email: str, application_aud: str | None
) -> list[tuple[FailureBudget, str]]:
    """The budgets one PIN check spends from, narrowest first, with their keys.

    The client network, the address, the application (or the login host's page) and the whole
    installation: a correct guess anywhere is an org session that SSO takes to every application
    the address may open, so only the overall budget bounds the guesses against any one of them.
    """
    budgets = [(PIN_VERIFY_PER_IP, ip_key)] if ip_key else []
    budgets += [
        (_pin_budget("pin-verify-address", conf.pin_failures_per_address), email),
        (
            _pin_budget("pin-verify-application", conf.pin_failures_per_application),
            application_aud or LOGIN_HOST_PAGE,
        ),
        (_pin_budget("pin-verify-overall", conf.pin_failures_overall), "all"),
    ]
    return budgets


# Second factors (authenticator codes and recovery codes) are checked only after a first factor
# has proved the address, so their guesses are budgeted per client network and per address: ten
# wrong codes in ten minutes pause one client, ten in an hour pause that person's code checks,
# longer each time. No installation-wide budget: it would let one person's attacker pause
# everyone's second factor. docs/security.md ("Second factors") gives the bound.
SECOND_FACTOR_PER_IP = FailureBudget(
    "factor-verify-ip",
    10,
    timedelta(minutes=10),
    first_pause=timedelta(minutes=10),
    max_pause=timedelta(hours=4),
)
SECOND_FACTOR_PER_ADDRESS = FailureBudget(
    "factor-verify-address",
    10,
    PIN_BUDGET_WINDOW,
    first_pause=PIN_BUDGET_FIRST_PAUSE,
    max_pause=PIN_BUDGET_MAX_PAUSE,
)


def second_factor_budgets(*, ip_key: str, email: str) -> list[tuple[FailureBudget, str]]:
    """The budgets one second-factor code check spends from, narrowest first, with their keys."""
    budgets = [(SECOND_FACTOR_PER_IP, ip_key)] if ip_key else []
    return [*budgets, (SECOND_FACTOR_PER_ADDRESS, email.lower())]
