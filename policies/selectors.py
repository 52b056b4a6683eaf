"""Read helpers: stored objects as plain field values, as validation and config files use them."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from common.encryption import Undecryptable
from policies import validation
from policies.catalog import Catalog
from policies.conf import conf
from policies.errors import Errors, merge_errors
from policies.models import (
    APPLICATION_FIELDS,
    POLICY_FIELDS,
    POLICY_LISTS,
    AccessGroup,
    Application,
    IdentityProvider,
    Policy,
    ServiceToken,
)
from policies.providers import PROVIDER_TYPES, decrypt_secrets
from policies.warnings import ConfigWarning, application_warnings


def application_fields(application: Application) -> dict[str, Any]:
    """An application's fields by their public names (`allowed_idps` as sorted names), in the
    declared order (`policies.models.APPLICATION_FIELDS`)."""
    values = {
        name: application_idp_names(application)
        if name == "allowed_idps"
        else getattr(application, name)
        for name in APPLICATION_FIELDS
    }
    values["destinations"] = list(values["destinations"] or [])
    return values


def application_idp_names(application: Application) -> list[str]:
    """Names of the identity providers an application allows (empty: all), sorted."""
    if application.pk is None:
        return []
    return sorted(provider.name for provider in application.allowed_idps.all())


def application_policies(application: Application) -> QuerySet[Policy]:
    """An application's policies in precedence order."""
    return application.policies.order_by("precedence")


def policy_fields(policy: Policy) -> dict[str, Any]:
    """A policy's fields by their public names, in the declared order
    (`policies.models.POLICY_FIELDS`)."""
    values = {name: getattr(policy, name) for name in POLICY_FIELDS}
    for name in POLICY_LISTS:
        values[name] = list(values[name] or [])
    return values


def group_fields(group: AccessGroup) -> dict[str, Any]:
    """An access group's fields by their public names."""
    return {
        "name": group.name,
        "include": list(group.include or []),
        "require": list(group.require or []),
        "exclude": list(group.exclude or []),
    }


def service_token_fields(token: ServiceToken) -> dict[str, Any]:
    """A service token's public fields (never its secret)."""
    return {"name": token.name, "duration": token.duration, "client_id": token.client_id}


def identity_provider_fields(provider: IdentityProvider) -> dict[str, Any]:
    """An identity provider's fields by their public names (its config without secrets)."""
    return {"name": provider.name, "type": provider.type, "config": dict(provider.config or {})}


def kept_secrets(stored: IdentityProvider | None, type_: str) -> dict[str, str]:
    """The stored secrets a new config of `type_` may leave out (secrets are write-only): those
    of a provider of the same type, when they can still be decrypted."""
    if stored is None or stored.type != type_ or type_ not in PROVIDER_TYPES:
        return {}
    try:
        return decrypt_secrets(stored.secrets)
    except Undecryptable:
        return {}  # validation then asks for the secret again


def provider_names(value: object) -> object:
    """`allowed_idps` with each identity provider given by id (as Access's API writes them)
    replaced by its name; names, and anything that names no provider, are left for validation.
    A provider whose name is the same text as an id keeps its name's meaning."""
    if not isinstance(value, list | tuple):
        return value
    if not value:  # every provider allowed: nothing to resolve, nothing to read
        return list(value)
    by_id = {str(pk): name for pk, name in IdentityProvider.objects.values_list("pk", "name")}
    names = set(by_id.values())
    resolved: list[object] = []
    for item in value:
        text = str(item) if isinstance(item, int) and not isinstance(item, bool) else item
        if isinstance(text, str) and text not in names and text in by_id:
            resolved.append(by_id[text])
        else:
            resolved.append(item)
    return resolved


def stored_application_warnings(
    application: Application, *, groups: dict[str, dict[str, Any]] | None = None
) -> list[ConfigWarning]:
    """The warnings about a stored application (`policies.warnings`); `groups`, every group's
    fields, may be passed in when asking about many applications."""
    if groups is None:
        groups = stored_group_fields()
    return application_warnings(
        application_fields(application),
        [policy_fields(policy) for policy in application_policies(application)],
        groups=groups,
        view_sets_cors=conf.views_set_cors,
    )


def stored_application_errors(application: Application, *, catalog: Catalog) -> Errors:
    """What validation refuses today in a stored application and its policies, keyed by field
    path (`cors_headers.allowed_origins[0]`, `policies[1].include[0].email.email`): a row
    stored before a rule was made stricter, or edited in the database."""
    errors = validation.application_errors(
        application_fields(application), catalog=catalog, current_name=application.name
    )
    policies = [policy_fields(policy) for policy in application_policies(application)]
    merge_errors(errors, validation.policy_set_errors(policies, catalog=catalog), "policies")
    return errors


def stored_group_fields() -> dict[str, dict[str, Any]]:
    """Every access group's fields, by name."""
    return {group.name: group_fields(group) for group in AccessGroup.objects.all()}
