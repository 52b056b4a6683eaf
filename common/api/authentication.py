"""How callers of `/api/access/` authenticate with an API token (`Authorization: Bearer apt_...`).

The user is the token's user and `request.auth` the `ApiToken`, whose `read_only` flag
`common.api.permissions.WritesAllowed` enforces. The OpenAPI schema describes it as a bearer
scheme (`ApiTokenScheme`, found by drf-spectacular when this module is imported).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from common.api.tokens import ApiTokenError, api_token_authenticate
from common.models import ApiToken

BEARER = b"bearer"


class ApiTokenAuthentication(BaseAuthentication):
    """`Authorization: Bearer <token>` with an API token created in Django admin."""

    def authenticate(self, request: Request) -> tuple[Any, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != BEARER:
            return None  # another scheme, or none: not ours to judge
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                "The Authorization header must be 'Bearer <token>', with no spaces in the token."
            )
        try:
            raw = parts[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid API token.") from None
        try:
            token = api_token_authenticate(raw)
        except ApiTokenError as error:
            raise exceptions.AuthenticationFailed(error.reason) from None
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # Makes DRF answer 401 (not 403) to unauthenticated callers, naming the scheme to use.
        return 'Bearer realm="api"'


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes API-token authentication."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        scheme: dict[str, Any] = build_bearer_security_scheme_object(
            header_name="Authorization", token_prefix="Bearer"
        )
        scheme["description"] = "An API token created in Django admin: apt_<key id>_<secret>."
        return scheme
