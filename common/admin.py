"""Django admin for API tokens: created here, shown exactly once, stored only hashed."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin
from django.contrib.admin.widgets import AutocompleteSelect
from django.core.exceptions import ValidationError
from django.db.models import ForeignKey, Model
from django.forms import Form, ModelChoiceField, Select
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers
from django.utils.html import format_html, format_html_join

from common.adminqueries import ReadableQueryMixin
from common.api.tokens import api_token_create, api_token_owners
from common.models import ApiToken, AuditEntry

_PLAIN_TOKEN_ATTRIBUTE = "_accessproject_plain_api_token"


class CheckedAutocompleteSelect(AutocompleteSelect):
    """Django's autocomplete widget, redisplaying only submitted values that name an object.

    Django's own looks every submitted value up with an `__in` query to show its label, so a
    value that is not an id ("abc", an integer past 64 bits) raises instead of showing the
    form's "Select a valid choice" error.
    """

    def optgroups(self, name: str, value: Any, attr: Any = None) -> Any:
        field = self.choices.field
        assert isinstance(field, ModelChoiceField)
        usable = []
        for item in value:
            try:
                field.to_python(item)
            except ValidationError:
                continue
            usable.append(item)
        return super().optgroups(name, usable, attr)


@admin.register(ApiToken)
class ApiTokenAdmin(ReadableQueryMixin, admin.ModelAdmin):
    list_display = ["name", "user", "read_only", "expires_at", "last_used_at", "created_at"]
    list_filter = ["read_only"]
    search_fields = ["name", "user__username", "user__email", "key_id"]
    autocomplete_fields = ["user"]
    readonly_fields = ["key_id", "last_used_at", "created_at"]

    def formfield_for_foreignkey(
        self, db_field: ForeignKey[Any, Any], request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.name == "user":
            owners = api_token_owners(created_by=request.user)  # type: ignore[arg-type]
            kwargs["queryset"] = owners
            if not request.user.is_superuser:
                # Only themselves to choose from (and no autocomplete over every user).
                kwargs["initial"] = request.user.pk
                kwargs["widget"] = Select
                return super().formfield_for_foreignkey(db_field, request, **kwargs)
        if db_field.name in self.autocomplete_fields:
            kwargs["widget"] = CheckedAutocompleteSelect(
                db_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Model | None = None) -> tuple[str, ...]:
        if obj is None:
            return ("name", "user", "read_only", "expires_at")
        return ("name", "user", "read_only", "expires_at", "key_id", "last_used_at", "created_at")

    def get_readonly_fields(
        self, request: HttpRequest, obj: Model | None = None
    ) -> tuple[str, ...]:
        # A token's user is fixed: moving it would hand its bearer someone else's permissions.
        return (*self.readonly_fields, "user") if obj is not None else ()

    def save_model(self, request: HttpRequest, obj: ApiToken, form: Form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        token, plain = api_token_create(
            name=obj.name,
            user=obj.user,
            created_by=request.user,  # type: ignore[arg-type]
            read_only=obj.read_only,
            expires_at=obj.expires_at,
        )
        obj.pk = token.pk
        obj.key_id = token.key_id
        obj.secret_hash = token.secret_hash
        obj.created_at = token.created_at
        # Handed to response_add only: never stored in a message, a session or a cookie.
        setattr(request, _PLAIN_TOKEN_ATTRIBUTE, plain)

    def response_add(
        self, request: HttpRequest, obj: ApiToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        plain = getattr(request, _PLAIN_TOKEN_ATTRIBUTE, None)
        if plain is None:
            return super().response_add(request, obj, post_url_continue)
        return shown_once_page(
            self,
            request,
            "admin/common/apitoken/created.html",
            title=f"API token {obj.name} created",
            token=obj,
            plain_token=plain,
        )


def shown_once_page(
    model_admin: admin.ModelAdmin[Any],
    request: HttpRequest,
    template: str,
    *,
    title: str,
    **context: object,
) -> HttpResponse:
    """A page of `model_admin` showing a new secret this once: no cache may keep it."""
    response = TemplateResponse(
        request,
        template,
        {
            **model_admin.admin_site.each_context(request),
            "title": title,
            "opts": model_admin.opts,
            **context,
        },
    )
    add_never_cache_headers(response)
    return response


class ReadOnlyAdminMixin:
    """A model admin for records of what happened: viewable, never added, changed or deleted
    by hand (the audit trail here; sessions, keys, approvals and sign-in events in identity)."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdminMixin, ReadableQueryMixin, admin.ModelAdmin):
    """The audit trail: read-only, filterable by channel, action, kind of object and person."""

    list_display = ["created_at", "actor_display", "channel", "action", "object_type", "name"]
    list_filter = ["channel", "action", "object_type", "created_at"]
    search_fields = ["object_name", "actor", "object_id"]
    date_hierarchy = "created_at"
    list_per_page = 50
    readonly_fields = [
        "created_at",
        "actor_display",
        "channel",
        "action",
        "object_type",
        "object_id",
        "object_name",
        "changes_table",
        "detail",
    ]
    fields = tuple(readonly_fields)

    @admin.display(description="who", ordering="actor")
    def actor_display(self, obj: AuditEntry) -> str:
        return obj.actor or "(nobody signed in)"

    @admin.display(description="object", ordering="object_name")
    def name(self, obj: AuditEntry) -> str:
        changed = ", ".join(obj.changes) if obj.action == AuditEntry.Action.UPDATE else ""
        return f"{obj.object_name} ({changed})" if changed else obj.object_name

    @admin.display(description="before / after")
    def changes_table(self, obj: AuditEntry) -> str:
        rows = format_html_join(
            "",
            "<tr><th scope='row'>{}</th><td><pre>{}</pre></td><td><pre>{}</pre></td></tr>",
            (
                (field, _shown(values[0]), _shown(values[1]))
                for field, values in sorted(obj.changes.items())
            ),
        )
        if not obj.changes:
            return "no field changed"
        return format_html(
            "<table class='audit-diff'><thead><tr><th>field</th><th>before</th><th>after</th>"
            "</tr></thead><tbody>{}</tbody></table>",
            rows,
        )


def _shown(value: object) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=1, sort_keys=True)
