"""`/api/access/apps/{id}/policies`: an application's policies, in evaluation-relevant precedence.

One policy at a time (CRUD), or the whole set at once with PUT on the list, which is how
precedences are swapped: the service validates the set and reorders rows without ever breaking
the unique precedence of an application.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from common.api.envelope import ok
from common.api.resources import (
    DetailApi,
    Doc,
    ListCreateApi,
    ResourceApi,
    Writes,
    responses,
    validated,
)
from policies import services
from policies.api import schemas
from policies.api.applications import application_warnings_data
from policies.api.fields import SelectedOutputSerializer, ServiceInputSerializer, ServiceValue
from policies.models import PURPOSE_PROMPT_MAX_LENGTH, Application, Policy
from policies.selectors import application_policies, policy_fields


class PolicyInputSerializer(ServiceInputSerializer):
    name = ServiceValue(schemas.TEXT)
    decision = ServiceValue(schemas.DECISION)
    precedence = ServiceValue(schemas.INTEGER)
    include = ServiceValue(schemas.RULES, component="Rules")
    require = ServiceValue(schemas.RULES, component="Rules")
    exclude = ServiceValue(schemas.RULES, component="Rules")
    session_duration = ServiceValue(
        {**schemas.DURATION, "description": "Overrides the application's; empty: not set."}
    )
    purpose_justification_required = ServiceValue(schemas.BOOLEAN)
    purpose_justification_prompt = ServiceValue(
        {
            **schemas.TEXT,
            "maxLength": PURPOSE_PROMPT_MAX_LENGTH,
            "description": "The question the purpose page asks; empty: the default one.",
        }
    )
    approval_required = ServiceValue(schemas.BOOLEAN)
    approval_groups = ServiceValue(schemas.APPROVAL_GROUPS, component="ApprovalGroups")


class PolicyCreateInputSerializer(PolicyInputSerializer):
    name = ServiceValue(schemas.TEXT, required=True)
    decision = ServiceValue(schemas.DECISION, required=True)
    precedence = ServiceValue(schemas.INTEGER, required=True)
    include = ServiceValue(schemas.RULES, component="Rules", required=True)


class PolicyOutputSerializer(SelectedOutputSerializer):
    id = serializers.IntegerField()
    application_id = serializers.IntegerField()
    name = serializers.CharField()
    decision = ServiceValue(schemas.DECISION)
    precedence = serializers.IntegerField()
    include = ServiceValue(schemas.RULES, component="Rules")
    require = ServiceValue(schemas.RULES, component="Rules")
    exclude = ServiceValue(schemas.RULES, component="Rules")
    session_duration = serializers.CharField(allow_blank=True)
    purpose_justification_required = serializers.BooleanField()
    purpose_justification_prompt = serializers.CharField(allow_blank=True)
    approval_required = serializers.BooleanField()
    approval_groups = ServiceValue(schemas.APPROVAL_GROUPS, component="ApprovalGroups")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def selected(self, instance: Policy) -> dict[str, Any]:
        return policy_fields(instance)


class Policies(ResourceApi):
    queryset = Policy.objects.select_related("application")
    output = PolicyOutputSerializer
    writes = Writes(
        "policy",
        create=services.policy_create,
        update=services.policy_update,
        delete=services.policy_delete,
    )

    def warnings(self, obj: Policy) -> list[dict[str, str]]:
        return application_warnings_data(obj.application)


class PolicyListApi(Policies, ListCreateApi):
    route, route_name = "apps/<object_id:application_id>/policies", "api-policies"
    create_input = PolicyCreateInputSerializer
    docs = {
        "get": Doc(
            "List an application's policies",
            "The application's policies in the order they are evaluated (by precedence).",
        ),
        "post": Doc(
            "Add a policy",
            "Add a policy to the application: its decision (allow, deny, non_identity or bypass), "
            "its precedence, and include, require and exclude rules, which may name only groups, "
            "service tokens and identity providers that exist.",
        ),
        "put": Doc(
            "Replace all of an application's policies",
            "Make the application's policies exactly these, matched by name: policies left out "
            "are deleted, and precedences may be swapped freely.",
        ),
    }

    @classmethod
    def operation(cls, method: str) -> tuple[str, dict[str, Any]]:
        if method == "put":
            return "replace", {
                "request": PolicyCreateInputSerializer(many=True),
                "responses": responses(status.HTTP_200_OK, cls.output, many=True, paged=False),
            }
        return super().operation(method)

    def scope(self, **path: Any) -> dict[str, Any]:
        return {"application": get_object_or_404(Application, pk=path["application_id"])}

    def objects(self, filters: Mapping[str, Any], **path: Any) -> QuerySet[Policy]:
        return application_policies(**self.scope(**path))

    def put(self, request: Request, **path: Any) -> Response:
        application = self.scope(**path)["application"]
        values = validated(PolicyCreateInputSerializer, request.data, many=True)
        policies = services.application_set_policies(application=application, policies=values)
        return ok(
            [self.represent(policy) for policy in policies],
            warnings=application_warnings_data(application),
        )


class PolicyDetailApi(Policies, DetailApi):
    route = "apps/<object_id:application_id>/policies/<object_id:policy_id>"
    route_name = "api-policy"
    change_input = PolicyInputSerializer
    docs = {
        "get": Doc(
            "Get a policy",
            "One policy of the application, with its rules.",
        ),
        "patch": Doc(
            "Change a policy",
            "Change the fields given; the others keep their values. Rules naming a group or "
            "service token that does not exist are refused.",
        ),
        "delete": Doc(
            "Delete a policy",
            "Delete the policy; the application's other policies decide from now on.",
        ),
    }

    def get_object(self, **path: Any) -> Policy:
        return get_object_or_404(
            self.queryset.all(), application_id=path["application_id"], pk=path["policy_id"]
        )

    def warnings_after_delete(self, obj: Policy) -> list[dict[str, str]]:
        return self.warnings(obj)  # its application is still there to warn about
