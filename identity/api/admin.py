"""Django admin for API tokens: created here, shown exactly once, stored only hashed."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model
from django.forms import Form
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils.cache import add_never_cache_headers

from identity.api.models import ApiToken
from identity.api.services import api_token_create

_PLAIN_TOKEN_ATTRIBUTE = "_accessproject_plain_api_token"


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "user", "read_only", "expires_at", "last_used_at", "created_at"]
    list_filter = ["read_only"]
    search_fields = ["name", "user__username", "user__email", "key_id"]
    autocomplete_fields = ["user"]
    readonly_fields = ["key_id", "last_used_at", "created_at"]

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
            name=obj.name, user=obj.user, read_only=obj.read_only, expires_at=obj.expires_at
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
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": f"API token {obj.name} created",
            "opts": self.opts,
            "token": obj,
            "plain_token": plain,
        }
        response = TemplateResponse(request, "admin/identity/apitoken/created.html", context)
        add_never_cache_headers(response)
        return response
