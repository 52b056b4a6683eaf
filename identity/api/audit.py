"""`/api/access/audit`: the audit trail, newest first, filtered like the admin's list."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from common.api.resources import Doc, ListApi
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


EXACT_FILTERS = ("channel", "action", "object_type", "object_id", "actor")


class AuditListApi(ListApi):
    route, route_name = "audit", "api-audit"
    operations = "audit"
    queryset = AuditEntry.objects.order_by("-created_at", "-pk")
    output = AuditEntryOutputSerializer
    filters = AuditFilterSerializer
    filter_parameters = [
        OpenApiParameter("channel", str, enum=list(CHANNELS), description="Made through."),
        OpenApiParameter(
            "action", str, enum=AuditEntry.Action.values, description="Changes of this kind."
        ),
        OpenApiParameter("object_type", str, description='e.g. "application", "policy".'),
        OpenApiParameter("object_id", str, description="The changed object's id."),
        OpenApiParameter("actor", str, description="Changes by this username."),
        OpenApiParameter("since", str, description="ISO 8601 date-time; newer entries only."),
        OpenApiParameter("until", str, description="ISO 8601 date-time; older entries only."),
    ]
    lookups = {
        **{name: name for name in EXACT_FILTERS},
        "since": "created_at__gte",
        "until": "created_at__lt",
    }
    docs = {
        "get": Doc(
            "Export the audit trail",
            "Every change to applications, policies, groups, service tokens, identity providers, "
            "signing keys and sessions, made through the admin, the API or a config file: who, "
            "when, through what, and the fields before and after. Never holds a secret.",
        )
    }
