"""`/api/access/apps`: applications, read through the selectors and written through the services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.base import AdminApiView
from common.api.envelope import enveloped, ok
from common.api.pagination import PAGE_PARAMETERS, paginated
from common.api.responses import DeletedOutputSerializer, error_responses
from policies import services
from policies.api import schemas
from policies.api.fields import ServiceInputSerializer, ServiceValue
from policies.models import Application
from policies.selectors import application_fields, stored_application_warnings


class ApplicationInputSerializer(ServiceInputSerializer):
    name = ServiceValue(schemas.TEXT)
    type = ServiceValue(schemas.APPLICATION_TYPE)
    domain = ServiceValue(schemas.TEXT)
    destinations = ServiceValue(schemas.PATTERNS)
    session_duration = ServiceValue(schemas.DURATION)
    same_site_cookie_attribute = ServiceValue(schemas.SAME_SITE)
    http_only_cookie_attribute = ServiceValue(schemas.BOOLEAN)
    enable_binding_cookie = ServiceValue(schemas.BOOLEAN)
    options_preflight_bypass = ServiceValue(schemas.BOOLEAN)
    cors_headers = ServiceValue(schemas.CORS_HEADERS, component="CorsHeaders")
    cors_on_responses = ServiceValue(schemas.BOOLEAN)
    unauthenticated_401 = ServiceValue(schemas.BOOLEAN)
    custom_deny_message = ServiceValue(schemas.TEXT)
    custom_deny_url = ServiceValue(schemas.TEXT)
    custom_non_identity_deny_url = ServiceValue(schemas.TEXT)
    service_auth_401_redirect = ServiceValue(schemas.BOOLEAN)
    allowed_idps = ServiceValue(schemas.NAMES)
    auto_redirect_to_identity = ServiceValue(schemas.BOOLEAN)
    require_second_factor_enrolment = ServiceValue(schemas.BOOLEAN)
    app_launcher_visible = ServiceValue(schemas.BOOLEAN)
    logo_url = ServiceValue(schemas.TEXT)


class ApplicationCreateInputSerializer(ApplicationInputSerializer):
    """Creating (or replacing) an application: name and domain are required (the App
    Launcher has no domain)."""

    name = ServiceValue(schemas.TEXT, required=True)
    domain = ServiceValue(schemas.TEXT, required=True)

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        launcher = isinstance(data, Mapping) and data.get("type") == Application.Type.APP_LAUNCHER
        self.fields["domain"].required = not launcher
        return super().to_internal_value(data)


class ApplicationOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    aud = serializers.CharField(help_text="The AUD tag: 64 hex characters, never changes.")
    name = serializers.CharField()
    type = ServiceValue(schemas.APPLICATION_TYPE)
    domain = serializers.CharField(allow_blank=True)
    destinations = serializers.ListField(child=serializers.CharField())
    session_duration = serializers.CharField()
    same_site_cookie_attribute = ServiceValue(schemas.SAME_SITE)
    http_only_cookie_attribute = serializers.BooleanField()
    enable_binding_cookie = serializers.BooleanField()
    options_preflight_bypass = serializers.BooleanField()
    cors_headers = ServiceValue(schemas.CORS_HEADERS, component="CorsHeaders", allow_null=True)
    cors_on_responses = serializers.BooleanField()
    unauthenticated_401 = serializers.BooleanField()
    custom_deny_message = serializers.CharField(allow_blank=True)
    custom_deny_url = serializers.CharField(allow_blank=True)
    custom_non_identity_deny_url = serializers.CharField(allow_blank=True)
    service_auth_401_redirect = serializers.BooleanField()
    allowed_idps = serializers.ListField(child=serializers.CharField())
    auto_redirect_to_identity = serializers.BooleanField()
    require_second_factor_enrolment = serializers.BooleanField()
    app_launcher_visible = serializers.BooleanField()
    logo_url = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def application_data(application: Application) -> dict[str, Any]:
    """An application as the API shows it."""
    return ApplicationOutputSerializer(
        {
            "id": application.pk,
            "aud": application.aud,
            **application_fields(application),
            "created_at": application.created_at,
            "updated_at": application.updated_at,
        }
    ).data


def application_warnings_data(application: Application) -> list[dict[str, str]]:
    """The warnings about an application just written, as the API lists them."""
    return [warning.to_data() for warning in stored_application_warnings(application)]


def _replacement(values: dict[str, Any]) -> dict[str, Any]:
    # PUT replaces the whole application: every field it omits goes back to its default.
    defaults = application_fields(Application())
    return {**defaults, **values}


class ApplicationListApi(AdminApiView):
    queryset = Application.objects.all()

    @extend_schema(
        operation_id="apps_list",
        summary="List applications",
        description=(
            "The applications, by name, a page at a time; each with its settings and its AUD tag."
        ),
        parameters=PAGE_PARAMETERS,
        responses={200: enveloped(ApplicationOutputSerializer, many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        applications = Application.objects.prefetch_related("allowed_idps").order_by("name")
        return paginated(request, applications, represent=application_data)

    @extend_schema(
        operation_id="apps_create",
        summary="Create an application",
        description=(
            "Create an application from its host/path pattern (`domain`) and settings; fields left "
            "out take their defaults. It is enforced by every worker within a second. Invalid "
            "fields answer 400 with an error per field path."
        ),
        request=ApplicationCreateInputSerializer,
        responses={201: enveloped(ApplicationOutputSerializer), **error_responses()},
    )
    def post(self, request: Request) -> Response:
        serializer = ApplicationCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = services.application_create(**serializer.validated_data)
        return ok(
            application_data(application),
            status_code=status.HTTP_201_CREATED,
            warnings=application_warnings_data(application),
        )


class ApplicationDetailApi(AdminApiView):
    queryset = Application.objects.all()

    @extend_schema(
        operation_id="apps_retrieve",
        summary="Get an application",
        description="One application with all its settings.",
        responses={200: enveloped(ApplicationOutputSerializer), **error_responses()},
    )
    def get(self, request: Request, application_id: int) -> Response:
        return ok(application_data(get_object_or_404(Application, pk=application_id)))

    @extend_schema(
        operation_id="apps_update",
        summary="Replace an application",
        request=ApplicationCreateInputSerializer,
        responses={200: enveloped(ApplicationOutputSerializer), **error_responses()},
        description="Replace the application: fields left out go back to their defaults.",
    )
    def put(self, request: Request, application_id: int) -> Response:
        application = get_object_or_404(Application, pk=application_id)
        serializer = ApplicationCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.application_update(
            application=application, **_replacement(serializer.validated_data)
        )
        return ok(application_data(application), warnings=application_warnings_data(application))

    @extend_schema(
        operation_id="apps_partial_update",
        summary="Change an application",
        request=ApplicationInputSerializer,
        responses={200: enveloped(ApplicationOutputSerializer), **error_responses()},
        description="Change the fields given; the others keep their values.",
    )
    def patch(self, request: Request, application_id: int) -> Response:
        application = get_object_or_404(Application, pk=application_id)
        serializer = ApplicationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.application_update(application=application, **serializer.validated_data)
        return ok(application_data(application), warnings=application_warnings_data(application))

    @extend_schema(
        operation_id="apps_destroy",
        summary="Delete an application",
        description=(
            "Delete the application and its policies: its paths are no longer protected, within a "
            "second on every worker."
        ),
        responses={200: enveloped(DeletedOutputSerializer), **error_responses()},
    )
    def delete(self, request: Request, application_id: int) -> Response:
        application = get_object_or_404(Application, pk=application_id)
        deleted_id = application.pk
        services.application_delete(application=application)
        return ok({"id": deleted_id})
