"""Helpers for tests of the gate: applications and policies through the services, and tokens.

Services announce a change when their transaction commits (`transaction.on_commit`). A test's
transaction is rolled back, never committed, so each helper runs the commit callbacks the code
registered, as the commit would (`committed()`): a service that forgot to announce its change
leaves the gate deciding with stale memory, and the test that uses it fails.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import timedelta
from typing import Any
from unittest import mock

from django.core.cache import cache
from django.core.signals import request_finished
from django.db import DatabaseError, OperationalError, close_old_connections, connection
from django.db.models import F, Model
from django.test import Client, TestCase
from django.utils import timezone

from common import versioning
from common.models import ConfigVersion
from identity.login_urls import login_host_for
from identity.sessions import session_create
from identity.tokens import issue_token, issuer_for
from policies import services
from policies.models import Application, Policy, ServiceToken

API_HOST = "api.localhost"
CALLER = "https://app.other.test"

# A Redis cache on a port nothing listens on: every call fails as an unreachable Redis does.
UNREACHABLE_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",
    }
}


@contextmanager
def committed() -> Iterator[list[Any]]:
    """Run the commit callbacks registered inside the block when it ends, as a commit would.

    A write inside the block to a state whose bump already waits for the commit (registered
    before the block) joins that bump, so the block runs it too."""
    with TestCase.captureOnCommitCallbacks(execute=True) as callbacks:
        yield callbacks
    for _savepoints, callback, _robust in list(connection.run_on_commit):
        if isinstance(callback, versioning._PendingBump) and not callback.ran:
            callback()


def bump_version_elsewhere(state: str) -> None:
    """What another process's write does to `state`'s version: the row moves and the shared
    cache mirrors it. This process's memory is left alone, as another process cannot touch it."""
    row = versioning._VERSION_ROWS[state]
    if not ConfigVersion.objects.filter(pk=row).update(version=F("version") + 1):
        ConfigVersion.objects.create(pk=row, version=1)
    cache.set(versioning._cache_key(state), ConfigVersion.objects.get(pk=row).version, timeout=None)


def response_sent() -> None:
    """`request_finished`, as the WSGI server sends it once an answer is out (what the project
    queued for then runs), without closing the test's database connection: Django's own
    handler would close it, which inside a test's transaction leaves the next query a closed
    connection on PostgreSQL (Django's test client disconnects it the same way)."""
    request_finished.disconnect(close_old_connections)
    try:
        request_finished.send(sender=None)
    finally:
        request_finished.connect(close_old_connections)


def make_application(*, name: str = "API", domain: str, **fields: Any) -> Application:
    with committed():
        return services.application_create(name=name, domain=domain, **fields)


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
    with committed():
        return services.policy_create(
            application=application,
            name=name,
            decision=decision,
            precedence=precedence,
            include=include if include is not None else [{"email": {"email": "alice@example.com"}}],
            **fields,
        )


def service_token(name: str = "ci") -> tuple[ServiceToken, str]:
    with committed():
        return services.service_token_create(name=name)


def token_for(
    application: Application,
    *,
    email: str = "alice@example.com",
    host: str = API_HOST,
    lifetime: timedelta = timedelta(hours=1),
    extra: Mapping[str, object] | None = None,
    issued_ago: timedelta = timedelta(0),
    scheme: str = "http",
) -> str:
    """An app token for `application`, as the authorized hop would issue it `issued_ago` to a
    request over `scheme` (the test client's requests are plain HTTP unless `secure=True`)."""
    with mock.patch("django.utils.timezone.now", return_value=timezone.now() - issued_ago):
        return issue_token(
            token_type="app",
            audiences=[application.aud],
            email=email,
            subject=f"user-{email}",
            identity_nonce=f"nonce-{email}",
            lifetime=lifetime,
            issuer=issuer_for(login_host_for(host), scheme=scheme),
            extra=extra,
        )


def live_sign_in(email: str = "alice@example.com", *, user: Any = None) -> None:
    """The sign-in `token_for`'s tokens for `email` belong to (by their identity nonce), as the
    org session row a real sign-in leaves: a logout or a deactivated account revokes it."""
    with committed():
        session_create(
            email=email,
            application=None,
            identity_nonce=f"nonce-{email}",
            login_method="Password",
            issued_at=timezone.now(),
            expires_at=timezone.now() + timedelta(hours=1),
            user=user,
        )


def echo(client: Client, path: str, *, method: str = "get", **extra: Any) -> Any:
    """Call the demo echo view (or whatever answers first) on the API host."""
    extra.setdefault("HTTP_HOST", API_HOST)
    return getattr(client, method)(path, **extra)


@contextmanager
def database_refuses(
    *models: type[Model], error: type[DatabaseError] = OperationalError
) -> Iterator[None]:
    """Make every query on these models' tables (every query, when none is named) fail as a lost
    database connection does: with Django's `OperationalError`, or the `error` given (a closed
    connection raises `InterfaceError`)."""
    tables = [model._meta.db_table for model in models]

    def refuse(execute, sql, params, many, context):
        if not tables or any(table in sql for table in tables):
            raise error("the database is unreachable")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(refuse):
        yield


class ManualClock:
    """A stand-in for `common.versioning.clock` that moves only when told (nothing waits)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds
