"""Every write that changes what the gate enforces reaches every other process, on commit.

A process keeps what it decides with in memory (the policy snapshot, the signing keys, the
revocations) and rebuilds a state only when the version it checks moves. A write that changes
the rows without moving that version is seen by the process that wrote it (it forgets its own
memory) and by no other. So each case here is proven from *another process*: a copy of each
in-memory state made before the write, which the writer's own forgetting cannot reach and which
checks the version on every call (`ACCESS_VERSION_CHECK_INTERVAL = 0`). The real middleware is
then asked, with those copies in place of the writer's states:

1. before the transaction commits, the other process still enforces the old configuration and
   the named state has not been rebuilt (the change is announced by the commit, not before);
2. once the commit callbacks the write registered have run, the named state is rebuilt from the
   database and the gate enforces the change.

Each case names the state that must move, so the test holds when each state gets a version of
its own. `test_every_write_service_has_a_case` makes a new service without a case fail.
"""

from __future__ import annotations

import copy
import importlib
import inspect
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from unittest import mock

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from identity import keys, sessions
from identity.admin import RevocationCutoffAdmin, SecondFactorAdmin
from identity.cookies import CF_AUTHORIZATION
from identity.factors.services import factors_reset, totp_begin
from identity.models import AccessSession, RevocationCutoff, SecondFactor
from policies import services
from policies.models import Application, ServiceToken
from policies.snapshot import get_snapshot
from tests.gatekit import (
    API_HOST,
    allow_policy,
    committed,
    make_application,
    service_token,
    token_for,
)

pytestmark = pytest.mark.django_db

PATH = "/demo/echo/api/x"
DOMAIN = f"{API_HOST}/demo/echo/api"

# The in-memory states, by name, as (module, attribute). When a state is added or renamed, this
# is the one place to change.
STATES = {
    "policies": ("policies.snapshot", "_state"),
    "keys": ("identity.keys", "_key_state"),
    "revocations": ("identity.sessions", "_revocation_state"),
}


def _state_object(name: str) -> Any:
    module, attribute = STATES[name]
    return getattr(importlib.import_module(module), attribute)


@contextmanager
def as_other_process(copies: dict[str, Any]) -> Iterator[None]:
    """Decide with `copies` in place of this process's in-memory states."""
    with ExitStack() as stack:
        for name, (module, attribute) in STATES.items():
            stack.enter_context(mock.patch(f"{module}.{attribute}", copies[name]))
        yield


# --- probes: what the gate does, as a status code or what the snapshot holds -----------------


def status(path: str = PATH, *, token: str | None = None, **headers: str) -> int:
    client = Client()
    if token is not None:
        client.cookies[CF_AUTHORIZATION] = token
    return client.get(path, HTTP_HOST=API_HOST, **headers).status_code


def as_alice(context: dict[str, Any]) -> int:
    return status(token=context["alice"])


def with_service_token(context: dict[str, Any]) -> int:
    return status(
        HTTP_CF_ACCESS_CLIENT_ID=context["client_id"],
        HTTP_CF_ACCESS_CLIENT_SECRET=context["secret"],
    )


def anonymous(context: dict[str, Any]) -> int:
    return status()


def group_names(context: dict[str, Any]) -> list[str]:
    return sorted(get_snapshot().groups)


def staff_sso(context: dict[str, Any]) -> str | None:
    """The type the snapshot knows the "Staff SSO" identity provider by (None: unknown)."""
    provider = get_snapshot().provider_named("Staff SSO")
    return provider.type if provider is not None else None


# --- arrangements -----------------------------------------------------------------------------


def _application_for_alice() -> dict[str, Any]:
    application = make_application(domain=DOMAIN)
    allow_policy(application)
    return {"application": application, "alice": token_for(application)}


def _application_for_service_tokens() -> dict[str, Any]:
    application = make_application(domain=DOMAIN)
    allow_policy(application, decision="non_identity", include=[{"any_valid_service_token": {}}])
    token, secret = service_token()
    return {
        "application": application,
        "token": token,
        "client_id": token.client_id,
        "secret": secret,
    }


def _nothing() -> dict[str, Any]:
    return {}


FIXED_CLIENT_ID = "0123456789abcdef0123456789abcdef.access"
FIXED_SECRET = "a-client-secret-of-at-least-32-characters"


def _service_token_application_without_token() -> dict[str, Any]:
    application = make_application(domain=DOMAIN)
    allow_policy(application, decision="non_identity", include=[{"any_valid_service_token": {}}])
    return {"application": application, "client_id": FIXED_CLIENT_ID, "secret": FIXED_SECRET}


