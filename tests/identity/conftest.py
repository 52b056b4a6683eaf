"""Fixtures for the identity tests."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest

from identity import tokens
from policies import versioning


@pytest.fixture(autouse=True)
def _fresh_identity_memory() -> Iterator[None]:
    """Forget in-memory keys, revocations, snapshots and verified signatures between tests.

    Each test's database is rolled back, but the states built from it live in the process; a
    stale one would let a test see another test's keys or revocations.
    """
    _reset()
    yield
    _reset()


def _reset() -> None:
    for state in list(versioning._registry):
        state.invalidate()
    tokens._signature_cache.clear()


class Clock:
    """A settable `timezone.now()`."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def advance(self, delta: timedelta) -> datetime:
        self.now += delta
        return self.now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> Iterator[Clock]:
    """Patch `django.utils.timezone.now` with a clock the test moves by hand."""
    fake = Clock(datetime(2030, 1, 1, 12, 0, tzinfo=UTC))
    with mock.patch("django.utils.timezone.now", fake):
        yield fake
