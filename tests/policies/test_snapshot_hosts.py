"""The snapshot's memory of hosts is bounded: Host headers are the client's to choose."""

from __future__ import annotations

import pytest

from policies import snapshot as snapshot_module
from policies.snapshot import HOSTS_REMEMBERED, get_snapshot
from tests.gatekit import allow_policy, make_application

pytestmark = pytest.mark.django_db


@pytest.fixture
def wildcard() -> None:
    allow_policy(make_application(domain="*.example.com"))


def test_made_up_hosts_under_a_wildcard_cannot_grow_the_snapshot(wildcard):
    snapshot = get_snapshot()

    for index in range(3 * HOSTS_REMEMBERED):
        host = f"random-{index}.example.com"
        assert [app.name for app in snapshot.applications_for_host(host)] == ["API"]

    assert len(snapshot._by_host) == HOSTS_REMEMBERED
    assert f"random-{3 * HOSTS_REMEMBERED - 1}.example.com" in snapshot._by_host  # the newest


def test_spellings_of_one_host_are_bounded_too(wildcard, monkeypatch):
    monkeypatch.setattr(snapshot_module, "HOSTS_REMEMBERED", 8)
    snapshot = get_snapshot()

    for port in range(1, 50):
        assert snapshot.covers_host(f"www.example.com:{port}")

    assert len(snapshot._by_host) == 8


def test_hosts_without_applications_are_not_remembered(wildcard):
    snapshot = get_snapshot()

    for index in range(100):
        assert snapshot.applications_for_host(f"random-{index}.example.org") == ()

    assert snapshot._by_host == {}
