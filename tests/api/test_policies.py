"""`/api/access/apps/{id}/policies`: policies of one application, and precedence."""

import pytest

from policies.models import Policy
from tests.api.conftest import error_messages
from tests.factories import ApplicationFactory, PolicyFactory

pytestmark = pytest.mark.django_db

ALLOW_STAFF = {
    "name": "staff",
    "decision": "allow",
    "precedence": 1,
    "include": [{"email_domain": {"domain": "example.com"}}],
}


def policies_url(application, policy=None):
    base = f"/api/access/apps/{application.pk}/policies"
    return base if policy is None else f"{base}/{policy.pk}"


def test_create(api):
    application = ApplicationFactory()

    response = api.post(policies_url(application), ALLOW_STAFF, format="json")

    assert response.status_code == 201
    result = response.json()["result"]
    assert result["application_id"] == application.pk
    assert {key: result[key] for key in ALLOW_STAFF} == ALLOW_STAFF
    assert result["require"] == []
    assert result["session_duration"] == ""


def test_list_in_precedence_order(api):
    application = ApplicationFactory()
    PolicyFactory(application=application, name="second", precedence=2)
    PolicyFactory(application=application, name="first", precedence=1)
    PolicyFactory(name="elsewhere")

    response = api.get(policies_url(application))

    assert response.status_code == 200
    assert [item["name"] for item in response.json()["result"]] == ["first", "second"]
    assert response.json()["result_info"]["total_count"] == 2


def test_policies_of_an_unknown_application_are_404(api):
    response = api.get("/api/access/apps/999999/policies")

    assert response.status_code == 404


def test_policy_of_another_application_is_404(api):
    policy = PolicyFactory()
    other = ApplicationFactory()

    response = api.get(policies_url(other, policy))

    assert response.status_code == 404


def test_retrieve_patch_delete(api):
    policy = PolicyFactory(name="staff")
    url = policies_url(policy.application, policy)

    assert api.get(url).json()["result"]["name"] == "staff"
    assert api.patch(url, {"decision": "deny"}, format="json").status_code == 200
    assert Policy.objects.get(pk=policy.pk).decision == "deny"
    assert api.delete(url).json()["result"] == {"id": policy.pk}
    assert not Policy.objects.filter(pk=policy.pk).exists()


def test_duplicate_precedence_is_refused(api):
    existing = PolicyFactory(name="first", precedence=1)

    response = api.post(policies_url(existing.application), ALLOW_STAFF, format="json")

    assert response.status_code == 400
    assert error_messages(response) == [
        'precedence: precedence 1 is already used by policy "first"; '
        "give each policy its own precedence"
    ]


def test_rule_errors_name_the_rule_path(api):
    application = ApplicationFactory()
    payload = {**ALLOW_STAFF, "include": [{"email": {"address": "a@example.com"}}]}

    response = api.post(policies_url(application), payload, format="json")

    assert response.status_code == 400
    assert all(message.startswith("include[0]") for message in error_messages(response))


def test_bypass_with_identity_selector_is_refused(api):
    application = ApplicationFactory()
    payload = {**ALLOW_STAFF, "decision": "bypass"}

    response = api.post(policies_url(application), payload, format="json")

    assert response.status_code == 400
    assert error_messages(response)[0].startswith("include[0]")


def test_put_swaps_precedences_in_one_request(api):
    application = ApplicationFactory()
    PolicyFactory(application=application, name="a", precedence=1)
    PolicyFactory(application=application, name="b", precedence=2)
    rules = [{"everyone": {}}]

    response = api.put(
        policies_url(application),
        [
            {"name": "a", "decision": "allow", "precedence": 2, "include": rules},
            {"name": "b", "decision": "deny", "precedence": 1, "include": rules},
        ],
        format="json",
    )

    assert response.status_code == 200, response.json()
    order = list(application.policies.order_by("precedence").values_list("name", flat=True))
    assert order == ["b", "a"]


def test_put_deletes_policies_left_out(api):
    application = ApplicationFactory()
    PolicyFactory(application=application, name="a", precedence=1)
    PolicyFactory(application=application, name="gone", precedence=2)

    response = api.put(
        policies_url(application),
        [{"name": "a", "decision": "allow", "precedence": 1, "include": [{"everyone": {}}]}],
        format="json",
    )

    assert response.status_code == 200
    assert list(application.policies.values_list("name", flat=True)) == ["a"]


def test_put_with_a_bad_policy_changes_nothing(api):
    application = ApplicationFactory()
    PolicyFactory(application=application, name="a", precedence=1)

    response = api.put(
        policies_url(application),
        [{"name": "b", "decision": "maybe", "precedence": 1, "include": [{"everyone": {}}]}],
        format="json",
    )

    assert response.status_code == 400
    assert list(application.policies.values_list("name", flat=True)) == ["a"]


def test_policy_permissions_are_the_policy_model_permissions(client_with):
    policy = PolicyFactory()
    url = policies_url(policy.application)

    assert client_with("policies.view_application").get(url).status_code == 403
    assert client_with("policies.view_policy").get(url).status_code == 200
