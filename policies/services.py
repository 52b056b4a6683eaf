"""Every write to the policies models: validate, save in one transaction, bump the version.

Admin, API and `access_apply` all call these, so they can never disagree about what is valid.
Each function is keyword-only; an invalid change raises `django.core.exceptions.ValidationError`
keyed by field path (see `policies.validation`) and changes nothing.

`catalog` (optional everywhere) is what rules are checked against; by default the database. A
config file passes the final state it describes, so objects can be written in any order.
"""

from __future__ import annotations

import functools
import itertools
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypedDict, TypeVar, Unpack

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from common.audit import record_change
from common.credentials import generate_secret, hash_secret
from common.versioning import POLICIES, bump_version
from policies import validation
from policies.catalog import (
    Catalog,
    group_delete_errors,
    provider_delete_errors,
    reference_delete_errors,
)
from policies.conf import conf
from policies.durations import parse_duration
from policies.errors import Errors, errors_from_validation_error, merge_errors, raise_for_errors
from policies.models import (
    DEFAULT_SERVICE_TOKEN_DURATION,
    FOREVER,
    AccessGroup,
    Application,
    IdentityProvider,
    Policy,
    ServiceToken,
)
from policies.providers import encrypt_secrets, parse_config
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

# What `_update_named` updates: the objects validated against the catalog under their name.
_Named = TypeVar("_Named", Application, AccessGroup)


class ApplicationFields(TypedDict, total=False):
    """Application fields by their public names (docs/architecture.md, The wire contract)."""

    name: str
    type: str
    domain: str
    destinations: list[str]
    session_duration: str
    same_site_cookie_attribute: str
    http_only_cookie_attribute: bool
    enable_binding_cookie: bool
    options_preflight_bypass: bool
    cors_headers: dict[str, Any] | None
    cors_on_responses: bool
    unauthenticated_401: bool
    custom_deny_message: str
    custom_deny_url: str
    custom_non_identity_deny_url: str
    service_auth_401_redirect: bool
    allowed_idps: list[str]
    auto_redirect_to_identity: bool
    require_second_factor_enrolment: bool
    app_launcher_visible: bool
    logo_url: str


class PolicyFields(TypedDict, total=False):
    """Policy fields by their public names."""

    name: str
    decision: str
    precedence: int
    include: list[Any]
    require: list[Any]
    exclude: list[Any]
    session_duration: str
    purpose_justification_required: bool
    purpose_justification_prompt: str
    approval_required: bool
    approval_groups: list[Any]


class GroupFields(TypedDict, total=False):
    """Access group fields by their public names."""

    name: str
    include: list[Any]
    require: list[Any]
    exclude: list[Any]


# Applications


@transaction.atomic
def application_create(
    *, catalog: Catalog | None = None, **fields: Unpack[ApplicationFields]
) -> Application:
    """Create an application (its AUD tag is generated here, once)."""
    application = Application()
    values = {**application_fields(application), **fields}
    # A stored application of the same name is refused as a duplicate name, so the catalog's
    # patterns under this name can only be this application's own (a config file's final state).
    _save_application(application, values, catalog=catalog, current_name=values.get("name"))
    record_change("create", application, after=application_fields(application))
    return application


@transaction.atomic
def application_update(
    *,
    application: Application,
    catalog: Catalog | None = None,
    **fields: Unpack[ApplicationFields],
) -> Application:
    """Change some fields of an application; the AUD tag never changes."""
    _update_named(application, fields, application_fields, _save_application, catalog=catalog)
    return application


@transaction.atomic
def application_delete(*, application: Application) -> None:
    """Delete an application and its policies."""
    before = application_fields(application)
    policies = list(application_policies(application))
    for policy in policies:
        _record_policy("delete", policy, before=policy_fields(policy))
    record_change("delete", application, before=before)
    application.delete()
    bump_version(POLICIES)


def _update_named(
    instance: _Named,
    fields: Mapping[str, Any],
    read: Callable[[_Named], dict[str, Any]],
    save: Callable[..., None],
    *,
    catalog: Catalog | None,
) -> None:
    """Save `fields` over the current values of an application or a group, validated against
    its stored name (a rename is checked against what uses that name), and record the change
    from the stored row to the saved one."""
    stored = type(instance)._default_manager.get(pk=instance.pk)
    before = read(stored)
    save(instance, {**read(instance), **fields}, catalog=catalog, current_name=stored.name)
    record_change("update", instance, before=before, after=read(instance))


