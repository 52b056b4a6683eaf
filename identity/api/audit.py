"""`/api/access/audit`: the audit trail, newest first, filtered like the admin's list."""

from __future__ import annotations

from typing import Any

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
    channel = serializers.ChoiceField(choices=CHANNELS, required=False, help_text="Made through.")
    action = serializers.ChoiceField(
        choices=AuditEntry.Action.choices, required=False, help_text="Changes of this kind."
    )
    object_type = serializers.CharField(
        required=False, max_length=50, help_text='e.g. "application", "policy".'
    )
    object_id = serializers.CharField(
        required=False, max_length=64, help_text="The changed object's id."
    )
    actor = serializers.CharField(
        required=False, max_length=150, help_text="Changes by this username."
    )
    since = serializers.DateTimeField(
        required=False, help_text="ISO 8601 date-time; newer entries only."
    )
    until = serializers.DateTimeField(
        required=False, help_text="ISO 8601 date-time; older entries only."
    )


EXACT_FILTERS = ("channel", "action", "object_type", "object_id", "actor")


class AuditListApi(ListApi):
    route, route_name = "audit", "api-audit"
    queryset = AuditEntry.objects.order_by("-created_at", "-pk")
    output = AuditEntryOutputSerializer
    filters = AuditFilterSerializer
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
