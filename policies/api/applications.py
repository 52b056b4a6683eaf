"""`/api/access/apps`: applications, read through the selectors and written through the services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.resources import DetailApi, Doc, ListCreateApi, ResourceApi, Writes, validated
from policies import services
from policies.api import schemas
from policies.api.fields import SelectedOutputSerializer, ServiceInputSerializer, ServiceValue
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


class ApplicationOutputSerializer(SelectedOutputSerializer):
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

    def selected(self, instance: Application) -> dict[str, Any]:
        return application_fields(instance)


def application_warnings_data(application: Application) -> list[dict[str, str]]:
    """The warnings about an application just written, as the API lists them."""
    return [warning.to_data() for warning in stored_application_warnings(application)]


def _replacement(values: dict[str, Any]) -> dict[str, Any]:
    # PUT replaces the whole application: every field it omits goes back to its default.
    defaults = application_fields(Application())
    return {**defaults, **values}


class Applications(ResourceApi):
    queryset = Application.objects.all()
    output = ApplicationOutputSerializer
    writes = Writes(
        "application",
        create=services.application_create,
        update=services.application_update,
        delete=services.application_delete,
    )

    def warnings(self, obj: Application) -> list[dict[str, str]]:
        return application_warnings_data(obj)


class ApplicationListApi(Applications, ListCreateApi):
    route, route_name = "apps", "api-apps"
    queryset = Application.objects.prefetch_related("allowed_idps").order_by("name")
    create_input = ApplicationCreateInputSerializer
    docs = {
        "get": Doc(
            "List applications",
            "The applications, by name, a page at a time; each with its settings and its AUD tag.",
        ),
        "post": Doc(
            "Create an application",
            "Create an application from its host/path pattern (`domain`) and settings; fields left "
            "out take their defaults. It is enforced by every worker within a second. Invalid "
            "fields answer 400 with an error per field path.",
        ),
    }


class ApplicationDetailApi(Applications, DetailApi):
    route, route_name = "apps/<object_id:application_id>", "api-app"
    change_input = ApplicationInputSerializer
    replace_input = ApplicationCreateInputSerializer
    docs = {
        "get": Doc("Get an application", "One application with all its settings."),
        "put": Doc(
            "Replace an application",
            "Replace the application: fields left out go back to their defaults.",
        ),
        "patch": Doc(
            "Change an application",
            "Change the fields given; the others keep their values.",
        ),
        "delete": Doc(
            "Delete an application",
            "Delete the application and its policies: its paths are no longer protected, within a "
            "second on every worker.",
        ),
    }

    def put(self, request: Request, **path: Any) -> Response:
        application = self.get_object(**path)
        values = validated(ApplicationCreateInputSerializer, request.data)
        services.application_update(application=application, **_replacement(values))
        return self.written(application)