def _save_application(
    application: Application,
    values: Mapping[str, Any],
    *,
    catalog: Catalog | None,
    current_name: str | None,
) -> None:
    values = {**values, "allowed_idps": provider_names(values.get("allowed_idps", []))}
    errors = validation.application_errors(
        values, catalog=catalog or Catalog.from_database(), current_name=current_name
    )
    idp_names = values.get("allowed_idps") or []
    for name, value in values.items():
        if name != "allowed_idps":
            setattr(application, name, value)
    _full_clean(application, errors)
    raise_for_errors(errors)
    _save(application)
    application.allowed_idps.set(IdentityProvider.objects.filter(name__in=idp_names))
    bump_version(POLICIES)


# Policies


@transaction.atomic
def policy_create(
    *,
    application: Application,
    catalog: Catalog | None = None,
    **fields: Unpack[PolicyFields],
) -> Policy:
    """Add a policy to an application."""
    policy = Policy(application=application)
    values = {**policy_fields(policy), **fields}
    _save_policy(policy, values, catalog=catalog)
    _record_policy("create", policy, after=policy_fields(policy))
    return policy


@transaction.atomic
def policy_update(
    *, policy: Policy, catalog: Catalog | None = None, **fields: Unpack[PolicyFields]
) -> Policy:
    """Change some fields of a policy."""
    before = policy_fields(Policy.objects.get(pk=policy.pk))
    values = {**policy_fields(policy), **fields}
    _save_policy(policy, values, catalog=catalog)
    _record_policy("update", policy, before=before, after=policy_fields(policy))
    return policy


@transaction.atomic
def policy_delete(*, policy: Policy) -> None:
    """Delete a policy."""
    _record_policy("delete", policy, before=policy_fields(policy))
    policy.delete()
    bump_version(POLICIES)


@transaction.atomic
def application_set_policies(
    *,
    application: Application,
    policies: Sequence[Mapping[str, Any]],
    catalog: Catalog | None = None,
) -> list[Policy]:
    """Make an application's policies exactly `policies` (matched by name), all at once.

    Precedences may be swapped between policies: the whole set is validated first, then rows
    move out of the way so that the unique precedence constraint holds at every step.
    """
    errors = validation.policy_set_errors(policies, catalog=catalog or Catalog.from_database())
    raise_for_errors(errors)
    existing = {policy.name: policy for policy in application.policies.all()}
    before = {name: policy_fields(policy) for name, policy in existing.items()}
    wanted = {fields["name"] for fields in policies}
    for name, policy in existing.items():
        if name not in wanted:
            _record_policy("delete", policy, before=before[name])
            policy.delete()
    # Park the kept rows on precedences neither they nor the new set use. The lowest free ones,
    # not ones above the highest: that could pass the largest integer the column holds.
    used = {policy.precedence for policy in existing.values()}
    used.update(fields["precedence"] for fields in policies)
    free = (number for number in itertools.count(1) if number not in used)
    try:
        with transaction.atomic():  # a savepoint, as in _save
            for policy in existing.values():
                if policy.name in wanted:
                    Policy.objects.filter(pk=policy.pk).update(precedence=next(free))
    except IntegrityError as error:  # a concurrent write took a parking place
        raise ValidationError({"__all__": [CONFLICT_MESSAGE]}) from error
    saved: list[Policy] = []
    for index, fields in enumerate(policies):
        policy = existing.get(fields["name"]) or Policy(application=application)
        for name, value in {**policy_fields(policy), **fields}.items():
            setattr(policy, name, value)
        _save(policy, recheck=_prefixed(f"[{index}]", _policy_clash_errors, policy))
        saved.append(policy)
    for policy in saved:
        old = before.get(policy.name)
        if old is None:
            _record_policy("create", policy, after=policy_fields(policy))
        else:
            _record_policy("update", policy, before=old, after=policy_fields(policy))
    bump_version(POLICIES)
    return saved


def _record_policy(
    action: str,
    policy: Policy,
    *,
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
) -> None:
    record_change(
        action,
        policy,
        before=before,
        after=after,
        object_name=f"{policy.application.name}: {policy.name}",
        context={"application": policy.application.name},
    )


