"""The version watcher: a serving process checks the versions on a thread of its own, so its
request threads read only memory, and a change made elsewhere is still enforced within the bound.

Most tests drive the watcher's check by hand (`watcher.check_once()`) with the states' clock moved
by hand, so nothing waits; the last ones run its real thread. The cache is per-process (local
memory), where a version check on the request thread is an SQL query.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from common import versioning
from common.versioning import MAX_STALENESS, POLICIES, REVOCATIONS, watcher
from identity import sessions
from identity.cookies import CF_AUTHORIZATION
from identity.models import RevocationCutoff
from policies.models import Application, Policy
from policies.snapshot import get_snapshot
from tests.common.test_versioning import ManualClock
from tests.gatekit import (
    allow_policy,
    bump_version_elsewhere,
    committed,
    database_refuses,
    echo,
    make_application,
    token_for,
)

INTERVAL = 0.5
PER_PROCESS_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "LOCATION": "version-watcher-tests",
    }
}
GATED = "/demo/echo/api/x"


@pytest.fixture
def watched(settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[ManualClock]:
    """The watcher on, its checks made by the test (`check_once`), the clock moved by hand."""
    settings.ACCESS_VERSION_CHECK_INTERVAL = INTERVAL
    settings.CACHES = PER_PROCESS_CACHE
    fake = ManualClock()
    monkeypatch.setattr(versioning, "clock", fake)
    watcher.enable(thread=False)
    yield fake
    watcher.disable()


@pytest.fixture
def signed_in(client: Client) -> Client:
    """A client with a valid cookie for a protected path, its first request answered (every
    state built)."""
    application = make_application(domain="api.localhost/demo/echo/api")
    allow_policy(application)
    client.cookies[CF_AUTHORIZATION] = token_for(application)
    assert echo(client, GATED).status_code == 200
    return client


def _revoke_alice_elsewhere() -> None:
    """What a revocation written by another process leaves: the row, and the version moved."""
    RevocationCutoff.objects.create(
        email="alice@example.com", not_before=timezone.now() + timedelta(seconds=1)
    )
    bump_version_elsewhere(REVOCATIONS)


def _finish(builds: list[versioning._Build]) -> None:
    for build in builds:
        assert build.done.wait(10), "a rebuild never finished"
        assert build.error is None


@pytest.mark.django_db
def test_gated_requests_make_no_query_in_steady_state(watched, signed_in):
    for _ in range(4):
        assert watcher.check_once() == []  # nothing moved: every state confirmed
        watched.advance(INTERVAL + 0.1)  # the watcher's next turn is a little late
        with CaptureQueriesContext(connection) as queries:
            for _ in range(100):
                assert echo(signed_in, GATED).status_code == 200
        assert len(queries) == 0, [query["sql"] for query in queries]


@pytest.mark.django_db
def test_without_the_watcher_the_request_thread_checks_for_itself(watched, signed_in):
    watcher.disable()
    watched.advance(INTERVAL)

    with CaptureQueriesContext(connection) as queries:
        assert echo(signed_in, GATED).status_code == 200

    assert any("common_configversion" in query["sql"] for query in queries)


@pytest.mark.django_db
def test_a_check_reads_every_version_in_one_query(watched, signed_in, django_assert_num_queries):
    watched.advance(INTERVAL)

    with django_assert_num_queries(1):
        watcher.check_once()


@pytest.mark.django_db(transaction=True)
def test_a_revocation_made_elsewhere_is_enforced_after_the_watchers_check(watched, signed_in):
    snapshot = get_snapshot()
    _revoke_alice_elsewhere()
    watched.advance(INTERVAL)

    builds = watcher.check_once()
    _finish(builds)

    assert echo(signed_in, GATED).status_code == 302
    assert len(builds) == 1  # the revocations, and nothing else
    assert get_snapshot() is snapshot


@pytest.mark.django_db(transaction=True)
def test_a_policy_change_elsewhere_is_built_off_the_request_path_and_enforced(watched, signed_in):
    before = get_snapshot()
    later = Application.objects.create(name="later", domain="later.localhost")
    Policy.objects.create(
        application=later, name="all", decision="allow", precedence=1, include=[{"everyone": {}}]
    )
    bump_version_elsewhere(POLICIES)
    watched.advance(INTERVAL)

    builds = watcher.check_once()
    assert get_snapshot() is before  # the request thread does not wait for the build
    _finish(builds)

    assert [build.version for build in builds] == [versioning.current_version(POLICIES)]
    matched, _ = get_snapshot().match("later.localhost", "/")
    assert matched is not None
    assert matched.name == "later"


@pytest.mark.django_db
def test_a_watcher_that_stops_checking_does_not_stretch_the_bound(watched, signed_in):
    _revoke_alice_elsewhere()

    watched.advance(MAX_STALENESS)  # no check since the warm-up

    assert echo(signed_in, GATED).status_code == 302  # the request thread looked for itself


@pytest.mark.django_db
def test_a_failed_check_confirms_nothing_and_the_gate_fails_closed_past_the_bound(
    watched, signed_in
):
    watched.advance(INTERVAL)
    with database_refuses(), pytest.raises(versioning.VersionUnavailable):
        watcher.check_once()

    watched.advance(MAX_STALENESS - INTERVAL)
    with database_refuses():
        assert echo(signed_in, GATED).status_code == 503


@pytest.mark.django_db
def test_a_read_from_before_a_write_in_this_process_starts_no_rebuild(watched, signed_in):
    state = sessions._revocation_state
    generation = state._generation
    version = state._version
    assert version is not None
    with committed():
        RevocationCutoff.objects.create(email="alice@example.com", not_before=timezone.now())
        versioning.bump_version(REVOCATIONS)
    assert echo(signed_in, GATED).status_code == 302  # rebuilt here, with the write

    # What the watcher read before this process's write: it must not rebuild at that version.
    assert state._watched(version, versioning.clock(), generation) is None
    assert state._pending is None
    assert echo(signed_in, GATED).status_code == 302


@pytest.mark.django_db
def test_with_a_check_on_every_call_the_watcher_does_not_run(settings, signed_in):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 0
    watcher.enable()
    try:
        assert echo(signed_in, GATED).status_code == 200
        assert not watcher.running()
        assert not watcher.watching()
    finally:
        watcher.disable()


# --- the real thread -----------------------------------------------------------------------------


@pytest.fixture
def watching_thread(settings) -> Iterator[None]:
    settings.ACCESS_VERSION_CHECK_INTERVAL = 0.05
    settings.CACHES = PER_PROCESS_CACHE
    watcher.enable()
    yield
    watcher.disable()
    assert not watcher.running()


@pytest.mark.django_db(transaction=True)
def test_the_watchers_thread_starts_with_the_first_request_and_rebuilds_a_moved_state(
    watching_thread, signed_in
):
    assert watcher.running()
    assert watcher.wait_for_checks(watcher.checks + 1, 10)
    _revoke_alice_elsewhere()

    state = sessions._revocation_state
    for _ in range(100):  # each wait ends at a check of the watcher's (or after 1 s)
        value = state._value
        if value is not None and ("alice@example.com", "") in value.cutoffs:
            break
        watcher.wait_for_checks(watcher.checks + 1, 1)
    else:
        pytest.fail("the watcher never rebuilt the revocations")
    assert echo(signed_in, GATED).status_code == 302


@pytest.mark.django_db
def test_a_forked_child_starts_a_watcher_of_its_own(settings):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 1  # the threads wait; none checks in this test
    state = sessions._revocation_state
    watcher.enable()
    try:
        watcher.ensure_running()
        assert watcher.running()
        parent_thread = watcher._thread
        read, write = os.pipe()
        with state._lock:  # held by the parent while it forks
            child = os.fork()
        if child == 0:  # pragma: no cover - the child reports through the pipe
            code = 1
            try:
                report = [not watcher.running()]
                watcher.ensure_running()
                report += [watcher.running(), watcher._thread is not parent_thread]
                report.append(state._lock.acquire(timeout=1))  # not the parent's held lock
                os.write(write, bytes(int(ok) for ok in report))
                code = 0
            finally:
                os._exit(code)
        os.close(write)
        report = os.read(read, 16)
        os.close(read)
        _, status = os.waitpid(child, 0)
        assert os.WEXITSTATUS(status) == 0
        assert list(report) == [1, 1, 1, 1]
        assert watcher._thread is parent_thread
        assert watcher.running()
    finally:
        watcher.disable()


def test_watching_needs_the_thread_of_this_process(settings):
    settings.ACCESS_VERSION_CHECK_INTERVAL = INTERVAL
    watcher.enable()
    try:
        assert not watcher.watching()  # no request yet: nothing is watching for them
    finally:
        watcher.disable()
    watcher.enable(thread=False)
    try:
        assert watcher.watching()
    finally:
        watcher.disable()
    assert not watcher.watching()


@pytest.mark.django_db(transaction=True)
def test_states_built_before_the_watcher_is_on_start_it_at_their_next_get(settings, signed_in):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 60  # far longer than this test: no recheck is due
    settings.CACHES = PER_PROCESS_CACHE
    assert echo(signed_in, GATED).status_code == 200
    watcher.enable()
    try:
        assert not watcher.running()

        assert echo(signed_in, GATED).status_code == 200

        assert watcher.running()
    finally:
        watcher.disable()
