"""`/api/access/approvals`: listing temporary approvals and revoking one."""

import uuid

import pytest

from identity.models import ApprovalRequest, AuthEvent, RevocationCutoff
from tests.api.conftest import token_client
from tests.gatekit import response_sent
from tests.identity.approval_support import ONE_OF_TWO, approve, ask, make_vault

pytestmark = pytest.mark.django_db

APPROVALS = "/api/access/approvals"


@pytest.fixture(autouse=True)
def _no_leftover_tasks(db):
    response_sent()


@pytest.fixture
def vault():
    return make_vault()


@pytest.fixture
def approved(vault, mailoutbox):
    ask(vault, ONE_OF_TWO)
    return approve(mailoutbox, hours=8)


def test_the_list_shows_who_asked_why_and_who_decided(api, approved, vault):
    pending = ask(vault, ONE_OF_TWO, email="cy@example.com")

    response = api.get(APPROVALS)

    assert response.status_code == 200
    result = response.json()["result"]
    assert [item["id"] for item in result] == [str(pending.pk), str(approved.pk)]
    assert result[1]["status"] == "approved"
    assert result[1]["justification"] == "Incident 42: read the logs"
    assert [(a["email"], a["decision"], a["duration"]) for a in result[1]["approvers"]] == [
        ("bob@example.com", "approve", "08:00:00"),
        ("cy@example.com", "", None),
    ]
    only = api.get(APPROVALS, {"status": "pending", "application": vault.pk}).json()["result"]
    assert [item["id"] for item in only] == [str(pending.pk)]


def test_revoking_ends_the_approval_and_the_persons_tokens(api, approved, vault):
    response = api.post(f"{APPROVALS}/{approved.pk}/revoke")

    assert response.status_code == 200
    assert response.json()["result"]["status"] == "revoked"
    approved.refresh_from_db()
    assert (approved.status, approved.revoked_by) == (ApprovalRequest.Status.REVOKED, "api:root")
    cutoff = RevocationCutoff.objects.get()
    assert (cutoff.email, cutoff.application_id) == ("ann@example.com", vault.pk)
    assert AuthEvent.objects.filter(kind=AuthEvent.Kind.APPROVAL_REVOKED).count() == 1


def test_revoking_needs_the_change_permission_and_a_writing_token(approved, make_user, admin_user):
    viewer = token_client(make_user("identity.view_approvalrequest"))
    assert viewer.get(APPROVALS).status_code == 200
    assert viewer.post(f"{APPROVALS}/{approved.pk}/revoke").status_code == 403
    read_only = token_client(admin_user, read_only=True)
    assert read_only.post(f"{APPROVALS}/{approved.pk}/revoke").status_code == 403
    approved.refresh_from_db()
    assert approved.status == ApprovalRequest.Status.APPROVED


def test_an_unknown_approval_is_not_found(api):
    assert api.post(f"{APPROVALS}/{uuid.uuid4()}/revoke").status_code == 404