def _save_policy(policy: Policy, values: Mapping[str, Any], *, catalog: Catalog | None) -> None:
    errors = validation.policy_errors(values, catalog=catalog or Catalog.from_database())
    for name, value in values.items():
        setattr(policy, name, value)
    merge_errors(errors, _policy_clash_errors(policy))
    _full_clean(policy, errors, validate_constraints=False)
    raise_for_errors(errors)
    _save(policy, recheck=functools.partial(_policy_clash_errors, policy))
    bump_version(POLICIES)


def _policy_clash_errors(policy: Policy) -> Errors:
    """Another policy of the same application with this policy's precedence or name.

    Values of the wrong type or out of range are left to `validation.policy_errors`.
    """
    errors: Errors = {}
    siblings = Policy.objects.filter(application=policy.application).exclude(pk=policy.pk)
    precedence: object = policy.precedence
    clash = None
    if (
        isinstance(precedence, int)
        and not isinstance(precedence, bool)
        and 1 <= precedence <= validation.MAX_PRECEDENCE
    ):
        clash = siblings.filter(precedence=precedence).first()
    if clash is not None:
        errors["precedence"] = [
            f'precedence {clash.precedence} is already used by policy "{clash.name}"'
            "; give each policy its own precedence"
        ]
    if isinstance(policy.name, str) and siblings.filter(name=policy.name).exists():
        errors["name"] = ["another policy of this application has this name; rename one"]
    return errors


# Access groups


@transaction.atomic
def group_create(*, catalog: Catalog | None = None, **fields: Unpack[GroupFields]) -> AccessGroup:
    """Create an access group."""
    group = AccessGroup()
    _save_group(group, {**group_fields(group), **fields}, catalog=catalog, current_name=None)
    record_change("create", group, after=group_fields(group))
    return group


@transaction.atomic
def group_update(
    *, group: AccessGroup, catalog: Catalog | None = None, **fields: Unpack[GroupFields]
) -> AccessGroup:
    """Change an access group; refused when it would break a policy that uses it."""
    _update_named(group, fields, group_fields, _save_group, catalog=catalog)
    return group


@transaction.atomic
def group_delete(*, group: AccessGroup, catalog: Catalog | None = None) -> None:
    """Delete an access group that no rule refers to."""
    catalog = catalog or Catalog.from_database()
    raise_for_errors(group_delete_errors(group.name, catalog=catalog))
    record_change("delete", group, before=group_fields(group))
    group.delete()
    bump_version(POLICIES)


def _save_group(
    group: AccessGroup,
    values: Mapping[str, Any],
    *,
    catalog: Catalog | None,
    current_name: str | None,
) -> None:
    errors = validation.group_errors(
        values, catalog=catalog or Catalog.from_database(), current_name=current_name
    )
    for name, value in values.items():
        setattr(group, name, value)
    _full_clean(group, errors)
    raise_for_errors(errors)
    _save(group)
    bump_version(POLICIES)


# Service tokens


@transaction.atomic
def service_token_create(
    *,
    name: str,
    duration: str = DEFAULT_SERVICE_TOKEN_DURATION,
    client_id: str | None = None,
    client_secret: str | None = None,
) -> tuple[ServiceToken, str]:
    """Create a service token; returns it and its client secret, which is never shown again.

    `client_id` and `client_secret` may be given (config files, for automation); otherwise they
    are generated. Only a hash of the secret is stored.
    """
    fields: dict[str, Any] = {"name": name, "duration": duration}
    if client_id is not None:
        fields["client_id"] = client_id
    if client_secret is not None:
        fields["client_secret"] = client_secret
    errors = validation.service_token_errors(fields)
    secret = client_secret if client_secret is not None else generate_secret()
    token = ServiceToken(
        name=name,
        duration=duration,
        client_id=client_id or f"{secrets.token_hex(16)}.access",
        secret_hash=hash_secret(secret),
    )
    if not errors:
        token.expires_at = _expiry(duration)
    _full_clean(token, errors)
    raise_for_errors(errors)
    _save(token)
    record_change("create", token, after=_token_audit_fields(token))
    bump_version(POLICIES)
    return token, secret


