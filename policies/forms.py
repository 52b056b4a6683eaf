"""Admin forms: the shared validation layer's errors attached to the fields they concern."""

from __future__ import annotations

from typing import Any
from urllib.parse import SplitResult, urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput
from django.forms.models import BaseInlineFormSet

from common.text import decode_json
from policies import validation
from policies.builder import (
    CORS_FIELDS,
    CorsFields,
    LineListField,
    RuleRowsField,
    cors_headers_from,
    cors_initial,
)
from policies.catalog import Catalog, reference_delete_errors
from policies.durations import parse_duration
from policies.errors import Errors, merge_errors
from policies.models import (
    APPLICATION_FIELDS,
    DEFAULT_SERVICE_TOKEN_DURATION,
    FOREVER,
    POLICY_FIELDS,
    AccessGroup,
    Application,
    IdentityProvider,
    Policy,
    ServiceToken,
)
from policies.selectors import kept_secrets

RULE_HELP = (
    "One rule a row: choose the selector and type its value (an address, a domain, a CIDR range, "
    "a country code, a group's or service token's name, a provider's id or name, an amr value "
    "such as mfa); everyone and any_valid_service_token take none. Selectors with several fields "
    "take field=value pairs separated by ';': claim_name=groups; claim_value=admins; "
    "identity_provider_id=3. Empty the selector to remove a row; saving adds new blank rows."
)
RULE_LIST_HELP = {
    "include": f"Include (OR, at least one). {RULE_HELP}",
    "require": "Require (AND: every rule must hold). Same rows as include.",
    "exclude": "Exclude (NOT: any match refuses). Same rows as include.",
}


def attach_errors(form: forms.BaseForm, errors: Errors) -> None:
    """Put each `{path: [messages]}` error on the form field its path starts with.

    A field that already failed its own parsing keeps that first error only: validation saw
    no value for it and would only repeat the complaint.
    """
    existing = set(form.errors)
    for path, messages in errors.items():
        root = path.split(".")[0].split("[")[0]
        field = root if root in form.fields else None
        if field in existing:
            continue
        for message in messages:
            text = message if field is None or path == root else f"{path}: {message}"
            form.add_error(field, text)


class StorableJSONField(forms.JSONField):
    """Django's JSON form field, refusing what would crash it or the database.

    Django catches only syntax errors: JSON nested too deeply, a number of thousands of digits
    or an unpaired surrogate escape would raise while parsing the input or redisplaying it.
    """

    def to_python(self, value: Any) -> Any:
        if isinstance(value, str) and not self.disabled and value not in self.empty_values:
            try:
                decode_json(value)
            except ValueError as error:
                raise ValidationError(
                    self.error_messages["invalid"], code="invalid", params={"value": value}
                ) from error
        return super().to_python(value)

    def bound_data(self, data: Any, initial: Any) -> Any:
        if isinstance(data, str) and not self.disabled:
            try:
                decode_json(data)
            except ValueError:
                return InvalidJSONInput(data)
        return super().bound_data(data, initial)


RULE_FIELD_CLASSES: dict[str, type[forms.Field]] = dict.fromkeys(
    validation.RULE_LISTS, RuleRowsField
)
# The decisions as Access's dashboard names them, with the name the API and files use.
DECISION_CHOICES = [(value, f"{label} ({value})") for value, label in Policy.Decision.choices]