def _expired_service_token() -> dict[str, Any]:
    context = _application_for_service_tokens()
    ServiceToken.objects.filter(pk=context["token"].pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    context["token"].refresh_from_db()
    return context


def _group_for_alice() -> dict[str, Any]:
    with committed():
        group = services.group_create(
            name="staff", include=[{"email": {"email": "alice@example.com"}}]
        )
    application = make_application(domain=DOMAIN)
    allow_policy(application, include=[{"group": {"name": "staff"}}])
    return {"group": group, "alice": token_for(application)}


def _unused_group() -> dict[str, Any]:
    with committed():
        return {"group": services.group_create(name="unused", include=[{"everyone": {}}])}


def _identity_provider() -> dict[str, Any]:
    # Migrations seed "One-time PIN" and "Password"; this one is the test's own.
    with committed():
        return {"provider": services.identity_provider_create(name="Staff SSO", type="password")}


def _signed_in_alice() -> dict[str, Any]:
    context = _application_for_alice()
    now = timezone.now()
    context["user"] = get_user_model().objects.create_user("alice", "alice@example.com")
    context["session"] = sessions.session_create(
        user=context["user"],
        email="alice@example.com",
        application=context["application"],
        identity_nonce="nonce-alice@example.com",  # the nonce `token_for` puts in the token
        login_method="One-time PIN",
        issued_at=now,
        expires_at=now + timedelta(hours=1),
    )
    return context


def _signed_in_alice_with_a_factor() -> dict[str, Any]:
    context = _signed_in_alice()
    totp_begin(email="alice@example.com")
    SecondFactor.objects.filter(email="alice@example.com").update(confirmed_at=timezone.now())
    return context


def _reset_factors_in_the_admin(context: dict[str, Any]) -> None:
    model_admin = SecondFactorAdmin(SecondFactor, admin.site)
    with mock.patch.object(model_admin, "message_user"):
        model_admin.reset_factors(
            mock.Mock(user=mock.Mock(is_authenticated=False)), SecondFactor.objects.all()
        )


def _alice_signed_in_a_minute_ago() -> dict[str, Any]:
    application = make_application(domain=DOMAIN)
    allow_policy(application)
    return {
        "application": application,
        "alice": token_for(application, issued_ago=timedelta(minutes=1)),
    }


def _alice_cut_off() -> dict[str, Any]:
    context = _alice_signed_in_a_minute_ago()
    with committed():
        context["cutoff"] = sessions.revoke_tokens_issued_before(email="alice@example.com")
    return context


def _alice_with_a_token_of_the_previous_key() -> dict[str, Any]:
    context = _application_for_alice()
    with committed():
        keys.rotate_keys()
    return context


LATER = timedelta(weeks=7)  # past the default rotation interval (6 weeks)


def _application_without_a_token_yet() -> dict[str, Any]:
    application = make_application(domain=DOMAIN)
    allow_policy(application)
    return {"application": application, "alice": None, "later": timezone.now() + LATER}


def _at_a_later_time(probe: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], Any]:
    def later(context: dict[str, Any]) -> Any:
        with mock.patch("django.utils.timezone.now", return_value=context["later"]):
            return probe(context)

    return later


# --- writes -----------------------------------------------------------------------------------


def _rotate_and_mint(context: dict[str, Any]) -> None:
    keys.rotate_keys()
    context["alice"] = token_for(context["application"])


def _scheduled_rotation(context: dict[str, Any]) -> None:
    with mock.patch("django.utils.timezone.now", return_value=context["later"]):
        keys.signing_key()  # the current key is older than the interval: it rotates
        context["alice"] = token_for(context["application"])


def _delete_cutoffs_in_the_admin(context: dict[str, Any]) -> None:
    model_admin = RevocationCutoffAdmin(RevocationCutoff, admin.site)
    model_admin.delete_queryset(None, RevocationCutoff.objects.filter(pk=context["cutoff"].pk))  # type: ignore[arg-type]


def _delete_one_cutoff_in_the_admin(context: dict[str, Any]) -> None:
    model_admin = RevocationCutoffAdmin(RevocationCutoff, admin.site)
    model_admin.delete_model(None, context["cutoff"])  # type: ignore[arg-type]


@dataclass(frozen=True)
class Write:
    """One write service, the in-memory state it must move, and what the gate does before/after."""

    service: Callable[..., Any]
    state: str
    arrange: Callable[[], dict[str, Any]]
    write: Callable[[dict[str, Any]], Any]
    probe: Callable[[dict[str, Any]], Any]
    before: Any
    after: Any
    id: str = field(default="")


def _application(context: dict[str, Any]) -> Application:
    return context["application"]


