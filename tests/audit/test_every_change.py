"""Every kind of change, made every way it can be made, is in the audit trail: who, when,
through what and a before/after diff, and none of the secrets the change handled.

One case per (kind, way). A way that cannot make a kind of change has no case: the config file
describes applications, policies, groups, service tokens and identity providers, not signing
keys, sessions or lock-outs (those have their own commands and pages).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from io import StringIO
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from common.api.tokens import api_token_create
from common.audit import os_user
from common.models import AuditEntry
from identity import sessions
from identity.flows.password import password_sign_in
from identity.keys import rotate_keys
from identity.models import AccessSession, AuthEvent, SigningKey
from policies import services
from policies.models import Application, IdentityProvider, ServiceToken
from tests.factories import UserFactory
from tests.policies.test_admin import application_data

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_login_host")]

PROVIDER_SECRET = "idp-client-secret-0f9e8d7c6b5a"
TOKEN_SECRET = "configured-token-secret-aa11bb22cc33dd44ee55"
STAFF_RULE = [{"email_domain": {"domain": "example.com"}}]
WRONG_PASSWORD = "not-the-password-at-all"


@dataclass
class World:
    """What each case reaches the project through, and the secrets it handled."""

    admin: Client
    api: APIClient
    tmp_path: Path
    secrets: list[str]


def _apply(world: World, config: dict[str, Any]) -> None:
    path = world.tmp_path / "access.json"
    path.write_text(json.dumps(config))
    call_command("access_apply", str(path), stdout=StringIO(), stderr=StringIO())


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.content.decode()[:2000]
    return response


def _app() -> Application:
    application = services.application_create(name="Wiki", domain="wiki.example.com")
    services.policy_create(
        application=application, name="Staff", decision="allow", precedence=1, include=STAFF_RULE
    )
    return application


def _app_config(**fields: Any) -> dict[str, Any]:
    policy = {"name": "Staff", "decision": "allow", "precedence": 1, "include": STAFF_RULE}
    return {
        "applications": [
            {"name": "Wiki", "domain": "wiki.example.com", "policies": [policy], **fields}
        ]
    }


def _admin_app_form(application: Application, **fields: str) -> dict[str, str]:
    policy = application.policies.get()
    return application_data(
        policies=[
            {
                "id": str(policy.pk),
                "application": str(application.pk),
                "name": policy.name,
                "decision": policy.decision,
                "precedence": str(policy.precedence),
                "include": json.dumps(policy.include),
                "require": "[]",
                "exclude": "[]",
                "session_duration": "",
            }
        ],
        name=application.name,
        domain=application.domain,
        destinations="",
        **fields,
    )


# --- applications ------------------------------------------------------------------------------


def application_admin(world: World) -> None:
    application = _app()
    url = reverse("admin:policies_application_change", args=[application.pk])
    _ok(world.admin.post(url, _admin_app_form(application, session_duration="2h")), 302)


def application_api(world: World) -> None:
    application = _app()
    _ok(
        world.api.patch(
            f"/api/access/apps/{application.pk}", {"session_duration": "2h"}, format="json"
        )
    )


def application_config(world: World) -> None:
    _app()
    _apply(world, _app_config(session_duration="2h"))


# --- policies ----------------------------------------------------------------------------------


def policy_admin(world: World) -> None:
    application = _app()
    data = _admin_app_form(application)
    data["policies-0-include"] = json.dumps([{"email": {"email": "ann@example.com"}}])
    url = reverse("admin:policies_application_change", args=[application.pk])
    _ok(world.admin.post(url, data), 302)


def policy_api(world: World) -> None:
    application = _app()
    policy = application.policies.get()
    _ok(
        world.api.patch(
            f"/api/access/apps/{application.pk}/policies/{policy.pk}",
            {"include": [{"email": {"email": "ann@example.com"}}]},
            format="json",
        )
    )


def policy_config(world: World) -> None:
    _app()
    config = _app_config()
    config["applications"][0]["policies"][0]["include"] = [{"email": {"email": "ann@example.com"}}]
    _apply(world, config)


# --- groups ------------------------------------------------------------------------------------


def group_admin(world: World) -> None:
    data = {
        "name": "Ops",
        "include": json.dumps(STAFF_RULE),
        "require": "[]",
        "exclude": "[]",
    }
    _ok(world.admin.post(reverse("admin:policies_accessgroup_add"), data), 302)


def group_api(world: World) -> None:
    _ok(
        world.api.post("/api/access/groups", {"name": "Ops", "include": STAFF_RULE}, format="json"),
        201,
    )


def group_config(world: World) -> None:
    _apply(world, {"groups": [{"name": "Ops", "include": STAFF_RULE}]})


# --- service tokens ----------------------------------------------------------------------------


def service_token_admin(world: World) -> None:
    page = world.admin.post(
        reverse("admin:policies_servicetoken_add"), {"name": "ci", "duration": "8760h"}
    )
    _ok(page)
    shown = re.search(r'class="service-token-secret"[^>]*>([^<]+)<', page.content.decode())
    assert shown is not None
    world.secrets.append(shown.group(1))


def service_token_api(world: World) -> None:
    response = _ok(world.api.post("/api/access/service_tokens", {"name": "ci"}, format="json"), 201)
    world.secrets.append(response.json()["result"]["client_secret"])


def service_token_config(world: World) -> None:
    world.secrets.append(TOKEN_SECRET)
    _apply(
        world,
        {
            "service_tokens": [
                {
                    "name": "ci",
                    "client_id": "0123456789abcdef0123456789abcdef.access",
                    "client_secret": TOKEN_SECRET,
                }
            ]
        },
    )


# --- identity providers ------------------------------------------------------------------------


def provider_admin(world: World) -> None:
    data = {
        "name": "GitHub",
        "type": "github",
        "config": json.dumps({"client_id": "abc"}),
        "client_secret": PROVIDER_SECRET,
    }
    _ok(world.admin.post(reverse("admin:policies_identityprovider_add"), data), 302)


def provider_api(world: World) -> None:
    body = {"name": "GitHub", "type": "github", "config": _github_config()}
    _ok(world.api.post("/api/access/identity_providers", body, format="json"), 201)


def provider_config(world: World) -> None:
    _apply(
        world,
        {"identity_providers": [{"name": "GitHub", "type": "github", "config": _github_config()}]},
    )


def _github_config() -> dict[str, str]:
    return {"client_id": "abc", "client_secret": PROVIDER_SECRET}


# --- signing keys, sessions and lock-outs ------------------------------------------------------


def _key_action(world: World) -> None:
    rotate_keys(reason="first")
    AuditEntry.objects.all().delete()


def key_admin(world: World) -> None:
    _key_action(world)
    current = SigningKey.objects.get(retired_at__isnull=True)
    _ok(
        world.admin.post(
            reverse("admin:identity_signingkey_changelist"),
            {"action": "rotate", ACTION_CHECKBOX_NAME: [str(current.pk)]},
        ),
        302,
    )


def key_api(world: World) -> None:
    _key_action(world)
    _ok(world.api.post("/api/access/keys/rotate"))


def key_command(world: World) -> None:
    _key_action(world)
    call_command("access_rotate_keys", stdout=StringIO(), stderr=StringIO())


def _session() -> AccessSession:
    application = _app()
    now = timezone.now()
    session = sessions.session_create(
        email="ann@example.com",
        application=application,
        login_method="One-time PIN",
        identity_nonce="n" * 32,
        issued_at=now,
        expires_at=now + timedelta(hours=1),
    )
    AuditEntry.objects.all().delete()
    return session


def session_admin(world: World) -> None:
    session = _session()
    _ok(
        world.admin.post(
            reverse("admin:identity_accesssession_changelist"),
            {"action": "revoke_sessions", ACTION_CHECKBOX_NAME: [str(session.pk)]},
        ),
        302,
    )


def session_api(world: World) -> None:
    session = _session()
    _ok(world.api.post(f"/api/access/sessions/{session.pk}/revoke"))


def lockout_admin(world: World) -> None:
    for _ in range(5):
        password_sign_in(
            None, username="victim", password=WRONG_PASSWORD, ip=ip_address("192.0.2.5")
        )
    event = AuthEvent.objects.get(kind=AuthEvent.Kind.LOCKOUT)
    _ok(
        world.admin.post(
            reverse("admin:identity_lockouts"), {"event": str(event.pk), "scope": "username at ip"}
        ),
        302,
    )


@dataclass(frozen=True)
class Case:
    change: Callable[[World], None]
    object_type: str
    action: str
    channel: str


CASES = {
    "application-admin": Case(application_admin, "application", "update", "admin"),
    "application-api": Case(application_api, "application", "update", "api"),
    "application-config": Case(application_config, "application", "update", "config file"),
    "policy-admin": Case(policy_admin, "policy", "update", "admin"),
    "policy-api": Case(policy_api, "policy", "update", "api"),
    "policy-config": Case(policy_config, "policy", "update", "config file"),
    "group-admin": Case(group_admin, "access group", "create", "admin"),
    "group-api": Case(group_api, "access group", "create", "api"),
    "group-config": Case(group_config, "access group", "create", "config file"),
    "service-token-admin": Case(service_token_admin, "service token", "create", "admin"),
    "service-token-api": Case(service_token_api, "service token", "create", "api"),
    "service-token-config": Case(service_token_config, "service token", "create", "config file"),
    "provider-admin": Case(provider_admin, "identity provider", "create", "admin"),
    "provider-api": Case(provider_api, "identity provider", "create", "api"),
    "provider-config": Case(provider_config, "identity provider", "create", "config file"),
    "key-admin": Case(key_admin, "signing key", "rotate", "admin"),
    "key-api": Case(key_api, "signing key", "rotate", "api"),
    "key-command": Case(key_command, "signing key", "rotate", "command"),
    "session-admin": Case(session_admin, "session", "revoke", "admin"),
    "session-api": Case(session_api, "session", "revoke", "api"),
    "lockout-admin": Case(lockout_admin, "lock-out", "lift", "admin"),
}


@pytest.fixture
def world(client: Client, tmp_path: Path) -> World:
    root = UserFactory(username="root", is_staff=True, is_superuser=True)
    client.force_login(root)
    _, plain = api_token_create(name="ci", user=root, created_by=root, read_only=False)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {plain}")
    return World(admin=client, api=api, tmp_path=tmp_path, secrets=[PROVIDER_SECRET])


def _secret_material() -> list[str]:
    """What the database holds that must never be copied into the trail."""
    found: list[str] = []
    for token in ServiceToken.objects.all():
        found += [token.secret_hash, *(v for v in [token.previous_secret_hash] if v)]
    for key in SigningKey.objects.all():
        found.append(key.private_key)
    found += [provider.secrets for provider in IdentityProvider.objects.all()]
    return [value for value in found if value]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_each_change_is_recorded_with_who_when_how_and_a_diff(world: World, case: Case) -> None:
    started = timezone.now()
    case.change(world)
    finished = timezone.now()

    entries = list(
        AuditEntry.objects.filter(object_type=case.object_type, action=case.action).order_by("pk")
    )
    assert entries, list(AuditEntry.objects.values_list("object_type", "action", "channel"))
    entry = entries[-1]
    expected_actor = os_user() if case.channel in {"config file", "command"} else "root"
    assert (entry.channel, entry.actor) == (case.channel, expected_actor)
    if case.channel in {"admin", "api"}:
        assert str(entry.actor_user_id) == world.admin.session["_auth_user_id"]
    assert started <= entry.created_at <= finished
    assert entry.changes, "no before/after diff"
    if case.action == "create":
        assert entry.before is None
        assert entry.after is not None
        assert set(entry.changes) == {
            key for key, value in entry.after.items() if value is not None
        }
    else:
        assert entry.before is not None
    for field, (old, new) in entry.changes.items():
        assert old != new, field
    # Nothing else the change touched is recorded as changed when it was not (a policy saved
    # as it was, along with its application's form).
    unchanged = [
        (other.object_type, other.object_name)
        for other in AuditEntry.objects.filter(action="update")
        if not other.changes and "changed_secrets" not in other.detail
    ]
    assert unchanged == []

    trail = json.dumps(list(AuditEntry.objects.values()), default=str)
    for secret in [*world.secrets, *_secret_material()]:
        assert secret not in trail
    assert "PRIVATE KEY" not in trail
