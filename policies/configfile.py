"""Configuration as code: read a JSON or YAML file, validate it whole, plan, apply, export.

The file holds four lists, each of objects identified by `name`:

    identity_providers: [{name, type, config}]
    groups:             [{name, include, require, exclude}]
    service_tokens:     [{name, duration, client_id?, client_secret?}]
    applications:       [{name, domain, destinations, ..., policies: [{name, decision, ...}]}]

An object describes its whole state: a field the file leaves out takes its default. Every object
is validated against the final state the file describes (so a rule may name a group defined
further down) before anything is written; then the plan is applied in one transaction through
`policies.services`. Errors name their place as `applications[2].cors_headers.max_age`.

An identity provider's config may name its secrets as `${ENV_VAR}` (any text value of the
config may): the file then holds no secret, and a variable that is not set is an error. Secrets
are write-only: left out of a provider the database already has, the stored one is kept;
`export_config` never writes them.
"""

from __future__ import annotations

import io
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from django.db import transaction
from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from common.credentials import verify_secret
from common.text import decode_json, join_path, refuse_unstorable_text
from policies import services, validation
from policies.catalog import Catalog, PolicyUse
from policies.conf import conf
from policies.errors import Errors, merge_errors
from policies.models import (
    DEFAULT_SERVICE_TOKEN_DURATION,
    AccessGroup,
    Application,
    IdentityProvider,
    Policy,
    ServiceToken,
)
from policies.providers import parse_config
from policies.selectors import (
    application_fields,
    application_policies,
    group_fields,
    identity_provider_fields,
    kept_secrets,
    policy_fields,
    provider_names,
    service_token_fields,
)
from policies.warnings import ConfigWarning, application_warnings, prefixed

SECTIONS = ("identity_providers", "groups", "service_tokens", "applications")
LABELS = {
    "identity_providers": "identity provider",
    "groups": "group",
    "service_tokens": "service token",
    "applications": "application",
}
# Deleting in this order never leaves a rule pointing at a deleted object mid-way.
DELETE_ORDER = ("applications", "groups", "service_tokens", "identity_providers")

Action = Literal["create", "update", "delete"]


class ConfigFileError(Exception):
    """A file that cannot be applied; `errors` lists every problem as "path: message"."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Change:
    """One planned write: create, update (with the fields that change) or delete one object."""

    action: Action
    kind: str
    name: str
    fields: tuple[str, ...] = ()
    application: str | None = None

    def describe(self) -> str:
        """One line of the printed plan."""
        sign = {"create": "+", "update": "~", "delete": "-"}[self.action]
        where = f' of application "{self.application}"' if self.application else ""
        changed = f": {', '.join(self.fields)}" if self.fields else ""
        return f'{sign} {self.action} {self.kind} "{self.name}"{where}{changed}'


@dataclass
class Plan:
    """What applying a file would change, and the validated state it describes."""

    changes: list[Change]
    desired: dict[str, list[dict[str, Any]]]
    catalog: Catalog
    prune: bool
    secrets: list[str] = field(default_factory=list)
    # Valid, but defeating itself once applied (`policies.warnings`).
    warnings: list[ConfigWarning] = field(default_factory=list)

    def describe(self) -> list[str]:
        """The plan as printable lines ("no changes" when there is nothing to do), then its
        warnings."""
        lines = [change.describe() for change in self.changes] or ["no changes"]
        return [*lines, *(f"warning: {warning}" for warning in self.warnings)]


# Reading


def load_file(path: Path) -> object:
    """Parse a JSON (`.json`) or YAML file; a syntax error becomes one clear `ConfigFileError`."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigFileError([f"{path}: cannot read the file: {error}"]) from error
    return parse_text(text, json_syntax=path.suffix.lower() == ".json", source=str(path))


def _yaml() -> YAML:
    """A YAML 1.2 reader and writer that builds plain values only (no tags naming Python types).

    YAML 1.2, unlike the 1.1 that PyYAML reads, takes `NO`, `on` and `y` for text rather than
    booleans and `1:30` for text rather than the base-60 number 90: a country code or a duration
    in a file means what it says. A new instance each time, as one is not safe to share between
    threads.
    """
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = False
    yaml.sort_base_mapping_type_on_output = False  # type: ignore[assignment]
    return yaml


