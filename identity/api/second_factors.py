"""`/api/access/second_factors`: who has which second factors, and resetting a person's.

The list shows names, kinds and dates, never a secret, a public key or a credential id. A reset
goes through `identity.factors.services.factors_reset`, as the admin's does: the person's
factors and recovery codes go, and every sign-in of theirs ends in every process within a
second.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.base import AdminApiView
from common.api.envelope import enveloped, ok
from common.api.pagination import PAGE_PARAMETERS, list_filters, paginated
from common.api.permissions import ModelPermissions, WritesAllowed
from common.api.responses import error_responses
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
    email = serializers.CharField(required=False)


class ResetInputSerializer(serializers.Serializer[Any]):
    email = serializers.EmailField(help_text="The person whose factors go.")


class ResetOutputSerializer(serializers.Serializer[Any]):
    email = serializers.CharField(help_text="The person whose factors were removed.")
    factors_removed = serializers.IntegerField(help_text="How many were removed.")


class ResetPermissions(ModelPermissions):
    """A reset deletes the person's factors: it needs `delete_secondfactor`."""

    perms_map = {**ModelPermissions.perms_map, "POST": ["%(app_label)s.delete_%(model_name)s"]}


class SecondFactorListApi(AdminApiView):
    queryset = SecondFactor.objects.all()

    @extend_schema(
        operation_id="second_factors_list",
        summary="List second factors",
        description=(
            "People's confirmed second factors (authenticator apps, passkeys and security keys), "
            "by address; never a secret."
        ),
        parameters=[
            *PAGE_PARAMETERS,
            OpenApiParameter("email", str, description="Factors of this address."),
        ],
        responses={200: enveloped(SecondFactorOutputSerializer, many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        filters = list_filters(request, SecondFactorFilterSerializer)
        factors = SecondFactor.objects.filter(confirmed_at__isnull=False).order_by("email", "pk")
        if "email" in filters:
            factors = factors.filter(email=owner(filters["email"]))
        return paginated(
            request, factors, represent=lambda factor: SecondFactorOutputSerializer(factor).data
        )


class SecondFactorResetApi(AdminApiView):
    queryset = SecondFactor.objects.all()
    permission_classes = [ResetPermissions, WritesAllowed]

    @extend_schema(
        operation_id="second_factors_reset",
        summary="Reset a person's second factors",
        request=ResetInputSerializer,
        responses={200: enveloped(ResetOutputSerializer), **error_responses()},
        description=(
            "Remove every second factor and recovery code of a person and end every sign-in of "
            "theirs. Their next sign-in to an application that needs a factor sets one up again."
        ),
    )
    def post(self, request: Request) -> Response:
        serializer = ResetInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        email = owner(serializer.validated_data["email"])
        removed = factors_reset(email=email, actor=f"api:{request.user.get_username()}")
        return ok(ResetOutputSerializer({"email": email, "factors_removed": removed}).data)