class ApplicationForm(CorsFields, forms.ModelForm):
    """An application, validated by `policies.validation` like the API and config files.

    Destinations are a list, one a line; `cors_headers` is entered as the CORS fields
    (`policies.builder`), and its errors (`cors_headers.max_age`) land on them.
    """

    class Meta:
        model = Application
        fields = sorted(set(APPLICATION_FIELDS) - {"cors_headers"})
        field_classes = {"destinations": LineListField}
        help_texts = {"destinations": "More host/path patterns, one a line."}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            for name, value in cors_initial(self.instance.cors_headers).items():
                self.initial.setdefault(name, value)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        values = self.service_fields()
        stored_name = (
            Application.objects.filter(pk=self.instance.pk).values_list("name", flat=True).first()
        )
        errors = validation.application_errors(
            values,
            catalog=Catalog.from_database(),
            current_name=stored_name or values.get("name"),
        )
        attach_errors(self, _onto_cors_fields(errors))
        return cleaned

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values as `policies.services` takes them (identity providers by name)."""
        values = {
            name: self.cleaned_data[name]
            for name in APPLICATION_FIELDS
            if name in self.cleaned_data
        }
        values["cors_headers"] = cors_headers_from(self.cleaned_data)
        values["destinations"] = values.get("destinations") or []
        providers = self.cleaned_data.get("allowed_idps") or []
        values["allowed_idps"] = sorted(provider.name for provider in providers)
        return values


_CORS_FIELD_OF = {f"cors_headers.{key}": name for name, key in CORS_FIELDS}


def _onto_cors_fields(errors: Errors) -> Errors:
    """`cors_headers.max_age` errors keyed by the form field that shows them (`cors_max_age`),
    with the path kept in the message; the rest as they are."""
    moved: Errors = {}
    for path, messages in errors.items():
        key = path.split("[")[0]
        field = _CORS_FIELD_OF.get(key)
        if field is None:
            moved.setdefault(path, []).extend(messages)
        else:
            moved.setdefault(field, []).extend(f"{path}: {message}" for message in messages)
    return moved


class PolicyForm(forms.ModelForm):
    """One policy of the inline; the formset validates the whole set."""

    class Meta:
        model = Policy
        fields = POLICY_FIELDS
        field_classes = {**RULE_FIELD_CLASSES, "approval_groups": StorableJSONField}
        help_texts = RULE_LIST_HELP
        widgets = {"decision": forms.Select(choices=DECISION_CHOICES)}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        decision = self.fields["decision"]
        if isinstance(decision, forms.ChoiceField):
            decision.choices = [("", "---------"), *DECISION_CHOICES]

    def validate_unique(self) -> None:
        # Precedence and names are checked across the whole set by the formset, which allows
        # swapping two policies' precedences in one save.
        return

    def validate_constraints(self) -> None:
        # The model's only constraints are those two uniques (Django 6.1 checks them here too).
        return

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values as `policies.services` takes them."""
        values = {name: self.cleaned_data.get(name) for name in POLICY_FIELDS}
        for name in validation.RULE_LISTS:
            values[name] = values[name] if values[name] is not None else []
        values["session_duration"] = values["session_duration"] or ""
        values["purpose_justification_prompt"] = values["purpose_justification_prompt"] or ""
        if values["approval_groups"] is None:  # an empty box
            values["approval_groups"] = []
        return values


POLICIES_CHANGED = (
    "The application's policies were changed since this page was loaded (one was added or "
    "removed elsewhere). Nothing was saved: reload the page and make your change again."
)


class PolicyInlineFormSet(BaseInlineFormSet):
    """The application's policies, validated together (unique precedence, references).

    The admin saves the kept forms as the application's whole set of policies, so a post must
    name every stored policy: one left out (a page loaded before someone else added a policy,
    or a post cut short by hand) would be deleted by someone who may not delete it, or who never
    saw it. Such a post is refused; deleting is ticking a policy's delete box.
    """

    def kept_forms(self) -> list[Any]:
        """Forms that describe a policy to keep (not deleted, not an untouched extra form)."""
        kept = []
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or not form.cleaned_data:
                continue
            if self.can_delete and self._should_delete_form(form):  # type: ignore[attr-defined]
                continue
            kept.append(form)
        return kept

    def clean(self) -> None:
        super().clean()
        if self.instance.pk is not None:
            posted = {form.instance.pk for form in self.initial_forms}
            stored = set(
                Policy.objects.filter(application=self.instance).values_list("pk", flat=True)
            )
            if posted != stored:
                raise ValidationError(POLICIES_CHANGED, code="stale")
        forms_ = [form for form in self.kept_forms() if not form.errors]
        values = [form.service_fields() for form in forms_]
        errors = validation.policy_set_errors(values, catalog=Catalog.from_database())
        for index, form in enumerate(forms_):
            prefix = f"[{index}]"
            mine = {
                path[len(prefix) :].lstrip("."): messages
                for path, messages in errors.items()
                if path.startswith(prefix + ".") or path == prefix
            }
            attach_errors(form, mine)