def parse_text(text: str, *, json_syntax: bool, source: str = "config") -> object:
    """Parse JSON or YAML 1.2 text (YAML with safe loading only).

    A YAML mapping that repeats a key is an error (YAML 1.2 requires unique keys), not the
    last value silently winning.
    """
    if json_syntax:
        try:
            return decode_json(text)
        except ValueError as error:
            raise ConfigFileError([f"{source}: not valid JSON: {error}"]) from error
    try:
        value = _yaml().load(text)
    except YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(error, "problem", None) or str(error)
        raise ConfigFileError([f"{source}: not valid YAML: {problem}{where}"]) from error
    except RecursionError as error:
        raise ConfigFileError([f"{source}: not valid YAML: it is nested too deeply"]) from error
    except ValueError as error:  # a scalar that cannot be converted (an integer of 5000 digits)
        raise ConfigFileError([f"{source}: not valid YAML: {error}"]) from error
    try:
        refuse_unstorable_text(value)
    except ValueError as error:
        raise ConfigFileError([f"{source}: not valid YAML: {error}"]) from error
    return value


# Planning


def plan_config(data: object, *, prune: bool = False, force: bool = False) -> Plan:
    """Validate a parsed file against the state it describes and list the changes it makes.

    Raises `ConfigFileError` listing every problem; nothing is written either way. Pruning an
    identity provider that an application the file keeps signs in with is one of them, unless
    `force` (then it is a warning of the plan).
    """
    desired = _desired_state(data)
    catalog = _final_catalog(desired, prune=prune)
    errors: Errors = {}
    _validate(desired, catalog, errors)
    pruned_providers = _pruned_providers_in_use(desired) if prune else []
    if not force:
        for message in pruned_providers:
            errors.setdefault("identity_providers", []).append(f"{message}; {_FORCE_HINT}")
    if errors:
        raise ConfigFileError(
            [f"{path}: {message}" for path, messages in errors.items() for message in messages]
        )
    changes = _changes(desired, prune=prune)
    warnings = [
        ConfigWarning("policies.W011", "identity_providers", message, "(--force)")
        for message in pruned_providers
    ]
    touched = {change.application or change.name for change in changes}
    warnings.extend(_desired_warnings(desired, prune=prune, applications=touched))
    return Plan(changes=changes, desired=desired, catalog=catalog, prune=prune, warnings=warnings)


_FORCE_HINT = "list it in the file, or pass --force to delete it anyway"


def _pruned_providers_in_use(desired: dict[str, list[dict[str, Any]]]) -> list[str]:
    """What pruning would take from the applications the file keeps: each stored identity
    provider the file leaves out that such an application lists in its allowed_idps."""
    listed = {item["name"] for item in desired["identity_providers"]}
    kept = {item["name"] for item in desired["applications"]}
    found: list[str] = []
    for application in Application.objects.filter(name__in=kept).prefetch_related("allowed_idps"):
        found.extend(
            f'pruning deletes identity provider "{provider.name}", which application '
            f'"{application.name}" signs in with (allowed_idps)'
            for provider in application.allowed_idps.order_by("name")
            if provider.name not in listed
        )
    return found


def _desired_warnings(
    desired: dict[str, list[dict[str, Any]]], *, prune: bool, applications: set[str]
) -> list[ConfigWarning]:
    """The warnings about each application of the file that the plan changes (`applications`),
    as it will be once applied; `manage.py check` reports the ones left as they are."""
    stored = [] if prune else list(AccessGroup.objects.all())
    groups = {group.name: group_fields(group) for group in stored}
    groups.update({item["name"]: _group_values(item) for item in desired["groups"]})
    found: list[ConfigWarning] = []
    for index, item in enumerate(desired["applications"]):
        if item["name"] not in applications:
            continue
        policies = [_policy_values(p) for p in _policy_items(item) if isinstance(p, Mapping)]
        found.extend(
            prefixed(
                application_warnings(
                    _application_values(item),
                    policies,
                    groups=groups,
                    view_sets_cors=conf.views_set_cors,
                ),
                f"applications[{index}]",
            )
        )
    return found


