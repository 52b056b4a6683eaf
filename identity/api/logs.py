"""`/api/access/logs`: recent authentication events (sign-ins, refusals, revocations, ...)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.base import AdminApiView
from common.api.converters import object_id_field
from common.api.envelope import enveloped
from common.api.pagination import PAGE_PARAMETERS, filtered, list_filters, paginated
from common.api.responses import error_responses
from identity.models import AuthEvent


class AuthEventOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The event's id.")
    kind = serializers.ChoiceField(choices=AuthEvent.Kind.choices)
    email = serializers.CharField(
        allow_blank=True, help_text="Who it concerns; empty: nobody named."
    )
    application_id = serializers.IntegerField(
        allow_null=True, help_text="The application it concerns; null: none."
    )
    ip = serializers.CharField(allow_null=True, help_text="The client's address; null: unknown.")
    detail = serializers.JSONField(help_text="What else was recorded, such as a refusal's reason.")
    created_at = serializers.DateTimeField(help_text="When it happened.")


class AuthEventFilterSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=AuthEvent.Kind.choices, required=False)
    email = serializers.CharField(required=False)
    application = object_id_field(required=False)
    since = serializers.DateTimeField(required=False)


class AuthEventListApi(AdminApiView):
    queryset = AuthEvent.objects.all()

    @extend_schema(
        operation_id="logs_list",
        summary="List authentication events",
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("kind", str, enum=AuthEvent.Kind.values, description="Event kind."),
            OpenApiParameter("email", str, description="Events of this address."),
            OpenApiParameter("application", int, description="Events of this application id."),
            OpenApiParameter("since", str, description="ISO 8601 date-time; newer events only."),
        ],
        responses={200: enveloped(AuthEventOutputSerializer, many=True), **error_responses()},
        description="Authentication events, newest first.",
    )
    def get(self, request: Request) -> Response:
        events = filtered(
            AuthEvent.objects.order_by("-created_at", "-pk"),
            list_filters(request, AuthEventFilterSerializer),
            {
                "kind": "kind",
                "email": "email__iexact",
                "application": "application_id",
                "since": "created_at__gte",
            },
        )
        return paginated(
            request, events, represent=lambda event: AuthEventOutputSerializer(event).data
        )
