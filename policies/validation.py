"""The one validation layer: every rule of docs/architecture.md, for admin, API and config files.

Each `*_errors` function takes plain field values (as the services, the API or a config file hold
them), checks their types too (a config file can hold anything), and returns *every* problem at
once as `{field path: [message, ...]}`, e.g. `{"cors_headers.max_age": [...],
"include[0].email.email": [...]}`. Each message says what to do. `raise_for_errors` turns them
into a Django `ValidationError`, which the admin attaches to the field of the same name.

Rules refer to groups, service tokens and identity providers by name; a `Catalog` says which names
exist (from the database, or from the final state a config file describes), so that validation
never depends on the order in which objects are written.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError

from common.text import UNSTORABLE_TEXT, join_path, unstorable_text_paths
from policies.conf import conf
from policies.cors import normalize_origin
from policies.durations import parse_duration
from policies.matching import HostPathPattern, PatternError, compile_pattern
from policies.models import AccessGroup, Application, IdentityProvider, Policy, ServiceToken
from policies.providers import PROVIDER_TYPES, UNSUPPORTED_TYPES, config_errors
from policies.rules import (
    GitHubOrganizationRule,
    LoginMethodRule,
    OidcClaimRule,
    Rule,
    RuleError,
    compile_rule,
)

Errors = dict[str, list[str]]

RULE_LISTS = ("include", "require", "exclude")
SERVICE_TOKEN_KINDS = frozenset({"service_token", "any_valid_service_token"})
FOREVER = "forever"
CLIENT_ID_PATTERN = re.compile(r"[0-9a-f]{32}\.access")
CORS_METHODS = ("GET", "POST", "HEAD", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH")
CORS_FIELDS = {
    "allowed_origins": list,
    "allow_all_origins": bool,
    "allowed_methods": list,
    "allow_all_methods": bool,
    "allowed_headers": list,
    "allow_all_headers": bool,
    "allow_credentials": bool,
    "max_age": int,
}
MAX_AGE_RANGE = (-1, 86400)
# The largest value a PositiveIntegerField holds on every supported database (PostgreSQL's integer).
MAX_PRECEDENCE = 2_147_483_647
# The columns that hold durations (Application/Policy.session_duration, ServiceToken.duration).
MAX_DURATION_LENGTH = 32
# RFC 9110 token characters: what a header name may be made of.
HEADER_NAME_PATTERN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")

APPLICATION_FIELDS = frozenset(
    {
        "name",
        "domain",
        "destinations",
        "session_duration",
        "same_site_cookie_attribute",
        "http_only_cookie_attribute",
        "enable_binding_cookie",
        "options_preflight_bypass",
        "cors_headers",
        "cors_on_responses",
        "unauthenticated_401",
        "custom_deny_message",
        "custom_deny_url",
        "custom_non_identity_deny_url",
        "service_auth_401_redirect",
        "allowed_idps",
        "auto_redirect_to_identity",
        "require_second_factor_enrolment",
    }
)
APPLICATION_BOOLEANS = (
    "http_only_cookie_attribute",
    "enable_binding_cookie",
    "options_preflight_bypass",
    "cors_on_responses",
    "unauthenticated_401",
    "service_auth_401_redirect",
    "auto_redirect_to_identity",
    "require_second_factor_enrolment",
)
POLICY_FIELDS = frozenset({"name", "decision", "precedence", *RULE_LISTS, "session_duration"})
GROUP_FIELDS = frozenset({"name", *RULE_LISTS})
SERVICE_TOKEN_FIELDS = frozenset({"name", "duration", "client_id", "client_secret"})
IDENTITY_PROVIDER_FIELDS = frozenset({"name", "type", "config"})


@dataclass(frozen=True)
class PolicyUse:
    """A policy as cross-object checks see it: where it is, what it decides, which rules it has."""

    application: str
    name: str
    decision: str
    rules: tuple[object, ...]


@dataclass(frozen=True)
class Catalog:
    """The names rules may refer to, and the policies and patterns other checks compare with."""

    groups: Mapping[str, tuple[object, ...]] = field(default_factory=dict)
    service_tokens: frozenset[str] = frozenset()
    identity_providers: frozenset[str] = frozenset()
    # Identity providers by id (the text of their number): their type.
    identity_provider_ids: Mapping[str, str] = field(default_factory=dict)
    policies: tuple[PolicyUse, ...] = ()
    application_patterns: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_database(cls) -> Catalog:
        """The catalog of what is stored now."""
        groups = {
            group.name: _all_rules(group.include, group.require, group.exclude)
            for group in AccessGroup.objects.all()
        }
        policies = tuple(
            PolicyUse(
                application=policy.application.name,
                name=policy.name,
                decision=policy.decision,
                rules=_all_rules(policy.include, policy.require, policy.exclude),
            )
            for policy in Policy.objects.select_related("application")
        )
        patterns: list[tuple[str, str]] = []
        for application in Application.objects.all():
            patterns.extend(
                (application.name, pattern)
                for pattern in [application.domain, *_strings(application.destinations)]
            )
        return cls(
            groups=groups,
            service_tokens=frozenset(ServiceToken.objects.values_list("name", flat=True)),
            identity_providers=frozenset(IdentityProvider.objects.values_list("name", flat=True)),
            identity_provider_ids={
                str(pk): type_ for pk, type_ in IdentityProvider.objects.values_list("pk", "type")
            },
            policies=policies,
            application_patterns=tuple(patterns),
        )

    def with_group(self, name: str, rules: tuple[object, ...] | None) -> Catalog:
        """This catalog with group `name` defined as `rules` (or removed, when None)."""
        groups = {key: value for key, value in self.groups.items() if key != name}
        if rules is not None:
            groups[name] = rules
        return replace(self, groups=groups)


def raise_for_errors(errors: Errors) -> None:
    """Raise a Django `ValidationError` keyed by field path when there is any error."""
    if errors:
        raise ValidationError({path: list(messages) for path, messages in errors.items()})


def errors_from_validation_error(error: ValidationError) -> Errors:
    """The `{path: [messages]}` form of a Django `ValidationError` (from `full_clean`, say)."""
    if hasattr(error, "error_dict"):
        return {
            path: [message for item in items for message in item.messages]
            for path, items in error.error_dict.items()
        }
    return {"__all__": list(error.messages)}


def merge_errors(target: Errors, source: Mapping[str, Sequence[str]], prefix: str = "") -> None:
    """Add `source`'s errors to `target`, under `prefix` (e.g. `applications[2]`)."""
    for path, messages in source.items():
        key = join_path(prefix, "" if path == "__all__" else path) or "__all__"
        bucket = target.setdefault(key, [])
        bucket.extend(message for message in messages if message not in bucket)