def _desired_state(data: object) -> dict[str, list[dict[str, Any]]]:
    errors: list[str] = []
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigFileError([f"the file must hold a mapping with the keys {', '.join(SECTIONS)}"])
    errors.extend(
        f"{key}: unknown section; expected one of {', '.join(SECTIONS)}"
        for key in data
        if key not in SECTIONS
    )
    desired: dict[str, list[dict[str, Any]]] = {}
    for section in SECTIONS:
        items = _list_or_empty(data.get(section))
        if not isinstance(items, list):
            errors.append(f"{section}: must be a list of objects, each with a name")
            continue
        desired[section] = []
        names: set[object] = set()
        for index, item in enumerate(items):
            where = f"{section}[{index}]"
            if not isinstance(item, Mapping):
                errors.append(f"{where}: must be an object with a name")
                continue
            name = item.get("name")
            if not isinstance(name, str) or not name.strip():
                errors.append(f"{where}.name: is required")
                continue
            if name in names:
                errors.append(f'{where}.name: another {LABELS[section]} is named "{name}"')
                continue
            names.add(name)
            value = dict(item)
            if section == "identity_providers" and "config" in value:
                value["config"] = _expand_environment(value["config"], f"{where}.config", errors)
            desired[section].append(value)
    if errors:
        raise ConfigFileError(errors)
    return desired


