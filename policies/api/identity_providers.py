"""`/api/access/identity_providers`: the ways to sign in, as Access's identity-provider objects
(`name`, `type`, `config`). Secret config fields (`client_secret`) are write-only: accepted,
stored encrypted, never returned; a PATCH whose config leaves one out keeps the stored value."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from common.api.resources import DetailApi, Doc, ListCreateApi, ResourceApi, Writes
from policies import services
from policies.api import schemas
from policies.api.fields import SelectedOutputSerializer, ServiceInputSerializer, ServiceValue
from policies.models import IdentityProvider
from policies.selectors import identity_provider_fields


class IdentityProviderInputSerializer(ServiceInputSerializer):
    name = ServiceValue(schemas.TEXT)
    type = ServiceValue(schemas.IDENTITY_PROVIDER_TYPE)
    config = ServiceValue(schemas.IDENTITY_PROVIDER_CONFIG, component="IdentityProviderConfig")


class IdentityProviderCreateInputSerializer(IdentityProviderInputSerializer):
    name = ServiceValue(schemas.TEXT, required=True)
    type = ServiceValue(schemas.IDENTITY_PROVIDER_TYPE, required=True)


class IdentityProviderOutputSerializer(SelectedOutputSerializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    type = ServiceValue(schemas.IDENTITY_PROVIDER_TYPE)
    config = ServiceValue(schemas.IDENTITY_PROVIDER_CONFIG, component="IdentityProviderConfig")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def selected(self, instance: IdentityProvider) -> dict[str, Any]:
        return identity_provider_fields(instance)


class IdentityProviders(ResourceApi):
    queryset = IdentityProvider.objects.order_by("name")
    output = IdentityProviderOutputSerializer
    writes = Writes(
        "provider",
        create=services.identity_provider_create,
        update=services.identity_provider_update,
        delete=services.identity_provider_delete,
    )


class IdentityProviderListApi(IdentityProviders, ListCreateApi):
    route, route_name = "identity_providers", "api-identity-providers"
    create_input = IdentityProviderCreateInputSerializer
    docs = {
        "get": Doc(
            "List identity providers",
            "The identity providers (login methods) applications may offer, by name.",
        ),
        "post": Doc(
            "Create an identity provider",
            "Create a login method (`type`: one-time PIN or password) under a name that "
            "applications can list in `allowed_idps`.",
        ),
    }


class IdentityProviderDetailApi(IdentityProviders, DetailApi):
    route, route_name = "identity_providers/<object_id:provider_id>", "api-identity-provider"
    change_input = IdentityProviderInputSerializer
    docs = {
        "get": Doc("Get an identity provider", "One identity provider."),
        "patch": Doc(
            "Change an identity provider",
            "Rename the provider (refused while a rule names it) or change its type.",
        ),
        "delete": Doc(
            "Delete an identity provider",
            "Delete the provider; refused with 400 while a rule or an application's "
            "`allowed_idps` names it.",
        ),
    }
