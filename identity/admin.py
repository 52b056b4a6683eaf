"""Identity admin: sessions (and revoking them), revocation cutoffs, signing keys, second factors
(and resetting a person's), auth events.

Every action goes through `identity.sessions` / `identity.keys`, the same services the API
uses, so a revocation made here bumps the configuration version and every process refuses the
tokens within a second. Records (sessions, keys, events) are read-only: they say what happened.
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.translation import ngettext

from common.admin import ReadOnlyAdminMixin
from common.audit import AuditedAdminMixin, admin_actor
from identity import approvals, keys, sessions
from identity.clients import client_ip
from identity.dashboard import PERIODS, activity_summary
from identity.dashboard_charts import activity_charts
from identity.factors.services import factors_reset
from identity.flows.password import locked_message, password_locked_for, password_sign_in
from identity.lockouts import current_lockouts, lockout_lift
from identity.models import (
    AccessSession,
    ActivityCount,
    ApprovalRequest,
    Approver,
    AuthEvent,
    PurposeJustification,
    RevocationCutoff,
    SecondFactor,
    SigningKey,
)
from identity.providers import login_method_for
from identity.providers.base import CheckResult
from identity.providers.oidc import forget_cached_documents
from identity.throttles import ThrottleUnavailable
from identity.views.login import UNAVAILABLE
from policies.admin import IdentityProviderAdmin
from policies.models import Application, IdentityProvider
from policies.snapshot import compile_identity_provider

logger = logging.getLogger("accessproject.identity")


def _actor(request: HttpRequest) -> str:
    return str(request.user.get_username()) if request.user.is_authenticated else ""


class ThrottledAdminAuthenticationForm(AdminAuthenticationForm):
    """The admin's login form, with the lock-outs of the login page's password sign-in.

    Both forms check Django users' passwords, so they share the lock-outs of
    `identity.flows.password`: failures on either count for both, and a lock-out says for how
    long on both. Without the throttle store the login waits instead of going unlimited.
    """

    def clean(self) -> dict[str, Any]:
        username = self.cleaned_data.get("username")
        password = self.cleaned_data.get("password")
        if username is None or not password:
            return self.cleaned_data
        ip = client_ip(self.request) if self.request is not None else None
        try:
            self.user_cache = password_sign_in(
                self.request, username=username, password=password, ip=ip
            )
            left = password_locked_for(username=username, ip=ip) if not self.user_cache else None
        except ThrottleUnavailable:
            logger.exception("sign-in throttles unavailable")
            raise ValidationError(UNAVAILABLE, code="unavailable") from None
        if left is not None:
            raise ValidationError(locked_message(left), code="locked")
        if self.user_cache is None:
            raise self.get_invalid_login_error()
        self.confirm_login_allowed(self.user_cache)
        return self.cleaned_data


admin.site.login_form = ThrottledAdminAuthenticationForm
# Behind the gate with `identity.users.AccessUserMiddleware`, who signed in there is the admin's
# user: these pages then say so rather than offer a password form that would change nothing.
admin.site.login_template = "identity/admin/login.html"
admin.site.logout_template = "identity/admin/logged_out.html"


class RevokedFilter(admin.SimpleListFilter):
    title = "revoked"
    parameter_name = "revoked"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Revoked"), ("no", "Not revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(revoked_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(revoked_at__isnull=True)
        return queryset


class _ReadOnlyAdmin(ReadOnlyAdminMixin, AuditedAdminMixin, admin.ModelAdmin):
    """Records of what happened: viewable, never added or edited by hand."""


class _ReadOnlyInline(admin.TabularInline):
    """Rows recorded with their parent: shown, never added, changed or deleted by hand."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class PurposeJustificationInline(_ReadOnlyInline):
    """What the person said they came for, per application (`identity.flows.purpose`)."""

    model = PurposeJustification
    fields = ("application", "policy_name", "answer", "created_at")


