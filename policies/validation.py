"""The one validation layer: every rule of docs/architecture.md, for admin, API and config files.

Each `*_errors` function takes plain field values (as the services, the API or a config file hold
them), checks their types too (a config file can hold anything), and returns *every* problem at
once as `{field path: [message, ...]}` (`policies.errors`), e.g. `{"cors_headers.max_age": [...],
"include[0].email.email": [...]}`. Each message says what to do.

What other objects a rule may name, and what a change would break elsewhere, is asked of a
`Catalog` (`policies.catalog`); the `cors_headers` object is checked where it is compiled
(`policies.cors`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator

from common.text import UNSTORABLE_TEXT, unstorable_text_paths
from policies.approvals import checked_approval_groups
from policies.catalog import Catalog, all_rules, referenced_name
from policies.conf import conf
from policies.cors import cors_headers_errors
from policies.durations import parse_duration
from policies.errors import Errors, add_error, check_unknown, merge_errors
from policies.matching import HostPathPattern, PatternError, compile_pattern
from policies.models import (
    APPLICATION_BOOLEANS,
    APPLICATION_FIELDS,
    DEFAULT_SERVICE_TOKEN_DURATION,
    FOREVER,
    POLICY_FIELDS,
    PURPOSE_PROMPT_MAX_LENGTH,
    Application,
    Policy,
)
from policies.providers import PROVIDER_TYPES, UNSUPPORTED_TYPES, config_errors
from policies.rules import (
    GitHubOrganizationRule,
    LoginMethodRule,
    OidcClaimRule,
    Rule,
    RuleError,
    compile_rule,
)

RULE_LISTS = ("include", "require", "exclude")
CLIENT_ID_PATTERN = re.compile(r"[0-9a-f]{32}\.access")
# The largest value a PositiveIntegerField holds on every supported database (PostgreSQL's integer).
MAX_PRECEDENCE = 2_147_483_647
# The columns that hold durations (Application/Policy.session_duration, ServiceToken.duration).
MAX_DURATION_LENGTH = 32

# What the App Launcher has no use for: it is served at `/` on the login host, not at patterns.
LAUNCHER_UNUSED: dict[str, object] = {
    "domain": "",
    "destinations": [],
    "cors_headers": None,
    "options_preflight_bypass": False,
    "cors_on_responses": False,
}
MAX_LOGO_URL_LENGTH = 2048
# What only an allow policy may ask of the person it lets in, with the value that asks nothing.
ALLOW_ONLY: dict[str, object] = {
    "purpose_justification_required": False,
    "purpose_justification_prompt": "",
    "approval_required": False,
    "approval_groups": [],
}
GROUP_FIELDS = frozenset({"name", *RULE_LISTS})
SERVICE_TOKEN_FIELDS = frozenset({"name", "duration", "client_id", "client_secret"})
IDENTITY_PROVIDER_FIELDS = frozenset({"name", "type", "config"})


# Applications


def application_errors(
    fields: Mapping[str, Any], *, catalog: Catalog, current_name: str | None = None
) -> Errors:
    """Every problem with an application's complete field values.

    `current_name` is the application's stored name when it is being changed, so that its own
    stored patterns do not count as another application's.
    """
    errors: Errors = {}
    check_unknown(errors, fields, APPLICATION_FIELDS)
    _check_storable_text(errors, fields)
    _check_name(errors, fields.get("name"), max_length=350)
    type_ = fields.get("type", Application.Type.SELF_HOSTED)
    if type_ not in Application.Type.values:
        add_error(errors, "type", f"must be one of {_choices(Application.Type)}")
    elif type_ == Application.Type.APP_LAUNCHER:
        _check_launcher(errors, fields, catalog=catalog, current_name=current_name)
    else:
        patterns = _check_patterns(errors, fields)
        _check_patterns_unique(errors, patterns, catalog=catalog, current_name=current_name)
    _check_logo_url(errors, fields.get("logo_url", ""))
    _check_duration(errors, "session_duration", fields.get("session_duration", "24h"))
    same_site = fields.get("same_site_cookie_attribute", Application.SameSite.LAX)
    if same_site not in Application.SameSite.values:
        add_error(
            errors, "same_site_cookie_attribute", f"must be one of {_choices(Application.SameSite)}"
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


# Policies


def policy_errors(fields: Mapping[str, Any], *, catalog: Catalog) -> Errors:
    """Every problem with one policy's field values (precedence uniqueness is checked per set)."""
    errors: Errors = {}
    check_unknown(errors, fields, POLICY_FIELDS)
    _check_storable_text(errors, fields)
    _check_name(errors, fields.get("name"), max_length=200)
    decision = fields.get("decision")
    if decision not in Policy.Decision.values:
        add_error(errors, "decision", f"must be one of {_choices(Policy.Decision)}")
    precedence = fields.get("precedence")
    if (
        not isinstance(precedence, int)
        or isinstance(precedence, bool)
        or not 1 <= precedence <= MAX_PRECEDENCE
    ):
        add_error(errors, "precedence", f"must be a whole number from 1 to {MAX_PRECEDENCE}")
    session_duration = fields.get("session_duration", "")
    if session_duration != "":
        _check_duration(errors, "session_duration", session_duration)
    _check_purpose_and_approval(errors, fields, decision)
    rules = _check_rule_lists(errors, fields, catalog=catalog)
    if decision == Policy.Decision.BYPASS:
        for path, rule in rules:
            for kind in catalog.identity_kinds(rule):
                add_error(
                    errors,
                    path,
                    f"bypass policies take no identity selectors ({kind}): use IP or country "
                    "rules, or choose another decision",
                )
    if decision != Policy.Decision.NON_IDENTITY:
        for path, rule in rules:
            for kind in catalog.service_token_kinds(rule):
                add_error(
                    errors,
                    path,
                    f"{kind} selectors need the non_identity (Service Auth) decision",
                )
    return errors


