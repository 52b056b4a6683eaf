"""`/api/access/service_tokens`: machine credentials. A client secret is returned exactly once:
in the answer that creates the token or rotates its secret; only its hash is stored."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from django.utils.cache import add_never_cache_headers
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.base import AdminApiView
from common.api.envelope import enveloped, ok
from common.api.pagination import PAGE_PARAMETERS, paginated
from common.api.permissions import ActionPermissions, WritesAllowed
from common.api.responses import DeletedOutputSerializer, error_responses
from policies import services
from policies.api import schemas
from policies.api.fields import ServiceInputSerializer, ServiceValue
from policies.models import ServiceToken


class ServiceTokenInputSerializer(ServiceInputSerializer):
    name = ServiceValue(schemas.TEXT)
    duration = ServiceValue(schemas.SERVICE_TOKEN_DURATION)


class ServiceTokenCreateInputSerializer(ServiceTokenInputSerializer):
    name = ServiceValue(schemas.TEXT, required=True)


class ServiceTokenOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    client_id = serializers.CharField(help_text="Sent as the CF-Access-Client-Id header.")
    duration = serializers.CharField()
    expires_at = serializers.DateTimeField(allow_null=True, help_text="null: never expires.")
    client_secret_version = serializers.IntegerField()
    previous_secret_expires_at = serializers.DateTimeField(
        allow_null=True, help_text="Until then the secret before the last rotation still works."
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class ServiceTokenWithSecretOutputSerializer(ServiceTokenOutputSerializer):
    client_secret = serializers.CharField(
        help_text="Sent as the CF-Access-Client-Secret header. Shown only in this answer."
    )


def service_token_data(token: ServiceToken, *, client_secret: str | None = None) -> dict[str, Any]:
    """A service token as the API shows it; with its secret only right after it was made."""
    values: dict[str, Any] = {
        "id": token.pk,
        "name": token.name,
        "client_id": token.client_id,
        "duration": token.duration,
        "expires_at": token.expires_at,
        "client_secret_version": token.client_secret_version,
        "previous_secret_expires_at": token.previous_secret_expires_at,
        "created_at": token.created_at,
        "updated_at": token.updated_at,
    }
    if client_secret is None:
        return ServiceTokenOutputSerializer(values).data
    return ServiceTokenWithSecretOutputSerializer({**values, "client_secret": client_secret}).data


class ServiceTokenListApi(AdminApiView):
    queryset = ServiceToken.objects.all()

    @extend_schema(
        operation_id="service_tokens_list",
        summary="List service tokens",
        description=(
            "The service tokens, by name: client id, duration and expiry; never the secret."
        ),
        parameters=PAGE_PARAMETERS,
        responses={200: enveloped(ServiceTokenOutputSerializer, many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        tokens = ServiceToken.objects.order_by("name")
        return paginated(request, tokens, represent=service_token_data)

    @extend_schema(
        operation_id="service_tokens_create",
        summary="Create a service token",
        request=ServiceTokenCreateInputSerializer,
        responses={201: enveloped(ServiceTokenWithSecretOutputSerializer), **error_responses()},
        description="Create a service token. The answer holds the client secret, once.",
    )
    def post(self, request: Request) -> Response:
        serializer = ServiceTokenCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, secret = services.service_token_create(**serializer.validated_data)
        return _answer_with_secret(token, secret, status_code=status.HTTP_201_CREATED)


def _answer_with_secret(
    token: ServiceToken, secret: str, *, status_code: int = status.HTTP_200_OK
) -> Response:
    """The token with its new secret, in an answer no cache may keep (it is shown once)."""
    response = ok(service_token_data(token, client_secret=secret), status_code=status_code)
    add_never_cache_headers(response)
    return response


class ServiceTokenDetailApi(AdminApiView):
    queryset = ServiceToken.objects.all()

    @extend_schema(
        operation_id="service_tokens_retrieve",
        summary="Get a service token",
        description="One service token: client id, duration and expiry; never the secret.",
        responses={200: enveloped(ServiceTokenOutputSerializer), **error_responses()},
    )
    def get(self, request: Request, token_id: int) -> Response:
        return ok(service_token_data(get_object_or_404(ServiceToken, pk=token_id)))

    @extend_schema(
        operation_id="service_tokens_partial_update",
        summary="Change a service token",
        request=ServiceTokenInputSerializer,
        responses={200: enveloped(ServiceTokenOutputSerializer), **error_responses()},
        description="Rename the token, or change its duration (which restarts it from now).",
    )
    def patch(self, request: Request, token_id: int) -> Response:
        token = get_object_or_404(ServiceToken, pk=token_id)
        serializer = ServiceTokenInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.service_token_update(token=token, **serializer.validated_data)
        return ok(service_token_data(token))

    @extend_schema(
        operation_id="service_tokens_destroy",
        summary="Delete a service token",
        description=(
            "Delete (revoke) the token: its client id and secret are refused from now on. Refused "
            "with 400 while a policy names it."
        ),
        responses={200: enveloped(DeletedOutputSerializer), **error_responses()},
    )
    def delete(self, request: Request, token_id: int) -> Response:
        token = get_object_or_404(ServiceToken, pk=token_id)
        deleted_id = token.pk
        services.service_token_delete(token=token)
        return ok({"id": deleted_id})


class ServiceTokenRotateApi(AdminApiView):
    queryset = ServiceToken.objects.all()
    permission_classes = [ActionPermissions, WritesAllowed]

    @extend_schema(
        operation_id="service_tokens_rotate",
        summary="Rotate a service token's secret",
        request=None,
        responses={200: enveloped(ServiceTokenWithSecretOutputSerializer), **error_responses()},
        description=(
            "Give the token a new client secret, returned once in this answer. The previous "
            "secret keeps working until previous_secret_expires_at."
        ),
    )
    def post(self, request: Request, token_id: int) -> Response:
        token, secret = services.service_token_rotate(
            token=get_object_or_404(ServiceToken, pk=token_id)
        )
        return _answer_with_secret(token, secret)


class ServiceTokenRefreshApi(AdminApiView):
    queryset = ServiceToken.objects.all()
    permission_classes = [ActionPermissions, WritesAllowed]

    @extend_schema(
        operation_id="service_tokens_refresh",
        summary="Extend a service token",
        request=None,
        responses={200: enveloped(ServiceTokenOutputSerializer), **error_responses()},
        description="Extend the token by its duration, counted from now.",
    )
    def post(self, request: Request, token_id: int) -> Response:
        token = services.service_token_refresh(token=get_object_or_404(ServiceToken, pk=token_id))
        return ok(service_token_data(token))