class AccessGroupForm(forms.ModelForm):
    """An access group, validated by `policies.validation` (references, cycles, users)."""

    class Meta:
        model = AccessGroup
        fields = ["name", "include", "require", "exclude"]
        field_classes = RULE_FIELD_CLASSES
        help_texts = RULE_LIST_HELP

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        stored_name = (
            AccessGroup.objects.filter(pk=self.instance.pk).values_list("name", flat=True).first()
        )
        errors = validation.group_errors(
            self.service_fields(), catalog=Catalog.from_database(), current_name=stored_name
        )
        attach_errors(self, errors)
        return cleaned

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values as `policies.services` takes them."""
        values = {name: self.cleaned_data.get(name) for name in self.Meta.fields}
        for name in validation.RULE_LISTS:
            values[name] = values[name] if values[name] is not None else []
        return values


SERVICE_TOKEN_DURATION_HELP = (
    f'How long the token lasts: a Go duration (default "{DEFAULT_SERVICE_TOKEN_DURATION}", '
    f'{parse_duration(DEFAULT_SERVICE_TOKEN_DURATION).days} days) or "{FOREVER}".'
)


class ServiceTokenForm(forms.ModelForm):
    """Name and duration; the client id and secret are generated on creation."""

    class Meta:
        model = ServiceToken
        fields = ["name", "duration"]
        help_texts = {"duration": SERVICE_TOKEN_DURATION_HELP}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        errors = validation.service_token_errors(dict(cleaned))
        merge_errors(errors, _rename_errors(self, "service_token", cleaned.get("name")))
        attach_errors(self, errors)
        return cleaned


CONFIG_HELP = (
    "JSON object: the type's settings, with Access's names. oidc: "
    '{"client_id": "...", "issuer": "https://idp.example.com"} (endpoints from discovery), '
    'or with "auth_url", "token_url", "certs_url"; also "scopes", "claims", '
    '"email_claim_name", "pkce_enabled". google: {"client_id"}; azureAD: {"client_id", '
    '"directory_id"}; okta: {"client_id", "okta_account"}; github: {"client_id"}. '
    "One-time PIN and password take {}. The client secret goes in the field below."
)


class IdentityProviderForm(forms.ModelForm):
    """An identity provider's name, type and config; its client secret is write-only."""

    client_secret = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Stored encrypted and never shown. Leave empty to keep the stored one.",
    )

    class Meta:
        model = IdentityProvider
        fields = ["name", "type", "config"]
        field_classes = {"config": StorableJSONField}
        help_texts = {"config": CONFIG_HELP}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        values = self.service_fields()
        stored = IdentityProvider.objects.filter(pk=self.instance.pk).first()
        config = values["config"]
        if isinstance(config, dict):
            config = {**kept_secrets(stored, str(values["type"])), **config}
        errors = validation.identity_provider_errors({**values, "config": config})
        if "config.client_secret" in errors:
            errors["client_secret"] = errors.pop("config.client_secret")
        merge_errors(errors, _rename_errors(self, "login_method", cleaned.get("name")))
        attach_errors(self, errors)
        return cleaned

    def service_fields(self) -> dict[str, Any]:
        """The cleaned values as `policies.services` takes them (the secret inside config)."""
        config = self.cleaned_data.get("config")
        config = {} if config is None else config
        secret = self.cleaned_data.get("client_secret")
        if secret and isinstance(config, dict):
            config = {**config, "client_secret": secret}
        return {
            "name": self.cleaned_data.get("name"),
            "type": self.cleaned_data.get("type"),
            "config": config,
        }


def _rename_errors(form: forms.ModelForm, kind: str, name: object) -> Errors:
    """Renaming a service token or identity provider that rules name would break them."""
    model = form._meta.model
    stored_name = model.objects.filter(pk=form.instance.pk).values_list("name", flat=True).first()
    if stored_name is None or name in (None, stored_name):
        return {}
    return reference_delete_errors(kind, stored_name, catalog=Catalog.from_database())


TESTER_URL_MESSAGE = "Enter a URL like https://app.example.com/path."


def split_tester_url(url: str) -> SplitResult:
    """The parts of a URL typed into the tester (the scheme may be left out).

    Raises `ValueError` when it has no host, a malformed IPv6 host or a port out of range.
    """
    parts = urlsplit(url if "//" in url else f"//{url}")
    if not parts.hostname:
        raise ValueError("no host")
    parts.port  # noqa: B018  (reading it checks that the port is a number in range)
    return parts


class PolicyTesterForm(forms.Form):
    """A request and an identity to run through the current configuration."""

    METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]

    url = forms.CharField(
        label="URL", max_length=2048, help_text="e.g. https://app.example.com/reports/2024"
    )
    method = forms.ChoiceField(choices=[(method, method) for method in METHODS], initial="GET")
    email = forms.EmailField(required=False)
    ip = forms.GenericIPAddressField(label="IP address", required=False)
    country = forms.RegexField(
        regex=r"^[A-Za-z]{2}$", required=False, help_text="Two-letter ISO code, e.g. PT."
    )
    login_method = forms.ModelChoiceField(
        queryset=IdentityProvider.objects.all(), required=False, to_field_name="name"
    )
    auth_methods = forms.CharField(
        required=False, help_text="Comma-separated authentication methods, e.g. pwd, mfa."
    )
    groups = forms.CharField(
        required=False,
        help_text="Comma-separated groups the identity provider reports, e.g. admins, "
        "acme/site-ops (a GitHub organisation's team).",
    )
    claims = StorableJSONField(
        required=False,
        help_text='The provider\'s claims copied into the token, e.g. {"department": "ops"}.',
    )
    service_token = forms.ModelChoiceField(
        queryset=ServiceToken.objects.all(),
        required=False,
        to_field_name="name",
        help_text="Test as this service token instead of a person.",
    )

    def clean_claims(self) -> dict[str, Any]:
        value = self.cleaned_data.get("claims")
        if value in (None, ""):
            return {}
        if not isinstance(value, dict):
            raise ValidationError('Enter a JSON object, like {"department": "ops"}.')
        return value

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        try:
            split_tester_url(url)
        except ValueError as error:
            raise ValidationError(TESTER_URL_MESSAGE, code="invalid") from error
        return url
