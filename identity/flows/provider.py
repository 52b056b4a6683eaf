"""A sign-in at an upstream identity provider: the start on the login page, the callback's check.

`begin_provider_sign_in` asks the provider's login method for its authorization URL with a
fresh `state`, `nonce` and PKCE verifier, and records them (`ProviderSignIn`) with the validated
flow and the browser that asked. `take_provider_sign_in`, at `/cdn-cgi/access/callback`, finds
that record by the `state` the provider sends back and spends it, once, only in that browser
and only on the login host it was started on: a reused, unknown, expired or foreign `state` is
`StateRefused`. The callback then resumes the flow as it was validated at the start, never
from anything else the provider's redirect carries.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone

from identity.flows.signin import Flow, unspent
from identity.hosts import parse_authority
from identity.login_urls import callback_url
from identity.models import ProviderSignIn
from identity.providers import login_method_for
from identity.providers.base import ProviderStart, SignInFailed
from policies.snapshot import CompiledIdentityProvider

SIGN_IN_LIFETIME = timedelta(minutes=10)
_STATE = re.compile(r"[A-Za-z0-9_-]{43}")


class StateRefused(Exception):
    """The callback's `state` does not resume a sign-in; `reason` is for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def resumable_flow(flow: Flow) -> dict[str, Any]:
    """What the callback needs to validate the same flow again (on the login host's own page,
    only the login-host page it returns to, if any: an approver's link)."""
    if flow.application is None:
        return {"redirect_url": flow.raw_redirect_url} if flow.raw_redirect_url else {}
    return {
        "app_host": flow.app_host,
        "kid": flow.kid,
        "redirect_url": flow.raw_redirect_url,
        "state": flow.state_hash,
    }


def begin_provider_sign_in(*, flow: Flow, provider: CompiledIdentityProvider, flow_id: str) -> str:
    """The URL to send the browser to; raises `SignInFailed` when the provider cannot be asked."""
    method = login_method_for(provider)
    assert method is not None
    assert method.redirects
    login_host = parse_authority(flow.login_host, scheme=flow.scheme)
    if login_host is None:
        raise SignInFailed("the login host is not a host name", "Sign-in is misconfigured.")
    state = secrets.token_urlsafe(32)
    begin = ProviderStart(
        redirect_uri=callback_url(scheme=flow.scheme, login_host=str(login_host)),
        state=state,
        nonce=secrets.token_urlsafe(32),
        code_verifier=secrets.token_urlsafe(64),
    )
    url = method.start(provider, begin)
    now = timezone.now()
    ProviderSignIn.objects.create(
        state_hash=_digest(state),
        browser_hash=_digest(flow_id),
        provider_id=provider.id,
        nonce=begin.nonce,
        code_verifier=begin.code_verifier,
        redirect_uri=begin.redirect_uri,
        flow=resumable_flow(flow),
        created_at=now,
        expires_at=now + SIGN_IN_LIFETIME,
    )
    return url


def take_provider_sign_in(*, state: str, flow_id: str | None, host: str) -> ProviderSignIn:
    """Spend the sign-in that `state` stands for, in this browser, on this host."""
    if not isinstance(state, str) or not _STATE.fullmatch(state):
        raise StateRefused("state missing or malformed")
    found = unspent(
        ProviderSignIn.objects.filter(state_hash=_digest(state)).first(),
        what="state",
        refused=StateRefused,
    )
    if flow_id is None or not secrets.compare_digest(found.browser_hash, _digest(flow_id)):
        raise StateRefused("state from another browser")
    if urlsplit(found.redirect_uri).netloc != host:
        raise StateRefused("callback on another host")
    with transaction.atomic():
        if not ProviderSignIn.objects.filter(pk=found.pk, used_at__isnull=True).update(
            used_at=timezone.now()
        ):
            raise StateRefused("state already used")
    return found
