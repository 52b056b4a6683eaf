"""One configuration version for every process, and state rebuilt in memory when it changes.

Every write that changes what the gate decides (applications, policies, groups, service tokens,
identity providers, revocations, signing keys) calls `bump_version()` once its transaction
commits. Each process keeps compiled state in memory and checks the version at most every
`ACCESS_VERSION_CHECK_INTERVAL` seconds (0.5 by default), so a change made by any process on any
host is seen within a second while a gated request, in steady state, makes no query at all.

The version lives in the database (the source of truth) and is mirrored in the cache. A shared
cache (Redis) answers the check cheaply; a per-process cache (local memory) cannot see other
processes' writes, so then the check reads the database row. If the cache fails, the check falls
back to the database; if both fail, the caller gets `VersionUnavailable` and fails closed.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

from django.conf import settings
from django.core.cache import cache, caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import DatabaseError, transaction
from django.db.models import F
from django.dispatch import receiver
from django.test.signals import setting_changed

logger = logging.getLogger("accessproject.snapshot")

VERSION_CACHE_KEY = "accessproject:config-version"
DEFAULT_CHECK_INTERVAL = 0.5

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


def _cache_is_shared() -> bool:
    # A local-memory cache is private to its process: it cannot carry another process's writes.
    return not isinstance(caches["default"], LocMemCache)


def _read_database_version() -> int:
    from policies.models import ConfigVersion

    try:
        row = ConfigVersion.objects.filter(pk=1).values_list("version", flat=True).first()
    except DatabaseError as error:
        raise VersionUnavailable(str(error)) from error
    return int(row or 0)


def current_version() -> int:
    """The configuration version now in force (cache first when it is shared, else the database)."""
    if _cache_is_shared():
        try:
            cached = cache.get(VERSION_CACHE_KEY)
        except Exception:  # any cache failure falls back to the database
            logger.warning("cache unreachable; reading the configuration version from the database")
            cached = None
        if cached is not None:
            return int(cached)
    version = _read_database_version()
    try:
        cache.set(VERSION_CACHE_KEY, version, timeout=None)
    except Exception:
        logger.warning("cache unreachable; the configuration version was not mirrored")
    return version


def bump_version() -> None:
    """Announce a change to every process, once the surrounding transaction commits."""
    transaction.on_commit(_bump_now)


def _bump_now() -> None:
    from policies.models import ConfigVersion

    with transaction.atomic():
        updated = ConfigVersion.objects.filter(pk=1).update(version=F("version") + 1)
        if not updated:
            ConfigVersion.objects.get_or_create(pk=1, defaults={"version": 1})
    version = _read_database_version()
    try:
        cache.set(VERSION_CACHE_KEY, version, timeout=None)
    except Exception:
        logger.warning("cache unreachable; other processes will read the version from the database")
    invalidate_all()


def invalidate_all() -> None:
    """Forget every state this process built: the next `get()` of each rebuilds it."""
    for state in list(_registry):
        state.invalidate()


_registry: list[VersionedState[object]] = []


class VersionedState(Generic[T]):
    """A value built from the database and kept in memory until the configuration version changes.

    `get()` returns the built value; at most every check interval it asks which version is
    current and rebuilds when it moved. A failed rebuild raises (the caller fails closed) and is
    retried on the next call.
    """

    def __init__(self, build: Callable[[int], T], *, name: str) -> None:
        self._build = build
        self._name = name
        self._lock = threading.Lock()
        self._value: T | None = None
        self._version: int | None = None
        self._checked_at = 0.0
        _registry.append(self)  # type: ignore[arg-type]

    def get(self) -> T:
        now = time.monotonic()
        value = self._value
        if value is not None and now - self._checked_at < _check_interval():
            return value
        with self._lock:
            if self._value is not None and now - self._checked_at < _check_interval():
                return self._value
            version = current_version()
            if self._value is None or version != self._version:
                self._value = self._build(version)
                self._version = version
                logger.info("%s rebuilt at configuration version %s", self._name, version)
            self._checked_at = time.monotonic()
            return self._value

    def invalidate(self) -> None:
        """Forget the built value: the next `get()` rebuilds (used by this process's own writes)."""
        with self._lock:
            self._value = None
            self._version = None
            self._checked_at = 0.0
