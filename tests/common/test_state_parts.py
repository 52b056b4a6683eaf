"""Each kind of change rebuilds its own in-memory state and nothing else.

The three states (the policy snapshot, the signing keys, the revocations) are built objects; a
state that was not rebuilt is the very same object after the change. A logout, a revocation, a
deactivated account or a key rotation must leave the policy snapshot alone: at 10,000
applications it is the one that costs a noticeable fraction of a second to build.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.contrib.auth import get_user_model

from identity import keys, sessions
from policies import services
from policies.models import Application
from policies.snapshot import get_snapshot
from tests.gatekit import allow_policy, committed, live_sign_in, make_application

pytestmark = pytest.mark.django_db

POLICIES, KEYS, REVOCATIONS = "policies", "signing keys", "revocations"


def _states() -> dict[str, object]:
    return {
        POLICIES: get_snapshot(),
        KEYS: keys.active_keyset(),
        REVOCATIONS: sessions.revocation_state(),
    }


@pytest.fixture
def application() -> Application:
    application = make_application(domain="app.example.com")
    allow_policy(application)
    user = get_user_model().objects.create_user("ada", "ada@example.com", "pw")
    live_sign_in("ada@example.com", user=user)
    with committed():
        keys.signing_key()
    return application


def _log_out(application: Application) -> None:
    sessions.sessions_revoke_for_nonce("nonce-ada@example.com")


def _cut_off(application: Application) -> None:
    sessions.revoke_tokens_issued_before(email="ada@example.com")


def _cut_off_the_application(application: Application) -> None:
    sessions.revoke_tokens_issued_before(application=application)


def _deactivate(application: Application) -> None:
    user = get_user_model().objects.get(username="ada")
    user.is_active = False
    user.save()


def _rotate(application: Application) -> None:
    keys.rotate_keys(reason="test")


def _retire(application: Application) -> None:
    keys.rotate_keys(reason="test")
    keys.retire_previous_keys(reason="test")


def _new_policy(application: Application) -> None:
    allow_policy(application, name="more", precedence=2)


def _rename(application: Application) -> None:
    services.application_update(application=application, name="renamed")


def _new_service_token(application: Application) -> None:
    services.service_token_create(name="ci")


def _new_group(application: Application) -> None:
    services.group_create(name="staff", include=[{"email_domain": {"domain": "example.com"}}])


CHANGES: list[tuple[Callable[[Application], None], str]] = [
    (_log_out, REVOCATIONS),
    (_cut_off, REVOCATIONS),
    (_cut_off_the_application, REVOCATIONS),
    (_deactivate, REVOCATIONS),
    (_rotate, KEYS),
    (_retire, KEYS),
    (_new_policy, POLICIES),
    (_rename, POLICIES),
    (_new_service_token, POLICIES),
    (_new_group, POLICIES),
]


@pytest.mark.parametrize(("change", "rebuilt"), CHANGES, ids=[c.__name__[1:] for c, _ in CHANGES])
def test_a_change_rebuilds_its_own_state_and_nothing_else(application, change, rebuilt):
    before = _states()

    with committed():
        change(application)
    after = _states()

    assert {name for name in before if after[name] is not before[name]} == {rebuilt}
