"""Service tokens at the gate: `CF-Access-Client-Id` + `CF-Access-Client-Secret` -> a known token.

Checked from the snapshot in memory (no SQL), in constant time: an unknown client id costs the
same hash comparison as a wrong secret, so timing does not reveal which client ids exist. A
successful exchange is worth an app token (`issue_service_access_token`), as Access does; the
use is recorded at most once a minute per token and application, never per request.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING

from django.core.cache import cache
from django.utils import timezone

from common.credentials import hash_secret, verify_secret
from identity.claims import SECRET_VERSION_CLAIM
from identity.events import record_event
from identity.models import AuthEvent
from identity.tokens import issue_token

if TYPE_CHECKING:
    from policies.snapshot import CompiledApplication, CompiledServiceToken, Snapshot

# Longer values are not ours; refusing them early bounds the work an attacker can ask for.
_MAX_CREDENTIAL_LENGTH = 256
_USE_RECORD_INTERVAL = 60  # seconds
# Compared against when the client id is unknown, so that path costs what a wrong secret costs.
_DUMMY_HASH = hash_secret("accessproject: no such service token")


def authenticate_service_token(
    client_id: str | None,
    client_secret: str | None,
    snapshot: Snapshot,
    now: datetime,
) -> CompiledServiceToken | None:
    """The service token these credentials name, or None (unknown, wrong secret, expired)."""
    if not isinstance(client_id, str) or not isinstance(client_secret, str):
        return None
    client_id = client_id.strip()
    client_secret = client_secret.strip()
    if not client_id or not client_secret:
        return None
    if len(client_id) > _MAX_CREDENTIAL_LENGTH or len(client_secret) > _MAX_CREDENTIAL_LENGTH:
        return None
    token = snapshot.service_tokens.get(client_id)
    if token is None:
        verify_secret(client_secret, _DUMMY_HASH)
        return None
    # `accepts` compares against the current secret and, during its rotation grace, the
    # previous one, in constant time; an expired token accepts nothing.
    return token if token.accepts(client_secret, now=now) else None


def issue_service_access_token(
    *,
    token: CompiledServiceToken,
    application: CompiledApplication,
    issuer: str,
    lifetime: timedelta | None = None,
) -> str:
    """The app token Access mints for a service token: `common_name` = client id, `sub` = ""."""
    lifetime = lifetime or application.session_duration
    if token.expires_at is not None:
        # Never outlive the credential that earned it.
        remaining = token.expires_at - timezone.now()
        lifetime = max(min(lifetime, remaining), timedelta(seconds=1))
    return issue_token(
        token_type="app",
        audiences=[application.aud],
        email="",
        subject="",
        identity_nonce="",
        lifetime=lifetime,
        issuer=issuer,
        common_name=token.client_id,
        extra={SECRET_VERSION_CLAIM: token.secret_version},
    )


def record_service_token_use(
    token: CompiledServiceToken,
    application: CompiledApplication,
    ip: IPv4Address | IPv6Address | None,
) -> bool:
    """Record that a service token opened an application, at most once a minute per pair.

    Returns whether an event was written. The throttle lives in the cache, so with a shared
    cache it holds across processes too.
    """
    key_material = f"{token.client_id}\x00{application.aud}".encode()
    key = "accessproject:service-token-use:" + hashlib.sha256(key_material).hexdigest()
    try:
        first = cache.add(key, 1, timeout=_USE_RECORD_INTERVAL)
    except Exception:  # a cache outage must not turn every request into a database write
        return False
    if not first:
        return False
    record_event(
        AuthEvent.Kind.SERVICE_TOKEN,
        application=application.id,
        ip=ip,
        detail={"service_token": token.name, "client_id": token.client_id},
    )
    return True