# Applications


def application_errors(
    fields: Mapping[str, Any], *, catalog: Catalog, current_name: str | None = None
) -> Errors:
    """Every problem with an application's complete field values.

    `current_name` is the application's stored name when it is being changed, so that its own
    stored patterns do not count as another application's.
    """
    errors: Errors = {}
    _check_unknown(errors, fields, APPLICATION_FIELDS)
    _check_storable_text(errors, fields)
    _check_name(errors, fields.get("name"), max_length=350)
    patterns = _check_patterns(errors, fields)
    _check_patterns_unique(errors, patterns, catalog=catalog, current_name=current_name)
    _check_duration(errors, "session_duration", fields.get("session_duration", "24h"))
    same_site = fields.get("same_site_cookie_attribute", Application.SameSite.LAX)
    if same_site not in Application.SameSite.values:
        _add(
            errors, "same_site_cookie_attribute", f"must be one of {_choices(Application.SameSite)}"
        )
    for name in APPLICATION_BOOLEANS:
        if not isinstance(fields.get(name, False), bool):
            _add(errors, name, "must be true or false")
    cors_headers = fields.get("cors_headers")
    if cors_headers is not None:
        merge_errors(errors, cors_headers_errors(cors_headers), "cors_headers")
        if fields.get("options_preflight_bypass") is True:
            _add(
                errors,
                "options_preflight_bypass",
                "cannot be turned on while cors_headers is set: either let the gate answer "
                "preflights (cors_headers) or let them reach the view (options_preflight_bypass)",
            )
    if not isinstance(fields.get("custom_deny_message", ""), str):
        _add(errors, "custom_deny_message", "must be text")
    for name in ("custom_deny_url", "custom_non_identity_deny_url"):
        _check_deny_url(errors, name, fields.get(name, ""))
    _check_allowed_idps(errors, fields.get("allowed_idps", []), catalog=catalog)
    return errors


