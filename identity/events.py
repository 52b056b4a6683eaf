"""Authentication events in the database: sign-ins, refusals, logouts, revocations, key rotations.

Written when they happen, never once per gated request (the `accessproject.access` logger keeps
the per-request log). The admin and the API read them.
"""

from __future__ import annotations

from collections.abc import Mapping
from ipaddress import IPv4Address, IPv6Address
from typing import Protocol

from identity.models import AuthEvent


class _HasId(Protocol):
    @property
    def id(self) -> int | None: ...


def record_event(
    kind: AuthEvent.Kind | str,
    *,
    email: str = "",
    application: _HasId | int | None = None,
    ip: IPv4Address | IPv6Address | str | None = None,
    detail: Mapping[str, object] | None = None,
) -> AuthEvent:
    """Store one authentication event.

    `application` may be a model instance, a compiled application (anything with an `id`) or a
    primary key. `detail` must be JSON-serialisable and must never hold a secret.
    """
    if kind not in AuthEvent.Kind.values:
        raise ValueError(f"unknown authentication event kind {kind!r}")
    application_id = (
        application if isinstance(application, int) or application is None else (application.id)
    )
    return AuthEvent.objects.create(
        kind=str(kind),
        email=email,
        application_id=application_id,
        ip=str(ip) if ip is not None else None,
        detail=dict(detail or {}),
    )
