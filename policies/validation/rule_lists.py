"""A policy's or an access group's rule lists, and the other objects their rules name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.catalog import Catalog, referenced_name
from policies.errors import Errors, add_error
from policies.providers import PROVIDER_TYPES
from policies.rules import (
    GitHubOrganizationRule,
    LoginMethodRule,
    OidcClaimRule,
    ProviderRule,
    Rule,
    RuleError,
    compile_rule,
)

RULE_LISTS = ("include", "require", "exclude")


def check_rule_lists(
    errors: Errors, fields: Mapping[str, Any], *, catalog: Catalog
) -> list[tuple[str, Rule]]:
    """Each rule of `fields`' rule lists that compiles, with its path (`include[0]`); an error for
    each that does not, and for each object a rule names that the catalog does not have."""
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
    if isinstance(rule, ProviderRule):
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
    rule: ProviderRule,
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