def cors_headers_errors(value: object) -> Errors:
    """Every problem with a `cors_headers` object, keyed by its field (`max_age`, ...)."""
    errors: Errors = {}
    if not isinstance(value, Mapping):
        _add(errors, "", "must be an object with allowed_origins, allowed_methods, ...")
        return errors
    for key, expected in CORS_FIELDS.items():
        item = value.get(key)
        if item is None:
            continue
        if not isinstance(item, expected) or (expected is int and isinstance(item, bool)):
            kind = {list: "a list", bool: "true or false", int: "a whole number"}[expected]
            _add(errors, key, f"must be {kind}")
    _check_unknown(errors, value, frozenset(CORS_FIELDS))
    origins = _strings_at(errors, value, "allowed_origins")
    methods = _strings_at(errors, value, "allowed_methods")
    headers = _strings_at(errors, value, "allowed_headers")
    all_origins = value.get("allow_all_origins") is True
    all_methods = value.get("allow_all_methods") is True
    for index, origin in enumerate(origins):
        if origin not in ("*", "null") and normalize_origin(origin) is None:
            _add(
                errors,
                f"allowed_origins[{index}]",
                f'"{origin}" is not an origin: write scheme and host, like https://app.example.com',
            )
    for index, method in enumerate(methods):
        if method not in CORS_METHODS:
            _add(errors, f"allowed_methods[{index}]", f"must be one of {', '.join(CORS_METHODS)}")
    for index, header in enumerate(headers):
        if not HEADER_NAME_PATTERN.fullmatch(header):
            _add(errors, f"allowed_headers[{index}]", f'"{header}" is not a header name')
    if value.get("allow_credentials") is True and (all_origins or "*" in origins):
        _add(
            errors,
            "allow_credentials",
            "credentials cannot be allowed for all origins; list the origins instead",
        )
    has_origins = all_origins or bool(origins)
    has_methods = all_methods or bool(methods)
    if has_origins and not has_methods:
        _add(errors, "allowed_methods", "set allowed_methods or allow_all_methods")
    if has_methods and not has_origins:
        _add(errors, "allowed_origins", "set allowed_origins or allow_all_origins")
    if not has_origins and not has_methods:
        _add(
            errors,
            "",
            "allow at least one origin and one method, or leave cors_headers empty",
        )
    max_age = value.get("max_age")
    low, high = MAX_AGE_RANGE
    if isinstance(max_age, int) and not isinstance(max_age, bool) and not low <= max_age <= high:
        _add(errors, "max_age", f"must be between {low} and {high}")
    return errors


# Policies


def policy_errors(fields: Mapping[str, Any], *, catalog: Catalog) -> Errors:
    """Every problem with one policy's field values (precedence uniqueness is checked per set)."""
    errors: Errors = {}
    _check_unknown(errors, fields, POLICY_FIELDS)
    _check_storable_text(errors, fields)
    _check_name(errors, fields.get("name"), max_length=200)
    decision = fields.get("decision")
    if decision not in Policy.Decision.values:
        _add(errors, "decision", f"must be one of {_choices(Policy.Decision)}")
    precedence = fields.get("precedence")
    if (
        not isinstance(precedence, int)
        or isinstance(precedence, bool)
        or not 1 <= precedence <= MAX_PRECEDENCE
    ):
        _add(errors, "precedence", f"must be a whole number from 1 to {MAX_PRECEDENCE}")
    session_duration = fields.get("session_duration", "")
    if session_duration != "":
        _check_duration(errors, "session_duration", session_duration)
    rules = _check_rule_lists(errors, fields, catalog=catalog)
    if decision == Policy.Decision.BYPASS:
        for path, rule in rules:
            for kind in _identity_kinds(rule, catalog):
                _add(
                    errors,
                    path,
                    f"bypass policies take no identity selectors ({kind}): use IP or country "
                    "rules, or choose another decision",
                )
    if decision != Policy.Decision.NON_IDENTITY:
        for path, rule in rules:
            for kind in _service_token_kinds(rule, catalog):
                _add(
                    errors,
                    path,
                    f"{kind} selectors need the non_identity (Service Auth) decision",
                )
    return errors


