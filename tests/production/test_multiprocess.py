"""Two gunicorn instances (two workers each) over one PostgreSQL database and one Redis: a change
made through one is enforced by the other from the next request after its commit.

The instances check the configuration versions on every request (`ACCESS_VERSION_CHECK_INTERVAL=0`
in the deployment), so what these tests assert does not depend on the clock: how soon a version
check comes with the default interval is measured by `make bench`, not asserted here.
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
from tests.production.servers import Answer, Instance, next_answers, read_json_line

pytestmark = pytest.mark.multiprocess


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


def test_a_policy_change_through_one_instance_is_enforced_by_the_other_at_the_next_request(
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

    assert next_answers(lambda: _status(instance_b, application["path"], alice["token"])) == (
        [403] * 8
    )


def test_a_logout_through_one_instance_is_enforced_by_the_other_at_the_next_request(
    deployment, instance_a, instance_b, application
):
    alice = deployment.action("mint", "alice@example.com", application["aud"])
    assert _status(instance_b, application["path"], alice["token"]) == 200

    logged_out = _get(instance_a, "/cdn-cgi/access/logout", alice["token"])
    assert logged_out.status == 200

    assert next_answers(lambda: _status(instance_b, application["path"], alice["token"])) == (
        [302] * 8
    )


def test_deactivating_a_user_through_another_process_is_enforced_at_the_next_request(
    deployment, instance_a, instance_b, application
):
    bob = deployment.action("mint-for-user", "bob", application["aud"])
    for instance in (instance_a, instance_b):
        assert _status(instance, application["path"], bob["token"]) == 200

    deployment.action("deactivate-user", "bob")

    for instance in (instance_a, instance_b):
        assert next_answers(lambda i=instance: _status(i, application["path"], bob["token"])) == (
            [302] * 8
        )


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


def test_a_key_rotation_is_picked_up_by_every_instance_at_the_next_request_without_a_failure(
    deployment, instance_a, instance_b, application
):
    before = deployment.action("mint", "alice@example.com", application["aud"])
    path = application["path"]

    with _Load([instance_a, instance_b], path, before["token"]) as load:
        _wait_for(lambda: load.total >= 10)
        rotation = deployment.start_action("rotate-and-mint", "bob@example.com", application["aud"])
        # Printed once the rotation committed in the other process.
        rotated = read_json_line(rotation)
        for instance in (instance_a, instance_b):
            assert next_answers(lambda i=instance: rotated["kid"] in _published_kids(i)) == (
                [True] * 8
            )
        signed_with_the_new_key = read_json_line(rotation)["token"]
        rotation.wait(timeout=60)
        for instance in (instance_a, instance_b):
            assert _status(instance, path, signed_with_the_new_key) == 200
        switched = load.total
        _wait_for(lambda: load.total >= switched + 10)

    assert load.statuses[200] >= 20
    assert dict(load.statuses) == {200: load.statuses[200]}