WRITES = [
    # applications
    Write(
        services.application_create,
        "policies",
        _nothing,
        lambda c: services.application_create(name="API", domain=DOMAIN),
        anonymous,
        before=200,
        after=302,
    ),
    Write(
        services.application_update,
        "policies",
        _application_for_alice,
        lambda c: services.application_update(
            application=_application(c), domain=f"{API_HOST}/demo/echo/other"
        ),
        anonymous,
        before=302,
        after=200,
    ),
    Write(
        services.application_delete,
        "policies",
        _application_for_alice,
        lambda c: services.application_delete(application=_application(c)),
        anonymous,
        before=302,
        after=200,
    ),
    # policies
    Write(
        services.policy_create,
        "policies",
        lambda: {**_application_for_alice(), "alice": None},
        lambda c: services.policy_create(
            application=_application(c),
            name="bypass",
            decision="bypass",
            precedence=2,
            include=[{"everyone": {}}],
        ),
        anonymous,
        before=302,
        after=200,
    ),
    Write(
        services.policy_update,
        "policies",
        _application_for_alice,
        lambda c: services.policy_update(
            policy=_application(c).policies.get(),
            include=[{"email": {"email": "bob@example.com"}}],
        ),
        as_alice,
        before=200,
        after=403,
    ),
    Write(
        services.policy_delete,
        "policies",
        _application_for_alice,
        lambda c: services.policy_delete(policy=_application(c).policies.get()),
        as_alice,
        before=200,
        after=403,
    ),
    Write(
        services.application_set_policies,
        "policies",
        _application_for_alice,
        lambda c: services.application_set_policies(
            application=_application(c),
            policies=[
                {
                    "name": "bob",
                    "decision": "allow",
                    "precedence": 1,
                    "include": [{"email": {"email": "bob@example.com"}}],
                }
            ],
        ),
        as_alice,
        before=200,
        after=403,
    ),
    # access groups
    Write(
        services.group_create,
        "policies",
        _nothing,
        lambda c: services.group_create(name="staff", include=[{"everyone": {}}]),
        group_names,
        before=[],
        after=["staff"],
    ),
    Write(
        services.group_update,
        "policies",
        _group_for_alice,
        lambda c: services.group_update(
            group=c["group"], include=[{"email": {"email": "bob@example.com"}}]
        ),
        as_alice,
        before=200,
        after=403,
    ),
    Write(
        services.group_delete,
        "policies",
        _unused_group,
        lambda c: services.group_delete(group=c["group"]),
        group_names,
        before=["unused"],
        after=[],
    ),
    # service tokens
    Write(
        services.service_token_create,
        "policies",
        _service_token_application_without_token,
        lambda c: services.service_token_create(
            name="ci", client_id=FIXED_CLIENT_ID, client_secret=FIXED_SECRET
        ),
        with_service_token,
        before=302,
        after=200,
    ),
    Write(
        services.service_token_update,
        "policies",
        _application_for_service_tokens,
        lambda c: services.service_token_update(token=c["token"], client_id=FIXED_CLIENT_ID),
        with_service_token,
        before=200,
        after=302,
    ),
    Write(
        services.service_token_rotate,
        "policies",
        _application_for_service_tokens,
        lambda c: services.service_token_rotate(token=c["token"], grace=timedelta(0)),
        with_service_token,
        before=200,
        after=302,
    ),
    Write(
        services.service_token_refresh,
        "policies",
        _expired_service_token,
        lambda c: services.service_token_refresh(token=c["token"]),
        with_service_token,
        before=302,
        after=200,
    ),
    Write(
        services.service_token_delete,
        "policies",
        _application_for_service_tokens,
        lambda c: services.service_token_delete(token=c["token"]),
        with_service_token,
        before=200,
        after=302,
    ),
    # identity providers
    Write(
        services.identity_provider_create,
        "policies",
        _nothing,
        lambda c: services.identity_provider_create(name="Staff SSO", type="password"),
        staff_sso,
        before=None,
        after="password",
    ),
    Write(
        services.identity_provider_update,
        "policies",
        _identity_provider,
        lambda c: services.identity_provider_update(provider=c["provider"], type="onetimepin"),
        staff_sso,
        before="password",
        after="onetimepin",
    ),
    Write(
        services.identity_provider_delete,
        "policies",
        _identity_provider,
        lambda c: services.identity_provider_delete(provider=c["provider"]),
        staff_sso,
        before="password",
        after=None,
    ),
    # signing keys: a token signed by a key the other process does not know yet is refused
    Write(
        keys.rotate_keys,
        "keys",
        _application_without_a_token_yet,
        _rotate_and_mint,
        as_alice,
        before=302,
        after=200,
    ),
    Write(
        keys.signing_key,
        "keys",
        _application_without_a_token_yet,
        _scheduled_rotation,
        _at_a_later_time(as_alice),
        before=302,
        after=200,
        id="signing_key (scheduled rotation)",
    ),
    Write(
        keys.retire_previous_keys,
        "keys",
        _alice_with_a_token_of_the_previous_key,
        lambda c: keys.retire_previous_keys(),
        as_alice,
        before=200,
        after=302,
    ),
    # sessions and revocation cutoffs
    Write(
        sessions.session_revoke,
        "revocations",
        _signed_in_alice,
        lambda c: sessions.session_revoke(session=c["session"]),
        as_alice,
        before=200,
        after=302,
    ),
    Write(
        sessions.sessions_revoke,
        "revocations",
        _signed_in_alice,
        lambda c: sessions.sessions_revoke(sessions=AccessSession.objects.all()),
        as_alice,
        before=200,
        after=302,
    ),
    Write(
        sessions.sessions_revoke_for_nonce,
        "revocations",
        _signed_in_alice,
        lambda c: sessions.sessions_revoke_for_nonce("nonce-alice@example.com"),
        as_alice,
        before=200,
        after=302,
    ),
    Write(
        sessions.sessions_revoke_for_user,
        "revocations",
        _signed_in_alice,
        lambda c: sessions.sessions_revoke_for_user(user=c["user"], reason="deactivated"),
        as_alice,
        before=200,
        after=302,
    ),
    Write(
        sessions.revoke_tokens_issued_before,
        "revocations",
        _alice_signed_in_a_minute_ago,
        lambda c: sessions.revoke_tokens_issued_before(email="alice@example.com"),
        as_alice,
        before=200,
        after=302,
    ),
    # an administrator's reset of a person's second factors ends their sign-ins
    Write(
        factors_reset,
        "revocations",
        _signed_in_alice_with_a_factor,
        lambda c: factors_reset(email="Alice@example.com"),
        as_alice,
        before=200,
        after=302,
    ),
    Write(
        SecondFactorAdmin.reset_factors,
        "revocations",
        _signed_in_alice_with_a_factor,
        _reset_factors_in_the_admin,
        as_alice,
        before=200,
        after=302,
        id="admin: reset second factors",
    ),
    Write(
        RevocationCutoffAdmin.delete_queryset,
        "revocations",
        _alice_cut_off,
        _delete_cutoffs_in_the_admin,
        as_alice,
        before=302,
        after=200,
        id="admin: delete revocation cutoffs",
    ),
    Write(
        RevocationCutoffAdmin.delete_model,
        "revocations",
        _alice_cut_off,
        _delete_one_cutoff_in_the_admin,
        as_alice,
        before=302,
        after=200,
        id="admin: delete one revocation cutoff",
    ),
]


