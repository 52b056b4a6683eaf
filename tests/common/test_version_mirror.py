"""The versions' mirror in a shared cache: a bump writes the new version there, a check reads it
there first and the database only for what the cache lacks, and a cache that cannot be reached
falls back to the database and says so.

The shared cache is Django's file-based cache in the test's own folder: like Redis, and unlike
the local-memory cache the rest of the suite uses, it is not private to the process, so the
versions module mirrors into it (`common.versioning._cache_is_shared`).
"""

from __future__ import annotations

import logging

import pytest
from django.core.cache import BaseCache, caches
from django.db import DatabaseError

from common import versioning
from common.models import ConfigVersion
from common.versioning import (
    POLICIES,
    REVOCATIONS,
    SIGNING_KEYS,
    VersionUnavailable,
    bump_version,
    current_versions,
)
from tests.gatekit import UNREACHABLE_CACHE, committed

pytestmark = pytest.mark.django_db


def _key(state: str) -> str:
    return versioning._cache_key(state)


def _stored(state: str, version: int) -> None:
    ConfigVersion.objects.update_or_create(
        pk=versioning._VERSION_ROWS[state], defaults={"version": version}
    )


@pytest.fixture
def shared_cache(settings, tmp_path) -> BaseCache:
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(tmp_path / "cache"),
        }
    }
    return caches["default"]


def test_a_bump_mirrors_the_new_version_in_the_shared_cache(shared_cache):
    _stored(POLICIES, 6)
    with committed():
        bump_version(POLICIES)
    assert ConfigVersion.objects.get(pk=versioning._VERSION_ROWS[POLICIES]).version == 7
    assert shared_cache.get(_key(POLICIES)) == 7


def test_versions_the_shared_cache_holds_are_read_there_alone(
    shared_cache, django_assert_num_queries
):
    _stored(POLICIES, 1)
    shared_cache.set(_key(POLICIES), 41, timeout=None)
    shared_cache.set(_key(SIGNING_KEYS), 7, timeout=None)
    with django_assert_num_queries(0):
        assert current_versions([POLICIES, SIGNING_KEYS]) == {POLICIES: 41, SIGNING_KEYS: 7}


def test_a_version_the_cache_lacks_is_read_from_the_database_and_mirrored(shared_cache):
    shared_cache.set(_key(POLICIES), 41, timeout=None)
    _stored(REVOCATIONS, 5)
    assert current_versions([POLICIES, REVOCATIONS]) == {POLICIES: 41, REVOCATIONS: 5}
    assert shared_cache.get(_key(REVOCATIONS)) == 5


def test_an_unreachable_cache_falls_back_to_the_database_and_says_so(settings, caplog):
    settings.CACHES = UNREACHABLE_CACHE
    _stored(REVOCATIONS, 5)
    with caplog.at_level(logging.WARNING, logger="accessproject.snapshot"):
        assert current_versions([REVOCATIONS]) == {REVOCATIONS: 5}
        with committed():
            bump_version(REVOCATIONS)
    assert ConfigVersion.objects.get(pk=versioning._VERSION_ROWS[REVOCATIONS]).version == 6
    assert [record.getMessage() for record in caplog.records] == [
        "cache unreachable; reading the versions from the database",
        "cache unreachable; the versions were not mirrored",
        "cache unreachable; other processes will read the version from the database",
    ]


def test_a_database_that_cannot_answer_is_reported_with_its_own_words(monkeypatch):
    def refuse(*args, **kwargs):
        raise DatabaseError("the server closed the connection")

    monkeypatch.setattr(ConfigVersion.objects, "filter", refuse)
    with pytest.raises(VersionUnavailable) as refused:
        current_versions([POLICIES])
    assert str(refused.value) == "the server closed the connection"
