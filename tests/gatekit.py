"""Helpers for tests of the gate: applications and policies through the services, and tokens.

Services announce changes on commit, which a test's rolled-back transaction never reaches, so each
helper forgets the in-memory states itself; the next request rebuilds them from the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from unittest import mock

from django.test import Client
from django.utils import timezone

from identity.tokens import issue_token, issuer_for
from policies import services
from policies.models import Application, Policy, ServiceToken
from policies.versioning import invalidate_all as refresh_state

API_HOST = "api.localhost"
CALLER = "https://app.other.test"


def make_application(*, name: str = "API", domain: str, **fields: Any) -> Application:
    application = services.application_create(name=name, domain=domain, **fields)
    refresh_state()
    return application


def allow_policy(
    application: Application,
    *,
    name: str = "people",
    decision: str = "allow",
    precedence: int = 1,
    include: list[dict[str, Any]] | None = None,
    **fields: Any,
) -> Policy:
    """A policy (by default: allow alice@example.com)."""
    policy = services.policy_create(
        application=application,
        name=name,
        decision=decision,
        precedence=precedence,
        include=include if include is not None else [{"email": {"email": "alice@example.com"}}],
        **fields,
    )
    refresh_state()
    return policy


def service_token(name: str = "ci") -> tuple[ServiceToken, str]:
    token, secret = services.service_token_create(name=name)
    refresh_state()
    return token, secret


def token_for(
    application: Application,
    *,
    email: str = "alice@example.com",
    host: str = API_HOST,
    lifetime: timedelta = timedelta(hours=1),
    extra: Mapping[str, object] | None = None,
    issued_ago: timedelta = timedelta(0),
) -> str:
    """An app token for `application`, as the authorized hop would issue it `issued_ago`."""
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() - issued_ago):
        return issue_token(
            token_type="app",
            audiences=[application.aud],
            email=email,
            subject=f"user-{email}",
            identity_nonce=f"nonce-{email}",
            lifetime=lifetime,
            issuer=issuer_for(host),
            extra=extra,
        )


def echo(client: Client, path: str, *, method: str = "get", **extra: Any) -> Any:
    """Call the demo echo view (or whatever answers first) on the API host."""
    extra.setdefault("HTTP_HOST", API_HOST)
    return getattr(client, method)(path, **extra)
