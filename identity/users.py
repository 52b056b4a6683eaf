"""Optional: the person who passed the gate as a Django user, in `request.user`.

Off by default. A site that wants it adds the backend and the middleware
(docs/protect-your-service.md):

    AUTHENTICATION_BACKENDS = [..., "identity.users.AccessUserBackend"]
    MIDDLEWARE = [..., "django.contrib.auth.middleware.AuthenticationMiddleware",
                  "identity.users.AccessUserMiddleware", ...]

On a request the gate let through with a person's token (`request.access.email`), `request.user`
is the active user whose email address is that one (compared case-insensitively), or
`AnonymousUser`: an address that no account has, or that several accounts share, names nobody,
and guessing between accounts would hand one person another's. Nothing is stored in the session:
the Access token stays the only credential, so a logout, a revocation or an expired token takes
the user away with the next request. Service tokens are never users. `ACCESS_CREATE_USERS = True`
creates an account (username and email: the address; no usable password) the first time an
address without one passes the gate.

The lookup runs when a view first reads `request.user`, not on every gated request.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, cast

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.auth import get_user_model, load_backend
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils.functional import SimpleLazyObject

from identity.conf import conf

if TYPE_CHECKING:
    from identity.middleware import RequestAccess

logger = logging.getLogger(__name__)

BACKEND_PATH = "identity.users.AccessUserBackend"
MIDDLEWARE_PATH = "identity.users.AccessUserMiddleware"


class AccessUserBackend(ModelBackend):
    """Authenticate the person behind `request.access` by the email address in their token.

    Only `authenticate(request, access=...)` with the gate's `RequestAccess` reaches a user: this
    backend never reads usernames or passwords. Permissions are Django's (`ModelBackend`).
    """

    def authenticate(  # type: ignore[override]
        self, request: HttpRequest | None, access: RequestAccess | None = None, **kwargs: Any
    ) -> AbstractBaseUser | None:
        if access is None or not access.email or access.common_name:
            return None
        user = active_user_with_email(access.email)
        if user is None and conf.create_users:
            user = _create_user(access.email)
        if user is None or not self.user_can_authenticate(cast(Any, user)):
            return None
        return user


def active_user_with_email(email: str) -> AbstractBaseUser | None:
    """The active user with this email address (case-insensitive), when exactly one has it.

    Two accounts with one address: nobody, rather than a guess at which one the person is.
    """
    user_model = get_user_model()
    email_field = user_model.get_email_field_name()
    filters: dict[str, Any] = {f"{email_field}__iexact": email}
    if any(field.name == "is_active" for field in user_model._meta.get_fields()):
        filters["is_active"] = True
    found = list(user_model._default_manager.filter(**filters)[:2])
    return found[0] if len(found) == 1 else None


def _create_user(email: str) -> AbstractBaseUser | None:
    """A new account for an address that no account has, active or not: a deactivated account
    stays the only one its address names."""
    user_model = get_user_model()
    email_field = user_model.get_email_field_name()
    if user_model._default_manager.filter(**{f"{email_field}__iexact": email}).exists():
        return None
    fields = {user_model.USERNAME_FIELD: email, email_field: email}
    try:
        with transaction.atomic():
            user = user_model(**fields)
            user.set_unusable_password()
            user.full_clean()
            user.save()
    except IntegrityError:
        # Created by a concurrent request a moment ago, or the username is someone else's.
        return active_user_with_email(email)
    except Exception as error:  # a custom user model that needs more than an address
        logger.warning("could not create a user for %r: %s", email, error)
        return None
    return user


class AccessUserMiddleware:
    """Set `request.user` from `request.access`; after the gate and `AuthenticationMiddleware`."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        access = getattr(request, "access", None)
        if access is not None and access.email:
            resolve = functools.cache(partial(_access_user, request, access))
            request.user = cast(Any, SimpleLazyObject(resolve))

            async def auser() -> AbstractBaseUser | AnonymousUser:
                return await sync_to_async(resolve)()

            request.auser = auser  # type: ignore[assignment]
            # The admin's sign-in and signed-out pages read it: here a password changes nothing.
            request.access_sets_user = True  # type: ignore[attr-defined]
        return self.get_response(request)


def configured_backend() -> tuple[str, AccessUserBackend] | None:
    """The first `AUTHENTICATION_BACKENDS` entry that is an `AccessUserBackend` (a site may
    subclass it), with its path; None when there is none."""
    for path in settings.AUTHENTICATION_BACKENDS:
        try:
            backend = load_backend(path)
        except ImportError:
            continue  # Django's own checks and logins report it
        if isinstance(backend, AccessUserBackend):
            return path, backend
    return None


def _access_user(request: HttpRequest, access: RequestAccess) -> AbstractBaseUser | AnonymousUser:
    configured = configured_backend()
    if configured is None:
        return AnonymousUser()  # identity.E006 reports the missing backend
    path, backend = configured
    user = backend.authenticate(request, access=access)
    if user is None:
        return AnonymousUser()
    user.backend = path
    return user
