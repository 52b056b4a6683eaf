"""Fixtures shared by the whole suite."""

from collections.abc import Generator, Iterator
from typing import Any

import pytest
from django.core.cache import cache

from common.versioning import invalidate_all
from identity import activity, tokens
from identity.decisions import memo
from tests import required, viewspy

# Chromium for every folder with browser tests (one Playwright driver per process).
pytest_plugins = ["tests.browser.chromium"]


@pytest.fixture(autouse=True)
def _clear_cache() -> Iterator[None]:
    """Every test starts with an empty cache (Redis in CI is shared across runs)."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _fresh_memory() -> Iterator[None]:
    """Forget in-memory snapshots, keys, revocations and verified signatures between tests.

    Each test's database is rolled back, but what was built from it lives in the process; a
    stale state would let one test see another's applications, keys or revocations.
    """
    invalidate_all()
    tokens._signature_cache.clear()
    activity.counters.forget()
    memo.forget()
    yield
    invalidate_all()
    tokens._signature_cache.clear()
    activity.counters.forget()
    memo.forget()


@pytest.fixture(autouse=True)
def _no_activity_flusher(settings: Any) -> None:
    """Activity counts are written when a test says so (`flush_activity`), never by a thread
    racing the test's database."""
    settings.ACCESS_ACTIVITY_FLUSH_SECONDS = 0


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings: Any) -> None:
    """Admin and password tests log in often; a slow hasher proves nothing more here."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def views_reached(settings: Any) -> Iterator[list[str]]:
    """The paths of the requests that reached a view (`tests.viewspy`), in order."""
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, "tests.viewspy.ViewSpyMiddleware"]
    viewspy.reached.clear()
    yield viewspy.reached
    viewspy.reached.clear()


@pytest.fixture
def on_login_host(settings: Any) -> None:
    """Serve the test client's host (`testserver`) as the login host.

    The admin and the REST API are reachable through any host only while no application protects
    their paths anywhere; with whole-host applications configured (the factories' default), they
    stay reachable on the login host alone.
    """
    settings.ACCESS_TEAM_DOMAIN = "testserver"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A required test that skipped has failed (`tests.required`)."""
    report = yield
    required.fail_required_skip(item, report)
    return report
