"""`/api/access/groups`: access groups through the services."""

import pytest

from policies.models import AccessGroup
from tests.api.conftest import error_messages
from tests.factories import AccessGroupFactory, PolicyFactory

pytestmark = pytest.mark.django_db

GROUPS = "/api/access/groups"
STAFF = {"name": "staff", "include": [{"email_domain": {"domain": "example.com"}}]}


def test_create(api):
    response = api.post(GROUPS, STAFF, format="json")

    assert response.status_code == 201
    result = response.json()["result"]
    assert (result["name"], result["include"], result["exclude"]) == (
        "staff",
        STAFF["include"],
        [],
    )


def test_list_retrieve_patch(api):
    group = AccessGroupFactory(name="staff")

    assert [item["name"] for item in api.get(GROUPS).json()["result"]] == ["staff"]
    assert api.get(f"{GROUPS}/{group.pk}").json()["result"]["id"] == group.pk
    response = api.patch(
        f"{GROUPS}/{group.pk}", {"exclude": [{"email": {"email": "x@example.com"}}]}, format="json"
    )
    assert response.status_code == 200
    assert AccessGroup.objects.get(pk=group.pk).exclude == [{"email": {"email": "x@example.com"}}]


def test_duplicate_name_is_refused(api):
    AccessGroupFactory(name="staff")

    response = api.post(GROUPS, STAFF, format="json")

    assert response.status_code == 400
    assert [message.split(":")[0] for message in error_messages(response)] == ["name"]


def test_group_cycle_is_refused(api):
    first = AccessGroupFactory(name="first", include=[{"email": {"email": "a@example.com"}}])
    AccessGroupFactory(name="second", include=[{"group": {"name": "first"}}])

    response = api.patch(
        f"{GROUPS}/{first.pk}", {"include": [{"group": {"name": "second"}}]}, format="json"
    )

    assert response.status_code == 400
    assert AccessGroup.objects.get(pk=first.pk).include == [{"email": {"email": "a@example.com"}}]


def test_group_in_use_cannot_be_deleted(api):
    group = AccessGroupFactory(name="staff")
    PolicyFactory(include=[{"group": {"name": "staff"}}])

    response = api.delete(f"{GROUPS}/{group.pk}")

    assert response.status_code == 400
    assert AccessGroup.objects.filter(pk=group.pk).exists()


def test_delete(api):
    group = AccessGroupFactory()

    response = api.delete(f"{GROUPS}/{group.pk}")

    assert response.status_code == 200
    assert not AccessGroup.objects.filter(pk=group.pk).exists()


def test_needs_group_permissions(client_with):
    assert client_with("policies.view_application").get(GROUPS).status_code == 403
    assert (
        client_with("policies.view_accessgroup").post(GROUPS, STAFF, format="json").status_code
        == 403
    )
    assert (
        client_with("policies.add_accessgroup").post(GROUPS, STAFF, format="json").status_code
        == 201
    )
