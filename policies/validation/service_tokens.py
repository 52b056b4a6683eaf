"""A service token: its name, duration and (optional) client id and secret."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from policies.errors import Errors, add_error, check_unknown
from policies.models import DEFAULT_SERVICE_TOKEN_DURATION, FOREVER
from policies.validation.shared import check_duration, check_name, check_storable_text

CLIENT_ID_PATTERN = re.compile(r"[0-9a-f]{32}\.access")
SERVICE_TOKEN_FIELDS = frozenset({"name", "duration", "client_id", "client_secret"})


def service_token_errors(fields: Mapping[str, Any]) -> Errors:
    """Every problem with a service token's name, duration and (optional) client id."""
    errors: Errors = {}
    check_unknown(errors, fields, SERVICE_TOKEN_FIELDS)
    check_storable_text(errors, fields)
    check_name(errors, fields.get("name"), max_length=200)
    duration = fields.get("duration", DEFAULT_SERVICE_TOKEN_DURATION)
    if duration != FOREVER:
        check_duration(errors, "duration", duration, hint=' or "forever"')
    client_id = fields.get("client_id")
    if client_id is not None and (
        not isinstance(client_id, str) or not CLIENT_ID_PATTERN.fullmatch(client_id)
    ):
        add_error(errors, "client_id", "must be 32 lowercase hex characters followed by .access")
    secret = fields.get("client_secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) < 32):
        add_error(errors, "client_secret", "must be at least 32 characters (use a random value)")
    return errors
