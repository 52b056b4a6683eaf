"""Django admin for applications, policies, groups, service tokens and identity providers.

Every save and delete goes through `policies.services`, so the admin validates exactly as the API
and config files do and bumps the configuration version. The policy tester runs a request and an
identity through the current configuration and shows every policy's verdict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from ipaddress import ip_address
from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Model, QuerySet
from django.forms import BaseForm, BaseFormSet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import URLPattern, path

from common.admin import shown_once_page
from common.audit import AuditedAdminMixin
from common.versioning import VersionUnavailable
from policies import services
from policies.builder import CORS_FIELDS
from policies.catalog import (
    Catalog,
    group_delete_errors,
    provider_delete_errors,
    reference_delete_errors,
)
from policies.decision import Verdict
from policies.forms import (
    AccessGroupForm,
    ApplicationForm,
    IdentityProviderForm,
    PolicyForm,
    PolicyInlineFormSet,
    PolicyTesterForm,
    ServiceTokenForm,
    split_tester_url,
)
from policies.models import (
    POLICY_FIELDS,
    AccessGroup,
    Application,
    IdentityProvider,
    Policy,
    ServiceToken,
)
from policies.rules import Subject
from policies.selectors import stored_application_warnings
from policies.snapshot import CompiledApplication, SnapshotError, get_snapshot


class ServicesDeleteMixin:
    """Deletes through a service; objects that rules still use are shown as protected."""

    def delete_errors(self, obj: Any, catalog: Catalog) -> list[str]:
        return []

    def delete_through_service(self, obj: Any) -> None:
        raise NotImplementedError

    def get_deleted_objects(
        self, objs: Sequence[Model] | QuerySet[Model], request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        deleted, counts, perms, protected = super().get_deleted_objects(objs, request)  # type: ignore[misc]
        catalog = Catalog.from_database()
        for obj in objs:
            protected.extend(f"{obj}: {message}" for message in self.delete_errors(obj, catalog))
        return deleted, counts, perms, protected

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self.delete_through_service(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        for obj in queryset:
            self.delete_through_service(obj)


class PolicyInline(admin.StackedInline):
    model = Policy
    form = PolicyForm
    formset = PolicyInlineFormSet
    extra = 0
    ordering = ["precedence"]
    fields = POLICY_FIELDS


@admin.register(Application)
class ApplicationAdmin(AuditedAdminMixin, admin.ModelAdmin):
    form = ApplicationForm
    inlines = [PolicyInline]
    change_list_template = "admin/policies/application/change_list.html"
    list_display = [
        "name",
        "type",
        "domain",
        "session_duration",
        "same_site_cookie_attribute",
        "aud",
    ]
    list_filter = [
        "type",
        "same_site_cookie_attribute",
        "options_preflight_bypass",
        "enable_binding_cookie",
        "service_auth_401_redirect",
    ]
    search_fields = ["name", "domain", "aud"]
    readonly_fields = ["aud"]
    filter_horizontal = ["allowed_idps"]
    fieldsets = [
        ("Basics", {"fields": ["name", "type", "domain", "aud"]}),
        ("App Launcher", {"fields": ["app_launcher_visible", "logo_url"]}),
        ("Destinations", {"fields": ["destinations"]}),
        (
            "Session and cookies",
            {
                "fields": [
                    "session_duration",
                    "same_site_cookie_attribute",
                    "http_only_cookie_attribute",
                    "enable_binding_cookie",
                    "allowed_idps",
                    "auto_redirect_to_identity",
                    "require_second_factor_enrolment",
                ]
            },
        ),
        (
            "CORS",
            {
                "fields": [
                    "options_preflight_bypass",
                    *(name for name, _ in CORS_FIELDS),
                    "cors_on_responses",
                ]
            },
        ),
        (
            "Deny page",
            {
                "fields": [
                    "custom_deny_message",
                    "custom_deny_url",
                    "custom_non_identity_deny_url",
                    "service_auth_401_redirect",
                    "unauthenticated_401",
                ]
            },
        ),
    ]

    def save_model(
        self, request: HttpRequest, obj: Application, form: BaseForm, change: bool
    ) -> None:
        assert isinstance(form, ApplicationForm)
        fields = form.service_fields()
        if change:
            services.application_update(application=obj, **fields)
            return
        saved = services.application_create(**fields)
        # The admin goes on to save the inline policies against `obj`: make it the saved row.
        obj.pk, obj.aud, obj._state = saved.pk, saved.aud, saved._state

    def save_related(
        self, request: HttpRequest, form: BaseForm, formsets: Any, change: bool
    ) -> None:
        # allowed_idps was saved by the service; only the policies remain.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)
        # Saved, but defeating itself: say so on the page the admin lands on.
        assert isinstance(form, ApplicationForm)
        for warning in stored_application_warnings(form.instance):
            self.message_user(request, str(warning), messages.WARNING)

    def save_formset(
        self, request: HttpRequest, form: BaseForm, formset: BaseFormSet[Any], change: bool
    ) -> None:
        assert isinstance(formset, PolicyInlineFormSet)
        kept = formset.kept_forms()
        before = {policy.pk: policy for policy in formset.instance.policies.all()}
        saved = services.application_set_policies(
            application=formset.instance,
            policies=[policy_form.service_fields() for policy_form in kept],
        )
        # What the admin's change message and history report.
        formset.new_objects = [policy for policy in saved if policy.pk not in before]
        formset.changed_objects = [
            (policy, policy_form.changed_data)
            for policy, policy_form in zip(saved, kept, strict=True)
            if policy.pk in before and policy_form.has_changed()
        ]
        kept_ids = {policy.pk for policy in saved}
        formset.deleted_objects = [p for pk, p in before.items() if pk not in kept_ids]

    def delete_model(self, request: HttpRequest, obj: Application) -> None:
        services.application_delete(application=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Application]) -> None:
        for application in queryset:
            services.application_delete(application=application)

    def get_urls(self) -> list[URLPattern]:
        tester = path(
            "tester/",
            self.admin_site.admin_view(self.tester_view),
            name="policies_application_tester",
        )
        return [tester, *super().get_urls()]

    def tester_view(self, request: HttpRequest) -> HttpResponse:
        """Run a request and an identity through the current configuration."""
        form = PolicyTesterForm(request.GET or None)
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Policy tester",
            "form": form,
        }
        if form.is_valid():
            context.update(_run_tester(form.cleaned_data))
        return TemplateResponse(request, "admin/policies/application/tester.html", context)


def _run_tester(data: dict[str, Any]) -> dict[str, Any]:
    parts = split_tester_url(data["url"])
    host, request_path = parts.hostname or "", parts.path or "/"
    try:
        snapshot = get_snapshot()
    except (SnapshotError, VersionUnavailable) as error:
        return {"problem": f"The configuration cannot be loaded, so the gate answers 503: {error}"}
    application, non_canonical = snapshot.match(host, request_path)
    result: dict[str, Any] = {"tested": True, "application": application, "host": host}
    if application is None:
        result["note"] = "No application covers this URL: the gate does not touch it."
        return result
    if non_canonical:
        result["note"] = (
            "The path is not in canonical form (encoded slashes, dot segments, ...): "
            "the gate refuses it whatever the policies say."
        )
    if data["method"] == "OPTIONS":
        result["preflight"] = _preflight_note(application)
    subject = _subject(data)
    verdict: Verdict = snapshot.decide(application, subject)
    result.update({"verdict": verdict, "subject": subject})
    return result


def _subject(data: dict[str, Any]) -> Subject:
    token = data.get("service_token")
    methods = frozenset(
        method.strip().lower()
        for method in (data.get("auth_methods") or "").split(",")
        if method.strip()
    )
    provider = data.get("login_method")
    groups = frozenset(
        group.strip() for group in (data.get("groups") or "").split(",") if group.strip()
    )
    return Subject(
        email=None if token else (data.get("email") or None),
        ip=ip_address(data["ip"]) if data.get("ip") else None,
        country=(data.get("country") or "").upper() or None,
        login_method=provider.name if provider else None,
        auth_methods=methods,
        service_token=token.name if token else None,
        is_service_token=token is not None,
        idp_id=str(provider.pk) if provider and not token else None,
        idp_type=provider.type if provider and not token else None,
        idp_groups=groups if not token else frozenset(),
        idp_claims=(data.get("claims") or {}) if not token else {},
    )


def _preflight_note(application: CompiledApplication) -> str:
    if application.options_preflight_bypass:
        return "A CORS preflight goes to the view unauthenticated (options_preflight_bypass)."
    if application.cors is not None:
        return "A CORS preflight is answered by the gate from cors_headers; the view never sees it."
    return "A CORS preflight gets 403: the application has no CORS settings."


@admin.register(AccessGroup)
class AccessGroupAdmin(AuditedAdminMixin, ServicesDeleteMixin, admin.ModelAdmin):
    form = AccessGroupForm
    list_display = ["name", "updated_at"]
    search_fields = ["name"]

    def save_model(
        self, request: HttpRequest, obj: AccessGroup, form: BaseForm, change: bool
    ) -> None:
        assert isinstance(form, AccessGroupForm)
        if change:
            services.group_update(group=obj, **form.service_fields())
        else:
            saved = services.group_create(**form.service_fields())
            obj.pk, obj._state = saved.pk, saved._state

    def delete_errors(self, obj: AccessGroup, catalog: Catalog) -> list[str]:
        return [m for ms in group_delete_errors(obj.name, catalog=catalog).values() for m in ms]

    def delete_through_service(self, obj: AccessGroup) -> None:
        services.group_delete(group=obj)


_SECRETS_ATTRIBUTE = "_accessproject_service_token_secrets"


@dataclass(frozen=True)
class _ShownSecret:
    """A service token's credentials as the secrets page shows them."""

    name: str
    client_id: str
    secret: str
    previous_secret_expires_at: datetime | None

    @classmethod
    def of(cls, token: ServiceToken, secret: str) -> _ShownSecret:
        return cls(token.name, token.client_id, secret, token.previous_secret_expires_at)


