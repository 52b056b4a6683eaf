"""`/api/access/logs`: recent authentication events (sign-ins, refusals, revocations, ...)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from common.api.converters import object_id_field
from common.api.resources import Doc, ListApi
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
    kind = serializers.ChoiceField(
        choices=AuthEvent.Kind.choices, required=False, help_text="Event kind."
    )
    email = serializers.CharField(required=False, help_text="Events of this address.")
    application = object_id_field(required=False, help_text="Events of this application id.")
    since = serializers.DateTimeField(
        required=False, help_text="ISO 8601 date-time; newer events only."
    )


class AuthEventListApi(ListApi):
    route, route_name = "logs", "api-logs"
    queryset = AuthEvent.objects.order_by("-created_at", "-pk")
    output = AuthEventOutputSerializer
    filters = AuthEventFilterSerializer
    lookups = {
        "kind": "kind",
        "email": "email__iexact",
        "application": "application_id",
        "since": "created_at__gte",
    }
    docs = {"get": Doc("List authentication events", "Authentication events, newest first.")}
