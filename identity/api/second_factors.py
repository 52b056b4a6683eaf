"""`/api/access/second_factors`: who has which second factors, and resetting a person's.

The list shows names, kinds and dates, never a secret, a public key or a credential id. A reset
goes through `identity.factors.services.factors_reset`, as the admin's does: the person's
factors and recovery codes go, and every sign-in of theirs ends in every process within a
second.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from common.api.permissions import ModelPermissions, WritesAllowed
from common.api.resources import ActionApi, Doc, ListApi
from identity.factors.services import factors_reset, owner
from identity.models import SecondFactor


class SecondFactorOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(help_text="The factor's id.")
    email = serializers.CharField(help_text="Whose factor it is.")
    kind = serializers.ChoiceField(choices=SecondFactor.Kind.choices)
    name = serializers.CharField(help_text="The name its owner gave it.")
    method = serializers.CharField(help_text="What a use proves (RFC 8176): otp, hwk or swk.")
    created_at = serializers.DateTimeField(help_text="When it was enrolled.")
    last_used_at = serializers.DateTimeField(
        allow_null=True, help_text="When it last let its owner in; null: never."
    )


class SecondFactorFilterSerializer(serializers.Serializer[Any]):
    email = serializers.CharField(required=False, help_text="Factors of this address.")


class ResetInputSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(help_text="The person whose factors go.")


class ResetOutputSerializer(serializers.Serializer[Any]):
    email = serializers.CharField(help_text="The person whose factors were removed.")
    factors_removed = serializers.IntegerField(help_text="How many were removed.")


class ResetPermissions(ModelPermissions):
    """A reset deletes the person's factors: it needs `delete_secondfactor`."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["%(app_label)s.delete_%(model_name)s"]}


class SecondFactorListApi(ListApi):
    route, route_name = "second_factors", "api-second-factors"
    queryset = SecondFactor.objects.filter(confirmed_at__isnull=False).order_by("email", "pk")
    output = SecondFactorOutputSerializer
    filters = SecondFactorFilterSerializer
    docs = {
        "get": Doc(
            "List second factors",
            "People's confirmed second factors (authenticator apps, passkeys and security keys), "
            "by address; never a secret.",
        )
    }

    def objects(self, filters: Mapping[str, Any], **path: Any) -> QuerySet[SecondFactor]:
        factors = self.queryset.all()
        if "email" in filters:
            factors = factors.filter(email=owner(filters["email"]))
        return factors


class SecondFactorResetApi(ActionApi):
    route, route_name = "second_factors/reset", "api-second-factors-reset"
    queryset = SecondFactor.objects.all()
    permission_classes = [ResetPermissions, WritesAllowed]
    action_input = ResetInputSerializer
    output = ResetOutputSerializer
    docs = {
        "post": Doc(
            "Reset a person's second factors",
            "Remove every second factor and recovery code of a person and end every sign-in of "
            "theirs. Their next sign-in to an application that needs a factor sets one up again.",
        )
    }

    def act(self, target: None, values: dict[str, Any]) -> dict[str, Any]:
        email = owner(values["email"])
        return {"email": email, "factors_removed": factors_reset(email=email, actor=self.actor)}
