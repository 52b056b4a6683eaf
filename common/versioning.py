"""One version per in-memory state, and each state rebuilt when its own version moves.

Each process keeps three states compiled from the database in memory: the policy snapshot
(`POLICIES`: applications, policies, groups, service tokens, identity providers), the signing
keys (`SIGNING_KEYS`) and the revocations (`REVOCATIONS`: revoked sessions and cutoffs). Each has
its own version, and a write calls `bump_version(STATE)` once its transaction commits: only that
state is rebuilt, so a logout, a revocation or a key rotation never recompiles the policy
snapshot. Each process checks a state's version at most every `ACCESS_VERSION_CHECK_INTERVAL`
seconds (0.5 by default), so a change made by any process on any host is seen within a second
while a gated request, in steady state, makes no query at all.

A process that serves requests (`accessproject.wsgi`, `accessproject.asgi`) turns on the version
watcher (`watcher.enable()`): one daemon thread per process, started lazily by the first `get()`
in that process (so a forked worker starts its own), checks every state's version each interval
and, when one moved, rebuilds that state on a thread while the previous value serves. A request
thread then only reads memory: the check it would make is done for it. It checks for itself only
when the watcher has not confirmed its value within the staleness bound (the watcher is stuck,
or the database is slow), so a watcher that stops never stretches the bound. Other processes
(management commands, tests) check on the request thread, as before.

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
import os
import threading
import time
from collections.abc import Callable, Iterable
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


def check_interval() -> float:
    """How often, in seconds, a process asks whether a state's version moved."""
    return _check_interval()


@receiver(setting_changed)
def _forget_check_interval(*, setting: str, **kwargs: object) -> None:
    if setting == "ACCESS_VERSION_CHECK_INTERVAL":
        _check_interval.cache_clear()
        # Each state scheduled its next check with the old interval: without this, a longer
        # interval would only take effect after that check (a query, with a per-process cache).
        for state in list(_registry):
            state.check_at_next_get()
        watcher.wake()


def _staleness_bound() -> float:
    """How long after the last check that found a value current it may still serve.

    A change is noticed within one check interval; a background build gets as long again, and
    never more than MAX_STALENESS. With the default interval (0.5 s) a change is enforced within
    a second; with an interval of 0 (check on every call) at the first call after it.
    """
    return min(MAX_STALENESS, 2 * _check_interval())


def _horizon() -> float:
    """How long after a check that found a value current `get()` returns it without a look:
    the check interval, or, while the watcher checks for this process's request threads, the
    staleness bound (the watcher confirms the value every interval, well before that)."""
    return _staleness_bound() if watcher.watching() else _check_interval()


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


def current_versions(states: Iterable[str]) -> dict[str, int]:
    """The versions of `states` now in force, read together: one cache round trip when the
    cache is shared, else one database query. Raises `VersionUnavailable` as `current_version`."""
    wanted = sorted(set(states))
    keys = {_cache_key(state): state for state in wanted}
    versions: dict[str, int] = {}
    if _cache_is_shared():
        try:
            cached = cache.get_many(list(keys))
        except Exception:  # any cache failure falls back to the database
            logger.warning("cache unreachable; reading the versions from the database")
            cached = {}
        versions = {keys[key]: int(value) for key, value in cached.items() if value is not None}
    missing = [state for state in wanted if state not in versions]
    if not missing:
        return versions
    try:
        rows = dict(
            ConfigVersion.objects.filter(
                pk__in=[_VERSION_ROWS[state] for state in missing]
            ).values_list("pk", "version")
        )
    except DatabaseError as error:
        raise VersionUnavailable(str(error)) from error
    read = {state: int(rows.get(_VERSION_ROWS[state]) or 0) for state in missing}
    try:
        cache.set_many({_cache_key(state): version for state, version in read.items()}, None)
    except Exception:
        logger.warning("cache unreachable; the versions were not mirrored")
    return {**versions, **read}


class _PendingBump:
    """A change of one state, announced when the transaction commits. Later writes to the state
    in the same transaction join it, so a transaction moves each state it changed once."""

    def __init__(self, state: str) -> None:
        self.state = state
        self.ran = False

    def __call__(self) -> None:
        self.ran = True
        _bump_now(self.state)


def bump_version(state: str) -> None:
    """Announce a change of `state` to every process, once the surrounding transaction commits."""
    if state not in _VERSION_ROWS:
        raise ValueError(f"unknown state {state!r}")
    if not _bump_waits_for_commit(state):
        transaction.on_commit(_PendingBump(state))


