"""What the multi-process tests do to the shared database from a separate process.

`python -m tests.production.actions <action> [arguments]` runs with the same environment as the
gunicorn instances (same database, cache and SECRET_KEY), so it is one more process of the same
deployment: a sign-in minting a token, `access_rotate_keys` from cron, an administrator's change.
Each action prints one JSON object.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import timedelta
from typing import Any

HOST = "mp.localhost"
ECHO_PATH = "/demo/echo"
SERVICE_PATH = f"{ECHO_PATH}/service"
ALLOWED_DOMAIN = "example.com"


def _mint(email: str, aud: str, *, user: Any = None) -> dict[str, Any]:
    """Record a sign-in to the application with `aud` (of Django `user`, when given) and
    return its app token."""
    from django.utils import timezone

    from identity.sessions import new_identity_nonce, session_create
    from identity.tokens import issue_token, issuer_for
    from policies.models import Application

    application = Application.objects.get(aud=aud)
    nonce = new_identity_nonce()
    now = timezone.now()
    session_create(
        email=email,
        application=application,
        identity_nonce=nonce,
        login_method="multiprocess test",
        issued_at=now,
        expires_at=now + timedelta(hours=1),
        user=user,
    )
    token = issue_token(
        token_type="app",
        audiences=[aud],
        email=email,
        subject=email,
        identity_nonce=nonce,
        lifetime=timedelta(hours=1),
        issuer=issuer_for(HOST, scheme="http"),
    )
    return {"token": token, "nonce": nonce}


def seed() -> dict[str, Any]:
    """A service-auth application with its service token, and an administrator's API token."""
    from django.contrib.auth import get_user_model

    from common.api.tokens import api_token_create
    from policies.services import application_create, policy_create, service_token_create

    service_token, client_secret = service_token_create(name="multiprocess robot")
    service = application_create(
        name="multiprocess service", domain=f"{HOST}{SERVICE_PATH}", session_duration="1h"
    )
    policy_create(
        application=service,
        name="robot",
        decision="non_identity",
        precedence=1,
        include=[{"service_token": {"name": service_token.name}}],
    )
    administrator = get_user_model().objects.create_superuser(
        "administrator", "administrator@example.com", None
    )
    _, api_token = api_token_create(
        name="multiprocess", user=administrator, created_by=administrator, read_only=False
    )
    return {
        "api_token": api_token,
        "service": {"client_id": service_token.client_id, "client_secret": client_secret},
    }


def new_application(slug: str) -> dict[str, Any]:
    """An application at `/demo/echo/<slug>` that lets people at example.com in."""
    from policies.services import application_create, policy_create

    path = f"{ECHO_PATH}/{slug}"
    application = application_create(
        name=f"multiprocess {slug}", domain=f"{HOST}{path}", session_duration="1h"
    )
    policy = policy_create(
        application=application,
        name="staff",
        decision="allow",
        precedence=1,
        include=[{"email_domain": {"domain": ALLOWED_DOMAIN}}],
    )
    return {"id": application.pk, "aud": application.aud, "policy_id": policy.pk, "path": path}


def mint(email: str, aud: str) -> dict[str, Any]:
    return _mint(email, aud)


def mint_for_user(username: str, aud: str) -> dict[str, Any]:
    """A password sign-in's token: the session belongs to the Django user `username` (made now)."""
    from django.contrib.auth import get_user_model

    email = f"{username}@{ALLOWED_DOMAIN}"
    user = get_user_model().objects.create_user(username, email, "multiprocess password")
    return _mint(email, aud, user=user)


def deactivate_user(username: str) -> dict[str, Any]:
    """An administrator unticks *Active* (a save through the ORM, as the admin makes it)."""
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username=username)
    user.is_active = False
    user.save()
    return {"deactivated": username}


def rotate_and_mint(email: str, aud: str) -> dict[str, Any]:
    """Rotate the signing keys (what `access_rotate_keys` does), then sign with the new key.

    The rotation is announced on its own line as soon as it committed, so the test asks the
    instances for the new key while this process is still signing.
    """
    from identity.keys import rotate_keys

    new_key = rotate_keys(reason="multiprocess test")
    print(json.dumps({"kid": new_key.kid}), flush=True)
    return _mint(email, aud)


def set_policy_domain(policy_id: str, domain: str) -> dict[str, Any]:
    """Change who a policy lets in (an administrator's edit, through the service layer)."""
    from policies.models import Policy
    from policies.services import policy_update

    policy = Policy.objects.get(pk=int(policy_id))
    policy_update(policy=policy, include=[{"email_domain": {"domain": domain}}])
    return {"policy": policy.pk, "domain": domain}


ACTIONS: dict[str, Callable[..., dict[str, Any]]] = {
    "seed": seed,
    "new-application": new_application,
    "mint": mint,
    "mint-for-user": mint_for_user,
    "deactivate-user": deactivate_user,
    "rotate-and-mint": rotate_and_mint,
    "set-policy-domain": set_policy_domain,
}


def main() -> None:
    import django

    django.setup()
    action, *arguments = sys.argv[1:]
    print(json.dumps(ACTIONS[action](*arguments)))


if __name__ == "__main__":
    main()
