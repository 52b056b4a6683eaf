"""`/api/access/sessions`: who is signed in, and revoking them (one session, a person, an app).

Revocation goes through `identity.sessions`, which bumps the configuration version, so every
process refuses the revoked tokens within a second.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from rest_framework import serializers, status

from common.api.converters import object_id_field
from common.api.pagination import filtered
from common.api.permissions import ModelPermissions, WritesAllowed
from common.api.resources import ActionApi, Doc, ListApi
from identity.models import AccessSession, RevocationCutoff
from identity.sessions import revoke_tokens_issued_before, session_revoke
from policies.models import Application


class SessionOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The session's id.")
    email = serializers.CharField(
        allow_blank=True, help_text="Who signed in; empty for a service token."
    )
    application_id = serializers.IntegerField(
        allow_null=True, help_text="null: the org (global) session."
    )
    login_method = serializers.CharField(help_text="How they signed in, as the sign-in recorded.")
    common_name = serializers.CharField(allow_blank=True, help_text="Service token client id.")
    issued_at = serializers.DateTimeField(help_text="When its token was issued.")
    expires_at = serializers.DateTimeField(help_text="When its token expires.")
    revoked_at = serializers.DateTimeField(
        allow_null=True, help_text="When it was revoked; null while it is not."
    )
    ip = serializers.CharField(allow_null=True, help_text="Signed in from; null when unknown.")
    country = serializers.CharField(
        allow_blank=True, help_text="The client's country code, when a trusted proxy said."
    )
    user_agent = serializers.CharField(allow_blank=True, help_text="The browser's User-Agent.")


class SessionFilterSerializer(serializers.Serializer[Any]):
    email = serializers.CharField(required=False, help_text="Sessions of this address.")
    application = object_id_field(required=False, help_text="Sessions of this application id.")
    active = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: only unrevoked, unexpired sessions.",
    )


class SessionListApi(ListApi):
    route, route_name = "sessions", "api-sessions"
    queryset = AccessSession.objects.order_by("-issued_at", "-pk")
    output = SessionOutputSerializer
    filters = SessionFilterSerializer
    lookups = {"email": "email__iexact", "application": "application_id"}
    docs = {
        "get": Doc(
            "List sessions",
            "Sign-ins, newest first, a page at a time; filter by address, application or whether "
            "they are still active.",
        )
    }

    def objects(self, filters: Mapping[str, Any], **path: Any) -> QuerySet[AccessSession]:
        sessions = filtered(self.queryset.all(), filters, self.lookups)
        if filters["active"] is None:
            return sessions
        live = {"revoked_at__isnull": True, "expires_at__gt": timezone.now()}
        return sessions.filter(**live) if filters["active"] else sessions.exclude(**live)


class SessionRevokeApi(ActionApi):
    route, route_name = "sessions/<object_id:session_id>/revoke", "api-session-revoke"
    operation_name = "one"  # sessions_revoke_one: `sessions_revoke` revokes many
    queryset = AccessSession.objects.all()
    output = SessionOutputSerializer
    docs = {
        "post": Doc("Revoke a session", "Revoke one session: its token is refused from now on.")
    }

    def act(self, target: AccessSession, values: dict[str, Any]) -> AccessSession:
        session_revoke(session=target, actor=self.actor)
        return target


class RevokeInputSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(required=False, help_text="Every token of this person.")
    application = object_id_field(required=False, help_text="Every token of this application id.")

    def validate_application(self, value: int) -> Application:
        application = Application.objects.filter(pk=value).first()
        if application is None:
            raise serializers.ValidationError("no application has this id")
        return application

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Neither would revoke everyone everywhere: too much for a request that forgot a field.
        if not attrs:
            raise serializers.ValidationError("give email, application, or both")
        return attrs


class CutoffOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The cutoff's id.")
    email = serializers.CharField(allow_blank=True, help_text="Empty: everyone.")
    application_id = serializers.IntegerField(allow_null=True, help_text="null: every app.")
    not_before = serializers.DateTimeField(help_text="Tokens issued before this are refused.")


class RevokeApi(ActionApi):
    route, route_name = "sessions/revoke", "api-sessions-revoke"
    queryset = RevocationCutoff.objects.all()
    permission_classes = [ModelPermissions, WritesAllowed]  # it adds a cutoff: add_*
    action_input = RevokeInputSerializer
    status_code = status.HTTP_201_CREATED
    output = CutoffOutputSerializer
    docs = {
        "post": Doc(
            "Revoke tokens issued before now",
            "Refuse every token issued before now to a person (email), for an application, "
            "or to a person for one application.",
        )
    }

    def act(self, target: None, values: dict[str, Any]) -> RevocationCutoff:
        return revoke_tokens_issued_before(**values, actor=self.actor)
