"""Malformed request bodies to `/api/access/`: always a 400 envelope, never a 500."""

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from common.models import ApiToken
from policies import services
from policies.models import Application, Policy
from tests.api.conftest import error_messages

pytestmark = pytest.mark.django_db


def _application() -> Application:
    return services.application_create(name="a", domain="a.example.com")


ENDPOINTS = [
    "/api/access/apps",
    "/api/access/groups",
    "/api/access/service_tokens",
    "/api/access/identity_providers",
    "/api/access/sessions/revoke",
]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_a_deeply_nested_body_is_a_malformed_request(api: APIClient, url: str) -> None:
    response = api.post(url, data="[" * 100_000, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 6007


def test_an_unpaired_surrogate_in_a_body_is_a_malformed_request(api: APIClient) -> None:
    body = '{"name": "\\ud800", "domain": "a.example.com"}'

    response = api.post("/api/access/apps", data=body, content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 6007
    assert not Application.objects.exists()


def test_a_nul_character_in_a_body_is_a_malformed_request(api: APIClient) -> None:
    body = {"name": "a\x00", "domain": "a.example.com"}

    response = api.post("/api/access/apps", data=json.dumps(body), content_type="application/json")

    assert response.status_code == 400
    assert error_messages(response) == [
        "JSON parse error - the text at name must not contain NUL characters or unpaired surrogates"
    ]
    assert not Application.objects.exists()


def test_replacing_policies_with_a_name_that_is_not_text_is_a_validation_error(
    api: APIClient,
) -> None:
    application = _application()
    body = [{"name": {}, "decision": "allow", "precedence": 1, "include": [{"everyone": {}}]}]

    response = api.put(
        f"/api/access/apps/{application.pk}/policies",
        data=json.dumps(body),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert error_messages(response) == ["[0].name: is required"]


def test_replacing_policies_with_a_huge_precedence_is_a_validation_error(api: APIClient) -> None:
    application = _application()
    body = [{"name": "p", "decision": "allow", "precedence": 10**30, "include": [{"everyone": {}}]}]

    response = api.put(
        f"/api/access/apps/{application.pk}/policies",
        data=json.dumps(body),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert error_messages(response) == [
        "[0].precedence: must be a whole number from 1 to 2147483647"
    ]
    assert not Policy.objects.exists()


@pytest.mark.parametrize("user", ["abc", "999999999999999999999", "0"])
def test_the_api_token_admin_refuses_a_user_that_is_not_one(
    admin_client: Client, user: str
) -> None:
    response = admin_client.post("/admin/common/apitoken/add/", {"name": "ci", "user": user})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["user"] == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    assert not ApiToken.objects.exists()
