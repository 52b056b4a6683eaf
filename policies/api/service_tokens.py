"""`/api/access/service_tokens`: machine credentials. A client secret is returned exactly once:
in the answer that creates the token or rotates its secret; only its hash is stored."""

from __future__ import annotations

from typing import Any

from django.utils.cache import add_never_cache_headers
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.envelope import ok
from common.api.resources import (
    ActionApi,
    DetailApi,
    Doc,
    ListCreateApi,
    ResourceApi,
    Writes,
    validated,
)
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


def _answer_with_secret(
    token: ServiceToken, secret: str, *, status_code: int = status.HTTP_200_OK
) -> Response:
    """The token with its new secret (`ServiceTokenWithSecretOutputSerializer`), in an answer no
    cache may keep (it is shown once)."""
    shown = {**ServiceTokenOutputSerializer(token).data, "client_secret": secret}
    response = ok(shown, status_code=status_code)
    add_never_cache_headers(response)
    return response


class ServiceTokens(ResourceApi):
    queryset = ServiceToken.objects.order_by("name")
    output = ServiceTokenOutputSerializer
    writes = Writes(
        "token", update=services.service_token_update, delete=services.service_token_delete
    )


class ServiceTokenListApi(ServiceTokens, ListCreateApi):
    route, route_name = "service_tokens", "api-service-tokens"
    create_input = ServiceTokenCreateInputSerializer
    created_output = ServiceTokenWithSecretOutputSerializer
    docs = {
        "get": Doc(
            "List service tokens",
            "The service tokens, by name: client id, duration and expiry; never the secret.",
        ),
        "post": Doc(
            "Create a service token",
            "Create a service token. The answer holds the client secret, once.",
        ),
    }

    def post(self, request: Request, **path: Any) -> Response:
        values = validated(self.create_input, request.data)
        token, secret = services.service_token_create(**values)
        return _answer_with_secret(token, secret, status_code=status.HTTP_201_CREATED)


class ServiceTokenDetailApi(ServiceTokens, DetailApi):
    route, route_name = "service_tokens/<object_id:token_id>", "api-service-token"
    change_input = ServiceTokenInputSerializer
    docs = {
        "get": Doc(
            "Get a service token",
            "One service token: client id, duration and expiry; never the secret.",
        ),
        "patch": Doc(
            "Change a service token",
            "Rename the token, or change its duration (which restarts it from now).",
        ),
        "delete": Doc(
            "Delete a service token",
            "Delete (revoke) the token: its client id and secret are refused from now on. Refused "
            "with 400 while a policy names it.",
        ),
    }


class ServiceTokenRotateApi(ServiceTokens, ActionApi):
    route, route_name = "service_tokens/<object_id:token_id>/rotate", "api-service-token-rotate"
    output = ServiceTokenWithSecretOutputSerializer
    docs = {
        "post": Doc(
            "Rotate a service token's secret",
            "Give the token a new client secret, returned once in this answer. The previous "
            "secret keeps working until previous_secret_expires_at.",
        )
    }

    def post(self, request: Request, **path: Any) -> Response:
        token, secret = services.service_token_rotate(token=self.get_object(**path))
        return _answer_with_secret(token, secret)


class ServiceTokenRefreshApi(ServiceTokens, ActionApi):
    route, route_name = "service_tokens/<object_id:token_id>/refresh", "api-service-token-refresh"
    docs = {
        "post": Doc(
            "Extend a service token",
            "Extend the token by its duration, counted from now.",
        )
    }

    def act(self, target: ServiceToken, values: dict[str, Any]) -> ServiceToken:
        return services.service_token_refresh(token=target)
