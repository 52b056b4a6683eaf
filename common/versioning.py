"""One version per in-memory state, and each state rebuilt when its own version moves.

Each process keeps three states compiled from the database in memory: the policy snapshot
(`POLICIES`: applications, policies, groups, service tokens, identity providers), the signing
keys (`SIGNING_KEYS`) and the revocations (`REVOCATIONS`: revoked sessions and cutoffs). Each has
its own version, and a write calls `bump_version(STATE)` once its transaction commits: only that
state is rebuilt, so a logout, a revocation or a key rotation never recompiles the policy
snapshot. Each process checks a state's version at most every `ACCESS_VERSION_CHECK_INTERVAL`
seconds (0.5 by default), so a change made by any process on any host is seen within a second
while a gated request, in steady state, makes no query at all.

A version lives in the database (one `ConfigVersion` row per state, the source of truth) and is
mirrored in the cache. A shared cache (Redis) answers the check cheaply; a per-process cache
(local memory) cannot see other processes' writes, so then the check reads the database row. If
the cache fails, the check falls back to the database; if both fail, the caller gets
`VersionUnavailable` and fails closed.

A state built in the background (the policy snapshot, which costs a noticeable fraction of a
second at 10,000 applications) keeps serving its previous value while the new one builds, but
never longer than twice the check interval, and at most `MAX_STALENESS`, after the last check
that found it current: a change committed after that check is then at most that old. A request
that would exceed the bound waits for the build under way, or builds the new value itself when
none is, and fails closed when the build fails. A process with no value yet builds before it
serves anything.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import DatabaseError, connections, transaction
from django.db.models import F
from django.dispatch import receiver
from django.test.signals import setting_changed

from common.models import ConfigVersion

logger = logging.getLogger("accessproject.snapshot")

DEFAULT_CHECK_INTERVAL = 0.5
# How old a change may be when a decision is made (docs/architecture.md: every process within
# a second).
MAX_STALENESS = 1.0
# A request that must wait for a background build gives up (and fails closed) after this long.
BUILD_WAIT_SECONDS = 30.0

POLICIES = "policies"
SIGNING_KEYS = "signing keys"
REVOCATIONS = "revocations"
# The `ConfigVersion` row of each state (row 1 was the one version every state shared).
_VERSION_ROWS = {POLICIES: 1, SIGNING_KEYS: 2, REVOCATIONS: 3}

# The clock every state reads; tests replace it to move time without waiting.
clock: Callable[[], float] = time.monotonic

T = TypeVar("T")


class VersionUnavailable(Exception):
    """Neither the cache nor the database could say which configuration version is current."""


@functools.cache
def _check_interval() -> float:
    # Read once: every gated request asks, several times. Tests that change the setting clear
    # it through `setting_changed`.
    return float(getattr(settings, "ACCESS_VERSION_CHECK_INTERVAL", DEFAULT_CHECK_INTERVAL))


@receiver(setting_changed)
def _forget_check_interval(*, setting: str, **kwargs: object) -> None:
    if setting == "ACCESS_VERSION_CHECK_INTERVAL":
        _check_interval.cache_clear()
        # Each state scheduled its next check with the old interval: without this, a longer
        # interval would only take effect after that check (a query, with a per-process cache).
        for state in list(_registry):
            state.check_at_next_get()


def _staleness_bound() -> float:
    """How long after the last check that found a value current it may still serve.

    A change is noticed within one check interval; a background build gets as long again, and
    never more than MAX_STALENESS. With the default interval (0.5 s) a change is enforced within
    a second; with an interval of 0 (check on every call) at the first call after it.
    """
    return min(MAX_STALENESS, 2 * _check_interval())


def _cache_is_shared() -> bool:
    # A local-memory cache is private to its process: it cannot carry another process's writes.
    return not isinstance(caches["default"], LocMemCache)


def _cache_key(state: str) -> str:
    return f"accessproject:version:{_VERSION_ROWS[state]}"


def _read_database_version(state: str) -> int:
    try:
        row = (
            ConfigVersion.objects.filter(pk=_VERSION_ROWS[state])
            .values_list("version", flat=True)
            .first()
        )
    except DatabaseError as error:
        raise VersionUnavailable(str(error)) from error
    return int(row or 0)


def current_version(state: str) -> int:
    """The version of `state` now in force (cache first when it is shared, else the database)."""
    key = _cache_key(state)
    if _cache_is_shared():
        try:
            cached = cache.get(key)
        except Exception:  # any cache failure falls back to the database
            logger.warning("cache unreachable; reading the %s version from the database", state)
            cached = None
        if cached is not None:
            return int(cached)
    version = _read_database_version(state)
    try:
        cache.set(key, version, timeout=None)
    except Exception:
        logger.warning("cache unreachable; the %s version was not mirrored", state)
    return version


def bump_version(state: str) -> None:
    """Announce a change of `state` to every process, once the surrounding transaction commits."""
    if state not in _VERSION_ROWS:
        raise ValueError(f"unknown state {state!r}")
    transaction.on_commit(functools.partial(_bump_now, state))


def _bump_now(state: str) -> None:
    row = _VERSION_ROWS[state]
    with transaction.atomic():
        updated = ConfigVersion.objects.filter(pk=row).update(version=F("version") + 1)
        if not updated:
            ConfigVersion.objects.get_or_create(pk=row, defaults={"version": 1})
    version = _read_database_version(state)
    try:
        cache.set(_cache_key(state), version, timeout=None)
    except Exception:
        logger.warning("cache unreachable; other processes will read the version from the database")
    # This process's own write is seen by its next request (a rebuild here reads the new rows).
    for registered in list(_registry):
        if registered.watches == state:
            registered.invalidate()


def invalidate_all() -> None:
    """Forget every state this process built: the next `get()` of each rebuilds it."""
    for state in list(_registry):
        state.invalidate()


_registry: list[VersionedState[object]] = []


@dataclass
class _Build:
    """A build running in the background, and what came of it."""

    version: int
    checked_at: float  # when the version it builds was read: the build includes what came before
    generation: int
    done: threading.Event = field(default_factory=threading.Event)
    error: BaseException | None = None


class VersionedState(Generic[T]):
    """A value built from the database and kept in memory until its state's version moves.

    `get()` returns the built value; at most every check interval it asks which version of the
    watched state is current and rebuilds when it moved. Without a value (a new process, or
    after `invalidate()`) it builds before returning, and a failed build raises: the caller
    fails closed, and the next call tries again.

    With `background=True` a moved version is built on a thread of its own while `get()` keeps
    returning the previous value, within the staleness bound (`_staleness_bound`) after the last
    check that found that value current; past it, `get()` waits for the build under way (or
    builds itself when none is), and raises if the build failed.
    """

    def __init__(
        self, build: Callable[[int], T], *, name: str, watches: str, background: bool = False
    ) -> None:
        if watches not in _VERSION_ROWS:
            raise ValueError(f"unknown state {watches!r}")
        self._build = build
        self._name = name
        self.watches = watches
        self._background = background
        self._lock = threading.Lock()
        self._value: T | None = None
        self._version: int | None = None
        self._confirmed_at = 0.0  # the start of the last check that found the value current
        self._recheck_at = 0.0  # `get()` returns the value without a look before this
        self._generation = 0  # moves on every invalidate(): a build started before it is void
        self._pending: _Build | None = None
        _registry.append(self)  # type: ignore[arg-type]

    def get(self) -> T:
        value = self._value
        if value is not None and clock() < self._recheck_at:
            return value
        return self._refresh()

    def _refresh(self) -> T:
        with self._lock:
            now = clock()
            value = self._value
            if value is not None and now < self._recheck_at:
                return value
            version = current_version(self.watches)
            if value is None or (version != self._version and not self._background):
                return self._build_here(version, checked_at=now)
            if version == self._version:
                self._confirmed_at = now
                self._recheck_at = now + _check_interval()
                return value
            # One build at a time: a version that moves again while one runs is picked up by
            # the first check after it publishes (its bound then starts from that build's check).
            pending = self._pending
            deadline = self._confirmed_at + _staleness_bound()
            if now < deadline:
                if pending is None:
                    self._start_background_build(version, checked_at=now)
                # The previous value serves while the new one builds, but not past the bound.
                self._recheck_at = min(now + _check_interval(), deadline)
                return value
            if pending is None:
                # Past the bound with nothing building: this request builds it, here.
                return self._build_here(version, checked_at=now)
        # Past the bound while a build runs: this request waits for it, outside the lock (the
        # build publishes under it), then looks again.
        return self._wait_for(pending)

    def _build_here(self, version: int, *, checked_at: float) -> T:
        value = self._build(version)
        self._publish(value, version, checked_at)
        return value

    def _publish(self, value: T, version: int, checked_at: float) -> None:
        previous = self._version
        self._value = value
        self._version = version
        self._confirmed_at = checked_at
        self._recheck_at = checked_at + _check_interval()
        if previous != version:
            logger.info("%s rebuilt at version %s", self._name, version)

    def _start_background_build(self, version: int, *, checked_at: float) -> _Build:
        pending = _Build(version=version, checked_at=checked_at, generation=self._generation)
        self._pending = pending
        thread = threading.Thread(
            target=self._build_in_background,
            args=(pending,),
            name=f"rebuild {self._name}",
            daemon=True,
        )
        thread.start()
        return pending

    def _build_in_background(self, pending: _Build) -> None:
        try:
            value = self._build(pending.version)
        except BaseException as error:  # kept for the requests that wait; they fail closed
            logger.exception("%s could not be rebuilt at version %s", self._name, pending.version)
            pending.error = error
            with self._lock:
                if self._pending is pending:
                    self._pending = None  # the next check starts another build
        else:
            with self._lock:
                if self._pending is pending:
                    self._pending = None
                if pending.generation == self._generation:
                    self._publish(value, pending.version, pending.checked_at)
        finally:
            pending.done.set()
            # The thread's own database connections (Django's are per thread) end with it.
            connections.close_all()

    def _wait_for(self, pending: _Build) -> T:
        if not pending.done.wait(BUILD_WAIT_SECONDS):
            raise VersionUnavailable(f"{self._name} is still being rebuilt")
        if pending.error is not None:
            raise pending.error
        return self.get()

    def check_at_next_get(self) -> None:
        """Ask for the version at the next `get()`, keeping the value (the interval changed)."""
        with self._lock:
            self._recheck_at = 0.0

    def invalidate(self) -> None:
        """Forget the built value: the next `get()` rebuilds (used by this process's own writes)."""
        with self._lock:
            self._value = None
            self._version = None
            self._confirmed_at = 0.0
            self._recheck_at = 0.0
            self._generation += 1
            self._pending = None