@admin.register(AccessSession)
class AccessSessionAdmin(_ReadOnlyAdmin):
    list_display = (
        "email",
        "application",
        "login_method",
        "common_name",
        "issued_at",
        "expires_at",
        "revoked_at",
        "ip",
        "country",
    )
    list_filter = ("application", "login_method", RevokedFilter, "issued_at")
    search_fields = ("email", "identity_nonce", "common_name")
    list_select_related = ("application",)
    date_hierarchy = "issued_at"
    ordering = ("-issued_at",)
    actions = ("revoke_sessions", "revoke_user_tokens", "revoke_application_tokens")
    inlines = (PurposeJustificationInline,)
    fieldsets = (
        (None, {"fields": ("email", "user", "application", "login_method", "common_name")}),
        ("Lifetime", {"fields": ("issued_at", "expires_at", "revoked_at", "identity_nonce")}),
        ("Client", {"fields": ("ip", "country", "user_agent")}),
    )

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("identity.change_accesssession")

    @admin.action(description="Revoke selected sessions", permissions=["revoke"])
    def revoke_sessions(self, request: HttpRequest, queryset: QuerySet[AccessSession]) -> None:
        count = sessions.sessions_revoke(sessions=queryset, actor=_actor(request))
        self.message_user(
            request,
            ngettext("Revoked %d session.", "Revoked %d sessions.", count) % count,
            messages.SUCCESS,
        )

    @admin.action(
        description="Revoke all tokens of these users issued before now", permissions=["revoke"]
    )
    def revoke_user_tokens(self, request: HttpRequest, queryset: QuerySet[AccessSession]) -> None:
        emails = sorted({email.lower() for email in queryset.values_list("email", flat=True)})
        emails = [email for email in emails if email]
        for email in emails:
            sessions.revoke_tokens_issued_before(email=email, actor=_actor(request))
        self.message_user(
            request,
            f"Tokens issued before now are refused for: {', '.join(emails)}."
            if emails
            else "No user to revoke: the selected sessions have no email (service tokens).",
            messages.SUCCESS if emails else messages.WARNING,
        )

    @admin.action(
        description="Revoke all tokens of these applications issued before now",
        permissions=["revoke"],
    )
    def revoke_application_tokens(
        self, request: HttpRequest, queryset: QuerySet[AccessSession]
    ) -> None:
        applications = Application.objects.filter(
            pk__in=queryset.exclude(application=None).values("application")
        ).order_by("name")
        for application in applications:
            sessions.revoke_tokens_issued_before(application=application, actor=_actor(request))
        names = [application.name for application in applications]
        self.message_user(
            request,
            f"Tokens issued before now are refused for: {', '.join(names)}."
            if names
            else "No application to revoke: the selected sessions are org (global) sessions.",
            messages.SUCCESS if names else messages.WARNING,
        )


@admin.register(RevocationCutoff)
class RevocationCutoffAdmin(AuditedAdminMixin, admin.ModelAdmin):
    """Add a cutoff to refuse tokens issued before now; delete it to accept them again."""

    list_display = ("email_or_everyone", "application", "not_before", "created_by", "created_at")
    list_filter = ("application", "not_before")
    search_fields = ("email", "created_by")
    list_select_related = ("application",)
    fields = ("email", "application", "not_before", "created_by", "created_at")
    readonly_fields = ("not_before", "created_by", "created_at")

    @admin.display(description="email", ordering="email")
    def email_or_everyone(self, obj: RevocationCutoff) -> str:
        return obj.email or "everyone"

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A cutoff is a moment in the past: editing it would silently widen or narrow it.
        return False

    def save_model(
        self, request: HttpRequest, obj: RevocationCutoff, form: Any, change: bool
    ) -> None:
        created = sessions.revoke_tokens_issued_before(
            email=obj.email, application=obj.application, actor=_actor(request)
        )
        # The admin goes on with `obj` (log entry, message, redirect): make it the stored row.
        obj.pk = created.pk
        obj.email = created.email
        obj.not_before = created.not_before
        obj.created_by = created.created_by
        obj.created_at = created.created_at
        obj._state.adding = False
        obj._state.db = created._state.db

    def delete_model(self, request: HttpRequest, obj: RevocationCutoff) -> None:
        super().delete_model(request, obj)
        sessions.revocations_changed()

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RevocationCutoff]) -> None:
        super().delete_queryset(request, queryset)
        sessions.revocations_changed()