@transaction.atomic
def service_token_update(
    *,
    token: ServiceToken,
    name: str | None = None,
    duration: str | None = None,
    client_id: str | None = None,
) -> ServiceToken:
    """Rename a token, change its client id, or change its duration (which restarts it from now)."""
    stored = ServiceToken.objects.get(pk=token.pk)
    current_name = stored.name
    fields: dict[str, Any] = {
        "name": token.name if name is None else name,
        "duration": token.duration if duration is None else duration,
        "client_id": token.client_id if client_id is None else client_id,
    }
    errors = validation.service_token_errors(fields)
    if fields["name"] != current_name:
        merge_errors(
            errors,
            reference_delete_errors("service_token", current_name, catalog=Catalog.from_database()),
        )
    duration_changed = fields["duration"] != token.duration
    for key, value in fields.items():
        setattr(token, key, value)
    if duration_changed and "duration" not in errors:
        token.expires_at = _expiry(token.duration)
    _full_clean(token, errors)
    raise_for_errors(errors)
    _save(token)
    record_change(
        "update", token, before=_token_audit_fields(stored), after=_token_audit_fields(token)
    )
    bump_version(POLICIES)
    return token


@transaction.atomic
def service_token_rotate(
    *,
    token: ServiceToken,
    client_secret: str | None = None,
    grace: timedelta | None = None,
) -> tuple[ServiceToken, str]:
    """Give a token a new secret; the previous one keeps working for `grace` (24h by default)."""
    if client_secret is not None:
        raise_for_errors(
            validation.service_token_errors(
                {"name": token.name, "duration": token.duration, "client_secret": client_secret}
            )
        )
    secret = client_secret if client_secret is not None else generate_secret()
    before = _token_audit_fields(token)
    token.previous_secret_hash = token.secret_hash
    token.previous_secret_expires_at = timezone.now() + (
        conf.service_token_rotation_grace if grace is None else grace
    )
    token.secret_hash = hash_secret(secret)
    token.client_secret_version += 1
    token.save()
    record_change(
        "rotate",
        token,
        before=before,
        after=_token_audit_fields(token),
        detail={"previous_secret_expires_at": token.previous_secret_expires_at},
    )
    bump_version(POLICIES)
    return token, secret


@transaction.atomic
def service_token_refresh(*, token: ServiceToken) -> ServiceToken:
    """Extend a token by its duration, counted from now (as Access's "Refresh")."""
    before = _token_audit_fields(token)
    token.expires_at = _expiry(token.duration)
    token.save(update_fields=["expires_at", "updated_at"])
    record_change("refresh", token, before=before, after=_token_audit_fields(token))
    bump_version(POLICIES)
    return token


@transaction.atomic
def service_token_delete(*, token: ServiceToken, catalog: Catalog | None = None) -> None:
    """Delete (revoke) a service token that no rule refers to."""
    catalog = catalog or Catalog.from_database()
    raise_for_errors(reference_delete_errors("service_token", token.name, catalog=catalog))
    record_change("delete", token, before=_token_audit_fields(token))
    token.delete()
    bump_version(POLICIES)


def _token_audit_fields(token: ServiceToken) -> dict[str, Any]:
    # What the trail shows of a token: never its secret or the secret's hash.
    return {
        **service_token_fields(token),
        "expires_at": token.expires_at,
        "client_secret_version": token.client_secret_version,
    }


def _expiry(duration: str) -> datetime | None:
    if duration == FOREVER:
        return None
    return timezone.now() + parse_duration(duration)


# Identity providers


@transaction.atomic
def identity_provider_create(
    *, name: str, type: str, config: Mapping[str, Any] | None = None
) -> IdentityProvider:
    """Create an identity provider; `config` is its type's settings, secrets included."""
    provider = IdentityProvider()
    _save_identity_provider(provider, name=name, type_=type, config=config or {}, current_name=None)
    return provider


@transaction.atomic
def identity_provider_update(
    *,
    provider: IdentityProvider,
    name: str | None = None,
    type: str | None = None,
    config: Mapping[str, Any] | None = None,
) -> IdentityProvider:
    """Rename an identity provider (refused while rules use its name), change its type or
    replace its config.

    A secret field left out of `config` keeps its stored value while the type stays the same
    (secrets are write-only: nobody reading the config can send them back).
    """
    stored = IdentityProvider.objects.get(pk=provider.pk)
    new_type = stored.type if type is None else type
    if config is None:
        config = stored.config if new_type == stored.type else {}
    _save_identity_provider(
        provider,
        name=stored.name if name is None else name,
        type_=new_type,
        config=config,
        current_name=stored.name,
        stored=stored,
    )
    return provider