def _check_purpose_and_approval(
    errors: Errors, fields: Mapping[str, Any], decision: object
) -> None:
    """Purpose justification and temporary approval, as in Access: on allow policies only, and
    an approval is asked for with a justification (Access turns purpose justification on
    before temporary authentication), so approval_required needs purpose_justification_required."""
    for name in ("purpose_justification_required", "approval_required"):
        if not isinstance(fields.get(name, False), bool):
            add_error(errors, name, "must be true or false")
    prompt = fields.get("purpose_justification_prompt", "")
    if not isinstance(prompt, str):
        add_error(errors, "purpose_justification_prompt", "must be text")
    elif len(prompt) > PURPOSE_PROMPT_MAX_LENGTH:
        add_error(
            errors,
            "purpose_justification_prompt",
            f"must be at most {PURPOSE_PROMPT_MAX_LENGTH} characters",
        )
    groups, group_errors = checked_approval_groups(fields.get("approval_groups", []))
    merge_errors(errors, group_errors, "approval_groups")
    if decision in Policy.Decision.values and decision != Policy.Decision.ALLOW:
        for name, unset in ALLOW_ONLY.items():
            if fields.get(name, unset) != unset:
                add_error(
                    errors,
                    name,
                    f"only allow policies ask this of the people they let in; turn it off "
                    f"or choose the allow decision (this policy's is {decision})",
                )
    if fields.get("approval_required") is True:
        if fields.get("purpose_justification_required") is not True:
            add_error(
                errors,
                "approval_required",
                "needs purpose_justification_required: the person asks an approver with a "
                "justification, so turn purpose justification on too",
            )
        if groups == ():
            add_error(
                errors,
                "approval_groups",
                'needs at least one approval group, like [{"approvals_needed": 1, '
                '"email_addresses": ["ann@example.com"]}]',
            )


