"""Remembered decisions: a request decided before is answered from memory, and every state
change (revocation, logout, key rotation, a policy change, cutoffs, the clock) is still enforced
at the next request.

Each test makes one request that is remembered, checks that the same request is then answered
from memory (`memo.hits`), changes one thing, and expects the next request refused.
"""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from identity import keys, sessions
from identity.cookies import CF_AUTHORIZATION, CF_BINDING
from identity.decisions import memo
from identity.gate import binding_digest
from policies import services
from policies.models import Policy
from tests.gatekit import (
    allow_policy,
    committed,
    echo,
    live_sign_in,
    make_application,
    token_for,
)

pytestmark = pytest.mark.django_db

PROTECTED = "/demo/echo/api/x"
OTHER_PATH = "/demo/echo/api/y/z"


@pytest.fixture
def application():
    return make_application(domain="api.localhost/demo/echo/api")


@pytest.fixture
def policy(application) -> Policy:
    return allow_policy(application)


def _remembered(client: Client, path: str = PROTECTED, **extra) -> None:
    """A request allowed, then the same one answered from memory."""
    assert echo(client, path, **extra).status_code == 200
    hits = memo.hits
    assert echo(client, path, **extra).status_code == 200
    assert memo.hits == hits + 1, "the second request was decided again"


def _signed_in(client: Client, application, **token_options) -> str:
    token = token_for(application, **token_options)
    client.cookies[CF_AUTHORIZATION] = token
    return token


def test_the_same_request_is_decided_once_and_answered_the_same(client, application, policy):
    token = _signed_in(client, application)
    first = echo(client, PROTECTED)
    again = echo(client, PROTECTED)

    assert first.status_code == again.status_code == 200
    assert again.json()["headers"]["Cf-Access-Jwt-Assertion"] == token
    assert again.json()["access"] == first.json()["access"]
    assert memo.hits == 1
    assert memo.misses == 1


def test_other_paths_of_the_application_share_the_decision(client, application, policy):
    _signed_in(client, application)
    assert echo(client, PROTECTED).status_code == 200

    assert echo(client, OTHER_PATH).status_code == 200
    assert memo.hits == 1
    assert len(memo) == 1


def test_a_logout_is_enforced_at_the_next_request(client, application, policy):
    live_sign_in()
    _signed_in(client, application)
    _remembered(client)

    with committed():
        assert sessions.sessions_revoke_for_nonce("nonce-alice@example.com") == 1

    assert echo(client, PROTECTED).status_code == 302


def test_a_cutoff_for_the_person_is_enforced_at_the_next_request(client, application, policy):
    _signed_in(client, application, issued_ago=timedelta(minutes=1))
    _remembered(client)

    with committed():
        sessions.revoke_tokens_issued_before(email="alice@example.com")

    assert echo(client, PROTECTED).status_code == 302


def test_a_cutoff_for_the_application_is_enforced_at_the_next_request(client, application, policy):
    _signed_in(client, application, issued_ago=timedelta(minutes=1))
    _remembered(client)

    with committed():
        sessions.revoke_tokens_issued_before(application=application)

    assert echo(client, PROTECTED).status_code == 302


def test_a_deactivated_user_is_refused_at_the_next_request(client, application, policy):
    user = get_user_model().objects.create_user("alice", "alice@example.com", "pw")
    live_sign_in(user=user)
    _signed_in(client, application)
    _remembered(client)

    with committed():
        user.is_active = False
        user.save()

    assert echo(client, PROTECTED).status_code == 302


def test_a_policy_change_is_enforced_at_the_next_request(client, application, policy):
    _signed_in(client, application)
    _remembered(client)

    with committed():
        services.policy_update(policy=policy, include=[{"email": {"email": "bob@example.com"}}])

    assert echo(client, PROTECTED).status_code == 403


def test_a_deleted_policy_is_enforced_at_the_next_request(client, application, policy):
    _signed_in(client, application)
    _remembered(client)

    with committed():
        services.policy_delete(policy=policy)

    assert echo(client, PROTECTED).status_code == 403