def policy_set_errors(policies: Sequence[Mapping[str, Any]], *, catalog: Catalog) -> Errors:
    """Every problem with an application's complete list of policies, keyed `[index].field`."""
    errors: Errors = {}
    seen_precedence: dict[object, str] = {}
    seen_names: set[str] = set()
    for index, policy in enumerate(policies):
        prefix = f"[{index}]"
        if not isinstance(policy, Mapping):
            _add(errors, prefix, "must be an object with name, decision, precedence and include")
            continue
        merge_errors(errors, policy_errors(policy, catalog=catalog), prefix)
        name = policy.get("name")
        if isinstance(name, str) and name in seen_names:
            _add(errors, f"{prefix}.name", f'another policy is named "{name}"; rename one')
        if isinstance(name, str):
            seen_names.add(name)
        precedence = policy.get("precedence")
        if isinstance(precedence, int) and precedence in seen_precedence:
            _add(
                errors,
                f"{prefix}.precedence",
                f'precedence {precedence} is already used by policy "{seen_precedence[precedence]}"'
                "; give each policy its own precedence",
            )
        elif isinstance(precedence, int):
            seen_precedence[precedence] = str(name)
    return errors


# Access groups


def group_errors(
    fields: Mapping[str, Any], *, catalog: Catalog, current_name: str | None = None
) -> Errors:
    """Every problem with an access group, its cycles, and what it would do to policies using it."""
    errors: Errors = {}
    _check_unknown(errors, fields, GROUP_FIELDS)
    _check_storable_text(errors, fields)
    name = fields.get("name")
    _check_name(errors, name, max_length=200)
    _check_rule_lists(errors, fields, catalog=catalog)
    if errors or not isinstance(name, str):
        return errors
    rules = _all_rules(fields.get("include"), fields.get("require"), fields.get("exclude"))
    updated = catalog.with_group(current_name or name, None).with_group(name, rules)
    cycle = _group_cycle(name, updated)
    if cycle:
        _add(
            errors,
            "include",
            f"groups cannot contain themselves ({' → '.join(cycle)}); remove one of the references",
        )
        return errors
    renamed_from = current_name if current_name and current_name != name else None
    for place in _uses_of_group(renamed_from, catalog):
        _add(errors, "name", f"is used by {place}; change those rules before renaming the group")
    for use in catalog.policies:
        if not _uses_group(use.rules, name, updated):
            continue
        problems = policy_errors(
            {
                "name": use.name,
                "decision": use.decision,
                "precedence": 1,
                "include": list(use.rules),
            },
            catalog=updated,
        )
        for messages in problems.values():
            for message in messages:
                _add(
                    errors,
                    "include",
                    f'policy "{use.name}" of application "{use.application}" uses this group: '
                    f"{message}",
                )
    return errors


def group_delete_errors(name: str, *, catalog: Catalog) -> Errors:
    """Refuse to delete a group that rules still refer to."""
    errors: Errors = {}
    for use in _uses_of_group(name, catalog):
        _add(errors, "name", f"is used by {use}; remove those rules first")
    return errors


# Service tokens and identity providers


