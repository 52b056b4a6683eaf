"""`/api/access/identity_providers`: the ways to sign in, as Access's identity-provider objects
(`name`, `type`, `config`). Secret config fields (`client_secret`) are write-only: accepted,
stored encrypted, never returned; a PATCH whose config leaves one out keeps the stored value."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.base import AdminApiView
from common.api.envelope import enveloped, ok
from common.api.pagination import PAGE_PARAMETERS, paginated
from common.api.responses import DeletedOutputSerializer, error_responses
from policies import services
from policies.api import schemas
from policies.api.fields import ServiceInputSerializer, ServiceValue
from policies.models import IdentityProvider
from policies.selectors import identity_provider_fields


class IdentityProviderInputSerializer(ServiceInputSerializer):
    name = ServiceValue(schemas.TEXT)
    type = ServiceValue(schemas.IDENTITY_PROVIDER_TYPE)
    config = ServiceValue(schemas.IDENTITY_PROVIDER_CONFIG, component="IdentityProviderConfig")


class IdentityProviderCreateInputSerializer(IdentityProviderInputSerializer):
    name = ServiceValue(schemas.TEXT, required=True)
    type = ServiceValue(schemas.IDENTITY_PROVIDER_TYPE, required=True)


class IdentityProviderOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    type = ServiceValue(schemas.IDENTITY_PROVIDER_TYPE)
    config = ServiceValue(schemas.IDENTITY_PROVIDER_CONFIG, component="IdentityProviderConfig")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def identity_provider_data(provider: IdentityProvider) -> dict[str, Any]:
    """An identity provider as the API shows it."""
    return IdentityProviderOutputSerializer(
        {
            "id": provider.pk,
            **identity_provider_fields(provider),
            "created_at": provider.created_at,
            "updated_at": provider.updated_at,
        }
    ).data


class IdentityProviderListApi(AdminApiView):
    queryset = IdentityProvider.objects.all()

    @extend_schema(
        operation_id="identity_providers_list",
        summary="List identity providers",
        description="The identity providers (login methods) applications may offer, by name.",
        parameters=PAGE_PARAMETERS,
        responses={
            200: enveloped(IdentityProviderOutputSerializer, many=True),
            **error_responses(),
        },
    )
    def get(self, request: Request) -> Response:
        providers = IdentityProvider.objects.order_by("name")
        return paginated(request, providers, represent=identity_provider_data)

    @extend_schema(
        operation_id="identity_providers_create",
        summary="Create an identity provider",
        description=(
            "Create a login method (`type`: one-time PIN or password) under a name that "
            "applications can list in `allowed_idps`."
        ),
        request=IdentityProviderCreateInputSerializer,
        responses={201: enveloped(IdentityProviderOutputSerializer), **error_responses()},
    )
    def post(self, request: Request) -> Response:
        serializer = IdentityProviderCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        provider = services.identity_provider_create(**serializer.validated_data)
        return ok(identity_provider_data(provider), status_code=status.HTTP_201_CREATED)


class IdentityProviderDetailApi(AdminApiView):
    queryset = IdentityProvider.objects.all()

    @extend_schema(
        operation_id="identity_providers_retrieve",
        summary="Get an identity provider",
        description="One identity provider.",
        responses={200: enveloped(IdentityProviderOutputSerializer), **error_responses()},
    )
    def get(self, request: Request, provider_id: int) -> Response:
        return ok(identity_provider_data(get_object_or_404(IdentityProvider, pk=provider_id)))

    @extend_schema(
        operation_id="identity_providers_partial_update",
        summary="Change an identity provider",
        description="Rename the provider (refused while a rule names it) or change its type.",
        request=IdentityProviderInputSerializer,
        responses={200: enveloped(IdentityProviderOutputSerializer), **error_responses()},
    )
    def patch(self, request: Request, provider_id: int) -> Response:
        provider = get_object_or_404(IdentityProvider, pk=provider_id)
        serializer = IdentityProviderInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.identity_provider_update(provider=provider, **serializer.validated_data)
        return ok(identity_provider_data(provider))

    @extend_schema(
        operation_id="identity_providers_destroy",
        summary="Delete an identity provider",
        description=(
            "Delete the provider; refused with 400 while a rule or an application's `allowed_idps` "
            "names it."
        ),
        responses={200: enveloped(DeletedOutputSerializer), **error_responses()},
    )
    def delete(self, request: Request, provider_id: int) -> Response:
        provider = get_object_or_404(IdentityProvider, pk=provider_id)
        deleted_id = provider.pk
        services.identity_provider_delete(provider=provider)
        return ok({"id": deleted_id})
