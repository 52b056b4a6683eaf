"""`/api/access/groups`: access groups, reusable sets of rules referred to by name."""

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
from policies.models import AccessGroup
from policies.selectors import group_fields


class GroupInputSerializer(ServiceInputSerializer):
    name = ServiceValue(schemas.TEXT)
    include = ServiceValue(schemas.RULES, component="Rules")
    require = ServiceValue(schemas.RULES, component="Rules")
    exclude = ServiceValue(schemas.RULES, component="Rules")


class GroupCreateInputSerializer(GroupInputSerializer):
    name = ServiceValue(schemas.TEXT, required=True)
    include = ServiceValue(schemas.RULES, component="Rules", required=True)


class GroupOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    name = serializers.CharField()
    include = ServiceValue(schemas.RULES, component="Rules")
    require = ServiceValue(schemas.RULES, component="Rules")
    exclude = ServiceValue(schemas.RULES, component="Rules")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


def group_data(group: AccessGroup) -> dict[str, Any]:
    """An access group as the API shows it."""
    return GroupOutputSerializer(
        {
            "id": group.pk,
            **group_fields(group),
            "created_at": group.created_at,
            "updated_at": group.updated_at,
        }
    ).data


class GroupListApi(AdminApiView):
    queryset = AccessGroup.objects.all()

    @extend_schema(
        operation_id="groups_list",
        summary="List access groups",
        description="The access groups, by name, a page at a time.",
        parameters=PAGE_PARAMETERS,
        responses={200: enveloped(GroupOutputSerializer, many=True), **error_responses()},
    )
    def get(self, request: Request) -> Response:
        return paginated(request, AccessGroup.objects.order_by("name"), represent=group_data)

    @extend_schema(
        operation_id="groups_create",
        summary="Create an access group",
        description=(
            "Create a named set of include, require and exclude rules that policies (and other "
            "groups) can refer to. A group that would refer to itself, directly or not, is "
            "refused."
        ),
        request=GroupCreateInputSerializer,
        responses={201: enveloped(GroupOutputSerializer), **error_responses()},
    )
    def post(self, request: Request) -> Response:
        serializer = GroupCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        group = services.group_create(**serializer.validated_data)
        return ok(group_data(group), status_code=status.HTTP_201_CREATED)


class GroupDetailApi(AdminApiView):
    queryset = AccessGroup.objects.all()

    @extend_schema(
        operation_id="groups_retrieve",
        summary="Get an access group",
        description="One access group with its rules.",
        responses={200: enveloped(GroupOutputSerializer), **error_responses()},
    )
    def get(self, request: Request, group_id: int) -> Response:
        return ok(group_data(get_object_or_404(AccessGroup, pk=group_id)))

    @extend_schema(
        operation_id="groups_partial_update",
        summary="Change an access group",
        description=(
            "Change the fields given; the others keep their values. Refused when the change would "
            "break a policy or group that uses it (a rename, or a cycle)."
        ),
        request=GroupInputSerializer,
        responses={200: enveloped(GroupOutputSerializer), **error_responses()},
    )
    def patch(self, request: Request, group_id: int) -> Response:
        group = get_object_or_404(AccessGroup, pk=group_id)
        serializer = GroupInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.group_update(group=group, **serializer.validated_data)
        return ok(group_data(group))

    @extend_schema(
        operation_id="groups_destroy",
        summary="Delete an access group",
        description=(
            "Delete the group; refused with 400 while a policy or another group refers to it."
        ),
        responses={200: enveloped(DeletedOutputSerializer), **error_responses()},
    )
    def delete(self, request: Request, group_id: int) -> Response:
        group = get_object_or_404(AccessGroup, pk=group_id)
        deleted_id = group.pk
        services.group_delete(group=group)
        return ok({"id": deleted_id})
