"""Two gunicorn instances (two workers each) over one PostgreSQL database and one Redis: a change
made through one is enforced by the other within a second.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

from tests.production.actions import HOST
from tests.production.servers import Answer, Instance, read_json_line, settle

pytestmark = pytest.mark.multiprocess

# docs/architecture.md (The snapshot and versions): every process notices a change within a second.
PROPAGATION_BOUND = 1.0


def _get(instance: Instance, path: str, token: str | None) -> Answer:
    headers = {"Cookie": f"CF_Authorization={token}"} if token else {}
    return instance.request("GET", path, host=HOST, headers=headers)


def _status(instance: Instance, path: str, token: str | None) -> int:
    return _get(instance, path, token).status


def test_both_instances_let_a_valid_token_through_and_send_others_to_sign_in(
    deployment, instance_a, instance_b, application
):
    alice = deployment.action("mint", "alice@example.com", application["aud"])

    for instance in (instance_a, instance_b):
        allowed = _get(instance, application["path"], alice["token"])
        assert allowed.status == 200
        assert json.loads(allowed.body)["headers"]["Cf-Access-Authenticated-User-Email"] == (
            "alice@example.com"
        )
        assert _status(instance, application["path"], None) == 302


def test_a_policy_change_through_one_instance_is_enforced_by_the_other_within_a_second(
    deployment, instance_a, instance_b, application
):
    alice = deployment.action("mint", "alice@example.com", application["aud"])
    assert _status(instance_b, application["path"], alice["token"]) == 200

    changed = instance_a.request(
        "PATCH",
        f"/api/access/apps/{application['id']}/policies/{application['policy_id']}",
        host=HOST,
        headers={
            "Authorization": f"Bearer {deployment.seeded['api_token']}",
            "Content-Type": "application/json",
        },
        body=json.dumps({"include": [{"email_domain": {"domain": "example.org"}}]}).encode(),
    )
    assert changed.status == 200, changed.body

    began, statuses = settle(
        lambda: _status(instance_b, application["path"], alice["token"]),
        lambda status: status == 403,
        within=PROPAGATION_BOUND,
    )
    assert began <= PROPAGATION_BOUND, statuses
    assert set(statuses) <= {200, 403}


def test_a_logout_through_one_instance_is_enforced_by_the_other_within_a_second(
    deployment, instance_a, instance_b, application
):
    alice = deployment.action("mint", "alice@example.com", application["aud"])
    assert _status(instance_b, application["path"], alice["token"]) == 200

    logged_out = _get(instance_a, "/cdn-cgi/access/logout", alice["token"])
    assert logged_out.status == 200

    began, statuses = settle(
        lambda: _status(instance_b, application["path"], alice["token"]),
        lambda status: status == 302,
        within=PROPAGATION_BOUND,
    )
    assert began <= PROPAGATION_BOUND, statuses
    assert set(statuses) <= {200, 302}


def test_deactivating_a_user_through_another_process_is_enforced_within_a_second(
    deployment, instance_a, instance_b, application
):
    bob = deployment.action("mint-for-user", "bob", application["aud"])
    for instance in (instance_a, instance_b):
        assert _status(instance, application["path"], bob["token"]) == 200

    deployment.action("deactivate-user", "bob")

    began, statuses = settle(
        lambda: tuple(
            _status(instance, application["path"], bob["token"])
            for instance in (instance_a, instance_b)
        ),
        lambda both: both == (302, 302),
        within=PROPAGATION_BOUND,
    )
    assert began <= PROPAGATION_BOUND, statuses
    assert {status for both in statuses for status in both} <= {200, 302}


def _published_kids(instance: Instance) -> set[str]:
    """The key ids an instance's workers verify with, as `/cdn-cgi/access/certs` lists them."""
    answer = instance.request("GET", "/cdn-cgi/access/certs", host=HOST)
    assert answer.status == 200, answer
    return {key["kid"] for key in json.loads(answer.body)["keys"]}


def _wait_for(condition: Callable[[], bool], *, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


class _Load:
    """Requests in a loop on every instance until stopped, counting the answers."""

    def __init__(self, instances: list[Instance], path: str, token: str) -> None:
        self.statuses: Counter[Any] = Counter()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(instance, path, token), daemon=True)
            for instance in instances
        ]

    def _run(self, instance: Instance, path: str, token: str) -> None:
        while not self._stop.is_set():
            try:
                outcome: Any = _status(instance, path, token)
            except OSError as error:  # a refused or reset connection is a failed request too
                outcome = type(error).__name__
            with self._lock:
                self.statuses[outcome] += 1

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.statuses.values())

    def __enter__(self) -> _Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)


def test_a_key_rotation_is_picked_up_by_every_instance_within_a_second_without_a_failed_request(
    deployment, instance_a, instance_b, application
):
    before = deployment.action("mint", "alice@example.com", application["aud"])
    path = application["path"]

    with _Load([instance_a, instance_b], path, before["token"]) as load:
        _wait_for(lambda: load.total >= 10)
        rotation = deployment.start_action("rotate-and-mint", "bob@example.com", application["aud"])
        rotated = read_json_line(rotation)
        polling_from = time.time()
        began, seen = settle(
            lambda: all(
                rotated["kid"] in _published_kids(instance) for instance in (instance_a, instance_b)
            ),
            lambda known_everywhere: known_everywhere,
            within=PROPAGATION_BOUND,
        )
        # Measured from the moment the rotation committed in the other process.
        assert polling_from + began - rotated["rotated_at"] <= PROPAGATION_BOUND, seen
        signed_with_the_new_key = read_json_line(rotation)["token"]
        rotation.wait(timeout=60)
        for instance in (instance_a, instance_b):
            assert _status(instance, path, signed_with_the_new_key) == 200
        switched = load.total
        _wait_for(lambda: load.total >= switched + 10)

    assert load.statuses[200] >= 20
    assert dict(load.statuses) == {200: load.statuses[200]}
