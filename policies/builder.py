"""The admin's rule builder: rules as rows of (selector, value), lists as one item a line.

Plain form fields and widgets that work without JavaScript. A rule list renders as numbered rows,
each a selector chosen from `policies.rules.SUPPORTED_SELECTORS` and one value, plus blank rows to
add more (saving adds new blank rows); a row whose selector is left empty is dropped. The rows
become the same rule objects the API and config files take, and `policies.validation` checks them
with its own messages (`include[1].email.email: ...`): nothing here validates a rule.

A selector with one field takes the value as it is (`ann@example.com`); one with several takes
`field=value` pairs separated by `;` (`claim_name=groups; claim_value=admins;
identity_provider_id=3`). Posting the list as JSON under the field's own name still works, as
scripts written against the earlier admin do.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from common.text import decode_json
from policies import cors
from policies.rules import SELECTORS, SUPPORTED_SELECTORS

__all__ = ["CorsFields", "LineListField", "RuleRowsField", "row_from_rule", "rule_from_row"]

# Rows read from one post at most: a rule list is short, a flood of rows is refused.
MOST_ROWS = 100
BLANK_ROWS = 2
# Only what validation accepts is offered; a selector it refuses (SAML, for now) posted by hand
# still reaches validation, which answers with its own message.
SELECTOR_CHOICES = [("", "—"), *((name, name) for name in SUPPORTED_SELECTORS)]
# The value's field of a selector whose value is one text: the first of its fields.
_ID_FIELDS = frozenset({"id", "identity_provider_id"})
_INVALID_JSON = "Enter a valid JSON."  # Django's own words for its JSON fields


def _fields_of(selector: str) -> tuple[str, ...]:
    definition = SELECTORS[selector]
    return (*definition.required, *definition.optional)


def row_from_rule(rule: object) -> tuple[str, str]:
    """The (selector, value) row that shows `rule`."""
    if not isinstance(rule, Mapping) or len(rule) != 1:
        return "", json.dumps(rule)
    selector = str(next(iter(rule)))
    inner = rule[selector]
    if not isinstance(inner, Mapping) or not inner:
        return selector, ""
    if selector in SELECTORS and len(inner) == 1:
        (field, value), *_ = inner.items()
        fields = _fields_of(selector)
        if fields and field == fields[0]:
            return selector, str(value)
    return selector, "; ".join(f"{field}={value}" for field, value in inner.items())


def rule_from_row(selector: str, value: str) -> dict[str, Any]:
    """The rule a (selector, value) row describes, for validation to judge."""
    value = value.strip()
    if selector not in SELECTORS:
        return {selector: {}}  # an unknown selector: validation names the known ones
    fields = _fields_of(selector)
    if not fields or not value:
        return {selector: {}}
    if "=" in value and value.split("=", 1)[0].strip() in fields:
        pairs = [part.split("=", 1) for part in value.split(";") if part.strip()]
        return {selector: {key.strip(): _typed(key.strip(), rest.strip()) for key, rest in pairs}}
    if selector == "login_method":
        # A provider's id, or its name (both accepted, as Access's API writes them).
        return {selector: {"id": int(value)} if value.isdigit() else {"name": value}}
    return {selector: {fields[0]: _typed(fields[0], value)}}


def _typed(field: str, value: str) -> object:
    return int(value) if field in _ID_FIELDS and value.isdigit() else value


class RuleRowsWidget(forms.Widget):
    """Numbered (selector, value) rows with a count, as a formset posts its forms."""

    template_name = "admin/policies/rule_rows.html"

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        shown = context["widget"]["value"]
        rows = shown if isinstance(shown, list) else []
        rows = [*rows, *([("", "")] * BLANK_ROWS)]
        context["widget"].update(
            rows=[
                {"index": index, "selector": selector, "value": text}
                for index, (selector, text) in enumerate(rows)
            ],
            total=len(rows),
            choices=SELECTOR_CHOICES,
            list_name=name.rsplit("-", 1)[-1],
        )
        return context

    def format_value(self, value: Any) -> Any:
        if isinstance(value, str):
            try:
                value = decode_json(value)
            except ValueError:
                return []
        if isinstance(value, list) and all(isinstance(row, tuple) for row in value):
            return value
        return [row_from_rule(rule) for rule in value] if isinstance(value, list) else []

    def value_from_datadict(self, data: Any, files: Any, name: str) -> Any:
        total = data.get(f"{name}-TOTAL_ROWS")
        if total is None:
            return data.get(name)  # JSON text, as scripts post it
        try:
            count = min(int(total), MOST_ROWS)
        except (TypeError, ValueError):
            count = 0
        return [
            (str(data.get(f"{name}-{i}-selector", "")), str(data.get(f"{name}-{i}-value", "")))
            for i in range(max(count, 0))
        ]

    def value_omitted_from_data(self, data: Any, files: Any, name: str) -> bool:
        return f"{name}-TOTAL_ROWS" not in data and name not in data


class _ListField(forms.Field):
    """A form field for a model's JSONField (whose encoder and decoder it has no use for)."""

    def __init__(self, *args: Any, encoder: Any = None, decoder: Any = None, **kwargs: Any):
        super().__init__(*args, **kwargs)


