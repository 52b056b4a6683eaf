"""DRF authentication with Access itself, for APIs behind the gate.

`AccessAuthentication` is for DRF views on paths the gate protects: the gate has already checked
the Access token and set `request.access`; this class turns that into `request.user` (the Django
user with that email, or an `AccessUser`) and `request.auth` (the token's claims). See
docs/api.md. API tokens for `/api/access/` itself are `common.api.authentication`'s.
"""

from __future__ import annotations

from typing import Any

from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from identity.users import active_user_with_email


class AccessUser:
    """Someone the gate let through who has no Django account (or a service token).

    Authenticated (the gate checked their token) but with no Django permissions at all, so
    `DjangoModelPermissions` and admin checks refuse it while `IsAuthenticated` lets it in.
    """

    is_active = True
    is_staff = False
    is_superuser = False
    is_anonymous = False
    is_authenticated = True
    pk = None
    id = None

    def __init__(self, *, email: str, common_name: str = "") -> None:
        self.email = email
        self.common_name = common_name
        self.username = email or common_name

    def __str__(self) -> str:
        return self.username

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AccessUser) and (other.email, other.common_name) == (
            self.email,
            self.common_name,
        )

    def __hash__(self) -> int:
        return hash((self.email, self.common_name))

    def get_username(self) -> str:
        return self.username

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return False

    def has_perms(self, perm_list: object, obj: object = None) -> bool:
        return False

    def has_module_perms(self, module: str) -> bool:
        return False


class AccessAuthentication(BaseAuthentication):
    """Authenticates DRF views behind the gate from `request.access`, which the gate set.

    The gate answers unauthenticated requests before any view runs, so without `request.access`
    the path is not protected: the request is left unauthenticated (and a permission class such
    as `IsAuthenticated` refuses it). A person becomes the active Django user with that email
    when exactly one exists, else an `AccessUser`; a service token is always an `AccessUser`
    whose `common_name` is its client id.
    """

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        access = getattr(request._request, "access", None)
        if access is None:
            return None
        email = str(getattr(access, "email", "") or "")
        common_name = str(getattr(access, "common_name", "") or "")
        claims = getattr(access, "claims", None)
        if not email and not common_name:
            return None
        user = active_user_with_email(email) if email and not common_name else None
        return (user or AccessUser(email=email, common_name=common_name)), claims
