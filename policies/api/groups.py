"""`/api/access/groups`: access groups, reusable sets of rules referred to by name."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from common.api.resources import DetailApi, Doc, ListCreateApi, ResourceApi, Writes
from policies import services
from policies.api import schemas
from policies.api.fields import SelectedOutputSerializer, ServiceInputSerializer, ServiceValue
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


class GroupOutputSerializer(SelectedOutputSerializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    include = ServiceValue(schemas.RULES, component="Rules")
    require = ServiceValue(schemas.RULES, component="Rules")
    exclude = ServiceValue(schemas.RULES, component="Rules")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def selected(self, instance: AccessGroup) -> dict[str, Any]:
        return group_fields(instance)


class Groups(ResourceApi):
    queryset = AccessGroup.objects.order_by("name")
    output = GroupOutputSerializer
    writes = Writes(
        "group",
        create=services.group_create,
        update=services.group_update,
        delete=services.group_delete,
    )


class GroupListApi(Groups, ListCreateApi):
    route, route_name = "groups", "api-groups"
    create_input = GroupCreateInputSerializer
    docs = {
        "get": Doc("List access groups", "The access groups, by name, a page at a time."),
        "post": Doc(
            "Create an access group",
            "Create a named set of include, require and exclude rules that policies (and other "
            "groups) can refer to. A group that would refer to itself, directly or not, is "
            "refused.",
        ),
    }


class GroupDetailApi(Groups, DetailApi):
    route, route_name = "groups/<object_id:group_id>", "api-group"
    change_input = GroupInputSerializer
    docs = {
        "get": Doc("Get an access group", "One access group with its rules."),
        "patch": Doc(
            "Change an access group",
            "Change the fields given; the others keep their values. Refused when the change would "
            "break a policy or group that uses it (a rename, or a cycle).",
        ),
        "delete": Doc(
            "Delete an access group",
            "Delete the group; refused with 400 while a policy or another group refers to it.",
        ),
    }
