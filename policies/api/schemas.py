"""JSON Schema of the values whose rules live in `policies.validation`, for the OpenAPI document.

These describe the shapes of docs/architecture.md, The wire contract (rules, `cors_headers`,
durations) so that clients and generated SDKs see them; they are documentation, not a second
validator: requests are judged by the services, whose messages the API returns.
"""

from __future__ import annotations

import json
from typing import Any

from policies.cors import CORS_FIELDS, MAX_AGE_RANGE
from policies.models import (
    DEFAULT_SERVICE_TOKEN_DURATION,
    FOREVER,
    Application,
    IdentityProvider,
    Policy,
)
from policies.providers import PROVIDER_TYPES
from policies.rules import SELECTORS, SUPPORTED_SELECTORS, Selector

JsonSchema = dict[str, Any]

_TEXT: JsonSchema = {"type": "string"}


def _rule(kind: str, selector: Selector) -> JsonSchema:
    """One selector's rule, from its declaration in `policies.rules.SELECTORS`."""
    inner: JsonSchema = {
        "type": "object",
        "properties": dict.fromkeys((*selector.required, *selector.optional), _TEXT),
    }
    if selector.required:
        inner["required"] = list(selector.required)
    return {
        "type": "object",
        "description": selector.description,
        "properties": {kind: inner},
        "required": [kind],
        "example": json.loads(selector.example),
    }


RULE: JsonSchema = {
    "description": "A selector: an object with exactly one key naming its kind.",
    "oneOf": [_rule(kind, SELECTORS[kind]) for kind in SUPPORTED_SELECTORS],
}

RULES: JsonSchema = {"type": "array", "items": RULE}

DURATION: JsonSchema = {
    "type": "string",
    "description": 'A Go duration: "30m", "2h45m", "24h".',
    "example": "24h",
}

SERVICE_TOKEN_DURATION: JsonSchema = {
    "type": "string",
    "description": (
        f'How long the token lasts from creation or refresh: a Go duration or "{FOREVER}" '
        f'(default "{DEFAULT_SERVICE_TOKEN_DURATION}").'
    ),
    "example": DEFAULT_SERVICE_TOKEN_DURATION,
}

PATTERNS: JsonSchema = {
    "type": "array",
    "items": {"type": "string"},
    "description": "More host/path patterns, e.g. api.example.com/v1 or *.example.com.",
}

NAMES: JsonSchema = {"type": "array", "items": {"type": "string"}}

# The JSON of each kind of value `policies.cors.CORS_FIELDS` declares.
_CORS_VALUE: dict[type, JsonSchema] = {
    list: {"type": "array", "items": {"type": "string"}},
    bool: {"type": "boolean"},
    int: {"type": "integer"},
}
_MAX_AGE: JsonSchema = {"minimum": MAX_AGE_RANGE[0], "maximum": MAX_AGE_RANGE[1]}

CORS_HEADERS: JsonSchema = {
    "type": "object",
    "nullable": True,
    "description": "How the gate answers CORS preflights; null means not set.",
    "properties": {
        key: _CORS_VALUE[kind] | (_MAX_AGE if key == "max_age" else {})
        for key, kind in CORS_FIELDS.items()
    },
}

APPROVAL_GROUPS: JsonSchema = {
    "type": "array",
    "description": (
        "Who approves a temporary authentication (approval_required): each group lists "
        "approvers' addresses in lower case and how many of them must approve."
    ),
    "items": {
        "type": "object",
        "properties": {
            "approvals_needed": {"type": "integer", "minimum": 1},
            "email_addresses": {"type": "array", "items": {"type": "string"}, "minItems": 1},
        },
        "required": ["approvals_needed", "email_addresses"],
        "additionalProperties": False,
    },
}

SAME_SITE: JsonSchema = {"type": "string", "enum": list(Application.SameSite.values)}
APPLICATION_TYPE: JsonSchema = {"type": "string", "enum": list(Application.Type.values)}
# Both are fields named `type`: the schema's enums are named after these (ENUM_NAME_OVERRIDES).
APPLICATION_TYPES = list(Application.Type.values)
IDENTITY_PROVIDER_TYPES = list(IdentityProvider.Type.values)
DECISION: JsonSchema = {"type": "string", "enum": list(Policy.Decision.values)}
IDENTITY_PROVIDER_TYPE: JsonSchema = {
    "type": "string",
    "enum": list(IdentityProvider.Type.values),
}
IDENTITY_PROVIDER_CONFIG: JsonSchema = {
    "description": (
        "The type's settings (policies/providers.py declares each one). client_secret is "
        "write-only: never returned; left out of a change, the stored one is kept."
    ),
    "oneOf": [
        {"title": entry.type, **entry.config.model_json_schema()}
        for entry in PROVIDER_TYPES.values()
        if entry.config.model_fields
    ]
    + [{"title": "onetimepin, password", "type": "object", "maxProperties": 0}],
}
BOOLEAN: JsonSchema = {"type": "boolean"}
TEXT: JsonSchema = _TEXT
INTEGER: JsonSchema = {"type": "integer"}
