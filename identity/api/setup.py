"""Connects the identity side of the API when the app is ready (see `identity.apps`)."""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication

from identity.api.authentication import ApiTokenAuthentication
from policies.api.base import use_authentication


def connect_api() -> None:
    """API tokens first (so an anonymous caller gets a 401 naming Bearer), then admin sessions.

    DRF's `SessionAuthentication` enforces CSRF for signed-in browsers, which is what makes the
    browsable API safe to use from the admin's session.
    """
    use_authentication(ApiTokenAuthentication, SessionAuthentication)
    from identity.api import (
        admin,  # noqa: F401  (registers the API token admin)
        schema,  # noqa: F401  (describes API tokens in the OpenAPI schema)
    )