def policy_set_errors(policies: Sequence[Mapping[str, Any]], *, catalog: Catalog) -> Errors:
    """Every problem with an application's complete list of policies, keyed `[index].field`."""
    errors: Errors = {}
    seen_precedence: dict[object, str] = {}
    seen_names: set[str] = set()
    for index, policy in enumerate(policies):
        prefix = f"[{index}]"
        if not isinstance(policy, Mapping):
            add_error(
                errors, prefix, "must be an object with name, decision, precedence and include"
            )
            continue
        merge_errors(errors, policy_errors(policy, catalog=catalog), prefix)
        name = policy.get("name")
        if isinstance(name, str) and name in seen_names:
            add_error(errors, f"{prefix}.name", f'another policy is named "{name}"; rename one')
        if isinstance(name, str):
            seen_names.add(name)
        precedence = policy.get("precedence")
        if isinstance(precedence, int) and precedence in seen_precedence:
            add_error(
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
    check_unknown(errors, fields, GROUP_FIELDS)
    _check_storable_text(errors, fields)
    name = fields.get("name")
    _check_name(errors, name, max_length=200)
    _check_rule_lists(errors, fields, catalog=catalog)
    if errors or not isinstance(name, str):
        return errors
    rules = all_rules(fields.get("include"), fields.get("require"), fields.get("exclude"))
    updated = catalog.with_group(current_name or name, None).with_group(name, rules)
    cycle = updated.group_cycle(name)
    if cycle:
        add_error(
            errors,
            "include",
            f"groups cannot contain themselves ({' → '.join(cycle)}); remove one of the references",
        )
        return errors
    renamed_from = current_name if current_name and current_name != name else None
    for place in catalog.uses_of_group(renamed_from):
        add_error(
            errors, "name", f"is used by {place}; change those rules before renaming the group"
        )
    for use in catalog.policies:
        if not updated.uses_group(use.rules, name):
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
                add_error(
                    errors,
                    "include",
                    f'policy "{use.name}" of application "{use.application}" uses this group: '
                    f"{message}",
                )
    return errors


# Service tokens and identity providers


def service_token_errors(fields: Mapping[str, Any]) -> Errors:
    """Every problem with a service token's name, duration and (optional) client id."""
    errors: Errors = {}
    check_unknown(errors, fields, SERVICE_TOKEN_FIELDS)
    _check_storable_text(errors, fields)
    _check_name(errors, fields.get("name"), max_length=200)
    duration = fields.get("duration", DEFAULT_SERVICE_TOKEN_DURATION)
    if duration != FOREVER:
        _check_duration(errors, "duration", duration, hint=' or "forever"')
    client_id = fields.get("client_id")
    if client_id is not None and (
        not isinstance(client_id, str) or not CLIENT_ID_PATTERN.fullmatch(client_id)
    ):
        add_error(errors, "client_id", "must be 32 lowercase hex characters followed by .access")
    secret = fields.get("client_secret")
    if secret is not None and (not isinstance(secret, str) or len(secret) < 32):
        add_error(errors, "client_secret", "must be at least 32 characters (use a random value)")
    return errors


def identity_provider_errors(fields: Mapping[str, Any]) -> Errors:
    """Every problem with an identity provider's name, type and config (`config.client_id`)."""
    errors: Errors = {}
    check_unknown(errors, fields, IDENTITY_PROVIDER_FIELDS)
    _check_storable_text(errors, fields)
    _check_name(errors, fields.get("name"), max_length=100)
    type_ = fields.get("type")
    if isinstance(type_, str) and type_ in UNSUPPORTED_TYPES:
        add_error(errors, "type", UNSUPPORTED_TYPES[type_])
    elif type_ not in PROVIDER_TYPES:
        add_error(errors, "type", f"must be one of {', '.join(PROVIDER_TYPES)}")
    else:
        merge_errors(errors, config_errors(type_, fields.get("config", {})), "config")
    return errors


def _check_storable_text(errors: Errors, fields: Mapping[str, Any]) -> None:
    for path in unstorable_text_paths(fields):
        add_error(errors, path, UNSTORABLE_TEXT)


# Helpers


def _choices(choices: Any) -> str:
    return ", ".join(str(value) for value in choices.values)


def _check_name(errors: Errors, value: object, *, max_length: int) -> None:
    if not isinstance(value, str) or not value.strip():
        add_error(errors, "name", "is required")
    elif value != value.strip():
        add_error(errors, "name", "must not start or end with spaces")
    elif len(value) > max_length:
        add_error(errors, "name", f"must be at most {max_length} characters")


def _check_duration(errors: Errors, path: str, value: object, *, hint: str = "") -> None:
    example = f'a duration like "30m", "2h45m" or "24h"{hint}'
    if not isinstance(value, str):
        add_error(errors, path, f"must be {example}")
        return
    if len(value) > MAX_DURATION_LENGTH:
        add_error(errors, path, f"must be at most {MAX_DURATION_LENGTH} characters")
        return
    try:
        duration = parse_duration(value)
    except ValueError as error:
        add_error(errors, path, f"{error}; write {example}")
        return
    if duration.total_seconds() <= 0:
        add_error(errors, path, f"must be longer than zero; write {example}")


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


def _check_rule_lists(
    errors: Errors, fields: Mapping[str, Any], *, catalog: Catalog
) -> list[tuple[str, Rule]]:
    compiled: list[tuple[str, Rule]] = []
    for list_name in RULE_LISTS:
        value = fields.get(list_name, [])
        if not isinstance(value, list):
            add_error(
                errors, list_name, 'must be a list of rules like [{"email": {"email": "..."}}]'
            )
            continue
        if list_name == "include" and not value:
            add_error(errors, "include", 'needs at least one rule, e.g. {"everyone": {}}')
        for index, item in enumerate(value):
            path = f"{list_name}[{index}]"
            try:
                rule = compile_rule(item)
            except RuleError as error:
                add_error(errors, _rule_error_path(path, item), str(error))
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


def _check_reference(
    errors: Errors, path: str, item: object, rule: Rule, *, catalog: Catalog
) -> None:
    if isinstance(rule, LoginMethodRule | OidcClaimRule | GitHubOrganizationRule):
        _check_provider_reference(errors, path, rule, catalog=catalog)
        return
    if rule.kind not in REFERENCES:
        return
    attribute, label = REFERENCES[rule.kind]
    name = referenced_name(item, rule.kind)
    if name is None or name not in getattr(catalog, attribute):
        add_error(
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
                add_error(
                    errors, f"{path}.login_method.id", f"no identity provider has the id {rule.id}"
                )
        elif rule.name not in catalog.identity_providers:
            add_error(
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
        add_error(errors, where, f"no identity provider has the id {provider_id}")
    elif isinstance(rule, OidcClaimRule) and not _is_oidc(provider_type):
        add_error(
            errors,
            where,
            f"identity provider {provider_id} is of type {provider_type}; oidc rules need an "
            "OpenID Connect provider (oidc, google, azureAD, okta)",
        )
    elif isinstance(rule, GitHubOrganizationRule) and provider_type != "github":
        add_error(
            errors,
            where,
            f"identity provider {provider_id} is of type {provider_type}, not github",
        )


def _is_oidc(provider_type: str) -> bool:
    entry = PROVIDER_TYPES.get(provider_type)
    return entry is not None and entry.is_oidc
