"""Fixtures for the identity tests."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest


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


@pytest.fixture
def task_queue(settings):
    """Tasks enqueued are kept, never run (Django's dummy backend): `task_queue.results`."""
    from identity.flows.pin import issue_pin

    settings.TASKS = {
        "default": {"BACKEND": f"{settings.TASKS_PACKAGE}.backends.dummy.DummyBackend"}
    }
    return issue_pin.get_backend()