def service_token_errors(fields: Mapping[str, Any]) -> Errors:
    """Every problem with a service token's name, duration and (optional) client id."""
    errors: Errors = {}
    _check_unknown(errors, fields, SERVICE_TOKEN_FIELDS)
    _check_storable_text(errors, fields)
    _check_name(errors, fields.get("name"), max_length=200)
    duration = fields.get("duration", "8760h")
    if duration != FOREVER:
        _check_duration(errors, "duration", duration, hint=' or "forever"')
    client_id = fields.get("client_id")
    if client_id is not None and (
        not isinstance(client_id, str) or not CLIENT_ID_PATTERN.fullmatch(client_id)
    ):
        _add(errors, "client_id", "must be 32 lowercase hex characters followed by .access")
    secret = fields.get("client_secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) < 32):
        _add(errors, "client_secret", "must be at least 32 characters (use a random value)")
    return errors


def reference_delete_errors(kind: str, name: str, *, catalog: Catalog) -> Errors:
    """Refuse to delete a service token or identity provider that rules still refer to."""
    errors: Errors = {}
    for use in catalog.policies:
        if any(_refers_to(rule, kind, name) for rule in use.rules):
            _add(
                errors,
                "name",
                f'is used by policy "{use.name}" of application "{use.application}"; '
                "remove those rules first",
            )
    for group, rules in catalog.groups.items():
        if any(_refers_to(rule, kind, name) for rule in rules):
            _add(errors, "name", f'is used by group "{group}"; remove those rules first')
    return errors


def provider_delete_errors(provider_id: int, name: str, *, catalog: Catalog) -> Errors:
    """Refuse to delete an identity provider that rules still refer to, by name or by id."""
    errors = reference_delete_errors("login_method", name, catalog=catalog)
    wanted = str(provider_id)
    places = [
        (f'policy "{use.name}" of application "{use.application}"', use.rules)
        for use in catalog.policies
    ]
    places.extend((f'group "{group}"', rules) for group, rules in catalog.groups.items())
    for place, rules in places:
        if any(_provider_reference(item) == wanted for item in rules):
            _add(errors, "name", f"is used by {place}; remove those rules first")
    return errors


def identity_provider_errors(fields: Mapping[str, Any]) -> Errors:
    """Every problem with an identity provider's name, type and config (`config.client_id`)."""
    errors: Errors = {}
    _check_unknown(errors, fields, IDENTITY_PROVIDER_FIELDS)
    _check_storable_text(errors, fields)
    _check_name(errors, fields.get("name"), max_length=100)
    type_ = fields.get("type")
    if isinstance(type_, str) and type_ in UNSUPPORTED_TYPES:
        _add(errors, "type", UNSUPPORTED_TYPES[type_])
    elif type_ not in PROVIDER_TYPES:
        _add(errors, "type", f"must be one of {', '.join(PROVIDER_TYPES)}")
    else:
        merge_errors(errors, config_errors(type_, fields.get("config", {})), "config")
    return errors


def _check_storable_text(errors: Errors, fields: Mapping[str, Any]) -> None:
    for path in unstorable_text_paths(fields):
        _add(errors, path, UNSTORABLE_TEXT)


# Helpers


def _add(errors: Errors, path: str, message: str) -> None:
    bucket = errors.setdefault(path or "__all__", [])
    if message not in bucket:
        bucket.append(message)


def _choices(choices: Any) -> str:
    return ", ".join(str(value) for value in choices.values)


def _strings(value: object) -> list[str]:
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def _strings_at(errors: Errors, mapping: Mapping[str, Any], key: str) -> list[str]:
    value = mapping.get(key)
    if not isinstance(value, list):
        return []
    for index, item in enumerate(value):
        if not isinstance(item, str):
            _add(errors, f"{key}[{index}]", "must be text")
    return _strings(value)


def _all_rules(*lists: object) -> tuple[object, ...]:
    return tuple(rule for value in lists if isinstance(value, list) for rule in value)


def _check_unknown(errors: Errors, fields: Mapping[str, Any], known: frozenset[str]) -> None:
    for key in fields:
        if key not in known:
            _add(errors, str(key), f"unknown field; expected one of {', '.join(sorted(known))}")


def _check_name(errors: Errors, value: object, *, max_length: int) -> None:
    if not isinstance(value, str) or not value.strip():
        _add(errors, "name", "is required")
    elif value != value.strip():
        _add(errors, "name", "must not start or end with spaces")
    elif len(value) > max_length:
        _add(errors, "name", f"must be at most {max_length} characters")


def _check_duration(errors: Errors, path: str, value: object, *, hint: str = "") -> None:
    example = f'a duration like "30m", "2h45m" or "24h"{hint}'
    if not isinstance(value, str):
        _add(errors, path, f"must be {example}")
        return
    if len(value) > MAX_DURATION_LENGTH:
        _add(errors, path, f"must be at most {MAX_DURATION_LENGTH} characters")
        return
    try:
        duration = parse_duration(value)
    except ValueError as error:
        _add(errors, path, f"{error}; write {example}")
        return
    if duration.total_seconds() <= 0:
        _add(errors, path, f"must be longer than zero; write {example}")


def _check_deny_url(errors: Errors, path: str, value: object) -> None:
    if value == "":
        return
    schemes = ("https", "http") if conf.allow_http_deny_urls else ("https",)
    message = "must be an absolute https:// URL, like https://example.com/denied"
    if not isinstance(value, str) or any(char.isspace() or ord(char) < 32 for char in value):
        _add(errors, path, message)
        return
    try:
        parts = urlsplit(value)
    except ValueError:
        _add(errors, path, message)
        return
    if parts.scheme not in schemes or not parts.hostname:
        _add(errors, path, message)


def _check_allowed_idps(errors: Errors, value: object, *, catalog: Catalog) -> None:
    if not isinstance(value, list | tuple):
        _add(errors, "allowed_idps", "must be a list of identity provider names or ids")
        return
    for index, name in enumerate(value):
        if not isinstance(name, str) or name not in catalog.identity_providers:
            _add(
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
            _add(
                errors,
                "destinations",
                f"at most {limit - 1} destinations besides the domain ({limit} patterns in all)",
            )
    else:
        _add(errors, "destinations", "must be a list of host/path patterns")
    for path, text in texts:
        if not isinstance(text, str) or not text.strip():
            _add(errors, path, "must be a host with an optional path, like app.example.com/api")
            continue
        try:
            pattern = compile_pattern(text)
        except PatternError as error:
            _add(errors, path, str(error))
            continue
        if _pattern_key(pattern) in {_pattern_key(other) for other in compiled}:
            _add(errors, path, "repeats another pattern of this application; remove it")
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
    for application, text in catalog.application_patterns:
        if application == current_name:
            continue
        try:
            other = compile_pattern(text)
        except PatternError:
            continue
        if _pattern_key(other) in {_pattern_key(pattern) for pattern in patterns}:
            _add(
                errors,
                "domain",
                f'application "{application}" already covers {text}; '
                "change the pattern or edit that application",
            )


def _check_rule_lists(
    errors: Errors, fields: Mapping[str, Any], *, catalog: Catalog
) -> list[tuple[str, Rule]]:
    compiled: list[tuple[str, Rule]] = []
    for list_name in RULE_LISTS:
        value = fields.get(list_name, [])
        if not isinstance(value, list):
            _add(errors, list_name, 'must be a list of rules like [{"email": {"email": "..."}}]')
            continue
        if list_name == "include" and not value:
            _add(errors, "include", 'needs at least one rule, e.g. {"everyone": {}}')
        for index, item in enumerate(value):
            path = f"{list_name}[{index}]"
            try:
                rule = compile_rule(item)
            except RuleError as error:
                _add(errors, _rule_error_path(path, item), str(error))
                continue
            _check_reference(errors, path, item, rule, catalog=catalog)
            compiled.append((path, rule))
    return compiled


def _rule_error_path(path: str, item: object) -> str:
    # Point at the selector's parameter when the rule has the one-key shape with one parameter.
    if isinstance(item, Mapping) and len(item) == 1:
        kind, value = next(iter(item.items()))
        if isinstance(value, Mapping) and len(value) == 1:
            return f"{path}.{kind}.{next(iter(value))}"
        return f"{path}.{kind}"
    return path


REFERENCES = {
    "group": ("groups", "access group"),
    "service_token": ("service_tokens", "service token"),
}


def _referenced_name(item: object, kind: str) -> str | None:
    if isinstance(item, Mapping):
        value = item.get(kind)
        if isinstance(value, Mapping) and isinstance(value.get("name"), str):
            return str(value["name"])
    return None


def _check_reference(
    errors: Errors, path: str, item: object, rule: Rule, *, catalog: Catalog
) -> None:
    if isinstance(rule, LoginMethodRule | OidcClaimRule | GitHubOrganizationRule):
        _check_provider_reference(errors, path, rule, catalog=catalog)
        return
    if rule.kind not in REFERENCES:
        return
    attribute, label = REFERENCES[rule.kind]
    name = _referenced_name(item, rule.kind)
    if name is None or name not in getattr(catalog, attribute):
        _add(
            errors,
            f"{path}.{rule.kind}.name",
            f'no {label} is named "{name}"; create it first or fix the name',
        )


def _check_provider_reference(
    errors: Errors,
    path: str,
    rule: LoginMethodRule | OidcClaimRule | GitHubOrganizationRule,
    *,
    catalog: Catalog,
) -> None:
    if isinstance(rule, LoginMethodRule):
        if rule.id:
            if rule.id not in catalog.identity_provider_ids:
                _add(
                    errors, f"{path}.login_method.id", f"no identity provider has the id {rule.id}"
                )
        elif rule.name not in catalog.identity_providers:
            _add(
                errors,
                f"{path}.login_method.name",
                f'no identity provider is named "{rule.name}"; create it first or fix the name',
            )
        return
    provider_id = rule.identity_provider_id
    if not provider_id:
        return
    where = f"{path}.{rule.kind}.identity_provider_id"
    provider_type = catalog.identity_provider_ids.get(provider_id)
    if provider_type is None:
        _add(errors, where, f"no identity provider has the id {provider_id}")
    elif isinstance(rule, OidcClaimRule) and not _is_oidc(provider_type):
        _add(
            errors,
            where,
            f"identity provider {provider_id} is of type {provider_type}; oidc rules need an "
            "OpenID Connect provider (oidc, google, azureAD, okta)",
        )
    elif isinstance(rule, GitHubOrganizationRule) and provider_type != "github":
        _add(
            errors,
            where,
            f"identity provider {provider_id} is of type {provider_type}, not github",
        )


def _is_oidc(provider_type: str) -> bool:
    entry = PROVIDER_TYPES.get(provider_type)
    return entry is not None and entry.is_oidc


def _provider_reference(item: object) -> str | None:
    """The id of the identity provider a rule names by id, or None."""
    try:
        rule = compile_rule(item)
    except RuleError:
        return None
    if isinstance(rule, LoginMethodRule):
        return rule.id or None
    if isinstance(rule, OidcClaimRule | GitHubOrganizationRule):
        return rule.identity_provider_id or None
    return None


def _refers_to(item: object, kind: str, name: str | None) -> bool:
    return name is not None and _referenced_name(item, kind) == name


def _expand(rule: Rule, catalog: Catalog, seen: frozenset[str]) -> Iterator[Rule]:
    """The rule itself, or for a group rule the rules of the group (and its groups)."""
    if rule.kind != "group":
        yield rule
        return
    name = _referenced_name(rule.to_data(), "group")
    if name is None or name in seen or name not in catalog.groups:
        return
    for item in catalog.groups[name]:
        try:
            inner = compile_rule(item)
        except RuleError:
            continue  # the group's own validation reports it
        yield from _expand(inner, catalog, seen | {name})


def _identity_kinds(rule: Rule, catalog: Catalog) -> list[str]:
    return sorted(
        {inner.kind for inner in _expand(rule, catalog, frozenset()) if inner.is_identity}
    )


def _service_token_kinds(rule: Rule, catalog: Catalog) -> list[str]:
    return sorted(
        {
            inner.kind
            for inner in _expand(rule, catalog, frozenset())
            if inner.kind in SERVICE_TOKEN_KINDS
        }
    )


def _group_references(rules: Sequence[object]) -> list[str]:
    return [name for item in rules if (name := _referenced_name(item, "group")) is not None]


def _group_cycle(start: str, catalog: Catalog) -> list[str]:
    """The path of a cycle through `start` (["A", "B", "A"]), or [] when there is none."""

    def visit(name: str, path: list[str]) -> list[str]:
        for child in _group_references(catalog.groups.get(name, ())):
            if child == start:
                return [*path, child]
            if child not in path:
                found = visit(child, [*path, child])
                if found:
                    return found
        return []

    return visit(start, [start])


def _uses_group(rules: Sequence[object], name: str, catalog: Catalog) -> bool:
    pending = list(_group_references(rules))
    seen: set[str] = set()
    while pending:
        current = pending.pop()
        if current == name:
            return True
        if current not in seen:
            seen.add(current)
            pending.extend(_group_references(catalog.groups.get(current, ())))
    return False


def _uses_of_group(name: str | None, catalog: Catalog) -> list[str]:
    if name is None:
        return []
    uses = [
        f'policy "{use.name}" of application "{use.application}"'
        for use in catalog.policies
        if any(_refers_to(rule, "group", name) for rule in use.rules)
    ]
    uses.extend(
        f'group "{group}"'
        for group, rules in catalog.groups.items()
        if group != name and any(_refers_to(rule, "group", name) for rule in rules)
    )
    return uses