@admin.register(SigningKey)
class SigningKeyAdmin(_ReadOnlyAdmin):
    """Signing keys, public halves only; the private key is never displayed."""

    list_display = ("kid", "algorithm", "status", "activated_at", "retired_at", "expires_at")
    list_filter = ("retired_at",)
    search_fields = ("kid",)
    fields = (
        "kid",
        "algorithm",
        "activated_at",
        "retired_at",
        "expires_at",
        "public_jwk",
        "certificate_pem",
    )
    actions = ("rotate",)

    @admin.display(description="status")
    def status(self, obj: SigningKey) -> str:
        if obj.retired_at is None:
            return "current"
        if obj.expires_at is not None and obj.expires_at <= timezone.now():
            return "expired"
        return "previous (still verifies)"

    def has_rotate_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser

    @admin.action(description="Rotate the signing key now", permissions=["rotate"])
    def rotate(self, request: HttpRequest, queryset: QuerySet[SigningKey]) -> None:
        new_key = keys.rotate_keys(reason=f"admin {_actor(request)}".strip())
        self.message_user(
            request,
            f"Signing key {new_key.kid} is now current; the previous key verifies for 7 more days.",
            messages.SUCCESS,
        )


@admin.register(SecondFactor)
class SecondFactorAdmin(_ReadOnlyAdmin):
    """Who has which factors: names, kinds and dates, never a secret or a public key."""

    list_display = ("email", "kind", "name", "method", "created_at", "last_used_at")
    list_filter = ("kind", "method", "created_at")
    search_fields = ("email", "name")
    ordering = ("email", "created_at")
    fields = ("email", "kind", "name", "method", "created_at", "confirmed_at", "last_used_at")
    actions = ("reset_factors",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[SecondFactor]:
        # An authenticator app still being set up is nobody's factor yet.
        return super().get_queryset(request).filter(confirmed_at__isnull=False)

    def has_reset_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("identity.delete_secondfactor")

    @admin.action(
        description="Reset every factor of these people (their sign-ins end)",
        permissions=["reset"],
    )
    def reset_factors(self, request: HttpRequest, queryset: QuerySet[SecondFactor]) -> None:
        people = sorted(set(queryset.values_list("email", flat=True)))
        for email in people:
            factors_reset(email=email, actor=_actor(request))
        self.message_user(
            request,
            ngettext(
                "Reset the second factors of %d person and ended their sign-ins.",
                "Reset the second factors of %d people and ended their sign-ins.",
                len(people),
            )
            % len(people),
            messages.SUCCESS,
        )


class ApproverInline(_ReadOnlyInline):
    """Who was asked, and what each decided (never the link, which only its email holds)."""

    model = Approver
    fields = ("email", "decision", "duration", "decided_at")


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(_ReadOnlyAdmin):
    """Temporary approvals (`identity.approvals`): who asked, why, and who decided."""

    list_display = ("email", "application", "status", "created_at", "granted_until")
    list_filter = ("status", "application", "created_at")
    search_fields = ("email", "justification")
    list_select_related = ("application",)
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    inlines = (ApproverInline,)
    actions = ("revoke_approvals",)
    fieldsets = (
        (None, {"fields": ("email", "application", "policy_name", "status", "justification")}),
        (
            "Lifetime",
            {
                "fields": (
                    "requested_duration",
                    "created_at",
                    "expires_at",
                    "decided_at",
                    "granted_until",
                    "revoked_at",
                    "revoked_by",
                )
            },
        ),
        ("Asked", {"fields": ("approval_groups", "return_url")}),
    )

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("identity.change_approvalrequest")

    @admin.action(
        description="Revoke selected approvals (the person's tokens for the application end)",
        permissions=["revoke"],
    )
    def revoke_approvals(self, request: HttpRequest, queryset: QuerySet[ApprovalRequest]) -> None:
        count = sum(
            approvals.approval_revoke(approval=approval, actor=_actor(request))
            for approval in queryset.select_related("application")
        )
        self.message_user(
            request,
            ngettext("Revoked %d approval.", "Revoked %d approvals.", count) % count,
            messages.SUCCESS if count else messages.WARNING,
        )


@admin.register(AuthEvent)
class AuthEventAdmin(_ReadOnlyAdmin):
    """Authentication events, and the lock-outs in force now (`identity.lockouts`): listed for
    whoever may read the events, lifted by whoever may change users."""

    list_display = ("created_at", "kind", "email", "application", "ip")
    list_filter = ("kind", "application", "created_at")
    search_fields = ("email", "ip")
    list_select_related = ("application",)
    date_hierarchy = "created_at"
    fields = ("created_at", "kind", "email", "application", "ip", "detail")
    change_list_template = "admin/identity/authevent/change_list.html"

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.lockouts_view)
        dashboard = self.admin_site.admin_view(self.activity_view)
        return [
            path("lockouts/", view, name="identity_lockouts"),
            path("activity/", dashboard, name="identity_activity"),
            *super().get_urls(),
        ]

    def activity_view(self, request: HttpRequest) -> HttpResponse:
        """The activity dashboard: decisions and sign-ins over time, and the top lists."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        period = str(request.GET.get("period", "day"))
        if period not in PERIODS:
            period = "day"
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Activity",
            "period": period,
            "periods": list(PERIODS),
            **activity_charts(activity_summary(period)),
        }
        return TemplateResponse(request, "admin/identity/authevent/activity.html", context)

    def lockouts_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        may_lift = request.user.has_perm("auth.change_user")
        if request.method == "POST":
            if not may_lift:
                raise PermissionDenied
            self._lift(request)
            return HttpResponseRedirect(reverse("admin:identity_lockouts"))
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Lock-outs in force",
            "lockouts": current_lockouts(),
            "may_lift": may_lift,
        }
        return TemplateResponse(request, "admin/identity/authevent/lockouts.html", context)

    def _lift(self, request: HttpRequest) -> None:
        try:
            event_id = int(request.POST.get("event", ""))
        except ValueError:
            event_id = 0
        scope = str(request.POST.get("scope", ""))
        with admin_actor(request):
            lifted = event_id > 0 and lockout_lift(event_id=event_id, scope=scope)
        if lifted:
            self.message_user(request, f"Lifted the lock-out ({scope}).", messages.SUCCESS)
        else:
            self.message_user(request, "That lock-out no longer holds.", messages.WARNING)


@admin.register(ActivityCount)
class ActivityCountAdmin(_ReadOnlyAdmin):
    """The counts behind the activity dashboard, which links here filtered."""

    list_display = ("bucket", "dimension", "value", "count")
    list_filter = ("dimension", "bucket")
    search_fields = ("value",)
    date_hierarchy = "bucket"
    ordering = ("-bucket", "dimension", "-count")


class TestedIdentityProviderAdmin(IdentityProviderAdmin):
    """The identity providers' admin (`policies.admin`), with a "Test" button.

    Testing reaches the provider as a sign-in would (its discovery document and keys, GitHub's
    API) and reports each thing fetched and each problem found. It lives on the identity side,
    which knows how each type signs in; `policies` knows only the shape of the config.
    """

    change_form_template = "admin/policies/identityprovider/change_form.html"
    actions = ["test_providers"]

    def get_urls(self) -> list[URLPattern]:
        test = path(
            "<path:object_id>/test/",
            self.admin_site.admin_view(self.test_view),
            name="policies_identityprovider_test",
        )
        return [test, *super().get_urls()]

    def test_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        provider = self.get_object(request, object_id)
        if provider is None or not self.has_view_permission(request, provider):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        self._report(request, provider)
        return HttpResponseRedirect(
            reverse("admin:policies_identityprovider_change", args=[provider.pk])
        )

    @admin.action(description="Test the selected identity providers")
    def test_providers(self, request: HttpRequest, queryset: QuerySet[IdentityProvider]) -> None:
        for provider in queryset:
            self._report(request, provider)

    def _report(self, request: HttpRequest, provider: IdentityProvider) -> None:
        result = test_identity_provider(provider)
        for line in result.checked:
            self.message_user(request, f"{provider.name}: {line}", messages.INFO)
        for problem in result.problems:
            self.message_user(request, f"{provider.name}: {problem}", messages.ERROR)
        if result.ok:
            self.message_user(request, f"{provider.name}: no problem found.", messages.SUCCESS)


def test_identity_provider(provider: IdentityProvider) -> CheckResult:
    """Reach a stored provider as a sign-in would; every problem found, in words."""
    compiled = compile_identity_provider(provider)
    if not compiled.usable:
        return CheckResult(
            problems=("its secret cannot be decrypted (SECRET_KEY changed): enter it again",)
        )
    method = login_method_for(compiled)
    if method is None:
        return CheckResult(problems=(f"no login method handles the type {provider.type}",))
    forget_cached_documents()
    return method.check(compiled)


admin.site.unregister(IdentityProvider)
admin.site.register(IdentityProvider, TestedIdentityProviderAdmin)