@transaction.atomic
def identity_provider_delete(*, provider: IdentityProvider, catalog: Catalog | None = None) -> None:
    """Delete an identity provider that no rule and no application's `allowed_idps` use.

    Removing it from an application's `allowed_idps` silently would widen that application to
    every identity provider (empty means all), so it is refused instead.
    """
    catalog = catalog or Catalog.from_database()
    errors = provider_delete_errors(provider.pk, provider.name, catalog=catalog)
    _check_allowed_idps_users(errors, provider)
    raise_for_errors(errors)
    record_change("delete", provider, before=identity_provider_fields(provider))
    provider.delete()
    bump_version(POLICIES)


def _save_identity_provider(
    provider: IdentityProvider,
    *,
    name: str,
    type_: str,
    config: Mapping[str, Any],
    current_name: str | None,
    stored: IdentityProvider | None = None,
) -> None:
    full_config = (
        {**kept_secrets(stored, type_), **config} if isinstance(config, Mapping) else config
    )
    errors = validation.identity_provider_errors(
        {"name": name, "type": type_, "config": full_config}
    )
    if current_name is not None and name != current_name:
        merge_errors(
            errors,
            reference_delete_errors("login_method", current_name, catalog=Catalog.from_database()),
        )
    before = identity_provider_fields(stored) if stored is not None else None
    provider.name = name
    provider.type = type_
    changed_secrets: list[str] = []
    if not errors:
        parsed = parse_config(type_, full_config)
        provider.config = parsed.public_data()
        provider.secrets = encrypt_secrets(parsed.secret_data())
        old_secrets = kept_secrets(stored, type_)
        changed_secrets = sorted(
            key for key, value in parsed.secret_data().items() if old_secrets.get(key) != value
        )
    _full_clean(provider, errors)
    raise_for_errors(errors)
    _save(provider)
    record_change(
        "create" if stored is None else "update",
        provider,
        before=before,
        after=identity_provider_fields(provider),
        # Which secrets were set or replaced, never their values.
        detail={"changed_secrets": changed_secrets} if changed_secrets else None,
    )
    bump_version(POLICIES)


def _check_allowed_idps_users(errors: Errors, provider: IdentityProvider) -> None:
    if provider.pk is None:
        return
    for application in provider.applications.all():
        merge_errors(
            errors,
            {
                "name": [
                    f'application "{application.name}" allows only chosen identity providers, '
                    "this one among them; change its allowed_idps first"
                ]
            },
        )


# Helpers


CONFLICT_MESSAGE = "another change was saved at the same time and conflicts; try again"


def _save(instance: models.Model, *, recheck: Callable[[], Errors] | None = None) -> None:
    """Save, turning a unique constraint that a concurrent write broke into a validation error.

    Validation ran before another transaction committed the same name (or precedence); the
    database's constraint then refuses the row. The checks are run again so that the error
    says the same as it would have a moment later (`recheck`, by default the model's own
    uniqueness checks), or that the change conflicts when it is gone again.
    """
    try:
        with transaction.atomic():  # a savepoint: the outer transaction stays usable
            instance.save()
    except IntegrityError as error:
        errors: Errors = {} if recheck is None else recheck()
        if recheck is None:
            try:
                instance.validate_unique()
                instance.validate_constraints()
            except ValidationError as found:
                errors = errors_from_validation_error(found)
        raise_for_errors(errors or {"__all__": [CONFLICT_MESSAGE]})
        raise AssertionError("unreachable") from error


def _prefixed(
    prefix: str, check: Callable[[Policy], Errors], policy: Policy
) -> Callable[[], Errors]:
    def recheck() -> Errors:
        errors: Errors = {}
        merge_errors(errors, check(policy), prefix)
        return errors

    return recheck


def _full_clean(
    instance: models.Model, errors: Errors, *, validate_constraints: bool = True
) -> None:
    """Add the model's own checks (uniqueness, lengths) for fields not already refused."""
    exclude = {path.split(".")[0].split("[")[0] for path in errors}
    try:
        instance.full_clean(exclude=exclude, validate_constraints=validate_constraints)
    except ValidationError as error:
        merge_errors(errors, errors_from_validation_error(error))
