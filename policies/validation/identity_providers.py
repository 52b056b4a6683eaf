"""An identity provider: its name, type and config (each type's config is `policies.providers`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.errors import Errors, add_error, check_unknown, merge_errors
from policies.providers import PROVIDER_TYPES, UNSUPPORTED_TYPES, config_errors
from policies.validation.shared import check_name, check_storable_text

IDENTITY_PROVIDER_FIELDS = frozenset({"name", "type", "config"})


def identity_provider_errors(fields: Mapping[str, Any]) -> Errors:
    """Every problem with an identity provider's name, type and config (`config.client_id`)."""
    errors: Errors = {}
    check_unknown(errors, fields, IDENTITY_PROVIDER_FIELDS)
    check_storable_text(errors, fields)
    check_name(errors, fields.get("name"), max_length=100)
    type_ = fields.get("type")
    if isinstance(type_, str) and type_ in UNSUPPORTED_TYPES:
        add_error(errors, "type", UNSUPPORTED_TYPES[type_])
    elif type_ not in PROVIDER_TYPES:
        add_error(errors, "type", f"must be one of {', '.join(PROVIDER_TYPES)}")
    else:
        merge_errors(errors, config_errors(type_, fields.get("config", {})), "config")
    return errors
