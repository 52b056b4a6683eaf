"""Versioned in-memory state: one version per state, rebuilt only when its own version moves, and
the policy snapshot rebuilt off the request path within the staleness bound.

Time is the module's injected clock, moved by hand; "another process" writes the version row
without touching this process's states, as a write on another host does.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable

import pytest
from django.db import transaction

from common import versioning
from common.versioning import (
    MAX_STALENESS,
    POLICIES,
    REVOCATIONS,
    SIGNING_KEYS,
    VersionedState,
)
from policies.models import Application, Policy
from policies.snapshot import get_snapshot
from tests.gatekit import ManualClock, bump_version_elsewhere

INTERVAL = 0.5


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, settings) -> ManualClock:
    settings.ACCESS_VERSION_CHECK_INTERVAL = INTERVAL
    fake = ManualClock(1000.0)
    monkeypatch.setattr(versioning, "clock", fake)
    return fake


@pytest.fixture
def states():
    """States made by a test, dropped from the registry afterwards."""
    made: list[VersionedState[object]] = []

    def make(build: Callable[[int], object], **options) -> VersionedState[object]:
        state: VersionedState[object] = VersionedState(build, name="test state", **options)
        made.append(state)
        return state

    yield make
    for state in made:
        versioning._registry.remove(state)


@pytest.fixture
def versions(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """The versions in force, as the cache would say them, without a database (builds run on
    threads of their own, which must not wait on the test's transaction)."""
    current = {POLICIES: 7, SIGNING_KEYS: 7, REVOCATIONS: 7}
    monkeypatch.setattr(versioning, "current_version", current.__getitem__)
    return current


class Builds:
    """A build function that records its calls; `block()` makes the next builds wait."""

    def __init__(self) -> None:
        self.versions: list[int] = []
        self.threads: list[threading.Thread] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.error: Exception | None = None

    def block(self) -> None:
        self.release.clear()

    def __call__(self, version: int) -> tuple[str, int]:
        self.versions.append(version)
        self.threads.append(threading.current_thread())
        self.started.set()
        assert self.release.wait(10), "the test never released the build"
        if self.error is not None:
            raise self.error
        return ("built", version)


pytestmark = pytest.mark.django_db


# --- one version per state ---------------------------------------------------------------------


def test_a_state_rebuilds_only_when_its_own_version_moves(clock, states):
    policies, revocations = Builds(), Builds()
    policy_state = states(policies, watches=POLICIES)
    revocation_state = states(revocations, watches=REVOCATIONS)
    policy_state.get()
    revocation_state.get()

    bump_version_elsewhere(REVOCATIONS)
    bump_version_elsewhere(SIGNING_KEYS)
    clock.advance(INTERVAL)

    assert revocation_state.get() == ("built", revocations.versions[-1])
    assert len(revocations.versions) == 2
    assert policy_state.get() == ("built", policies.versions[0])
    assert len(policies.versions) == 1


def test_a_bump_in_this_process_forgets_only_the_states_of_that_version(
    clock, states, django_capture_on_commit_callbacks
):
    keys, revocations = Builds(), Builds()
    key_state = states(keys, watches=SIGNING_KEYS)
    revocation_state = states(revocations, watches=REVOCATIONS)
    key_state.get()
    revocation_state.get()

    with django_capture_on_commit_callbacks(execute=True):
        versioning.bump_version(SIGNING_KEYS)

    # Seen at once here, without waiting for the check interval.
    key_state.get()
    revocation_state.get()
    assert len(keys.versions) == 2
    assert len(revocations.versions) == 1


def test_bump_version_refuses_a_state_it_does_not_know():
    with pytest.raises(ValueError, match="unknown state"):
        versioning.bump_version("everything")


def test_the_version_is_not_read_again_before_the_check_interval(
    clock, states, django_assert_num_queries
):
    builds = Builds()
    state = states(builds, watches=POLICIES)
    state.get()
    bump_version_elsewhere(POLICIES)

    clock.advance(INTERVAL * 0.9)
    with django_assert_num_queries(0):
        assert state.get() == ("built", builds.versions[0])


def test_a_longer_check_interval_takes_effect_from_the_next_get(
    clock, states, settings, django_assert_num_queries
):
    builds = Builds()
    state = states(builds, watches=POLICIES)
    state.get()  # the next check was scheduled with the short interval

    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    state.get()  # one look, and the next one an hour from now
    clock.advance(INTERVAL * 4)

    with django_assert_num_queries(0):
        assert state.get() == ("built", builds.versions[0])
    assert len(builds.versions) == 1


def test_a_shorter_check_interval_takes_effect_from_the_next_get(clock, states, settings):
    builds = Builds()
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    state = states(builds, watches=REVOCATIONS)
    state.get()
    bump_version_elsewhere(REVOCATIONS)

    settings.ACCESS_VERSION_CHECK_INTERVAL = INTERVAL

    assert state.get() == ("built", builds.versions[0] + 1)


def test_a_change_elsewhere_is_seen_at_the_first_get_after_the_interval(clock, states):
    builds = Builds()
    state = states(builds, watches=REVOCATIONS)
    first = state.get()
    bump_version_elsewhere(REVOCATIONS)

    clock.advance(INTERVAL)

    assert state.get() != first
    assert builds.versions == [first[1], first[1] + 1]


# --- the first build ---------------------------------------------------------------------------


def test_a_process_without_a_value_builds_before_it_serves(clock, states, versions):
    builds = Builds()
    state = states(builds, watches=POLICIES, background=True)

    assert state.get() == ("built", builds.versions[0])
    assert builds.threads == [threading.current_thread()]


def test_a_first_build_that_fails_fails_closed_and_is_tried_again(clock, states, versions):
    builds = Builds()
    builds.error = RuntimeError("database gone")
    state = states(builds, watches=POLICIES, background=True)

    with pytest.raises(RuntimeError, match="database gone"):
        state.get()
    builds.error = None
    assert state.get() == ("built", builds.versions[-1])
    assert len(builds.versions) == 2


# --- rebuilt off the request path --------------------------------------------------------------


def _moved_while_blocked(clock, states, versions) -> tuple[Builds, VersionedState[object], object]:
    builds = Builds()
    state = states(builds, watches=POLICIES, background=True)
    previous = state.get()
    builds.block()
    builds.started.clear()
    versions[POLICIES] += 1
    clock.advance(INTERVAL)
    return builds, state, previous


def test_the_previous_snapshot_serves_while_the_next_one_builds(clock, states, versions):
    builds, state, previous = _moved_while_blocked(clock, states, versions)

    assert state.get() == previous  # the change is noticed; this request does not wait
    assert builds.started.wait(10)
    assert builds.threads[-1] is not threading.current_thread()
    clock.advance(0.1)
    assert state.get() == previous  # still building, still within the bound
    assert len(builds.versions) == 2  # one build, not one per request

    builds.release.set()
    clock.advance(MAX_STALENESS)
    assert state.get() == ("built", previous[1] + 1)


def test_past_the_bound_a_request_waits_for_the_new_snapshot(clock, states, versions):
    builds, state, previous = _moved_while_blocked(clock, states, versions)
    assert state.get() == previous
    assert builds.started.wait(10)

    # The last check that found `previous` current was INTERVAL ago: at MAX_STALENESS after
    # it, the change may be a second old, and no decision may be made on `previous` any more.
    clock.advance(MAX_STALENESS - INTERVAL)
    answers: list[object] = []
    waiting = threading.Thread(target=lambda: answers.append(state.get()))
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive(), "a request past the bound was answered from the old snapshot"
    assert answers == []

    builds.release.set()
    waiting.join(10)
    assert answers == [("built", previous[1] + 1)]


def test_a_background_build_that_fails_fails_closed_past_the_bound(clock, states, versions):
    builds, state, previous = _moved_while_blocked(clock, states, versions)
    builds.error = RuntimeError("bad row")
    assert state.get() == previous
    builds.release.set()

    clock.advance(MAX_STALENESS)
    with pytest.raises(RuntimeError, match="bad row"):
        state.get()


def test_a_build_started_before_an_invalidate_is_not_published(clock, states, versions):
    builds, state, previous = _moved_while_blocked(clock, states, versions)
    assert state.get() == previous
    assert builds.started.wait(10)

    state.invalidate()  # this process wrote: what the running build read may be older
    builds.release.set()

    assert state.get() == ("built", previous[1] + 1)
    assert builds.threads[-1] is threading.current_thread()  # rebuilt here, not published


# --- the real snapshot -------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_policy_change_elsewhere_is_enforced_within_the_bound(clock):
    before = get_snapshot()
    application = Application.objects.create(name="late", domain="late.example.com")
    Policy.objects.create(
        application=application,
        name="staff",
        decision="allow",
        precedence=1,
        include=[{"everyone": {}}],
    )
    bump_version_elsewhere(POLICIES)

    clock.advance(INTERVAL)
    served = get_snapshot()
    assert served is before  # the previous snapshot serves while the new one builds
    assert served.match("late.example.com", "/")[0] is None

    clock.advance(MAX_STALENESS)
    enforced = get_snapshot()
    matched, _ = enforced.match("late.example.com", "/")
    assert matched is not None
    assert matched.name == "late"


def test_with_a_check_on_every_call_a_change_is_built_at_the_first_call(
    clock, states, versions, settings
):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 0
    builds = Builds()
    state = states(builds, watches=POLICIES, background=True)
    state.get()
    versions[POLICIES] += 1

    assert state.get() == ("built", versions[POLICIES])
    assert builds.threads == [threading.current_thread()] * 2


def test_the_bound_is_never_more_than_a_second(clock, states, versions, settings):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 0.9
    builds = Builds()
    state = states(builds, watches=POLICIES, background=True)
    previous = state.get()
    builds.block()
    versions[POLICIES] += 1

    clock.advance(0.9)
    assert state.get() == previous  # noticed at the check; the build runs elsewhere
    assert builds.started.wait(10)
    clock.advance(MAX_STALENESS - 0.9)
    answers: list[object] = []
    waiting = threading.Thread(target=lambda: answers.append(state.get()))
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive(), "served past a second after the last check"

    builds.release.set()
    waiting.join(10)
    assert answers == [("built", versions[POLICIES])]


def _database_versions() -> dict[str, int]:
    return {
        state: versioning._read_database_version(state)
        for state in (POLICIES, SIGNING_KEYS, REVOCATIONS)
    }


def _moved(before: dict[str, int], moves: dict[str, int]) -> dict[str, int]:
    return {state: version + moves.get(state, 0) for state, version in before.items()}


def _bump_and_roll_back(state: str) -> None:
    """A savepoint that bumps `state`, then fails and is rolled back."""
    with contextlib.suppress(RuntimeError), transaction.atomic():
        versioning.bump_version(state)
        raise RuntimeError("rolled back")


@pytest.mark.django_db
def test_a_transaction_moves_each_state_it_changed_once_when_it_commits(
    django_capture_on_commit_callbacks,
):
    before = _database_versions()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with transaction.atomic():
            for _ in range(3):
                versioning.bump_version(POLICIES)
            versioning.bump_version(REVOCATIONS)
            versioning.bump_version(POLICIES)
        assert _database_versions() == before

    assert len(callbacks) == 2
    assert _database_versions() == _moved(before, {POLICIES: 1, REVOCATIONS: 1})


@pytest.mark.django_db
def test_a_bump_after_a_rolled_back_savepoint_is_announced(django_capture_on_commit_callbacks):
    before = _database_versions()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _bump_and_roll_back(POLICIES)
        versioning.bump_version(POLICIES)

    assert len(callbacks) == 1
    assert _database_versions() == _moved(before, {POLICIES: 1})


@pytest.mark.django_db
def test_a_bump_before_a_savepoint_outlives_its_rollback(django_capture_on_commit_callbacks):
    before = _database_versions()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        versioning.bump_version(SIGNING_KEYS)
        _bump_and_roll_back(SIGNING_KEYS)

    assert len(callbacks) == 1
    assert _database_versions() == _moved(before, {SIGNING_KEYS: 1})


@pytest.mark.django_db
def test_a_bump_that_already_ran_does_not_absorb_the_next(django_capture_on_commit_callbacks):
    before = _database_versions()
    for _ in range(2):
        with django_capture_on_commit_callbacks(execute=True):
            versioning.bump_version(REVOCATIONS)

    assert _database_versions() == _moved(before, {REVOCATIONS: 2})


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_moves_nothing():
    before = _database_versions()
    _bump_and_roll_back(POLICIES)

    assert _database_versions() == before


@pytest.mark.django_db(transaction=True)
def test_outside_a_transaction_each_bump_moves_the_version_at_once():
    before = _database_versions()
    versioning.bump_version(POLICIES)
    assert _database_versions() == _moved(before, {POLICIES: 1})
    versioning.bump_version(POLICIES)
    assert _database_versions() == _moved(before, {POLICIES: 2})