class RuleRowsField(_ListField):
    """A rule list (include, require or exclude) entered as rows."""

    widget = RuleRowsWidget

    def to_python(self, value: Any) -> list[Any]:
        if value in (None, ""):
            return []
        if isinstance(value, str):
            try:
                parsed = decode_json(value)
            except ValueError as error:
                raise ValidationError(_INVALID_JSON, code="invalid") from error
            return parsed if isinstance(parsed, list) else [parsed]
        return [rule_from_row(selector, text) for selector, text in value if selector]

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != (initial or [])
        except ValidationError:
            return True


class LineListField(_ListField):
    """A list of texts, one a line (destinations, CORS origins and headers)."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return "\n".join(str(item) for item in value)
        return value

    def to_python(self, value: Any) -> list[Any]:
        if isinstance(value, list):
            return value
        text = str(value or "").strip()
        if text.startswith("["):  # JSON, as scripts post it
            try:
                parsed = decode_json(text)
            except ValueError as error:
                raise ValidationError(_INVALID_JSON, code="invalid") from error
            if isinstance(parsed, list):
                return parsed
        return [line.strip() for line in text.splitlines() if line.strip()]

    def has_changed(self, initial: Any, data: Any) -> bool:
        try:
            return self.to_python(data) != list(initial or [])
        except ValidationError:
            return True


# CORS settings as fields of their own: (form field name, cors_headers key), one per key that
# `policies.cors` declares; `CorsFields` below has a form field of each name.
CORS_FIELDS = tuple((f"cors_{key}", key) for key in cors.CORS_FIELDS)


class CorsFields(forms.Form):
    """The form fields of `cors_headers`, mixed into the application's form."""

    cors_allowed_origins = LineListField(
        required=False,
        label="Allowed origins",
        help_text="One a line, e.g. https://web.example.com. Browsers send the origin of the "
        "calling page; only these get an answer.",
    )
    cors_allow_all_origins = forms.BooleanField(required=False, label="Allow all origins")
    cors_allowed_methods = forms.MultipleChoiceField(
        required=False,
        label="Allowed methods",
        choices=[(method, method) for method in cors.CORS_METHODS],
        widget=forms.CheckboxSelectMultiple,
    )
    cors_allow_all_methods = forms.BooleanField(required=False, label="Allow all methods")
    cors_allowed_headers = LineListField(
        required=False, label="Allowed headers", help_text="One a line, e.g. content-type."
    )
    cors_allow_all_headers = forms.BooleanField(required=False, label="Allow all headers")
    cors_allow_credentials = forms.BooleanField(
        required=False,
        label="Allow credentials",
        help_text="Cookies on cross-site requests: needs listed origins and SameSite none.",
    )
    cors_max_age = forms.IntegerField(
        required=False,
        label="Max age",
        help_text="Seconds a browser may cache a preflight answer "
        f"({cors.MAX_AGE_RANGE[0]} to {cors.MAX_AGE_RANGE[1]}).",
    )


def cors_initial(cors_headers: object) -> dict[str, Any]:
    """The CORS fields' initial values from a stored `cors_headers`."""
    stored = cors_headers if isinstance(cors_headers, Mapping) else {}
    return {name: stored.get(key) for name, key in CORS_FIELDS if key in stored}


def cors_headers_from(cleaned: Mapping[str, Any]) -> dict[str, Any] | None:
    """`cors_headers` from the CORS fields' cleaned values; None when every one is empty."""
    values: dict[str, Any] = {}
    for name, key in CORS_FIELDS:
        value = cleaned.get(name)
        if value in (None, False, [], ""):
            continue
        values[key] = value
    return values or None
