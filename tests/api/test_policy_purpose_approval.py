"""`/api/access/apps/{id}/policies` with purpose justification and temporary approval fields."""

import pytest

from policies.models import Policy
from tests.api.conftest import error_messages
from tests.factories import ApplicationFactory
from tests.policies.test_purpose_approval_fields import APPROVAL, GROUP, policy

pytestmark = pytest.mark.django_db


def test_the_api_writes_and_reads_the_fields(api):
    application = ApplicationFactory()
    response = api.post(
        f"/api/access/apps/{application.pk}/policies",
        policy(purpose_justification_prompt="Which ticket?", **APPROVAL),
        format="json",
    )

    assert response.status_code == 201
    created = response.json()["result"]
    read = api.get(f"/api/access/apps/{application.pk}/policies/{created['id']}").json()["result"]
    for result in (created, read):
        assert result["purpose_justification_required"] is True
        assert result["purpose_justification_prompt"] == "Which ticket?"
        assert result["approval_required"] is True
        assert result["approval_groups"] == [GROUP]
    changed = api.patch(
        f"/api/access/apps/{application.pk}/policies/{created['id']}",
        {"approval_required": False, "approval_groups": []},
        format="json",
    )
    assert changed.status_code == 200
    assert changed.json()["result"]["approval_groups"] == []
    assert Policy.objects.get().approval_required is False


def test_the_api_refuses_a_bad_approval_group_by_path(api):
    application = ApplicationFactory()
    bad = {"approvals_needed": 2, "email_addresses": ["boss@example.com"]}
    response = api.post(
        f"/api/access/apps/{application.pk}/policies",
        policy(**{**APPROVAL, "approval_groups": [bad]}),
        format="json",
    )

    assert response.status_code == 400
    assert error_messages(response) == [
        "approval_groups[0].approvals_needed: is more than the 1 approvers listed; list more "
        "addresses or ask for fewer approvals"
    ]
    assert not Policy.objects.exists()


def test_the_api_schema_documents_the_fields(api):
    schema = api.get("/api/schema/", {"format": "json"}).json()
    properties = schema["components"]["schemas"]["PolicyOutput"]["properties"]
    assert {
        "purpose_justification_required",
        "purpose_justification_prompt",
        "approval_required",
        "approval_groups",
    } <= set(properties)
    groups_schema = schema["components"]["schemas"]["ApprovalGroups"]
    assert groups_schema["items"]["required"] == ["approvals_needed", "email_addresses"]