def _case_id(write: Write) -> str:
    return write.id or f"{write.service.__module__}.{write.service.__name__}"


@pytest.mark.parametrize("case", WRITES, ids=[_case_id(write) for write in WRITES])
def test_a_write_reaches_another_process_when_its_transaction_commits(case: Write, settings):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 0  # the other process checks on every call
    context = case.arrange()
    copies = {name: copy.copy(_state_object(name)) for name in STATES}
    with as_other_process(copies):
        built = {name: state.get() for name, state in copies.items()}
        assert case.probe(context) == case.before

    with committed():
        case.write(context)
        with as_other_process(copies):
            assert copies[case.state].get() is built[case.state], "moved before the commit"
            assert case.probe(context) == case.before

    with as_other_process(copies):
        assert copies[case.state].get() is not built[case.state], f"{case.state} did not move"
        assert case.probe(context) == case.after


# Public functions of those modules that need no case, and why.
NOT_WRITES = {
    sessions.session_create: "a new sign-in revokes nothing: no process needs to know",
    sessions.new_identity_nonce: "reads nothing, writes nothing",
    sessions.revocation_state: "reads",
    sessions.is_revoked: "reads",
    sessions.sign_in_is_live: "reads",
    sessions.revocations_changed: "the announcement itself, proven by the admin's cutoff deletes",
}


def _public_functions(module: Any) -> set[Callable[..., Any]]:
    return {
        function
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if not name.startswith("_") and function.__module__ == module.__name__
    }


def test_every_write_service_has_a_case():
    """A service added to policies.services, or a revocation added to identity.sessions, must be
    proven above (or listed in NOT_ENFORCED with its reason)."""
    covered = {write.service for write in WRITES}
    key_writes = {keys.rotate_keys, keys.retire_previous_keys, keys.signing_key, factors_reset}

    missing = (_public_functions(services) | _public_functions(sessions) | key_writes) - covered
    assert missing - set(NOT_WRITES) == set()
