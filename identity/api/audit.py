"""`/api/access/audit`: the audit trail, newest first, filtered like the admin's list."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.base import AdminApiView
from common.api.envelope import enveloped
from common.api.pagination import PAGE_PARAMETERS, filtered, list_filters, paginated
from common.api.responses import error_responses
from common.audit import CHANNELS
from common.models import AuditEntry


class AuditEntryOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The entry's id.")
    created_at = serializers.DateTimeField(help_text="When the change was made.")
    channel = serializers.ChoiceField(choices=CHANNELS)
    actor = serializers.CharField(allow_blank=True, help_text="The username; empty: nobody.")
    actor_user_id = serializers.IntegerField(
        allow_null=True, help_text="The acting user's id; null when no user acted."
    )
    action = serializers.ChoiceField(choices=AuditEntry.Action.choices)
    object_type = serializers.CharField(help_text='What changed: "application", "policy", ...')
    object_id = serializers.CharField(allow_blank=True, help_text="The changed object's id.")
    object_name = serializers.CharField(allow_blank=True, help_text="Its name at the time.")
    before = serializers.JSONField(allow_null=True, help_text="The object before; null: created.")
    after = serializers.JSONField(allow_null=True, help_text="The object after; null: deleted.")
    changes = serializers.JSONField(help_text="{field: [before, after]} for each changed field.")
    detail = serializers.JSONField(help_text="What else the change recorded.")


class AuditFilterSerializer(serializers.Serializer[Any]):
    channel = serializers.ChoiceField(choices=CHANNELS, required=False)
    action = serializers.ChoiceField(choices=AuditEntry.Action.choices, required=False)
    object_type = serializers.CharField(required=False, max_length=50)
    object_id = serializers.CharField(required=False, max_length=64)
    actor = serializers.CharField(required=False, max_length=150)
    since = serializers.DateTimeField(required=False)
    until = serializers.DateTimeField(required=False)


class AuditListApi(AdminApiView):
    queryset = AuditEntry.objects.all()

    @extend_schema(
        operation_id="audit_list",
        summary="Export the audit trail",
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("channel", str, enum=list(CHANNELS), description="Made through."),
            OpenApiParameter(
                "action", str, enum=AuditEntry.Action.values, description="Changes of this kind."
            ),
            OpenApiParameter("object_type", str, description='e.g. "application", "policy".'),
            OpenApiParameter("object_id", str, description="The changed object's id."),
            OpenApiParameter("actor", str, description="Changes by this username."),
            OpenApiParameter("since", str, description="ISO 8601 date-time; newer entries only."),
            OpenApiParameter("until", str, description="ISO 8601 date-time; older entries only."),
        ],
        responses={200: enveloped(AuditEntryOutputSerializer, many=True), **error_responses()},
        description=(
            "Every change to applications, policies, groups, service tokens, identity providers, "
            "signing keys and sessions, made through the admin, the API or a config file: who, "
            "when, through what, and the fields before and after. Never holds a secret."
        ),
    )
    def get(self, request: Request) -> Response:
        exact = ("channel", "action", "object_type", "object_id", "actor")
        entries = filtered(
            AuditEntry.objects.order_by("-created_at", "-pk"),
            list_filters(request, AuditFilterSerializer),
            {**{key: key for key in exact}, "since": "created_at__gte", "until": "created_at__lt"},
        )
        return paginated(
            request, entries, represent=lambda entry: AuditEntryOutputSerializer(entry).data
        )
