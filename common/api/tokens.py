"""Creating API tokens and recognising them; the plain token exists only in the creator's hands."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from common.credentials import generate_secret, hash_secret, verify_secret
from common.models import ApiToken

if TYPE_CHECKING:
    from django.contrib.auth.models import User

TOKEN_PREFIX = "apt"
# Recording every use would write on every API call; once a minute says "in use" well enough.
LAST_USE_RESOLUTION = timedelta(minutes=1)
FOR_ANOTHER_USER = "Only a superuser may create an API token for another user."


class ApiTokenError(Exception):
    """A bearer token that does not authenticate; `reason` is safe to show to the caller."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def api_token_owners(*, created_by: User) -> QuerySet[User]:
    """The users `created_by` may create an API token for: everyone for a superuser, else
    only themselves.

    A token acts with its user's permissions: letting anyone who may add tokens pick the user
    would let them borrow any account's rights, the superuser's included.
    """
    users: QuerySet[User] = get_user_model()._default_manager.all()
    if created_by.is_active and created_by.is_superuser:
        return users
    return users.filter(pk=created_by.pk)


@transaction.atomic
def api_token_create(
    *,
    name: str,
    user: User,
    created_by: User,
    read_only: bool = True,
    expires_at: datetime | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for `user` on behalf of `created_by` (see `api_token_owners`);
    returns it and the plain token, which is never shown again."""
    if not api_token_owners(created_by=created_by).filter(pk=user.pk).exists():
        raise ValidationError({"user": FOR_ANOTHER_USER})
    secret = generate_secret()
    token = ApiToken(
        name=name,
        user=user,
        key_id=secrets.token_hex(8),
        secret_hash=hash_secret(secret),
        read_only=read_only,
        expires_at=expires_at,
    )
    token.full_clean()
    token.save()
    return token, f"{TOKEN_PREFIX}_{token.key_id}_{secret}"


def api_token_authenticate(raw: str, *, now: datetime | None = None) -> ApiToken:
    """The active token `raw` stands for, recording its use; `ApiTokenError` when there is none.

    The secret is compared in constant time against the stored hash; an unknown key id, a wrong
    secret, an expired token and an inactive user are all refused.
    """
    now = now or timezone.now()
    prefix, key_id, secret = _split(raw)
    if prefix != TOKEN_PREFIX:
        raise ApiTokenError("Invalid API token.")
    token = ApiToken.objects.select_related("user").filter(key_id=key_id).first()
    if token is None or not verify_secret(secret, token.secret_hash):
        raise ApiTokenError("Invalid API token.")
    if token.is_expired(now):
        raise ApiTokenError("This API token has expired.")
    if not token.user.is_active:
        raise ApiTokenError("The user of this API token is inactive.")
    _record_use(token, now)
    return token


def _split(raw: str) -> tuple[str, str, str]:
    parts = raw.split("_")
    if len(parts) != 3:
        raise ApiTokenError("Invalid API token.")
    return parts[0], parts[1], parts[2]


def _record_use(token: ApiToken, now: datetime) -> None:
    if token.last_used_at is not None and now - token.last_used_at < LAST_USE_RESOLUTION:
        return
    # A conditional update: of many concurrent requests, at most one per minute writes.
    ApiToken.objects.filter(pk=token.pk).exclude(last_used_at__gt=now - LAST_USE_RESOLUTION).update(
        last_used_at=now
    )
    token.last_used_at = now
