"""`/api/access/sessions`: who is signed in, and revoking them (one session, a person, an app).

Revocation goes through `identity.sessions`, which bumps the configuration version, so every
process refuses the revoked tokens within a second.
"""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.base import AdminApiView
from common.api.converters import object_id_field
from common.api.envelope import enveloped, ok
from common.api.pagination import PAGE_PARAMETERS, filtered, list_filters, paginated
from common.api.permissions import ActionPermissions, WritesAllowed
from common.api.responses import error_responses
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
    email = serializers.CharField(required=False)
    application = object_id_field(required=False)
    active = serializers.BooleanField(required=False, allow_null=True, default=None)


def session_data(session: AccessSession) -> dict[str, Any]:
    """A session as the API shows it."""
    return SessionOutputSerializer(session).data


def _actor(request: Request) -> str:
    return f"api:{request.user.get_username()}"


class SessionListApi(AdminApiView):
    queryset = AccessSession.objects.all()

    @extend_schema(
        operation_id="sessions_list",
        summary="List sessions",
        description=(
            "Sign-ins, newest first, a page at a time; filter by address, application or whether "
            "they are still active."
        ),
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("email", str, description="Sessions of this address."),
            OpenApiParameter("application", int, description="Sessions of this application id."),
            OpenApiParameter(
                "active", bool, description="true: only unrevoked, unexpired sessions."
            ),
        ],
        responses={200: enveloped(SessionOutputSerializer, many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        values = list_filters(request, SessionFilterSerializer)
        sessions = filtered(
            AccessSession.objects.order_by("-issued_at", "-pk"),
            values,
            {"email": "email__iexact", "application": "application_id"},
        )
        if values["active"] is not None:
            live = {"revoked_at__isnull": True, "expires_at__gt": timezone.now()}
            sessions = sessions.filter(**live) if values["active"] else sessions.exclude(**live)
        return paginated(request, sessions, represent=session_data)


class SessionRevokeApi(AdminApiView):
    queryset = AccessSession.objects.all()
    permission_classes = [ActionPermissions, WritesAllowed]

    @extend_schema(
        operation_id="sessions_revoke_one",
        summary="Revoke a session",
        request=None,
        responses={200: enveloped(SessionOutputSerializer), **error_responses()},
        description="Revoke one session: its token is refused from now on.",
    )
    def post(self, request: Request, session_id: int) -> Response:
        session = get_object_or_404(AccessSession, pk=session_id)
        session_revoke(session=session, actor=_actor(request))
        return ok(session_data(session))


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


class RevokeApi(AdminApiView):
    queryset = RevocationCutoff.objects.all()

    @extend_schema(
        operation_id="sessions_revoke",
        summary="Revoke tokens issued before now",
        request=RevokeInputSerializer,
        responses={201: enveloped(CutoffOutputSerializer), **error_responses()},
        description=(
            "Refuse every token issued before now to a person (email), for an application, "
            "or to a person for one application."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = RevokeInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        cutoff = revoke_tokens_issued_before(**serializer.validated_data, actor=_actor(request))
        return ok(CutoffOutputSerializer(cutoff).data, status_code=status.HTTP_201_CREATED)