_REFERENCE = re.compile(r"\$\{([^}]*)\}")
_VARIABLE_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _expand_environment(value: object, where: str, errors: list[str]) -> object:
    """`value` with every `${NAME}` in its text replaced by the environment variable NAME."""
    if isinstance(value, Mapping):
        return {
            key: _expand_environment(item, join_path(where, str(key)), errors)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [
            _expand_environment(item, f"{where}[{index}]", errors)
            for index, item in enumerate(value)
        ]
    if not isinstance(value, str) or "${" not in value:
        return value

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if not _VARIABLE_NAME.fullmatch(name):
            errors.append(f"{where}: ${{{name}}} is not a variable name; write ${{NAME}}")
            return ""
        found = os.environ.get(name)
        if found is None:
            errors.append(f"{where}: the environment variable {name} is not set")
            return ""
        return found

    expanded = _REFERENCE.sub(substitute, value)
    if "${" in _REFERENCE.sub("", value):
        errors.append(f"{where}: an unclosed ${{; write ${{NAME}}")
    return expanded


def _provider_values(
    item: Mapping[str, Any], stored: Mapping[str, IdentityProvider]
) -> dict[str, Any]:
    """An identity provider as the file gives it, with the stored secrets it may leave out."""
    config = item.get("config", {})
    if isinstance(config, Mapping):
        type_ = item.get("type")
        kept = kept_secrets(stored.get(item["name"]), type_) if isinstance(type_, str) else {}
        config = {**kept, **config}
    return {"name": item["name"], "type": item.get("type"), "config": config}


def _list_or_empty(value: object) -> object:
    """A list as given; a key left empty (null) as no items. Anything else stays as it is, to be
    refused: `{}`, `""` or `false` taken as "nothing" would delete every stored object."""
    return [] if value is None else value


def _application_values(item: Mapping[str, Any]) -> dict[str, Any]:
    """An application's fields as the file gives them, over the defaults."""
    values = {**application_fields(Application()), **item}
    values.pop("policies", None)
    values["allowed_idps"] = provider_names(values.get("allowed_idps"))
    if isinstance(values.get("allowed_idps"), list):
        values["allowed_idps"] = sorted(values["allowed_idps"], key=str)
    return values


def _policy_items(item: Mapping[str, Any]) -> list[Any]:
    value = _list_or_empty(item.get("policies"))
    return value if isinstance(value, list) else []


def _policy_values(item: Mapping[str, Any]) -> dict[str, Any]:
    return {**policy_fields(Policy()), **item}


def _group_values(item: Mapping[str, Any]) -> dict[str, Any]:
    return {**group_fields(AccessGroup()), **item}


def _rules(values: Mapping[str, Any]) -> tuple[object, ...]:
    return tuple(
        rule
        for key in validation.RULE_LISTS
        if isinstance(values.get(key), list)
        for rule in values[key]
    )


def _final_catalog(desired: dict[str, list[dict[str, Any]]], *, prune: bool) -> Catalog:
    """The catalog of the state after applying: the file's objects, plus (without --prune)
    every stored object the file does not mention."""
    stored = Catalog.from_database()
    listed = {section: {item["name"] for item in desired[section]} for section in SECTIONS}

    def keep(section: str, name: str) -> bool:
        return not prune and name not in listed[section]

    groups = {name: rules for name, rules in stored.groups.items() if keep("groups", name)}
    groups.update({item["name"]: _rules(_group_values(item)) for item in desired["groups"]})
    policies = [use for use in stored.policies if keep("applications", use.application)]
    patterns = [pair for pair in stored.application_patterns if keep("applications", pair[0])]
    launchers = [name for name in stored.app_launchers if keep("applications", name)]
    for item in desired["applications"]:
        values = _application_values(item)
        if values.get("type") == Application.Type.APP_LAUNCHER:
            launchers.append(item["name"])
        else:
            patterns.extend((item["name"], text) for text in _pattern_texts(values))
        policies.extend(
            PolicyUse(
                application=item["name"],
                name=str(policy.get("name")),
                decision=str(policy.get("decision")),
                rules=_rules(policy),
            )
            for policy in _policy_items(item)
            if isinstance(policy, Mapping)
        )
    return Catalog(
        groups=groups,
        service_tokens=frozenset(
            {name for name in stored.service_tokens if keep("service_tokens", name)}
            | listed["service_tokens"]
        ),
        identity_providers=frozenset(
            {name for name in stored.identity_providers if keep("identity_providers", name)}
            | listed["identity_providers"]
        ),
        identity_provider_ids=_final_provider_ids(desired, prune=prune),
        policies=tuple(policies),
        application_patterns=tuple(patterns),
        app_launchers=tuple(launchers),
    )


def _final_provider_ids(desired: dict[str, list[dict[str, Any]]], *, prune: bool) -> dict[str, str]:
    """Ids of the identity providers after applying, with their final types: a provider the
    file lists keeps the id it has in the database (a new one has none yet, so rules can only
    name it by name)."""
    listed = {item["name"]: item.get("type") for item in desired["identity_providers"]}
    ids: dict[str, str] = {}
    for pk, name, type_ in IdentityProvider.objects.values_list("pk", "name", "type"):
        if name in listed:
            if isinstance(listed[name], str):
                ids[str(pk)] = str(listed[name])
        elif not prune:
            ids[str(pk)] = type_
    return ids


def _pattern_texts(values: Mapping[str, Any]) -> list[str]:
    destinations = values.get("destinations")
    texts = [values.get("domain"), *(destinations if isinstance(destinations, list) else [])]
    return [text for text in texts if isinstance(text, str)]


def _validate(desired: dict[str, list[dict[str, Any]]], catalog: Catalog, errors: Errors) -> None:
    stored_providers = {p.name: p for p in IdentityProvider.objects.all()}
    for index, item in enumerate(desired["identity_providers"]):
        extra = {key: value for key, value in item.items() if key not in ("name", "type", "config")}
        merge_errors(
            errors,
            validation.identity_provider_errors(
                {**extra, **_provider_values(item, stored_providers)}
            ),
            f"identity_providers[{index}]",
        )
    for index, item in enumerate(desired["groups"]):
        found = validation.group_errors(
            _group_values(item), catalog=catalog, current_name=item["name"]
        )
        merge_errors(errors, found, f"groups[{index}]")
    _validate_service_tokens(desired, errors)
    for index, item in enumerate(desired["applications"]):
        prefix = f"applications[{index}]"
        found = validation.application_errors(
            _application_values(item), catalog=catalog, current_name=item["name"]
        )
        merge_errors(errors, found, prefix)
        if not isinstance(_list_or_empty(item.get("policies")), list):
            merge_errors(errors, {"policies": ["must be a list of policies"]}, prefix)
            continue
        policies = _policy_items(item)
        values = [_policy_values(p) if isinstance(p, Mapping) else p for p in policies]
        found = validation.policy_set_errors(values, catalog=catalog)
        merge_errors(errors, found, f"{prefix}.policies")


def _validate_service_tokens(desired: dict[str, list[dict[str, Any]]], errors: Errors) -> None:
    listed = {item["name"] for item in desired["service_tokens"]}
    taken = {
        client_id: name
        for name, client_id in ServiceToken.objects.values_list("name", "client_id")
        if name not in listed
    }
    for index, item in enumerate(desired["service_tokens"]):
        prefix = f"service_tokens[{index}]"
        merge_errors(errors, validation.service_token_errors(item), prefix)
        client_id = item.get("client_id")
        if isinstance(client_id, str) and taken.get(client_id, item["name"]) != item["name"]:
            merge_errors(
                errors,
                {"client_id": [f'is already the client id of service token "{taken[client_id]}"']},
                prefix,
            )
        if isinstance(client_id, str):
            taken[client_id] = item["name"]


def _changed(current: Mapping[str, Any], wanted: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(key for key in wanted if current.get(key) != wanted[key])


def _changes(desired: dict[str, list[dict[str, Any]]], *, prune: bool) -> list[Change]:
    changes: list[Change] = []
    providers = {p.name: p for p in IdentityProvider.objects.all()}
    for item in desired["identity_providers"]:
        changes.extend(_provider_changes(providers.get(item["name"]), item, providers))
    groups = {g.name: g for g in AccessGroup.objects.all()}
    for item in desired["groups"]:
        _compare(changes, "group", groups.get(item["name"]), _group_values(item), group_fields)
    tokens = {t.name: t for t in ServiceToken.objects.all()}
    for item in desired["service_tokens"]:
        changes.extend(_token_changes(tokens.get(item["name"]), item))
    applications = {a.name: a for a in Application.objects.prefetch_related("allowed_idps")}
    for item in desired["applications"]:
        application = applications.get(item["name"])
        _compare(changes, "application", application, _application_values(item), application_fields)
        changes.extend(_policy_changes(application, item))
    if prune:
        stored: dict[str, dict[str, Any]] = {
            "applications": applications,
            "groups": groups,
            "service_tokens": tokens,
            "identity_providers": providers,
        }
        for section in DELETE_ORDER:
            listed = {item["name"] for item in desired[section]}
            changes.extend(
                Change("delete", LABELS[section], name)
                for name in sorted(stored[section])
                if name not in listed
            )
    return changes


def _compare(
    changes: list[Change],
    kind: str,
    current: Any,
    wanted: Mapping[str, Any],
    fields_of: Any,
) -> None:
    if current is None:
        changes.append(Change("create", kind, wanted["name"]))
        return
    changed = _changed(fields_of(current), wanted)
    if changed:
        changes.append(Change("update", kind, wanted["name"], changed))


def _provider_changes(
    provider: IdentityProvider | None,
    item: Mapping[str, Any],
    stored: Mapping[str, IdentityProvider],
) -> list[Change]:
    """The change to one identity provider; a changed secret is named, never shown."""
    if provider is None:
        return [Change("create", "identity provider", item["name"])]
    values = _provider_values(item, stored)
    parsed = parse_config(values["type"], values["config"])
    changed = list(
        _changed(
            identity_provider_fields(provider),
            {"name": values["name"], "type": values["type"], "config": parsed.public_data()},
        )
    )
    current_secrets = kept_secrets(provider, values["type"])
    changed.extend(
        f"config.{name}"
        for name, secret in parsed.secret_data().items()
        if current_secrets.get(name) != secret
    )
    return [Change("update", "identity provider", item["name"], tuple(changed))] if changed else []


def _token_changes(token: ServiceToken | None, item: Mapping[str, Any]) -> list[Change]:
    if token is None:
        return [Change("create", "service token", item["name"])]
    wanted = {key: item[key] for key in ("duration", "client_id") if key in item}
    wanted.setdefault("duration", ServiceToken._meta.get_field("duration").default)
    changed = list(_changed(service_token_fields(token), wanted))
    secret = item.get("client_secret")
    if isinstance(secret, str) and not verify_secret(secret, token.secret_hash):
        changed.append("client_secret")
    return [Change("update", "service token", item["name"], tuple(changed))] if changed else []


def _policy_changes(application: Application | None, item: Mapping[str, Any]) -> list[Change]:
    wanted = [_policy_values(policy) for policy in _policy_items(item)]
    current = (
        {}
        if application is None
        else {policy.name: policy for policy in application_policies(application)}
    )
    changes: list[Change] = []
    for values in wanted:
        policy = current.get(values["name"])
        if policy is None:
            changes.append(Change("create", "policy", values["name"], application=item["name"]))
            continue
        changed = _changed(policy_fields(policy), values)
        if changed:
            changes.append(
                Change("update", "policy", values["name"], changed, application=item["name"])
            )
    listed = {values["name"] for values in wanted}
    changes.extend(
        Change("delete", "policy", name, application=item["name"])
        for name in current
        if name not in listed
    )
    return changes


# Applying


def apply_plan(plan: Plan) -> list[str]:
    """Write the plan in one transaction through the services; returns lines that show each
    generated service-token secret once."""
    if not plan.changes:
        return []
    touched = {(change.kind, change.application or change.name) for change in plan.changes}
    secrets: list[str] = []
    with transaction.atomic():
        _apply_identity_providers(plan, touched)
        _apply_groups(plan, touched)
        secrets.extend(_apply_service_tokens(plan, touched))
        _apply_applications(plan, touched)
        _apply_deletions(plan)
    return secrets


def _apply_identity_providers(plan: Plan, touched: set[tuple[str, str]]) -> None:
    stored = {p.name: p for p in IdentityProvider.objects.all()}
    for item in plan.desired["identity_providers"]:
        if ("identity provider", item["name"]) not in touched:
            continue
        provider = stored.get(item["name"])
        config = item.get("config", {})
        if provider is None:
            services.identity_provider_create(name=item["name"], type=item["type"], config=config)
        else:
            services.identity_provider_update(provider=provider, type=item["type"], config=config)


def _apply_groups(plan: Plan, touched: set[tuple[str, str]]) -> None:
    stored = {g.name: g for g in AccessGroup.objects.all()}
    for item in plan.desired["groups"]:
        if ("group", item["name"]) not in touched:
            continue
        values = _group_values(item)
        group = stored.get(item["name"])
        if group is None:
            services.group_create(catalog=plan.catalog, **values)
        else:
            services.group_update(group=group, catalog=plan.catalog, **values)


def _apply_service_tokens(plan: Plan, touched: set[tuple[str, str]]) -> list[str]:
    stored = {t.name: t for t in ServiceToken.objects.all()}
    secrets: list[str] = []
    for item in plan.desired["service_tokens"]:
        if ("service token", item["name"]) not in touched:
            continue
        token = stored.get(item["name"])
        given_secret = item.get("client_secret")
        if token is None:
            token, secret = services.service_token_create(
                name=item["name"],
                duration=item.get("duration", DEFAULT_SERVICE_TOKEN_DURATION),
                client_id=item.get("client_id"),
                client_secret=given_secret,
            )
            if given_secret is None:
                secrets.append(
                    f'service token "{token.name}": CF-Access-Client-Id: {token.client_id} '
                    f"CF-Access-Client-Secret: {secret} (shown once; store it now)"
                )
            continue
        services.service_token_update(
            token=token,
            duration=item.get("duration", DEFAULT_SERVICE_TOKEN_DURATION),
            client_id=item.get("client_id"),
        )
        if isinstance(given_secret, str) and not verify_secret(given_secret, token.secret_hash):
            services.service_token_rotate(token=token, client_secret=given_secret)
    return secrets


def _apply_applications(plan: Plan, touched: set[tuple[str, str]]) -> None:
    stored = {a.name: a for a in Application.objects.all()}
    for item in plan.desired["applications"]:
        name = item["name"]
        if ("application", name) not in touched and ("policy", name) not in touched:
            continue
        values = _application_values(item)
        application = stored.get(name)
        if application is None:
            application = services.application_create(catalog=plan.catalog, **values)
        elif ("application", name) in touched:
            services.application_update(application=application, catalog=plan.catalog, **values)
        services.application_set_policies(
            application=application,
            policies=[_policy_values(p) for p in _policy_items(item)],
            catalog=plan.catalog,
        )


def _apply_deletions(plan: Plan) -> None:
    deletions = [change for change in plan.changes if change.action == "delete"]
    for change in deletions:
        if change.kind == "application":
            services.application_delete(application=Application.objects.get(name=change.name))
        elif change.kind == "group":
            services.group_delete(
                group=AccessGroup.objects.get(name=change.name), catalog=plan.catalog
            )
        elif change.kind == "service token":
            services.service_token_delete(
                token=ServiceToken.objects.get(name=change.name), catalog=plan.catalog
            )
        elif change.kind == "identity provider":
            services.identity_provider_delete(
                provider=IdentityProvider.objects.get(name=change.name), catalog=plan.catalog
            )


# Exporting


def export_config() -> dict[str, list[dict[str, Any]]]:
    """The stored configuration in the file format, without any secret."""
    applications = []
    for application in Application.objects.prefetch_related("allowed_idps"):
        values = application_fields(application)
        values["policies"] = [policy_fields(p) for p in application_policies(application)]
        applications.append(values)
    return {
        "identity_providers": [
            identity_provider_fields(p) for p in IdentityProvider.objects.order_by("name")
        ],
        "groups": [group_fields(g) for g in AccessGroup.objects.order_by("name")],
        "service_tokens": [service_token_fields(t) for t in ServiceToken.objects.order_by("name")],
        "applications": applications,
    }


def dump_text(data: Mapping[str, Any], *, json_syntax: bool) -> str:
    """Serialize a configuration as JSON or YAML (keys in the order the format lists them)."""
    if json_syntax:
        return json.dumps(data, indent=2) + "\n"
    out = io.StringIO()
    _yaml().dump(dict(data), out)
    return out.getvalue()