@admin.register(ServiceToken)
class ServiceTokenAdmin(AuditedAdminMixin, ServicesDeleteMixin, admin.ModelAdmin):
    form = ServiceTokenForm
    list_display = ["name", "client_id", "duration", "expires_at", "client_secret_version"]
    search_fields = ["name", "client_id"]
    list_filter = ["duration"]
    readonly_fields = [
        "client_id",
        "expires_at",
        "client_secret_version",
        "previous_secret_expires_at",
        "created_at",
        "updated_at",
    ]
    actions = ["rotate_secret", "refresh"]

    def get_fields(self, request: HttpRequest, obj: ServiceToken | None = None) -> Any:
        return ["name", "duration"] if obj is None else ["name", "duration", *self.readonly_fields]

    def get_readonly_fields(
        self, request: HttpRequest, obj: ServiceToken | None = None
    ) -> list[str]:
        return [] if obj is None else list(self.readonly_fields)

    def save_model(
        self, request: HttpRequest, obj: ServiceToken, form: BaseForm, change: bool
    ) -> None:
        if change:
            services.service_token_update(
                token=obj, name=form.cleaned_data["name"], duration=form.cleaned_data["duration"]
            )
            return
        saved, secret = services.service_token_create(
            name=form.cleaned_data["name"], duration=form.cleaned_data["duration"]
        )
        obj.pk, obj.client_id, obj._state = saved.pk, saved.client_id, saved._state
        # Handed to response_add only: never stored in a message, a session or a cookie.
        setattr(request, _SECRETS_ATTRIBUTE, [_ShownSecret.of(saved, secret)])

    def response_add(
        self, request: HttpRequest, obj: ServiceToken, post_url_continue: str | None = None
    ) -> HttpResponse:
        shown = getattr(request, _SECRETS_ATTRIBUTE, None)
        if shown is None:
            return super().response_add(request, obj, post_url_continue)
        return self._secrets_page(request, shown, title=f"Service token {obj.name} created")

    @admin.action(description="Rotate the client secret (the old one works 24 more hours)")
    def rotate_secret(self, request: HttpRequest, queryset: QuerySet[ServiceToken]) -> HttpResponse:
        # All or none: a failure half-way must not leave rotated secrets nobody was shown.
        with transaction.atomic():
            shown = [
                _ShownSecret.of(*services.service_token_rotate(token=token))
                for token in queryset.order_by("name")
            ]
        return self._secrets_page(request, shown, title="Service token secrets rotated")

    def _secrets_page(
        self, request: HttpRequest, shown: list[_ShownSecret], *, title: str
    ) -> HttpResponse:
        """The new secrets, on a page of their own that no cache keeps (shown this once)."""
        return shown_once_page(
            self, request, "admin/policies/servicetoken/secrets.html", title=title, secrets=shown
        )

    @admin.action(description="Refresh: extend by the token's duration from now")
    def refresh(self, request: HttpRequest, queryset: QuerySet[ServiceToken]) -> None:
        for token in queryset:
            services.service_token_refresh(token=token)
        self.message_user(request, f"Refreshed {queryset.count()} service token(s).")

    def delete_errors(self, obj: ServiceToken, catalog: Catalog) -> list[str]:
        errors = reference_delete_errors("service_token", obj.name, catalog=catalog)
        return [message for messages_ in errors.values() for message in messages_]

    def delete_through_service(self, obj: ServiceToken) -> None:
        services.service_token_delete(token=obj)


@admin.register(IdentityProvider)
class IdentityProviderAdmin(AuditedAdminMixin, ServicesDeleteMixin, admin.ModelAdmin):
    form = IdentityProviderForm
    list_display = ["name", "type"]
    list_filter = ["type"]
    search_fields = ["name"]

    def save_model(
        self, request: HttpRequest, obj: IdentityProvider, form: BaseForm, change: bool
    ) -> None:
        assert isinstance(form, IdentityProviderForm)
        fields = form.service_fields()
        if change:
            services.identity_provider_update(provider=obj, **fields)
        else:
            saved = services.identity_provider_create(**fields)
            obj.pk, obj._state = saved.pk, saved._state

    def delete_errors(self, obj: IdentityProvider, catalog: Catalog) -> list[str]:
        errors = provider_delete_errors(obj.pk, obj.name, catalog=catalog)
        found = [message for messages_ in errors.values() for message in messages_]
        found.extend(
            f'application "{application.name}" lists it in allowed_idps'
            for application in obj.applications.all()
        )
        return found

    def delete_through_service(self, obj: IdentityProvider) -> None:
        services.identity_provider_delete(provider=obj)