def test_retiring_the_signing_key_is_enforced_at_the_next_request(client, application, policy):
    _signed_in(client, application)
    _remembered(client)

    with committed():
        keys.rotate_keys(reason="test")
        keys.retire_previous_keys(reason="leaked")

    assert echo(client, PROTECTED).status_code == 302


def test_a_key_rotation_forgets_every_decision(client, application, policy):
    _signed_in(client, application)
    _remembered(client)

    with committed():
        keys.rotate_keys(reason="test")

    assert echo(client, PROTECTED).status_code == 200  # the previous key still verifies
    assert memo.misses == 2  # decided again, with the new keys


def test_an_expired_token_is_refused_though_its_decision_was_remembered(
    client, application, policy
):
    _signed_in(client, application, lifetime=timedelta(minutes=5))
    _remembered(client)

    later = timezone.now() + timedelta(minutes=6)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert echo(client, PROTECTED).status_code == 302


def test_a_key_that_stops_verifying_ends_the_decisions_it_allowed(client, application, policy):
    _signed_in(client, application, lifetime=timedelta(days=30))
    with committed():
        keys.rotate_keys(reason="test")  # the key that signed the token verifies for 7 more days
    _remembered(client)

    later = timezone.now() + timedelta(days=8)
    with mock.patch("django.utils.timezone.now", return_value=later):
        assert echo(client, PROTECTED).status_code == 302


def test_the_network_is_part_of_what_is_remembered(client, application):
    allow_policy(application, require=[{"ip": {"ip": "10.0.0.0/8"}}])
    _signed_in(client, application)
    _remembered(client, REMOTE_ADDR="10.1.2.3")

    assert echo(client, PROTECTED, REMOTE_ADDR="192.0.2.7").status_code == 403
    assert echo(client, PROTECTED, REMOTE_ADDR="10.1.2.3").status_code == 200


def test_the_binding_cookie_is_part_of_what_is_remembered(client):
    application = make_application(domain="api.localhost/demo/echo/api", enable_binding_cookie=True)
    allow_policy(application)
    client.cookies[CF_AUTHORIZATION] = token_for(
        application, extra={"binding": binding_digest("b1")}
    )
    client.cookies[CF_BINDING] = "b1"
    _remembered(client)

    client.cookies[CF_BINDING] = "b2"
    assert echo(client, PROTECTED).status_code == 302


def test_a_denied_person_is_remembered_as_denied(client, application):
    allow_policy(application, include=[{"email": {"email": "bob@example.com"}}])
    _signed_in(client, application)

    assert echo(client, PROTECTED).status_code == 403
    assert echo(client, PROTECTED).status_code == 403
    assert memo.hits == 1


def test_tokens_that_do_not_verify_are_never_remembered(client, application, policy):
    _signed_in(client, application)
    assert echo(client, PROTECTED).status_code == 200
    for index in range(20):
        client.cookies[CF_AUTHORIZATION] = f"eyJhbGciOiJSUzI1NiJ9.e30.forged{index}"
        assert echo(client, PROTECTED).status_code == 302

    assert len(memo) == 1


def test_what_is_remembered_is_bounded(client, application, policy, monkeypatch):
    monkeypatch.setattr(memo, "size", 3)
    for index in range(8):
        _signed_in(client, application, email="alice@example.com", extra={"n": index})
        assert echo(client, PROTECTED).status_code == 200

    assert len(memo) == 3


def test_a_changed_setting_forgets_every_decision(client, application, policy, settings):
    _signed_in(client, application)
    _remembered(client)

    settings.ACCESS_TEAM_DOMAIN = "elsewhere.example.com"  # another login host: another issuer

    assert len(memo) == 0
    assert echo(client, PROTECTED).status_code == 302


def test_the_scheme_is_part_of_what_is_remembered(client, application, policy):
    client.cookies[CF_AUTHORIZATION] = token_for(application, scheme="https")
    _remembered(client, secure=True)

    assert echo(client, PROTECTED).status_code == 302  # over plain HTTP: the wrong issuer
