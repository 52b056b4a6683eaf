"""`/api/access/approvals`: temporary approvals (who asked, why, who decided), and revoking one.

A revocation goes through `identity.approvals.approval_revoke`, as the admin's does: the
person's tokens for the application are refused in every process within a second, and it is
in the audit trail and the authentication events.
"""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from common.api.converters import object_id_field
from common.api.resources import ActionApi, Doc, ListApi
from identity.approvals import approval_revoke
from identity.models import ApprovalRequest


class ApproverOutputSerializer(serializers.Serializer[Any]):
    email = serializers.CharField(help_text="An approver who was asked.")
    decision = serializers.CharField(
        allow_blank=True, help_text="approve or refuse; empty while they have not decided."
    )
    duration = serializers.DurationField(
        allow_null=True, help_text="How long they approved for; null unless they approved."
    )
    decided_at = serializers.DateTimeField(allow_null=True, help_text="When they decided.")


class ApprovalOutputSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField(help_text="The approval's id, as app tokens name it.")
    email = serializers.CharField(help_text="Who asked.")
    application_id = serializers.IntegerField(help_text="For which application.")
    policy_name = serializers.CharField(help_text="The policy that asked for the approval.")
    justification = serializers.CharField(help_text="Why, in the person's words.")
    status = serializers.ChoiceField(choices=ApprovalRequest.Status.choices)
    requested_duration = serializers.DurationField(help_text="How long they asked for.")
    created_at = serializers.DateTimeField(help_text="When they asked.")
    expires_at = serializers.DateTimeField(help_text="When the request lapses undecided.")
    decided_at = serializers.DateTimeField(allow_null=True, help_text="When it was decided.")
    granted_until = serializers.DateTimeField(
        allow_null=True, help_text="Until when the approval lets the person in."
    )
    revoked_at = serializers.DateTimeField(allow_null=True, help_text="When it was revoked.")
    approvers = ApproverOutputSerializer(many=True, help_text="Who was asked, and what each said.")


class ApprovalFilterSerializer(serializers.Serializer[Any]):
    email = serializers.CharField(required=False, help_text="Requests of this address.")
    application = object_id_field(required=False, help_text="Requests for this application id.")
    status = serializers.ChoiceField(
        choices=ApprovalRequest.Status.choices, required=False, help_text="In this state."
    )


class ApprovalListApi(ListApi):
    route, route_name = "approvals", "api-approvals"
    queryset = ApprovalRequest.objects.prefetch_related("approvers").order_by("-created_at")
    output = ApprovalOutputSerializer
    filters = ApprovalFilterSerializer
    lookups = {"email": "email__iexact", "application": "application_id", "status": "status"}
    docs = {
        "get": Doc(
            "List temporary approvals",
            "Requests for temporary approval, newest first, a page at a time, with each "
            "approver's decision; filter by address, application or status.",
        )
    }


class ApprovalRevokeApi(ActionApi):
    route, route_name = "approvals/<uuid:approval_id>/revoke", "api-approval-revoke"
    queryset = ApprovalRequest.objects.select_related("application")
    output = ApprovalOutputSerializer
    docs = {
        "post": Doc(
            "Revoke a temporary approval",
            "End an approval (or a request still waiting) now: the person's tokens for the "
            "application are refused from now on, and their next sign-in asks again.",
        )
    }

    def act(self, target: ApprovalRequest, values: dict[str, Any]) -> ApprovalRequest:
        approval_revoke(approval=target, actor=self.actor)
        target.refresh_from_db()
        return target