def _bump_waits_for_commit(state: str) -> bool:
    """Whether a bump of `state` already waits for this transaction's commit. A savepoint rolled
    back drops the callbacks registered inside it, so a write after it registers its own; one
    registered outside a savepoint outlives the savepoint's rollback (a bump too many is harmless,
    one too few is not)."""
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return False
    return any(
        isinstance(callback, _PendingBump) and callback.state == state and not callback.ran
        for _savepoints, callback, _robust in connection.run_on_commit
    )


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
        watcher.ensure_running()
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
                self._recheck_at = now + _horizon()
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
        self._recheck_at = checked_at + _horizon()
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

    def _watched(self, version: int, checked_at: float, generation: int) -> _Build | None:
        """What the watcher found: `version` was current at `checked_at` (read while this state
        was at `generation`). Confirms the value, or starts building the new version on a
        thread of its own while the previous value serves; returns that build."""
        with self._lock:
            if self._value is None or generation != self._generation:
                return None  # nothing to confirm, or this process wrote since the read
            if version == self._version:
                if checked_at > self._confirmed_at:
                    self._confirmed_at = checked_at
                    self._recheck_at = max(self._recheck_at, checked_at + _horizon())
                return None
            if self._pending is not None:
                return None
            # The previous value serves until the bound after its last confirmation; past it a
            # request thread waits for this build (background states) or builds itself.
            return self._start_background_build(version, checked_at=checked_at)

    def _after_fork(self) -> None:
        # Only the forking thread lives on in a child: a build thread of the parent is gone,
        # and a lock it held would never be released.
        self._lock = threading.Lock()
        self._pending = None

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


class VersionWatcher:
    """Checks every built state's version each interval, on a daemon thread of its own.

    One per process (`watcher`). Off until `enable()`; then the first `get()` of any state in a
    process starts the thread, so a worker forked after `enable()` (gunicorn) starts its own and
    a process that forks while it runs leaves its child without one until that first `get()`.
    A failed check changes nothing: the states keep their last confirmation, and past the
    staleness bound their request threads check for themselves (and fail closed when they
    cannot). With an interval of 0 (check on every call) it does not run.
    """

    def __init__(self) -> None:
        self.enabled = False
        self._threaded = True
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._pid: int | None = None  # the process whose thread runs
        self._thread: threading.Thread | None = None
        self._failing = False
        self._checked = threading.Condition()
        self.checks = 0  # checks completed in this process

    def enable(self, *, thread: bool = True) -> None:
        """Let the watcher check for this process's request threads (`thread=False`: whoever
        calls `check_once()` does, as tests do to decide when a check happens)."""
        self.enabled = True
        self._threaded = thread
        for state in list(_registry):
            state.check_at_next_get()  # the next get() starts the thread, where it is needed

    def disable(self) -> None:
        """Stop watching: the request threads check for themselves again."""
        self.enabled = False
        self.wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(BUILD_WAIT_SECONDS)
        with self._lock:
            self._thread = None
            self._pid = None
        for state in list(_registry):
            state.check_at_next_get()  # their horizons assumed a watcher

    def watching(self) -> bool:
        """Whether this process's request threads may leave the version checks to the watcher."""
        if not self.enabled or _check_interval() <= 0:
            return False
        return not self._threaded or self._pid == os.getpid()

    def running(self) -> bool:
        thread = self._thread
        return thread is not None and thread.is_alive() and self._pid == os.getpid()

    def wake(self) -> None:
        """Check at once (the interval changed, or the watcher is being stopped)."""
        self._wake.set()

    def ensure_running(self) -> None:
        """Start this process's thread if the watcher is on and it is not running yet."""
        if not self.enabled or not self._threaded or self._pid == os.getpid():
            return
        with self._lock:
            if self._pid == os.getpid() or _check_interval() <= 0:
                return
            thread = threading.Thread(
                target=self._run, name="accessproject version watcher", daemon=True
            )
            self._pid = os.getpid()
            self._thread = thread
            thread.start()

    def check_once(self) -> list[_Build]:
        """Read the version of every state built in this process, in one round trip; confirm
        the states still current and start rebuilding the others. Returns the builds started.
        Raises `VersionUnavailable` when neither the cache nor the database answers."""
        states = [state for state in list(_registry) if state._value is not None]
        generations = [state._generation for state in states]
        checked_at = clock()
        versions = current_versions(state.watches for state in states) if states else {}
        started = []
        for state, generation in zip(states, generations, strict=True):
            build = state._watched(versions[state.watches], checked_at, generation)
            if build is not None:
                started.append(build)
        with self._checked:
            self.checks += 1
            self._checked.notify_all()
        return started

    def wait_for_checks(self, count: int, timeout: float) -> bool:
        """Wait until `count` checks have completed in this process (False after `timeout`)."""
        with self._checked:
            return self._checked.wait_for(lambda: self.checks >= count, timeout)

    def _run(self) -> None:
        me = threading.current_thread()
        try:
            while self.enabled and self._thread is me:
                interval = _check_interval()
                if interval <= 0:
                    break
                self._wake.wait(interval)
                self._wake.clear()
                if not self.enabled or self._thread is not me:
                    break
                self._check_logged()
        finally:
            with self._lock:
                if self._thread is me:
                    self._thread = None
                    self._pid = None
            connections.close_all()  # this thread's own database connection

    def _check_logged(self) -> None:
        try:
            self.check_once()
        except Exception:
            if not self._failing:
                logger.exception("the version watcher could not read the versions")
            self._failing = True
            connections.close_all()  # a broken connection is opened anew at the next check
        else:
            if self._failing:
                logger.info("the version watcher reads the versions again")
            self._failing = False

    def _after_fork(self) -> None:
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._checked = threading.Condition()
        self._thread = None
        self._pid = None
        self.checks = 0


watcher = VersionWatcher()


def _after_fork_in_child() -> None:
    watcher._after_fork()
    for state in _registry:
        state._after_fork()


os.register_at_fork(after_in_child=_after_fork_in_child)
