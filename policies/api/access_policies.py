"""`/api/access/apps/{id}/policies`: an application's policies, in evaluation-relevant precedence.

One policy at a time (CRUD), or the whole set at once with PUT on the list, which is how
precedences are swapped: the service validates the set and reorders rows without ever breaking
the unique precedence of an application.
"""

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
from policies.api.applications import application_warnings_data
from policies.api.fields import ServiceInputSerializer, ServiceValue
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


class PolicyOutputSerializer(serializers.Serializer[Any]):
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


def policy_data(policy: Policy) -> dict[str, Any]:
    """A policy as the API shows it."""
    return PolicyOutputSerializer(
        {
            "id": policy.pk,
            "application_id": policy.application_id,
            **policy_fields(policy),
            "created_at": policy.created_at,
            "updated_at": policy.updated_at,
        }
    ).data


def _get_policy(application_id: int, policy_id: int) -> Policy:
    return get_object_or_404(
        Policy.objects.select_related("application"), application_id=application_id, pk=policy_id
    )


class PolicyListApi(AdminApiView):
    queryset = Policy.objects.all()

    @extend_schema(
        operation_id="apps_policies_list",
        summary="List an application's policies",
        description="The application's policies in the order they are evaluated (by precedence).",
        parameters=PAGE_PARAMETERS,
        responses={200: enveloped(PolicyOutputSerializer, many=True), **error_responses()},
    )
    def get(self, request: Request, application_id: int) -> Response:
        application = get_object_or_404(Application, pk=application_id)
        return paginated(request, application_policies(application), represent=policy_data)

    @extend_schema(
        operation_id="apps_policies_create",
        summary="Add a policy",
        description=(
            "Add a policy to the application: its decision (allow, deny, non_identity or bypass), "
            "its precedence, and include, require and exclude rules, which may name only groups, "
            "service tokens and identity providers that exist."
        ),
        request=PolicyCreateInputSerializer,
        responses={201: enveloped(PolicyOutputSerializer), **error_responses()},
    )
    def post(self, request: Request, application_id: int) -> Response:
        application = get_object_or_404(Application, pk=application_id)
        serializer = PolicyCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        policy = services.policy_create(application=application, **serializer.validated_data)
        return ok(
            policy_data(policy),
            status_code=status.HTTP_201_CREATED,
            warnings=application_warnings_data(application),
        )

    @extend_schema(
        operation_id="apps_policies_replace",
        summary="Replace all of an application's policies",
        request=PolicyCreateInputSerializer(many=True),
        responses={
            200: enveloped(PolicyOutputSerializer, many=True, paged=False),
            **error_responses(),
        },
        description=(
            "Make the application's policies exactly these, matched by name: policies left out "
            "are deleted, and precedences may be swapped freely."
        ),
    )
    def put(self, request: Request, application_id: int) -> Response:
        application = get_object_or_404(Application, pk=application_id)
        serializer = PolicyCreateInputSerializer(data=request.data, many=True)
        serializer.is_valid(raise_exception=True)
        policies = services.application_set_policies(
            application=application, policies=serializer.validated_data
        )
        return ok(
            [policy_data(policy) for policy in policies],
            warnings=application_warnings_data(application),
        )


class PolicyDetailApi(AdminApiView):
    queryset = Policy.objects.all()

    @extend_schema(
        operation_id="apps_policies_retrieve",
        summary="Get a policy",
        description="One policy of the application, with its rules.",
        responses={200: enveloped(PolicyOutputSerializer), **error_responses()},
    )
    def get(self, request: Request, application_id: int, policy_id: int) -> Response:
        return ok(policy_data(_get_policy(application_id, policy_id)))

    @extend_schema(
        operation_id="apps_policies_partial_update",
        summary="Change a policy",
        description=(
            "Change the fields given; the others keep their values. Rules naming a group or "
            "service token that does not exist are refused."
        ),
        request=PolicyInputSerializer,
        responses={200: enveloped(PolicyOutputSerializer), **error_responses()},
    )
    def patch(self, request: Request, application_id: int, policy_id: int) -> Response:
        policy = _get_policy(application_id, policy_id)
        serializer = PolicyInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.policy_update(policy=policy, **serializer.validated_data)
        return ok(policy_data(policy), warnings=application_warnings_data(policy.application))

    @extend_schema(
        operation_id="apps_policies_destroy",
        summary="Delete a policy",
        description="Delete the policy; the application's other policies decide from now on.",
        responses={200: enveloped(DeletedOutputSerializer), **error_responses()},
    )
    def delete(self, request: Request, application_id: int, policy_id: int) -> Response:
        policy = _get_policy(application_id, policy_id)
        deleted_id = policy.pk
        application = policy.application
        services.policy_delete(policy=policy)
        return ok({"id": deleted_id}, warnings=application_warnings_data(application))
