"""An application: its patterns or the App Launcher, logo, deny URLs and identity providers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator

from policies.catalog import Catalog
from policies.conf import conf
from policies.cors import cors_headers_errors
from policies.errors import Errors, add_error, check_unknown, merge_errors
from policies.matching import HostPathPattern, PatternError, compile_pattern
from policies.models import APPLICATION_BOOLEANS, APPLICATION_FIELDS, Application
from policies.validation.shared import (
    check_duration,
    check_name,
    check_storable_text,
    listed_choices,
)

# What the App Launcher has no use for: it is served at `/` on the login host, not at patterns.
LAUNCHER_UNUSED: dict[str, object] = {
    "domain": "",
    "destinations": [],
    "cors_headers": None,
    "options_preflight_bypass": False,
    "cors_on_responses": False,
}
MAX_LOGO_URL_LENGTH = 2048


def application_errors(
    fields: Mapping[str, Any], *, catalog: Catalog, current_name: str | None = None
) -> Errors:
    """Every problem with an application's complete field values.

    `current_name` is the application's stored name when it is being changed, so that its own
    stored patterns do not count as another application's.
    """
    errors: Errors = {}
    check_unknown(errors, fields, APPLICATION_FIELDS)
    check_storable_text(errors, fields)
    check_name(errors, fields.get("name"), max_length=350)
    type_ = fields.get("type", Application.Type.SELF_HOSTED)
    if type_ not in Application.Type.values:
        add_error(errors, "type", f"must be one of {listed_choices(Application.Type)}")
    elif type_ == Application.Type.APP_LAUNCHER:
        _check_launcher(errors, fields, catalog=catalog, current_name=current_name)
    else:
        patterns = _check_patterns(errors, fields)
        _check_patterns_unique(errors, patterns, catalog=catalog, current_name=current_name)
    _check_logo_url(errors, fields.get("logo_url", ""))
    check_duration(errors, "session_duration", fields.get("session_duration", "24h"))
    same_site = fields.get("same_site_cookie_attribute", Application.SameSite.LAX)
    if same_site not in Application.SameSite.values:
        add_error(
            errors,
            "same_site_cookie_attribute",
            f"must be one of {listed_choices(Application.SameSite)}",
        )
    for name in APPLICATION_BOOLEANS:
        if not isinstance(fields.get(name, False), bool):
            add_error(errors, name, "must be true or false")
    cors_headers = fields.get("cors_headers")
    if cors_headers is not None:
        merge_errors(errors, cors_headers_errors(cors_headers), "cors_headers")
        if fields.get("options_preflight_bypass") is True:
            add_error(
                errors,
                "options_preflight_bypass",
                "cannot be turned on while cors_headers is set: either let the gate answer "
                "preflights (cors_headers) or let them reach the view (options_preflight_bypass)",
            )
    if not isinstance(fields.get("custom_deny_message", ""), str):
        add_error(errors, "custom_deny_message", "must be text")
    for name in ("custom_deny_url", "custom_non_identity_deny_url"):
        _check_deny_url(errors, name, fields.get(name, ""))
    _check_allowed_idps(errors, fields.get("allowed_idps", []), catalog=catalog)
    return errors


def _check_deny_url(errors: Errors, path: str, value: object) -> None:
    if value == "":
        return
    schemes = ("https", "http") if conf.allow_http_deny_urls else ("https",)
    message = "must be an absolute https:// URL, like https://example.com/denied"
    if not isinstance(value, str) or any(char.isspace() or ord(char) < 32 for char in value):
        add_error(errors, path, message)
        return
    try:
        parts = urlsplit(value)
    except ValueError:
        add_error(errors, path, message)
        return
    if parts.scheme not in schemes or not parts.hostname:
        add_error(errors, path, message)


def _check_launcher(
    errors: Errors, fields: Mapping[str, Any], *, catalog: Catalog, current_name: str | None
) -> None:
    for name, unused in LAUNCHER_UNUSED.items():
        if fields.get(name, unused) != unused:
            add_error(
                errors,
                name,
                "the App Launcher is served at / on the login host: leave this field empty "
                "(or off)",
            )
    others = sorted(
        name for name in catalog.app_launchers if name not in (current_name, fields.get("name"))
    )
    for other in others:
        add_error(
            errors,
            "type",
            f'application "{other}" is already the App Launcher; there is one, so change that one',
        )


def _check_logo_url(errors: Errors, value: object) -> None:
    """A logo is an absolute https:// URL (the launcher page shows it from its origin), with a
    host and no user name or password, written as it will be sent: no spaces, no control
    characters, nothing a browser would re-spell."""
    if value == "":
        return
    message = "must be an absolute https:// image URL, like https://example.com/logo.png"
    if not isinstance(value, str):
        add_error(errors, "logo_url", message)
        return
    if len(value) > MAX_LOGO_URL_LENGTH:
        add_error(errors, "logo_url", f"must be at most {MAX_LOGO_URL_LENGTH} characters")
        return
    try:
        URLValidator(schemes=["https"])(value)
        parts = urlsplit(value)
        port = parts.port
    except (DjangoValidationError, ValueError):
        add_error(errors, "logo_url", message)
        return
    if (
        not value.isascii()
        or any(char.isspace() or ord(char) < 32 or char in '"<>\\^`{|}' for char in value)
        or parts.username is not None
        or parts.password is not None
        or not parts.hostname
        or port == 0
    ):
        add_error(errors, "logo_url", message)


def _check_allowed_idps(errors: Errors, value: object, *, catalog: Catalog) -> None:
    if not isinstance(value, list | tuple):
        add_error(errors, "allowed_idps", "must be a list of identity provider names or ids")
        return
    for index, name in enumerate(value):
        if not isinstance(name, str) or name not in catalog.identity_providers:
            add_error(
                errors,
                f"allowed_idps[{index}]",
                f'no identity provider has the name or id "{name}"; create it or fix the name',
            )


def _check_patterns(errors: Errors, fields: Mapping[str, Any]) -> list[HostPathPattern]:
    compiled: list[HostPathPattern] = []
    texts: list[tuple[str, object]] = [("domain", fields.get("domain"))]
    destinations = fields.get("destinations", [])
    if isinstance(destinations, list):
        texts.extend((f"destinations[{index}]", text) for index, text in enumerate(destinations))
        limit = conf.max_application_patterns
        if len(destinations) + 1 > limit:
            add_error(
                errors,
                "destinations",
                f"at most {limit - 1} destinations besides the domain ({limit} patterns in all)",
            )
    else:
        add_error(errors, "destinations", "must be a list of host/path patterns")
    for path, text in texts:
        if not isinstance(text, str) or not text.strip():
            add_error(
                errors, path, "must be a host with an optional path, like app.example.com/api"
            )
            continue
        try:
            pattern = compile_pattern(text)
        except PatternError as error:
            add_error(errors, path, str(error))
            continue
        if _pattern_key(pattern) in {_pattern_key(other) for other in compiled}:
            add_error(errors, path, "repeats another pattern of this application; remove it")
        compiled.append(pattern)
    return compiled


def _pattern_key(pattern: HostPathPattern) -> tuple[str, str]:
    # The compiled host and path, so that spelling (case, a trailing dot) does not matter.
    return (pattern.host, pattern.path)


def _check_patterns_unique(
    errors: Errors,
    patterns: list[HostPathPattern],
    *,
    catalog: Catalog,
    current_name: str | None,
) -> None:
    # Two applications with the very same pattern would leave the gate without one most
    # specific application to decide; merely overlapping ones are a system check.
    keys = {_pattern_key(pattern) for pattern in patterns}
    owners = sorted(
        owner
        for key in keys
        for owner in catalog.patterns_by_key.get(key, ())
        if owner[1] != current_name
    )
    for _position, application, text in owners:
        add_error(
            errors,
            "domain",
            f'application "{application}" already covers {text}; '
            "change the pattern or edit that application",
        )
