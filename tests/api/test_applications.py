"""`/api/access/apps`: CRUD through the services, errors by field path, model permissions."""

import pytest
from rest_framework.test import APIClient

from policies.models import Application
from tests.api.conftest import error_messages
from tests.factories import ApplicationFactory, IdentityProviderFactory

pytestmark = pytest.mark.django_db

APPS = "/api/access/apps"


def test_create_returns_the_application_with_its_aud(api):
    response = api.post(APPS, {"name": "Wiki", "domain": "wiki.example.com"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["success"] is True
    assert body["errors"] == []
    assert body["messages"] == []
    application = Application.objects.get(name="Wiki")
    assert body["result"]["id"] == application.pk
    assert body["result"]["aud"] == application.aud
    assert len(application.aud) == 64
    assert body["result"]["session_duration"] == "24h"
    assert body["result"]["cors_headers"] is None


def test_create_stores_every_field(api):
    IdentityProviderFactory(name="Password")
    payload = {
        "name": "API",
        "domain": "api.example.com/v1",
        "destinations": ["api.example.com/v2"],
        "session_duration": "2h45m",
        "same_site_cookie_attribute": "none",
        "http_only_cookie_attribute": False,
        "enable_binding_cookie": True,
        "options_preflight_bypass": False,
        "cors_headers": {
            "allowed_origins": ["https://app.example.com"],
            "allowed_methods": ["GET", "POST"],
            "allow_credentials": True,
            "max_age": 600,
        },
        "cors_on_responses": True,
        "unauthenticated_401": True,
        "custom_deny_message": "Ask the API team.",
        "custom_deny_url": "https://example.com/denied",
        "custom_non_identity_deny_url": "",
        "service_auth_401_redirect": True,
        "allowed_idps": ["Password"],
        "auto_redirect_to_identity": True,
        "require_second_factor_enrolment": True,
    }

    response = api.post(APPS, payload, format="json")

    assert response.status_code == 201, response.json()
    result = response.json()["result"]
    assert {key: result[key] for key in payload} == payload


def test_list_is_paged_with_result_info(api):
    for name in ("a", "b", "c"):
        ApplicationFactory(name=name)

    response = api.get(APPS, {"page": 2, "per_page": 2})

    assert response.status_code == 200
    body = response.json()
    assert [item["name"] for item in body["result"]] == ["c"]
    assert body["result_info"] == {"page": 2, "per_page": 2, "count": 1, "total_count": 3}


def test_list_page_past_the_end_is_empty(api):
    ApplicationFactory()

    response = api.get(APPS, {"page": 5})

    assert response.status_code == 200
    assert response.json()["result"] == []
    assert response.json()["result_info"]["total_count"] == 1


def test_bad_page_number_is_a_validation_error(api):
    response = api.get(APPS, {"page": 0})

    assert response.status_code == 400
    assert error_messages(response) == ["page: Ensure this value is greater than or equal to 1."]


def test_retrieve(api):
    application = ApplicationFactory(name="Wiki")

    response = api.get(f"{APPS}/{application.pk}")

    assert response.status_code == 200
    assert response.json()["result"]["name"] == "Wiki"


def test_retrieve_unknown_is_404_in_the_envelope(api):
    response = api.get(f"{APPS}/999999")

    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "errors": [{"code": 7003, "message": "Not found."}],
        "messages": [],
        "result": None,
    }


def test_patch_changes_only_given_fields(api):
    application = ApplicationFactory(name="Wiki", session_duration="2h")

    response = api.patch(f"{APPS}/{application.pk}", {"name": "Docs"}, format="json")

    assert response.status_code == 200
    application.refresh_from_db()
    assert (application.name, application.session_duration) == ("Docs", "2h")


def test_put_replaces_and_resets_omitted_fields(api):
    application = ApplicationFactory(name="Wiki", session_duration="2h")

    response = api.put(
        f"{APPS}/{application.pk}", {"name": "Wiki", "domain": "w.example.com"}, format="json"
    )

    assert response.status_code == 200
    application.refresh_from_db()
    assert (application.domain, application.session_duration) == ("w.example.com", "24h")


def test_aud_never_changes(api):
    application = ApplicationFactory()

    response = api.patch(f"{APPS}/{application.pk}", {"aud": "0" * 64}, format="json")

    assert response.status_code == 400
    assert error_messages(response)[0].startswith("aud: unknown field; expected one of ")
    assert Application.objects.get(pk=application.pk).aud == application.aud


def test_delete(api):
    application = ApplicationFactory()

    response = api.delete(f"{APPS}/{application.pk}")

    assert response.status_code == 200
    assert response.json()["result"] == {"id": application.pk}
    assert not Application.objects.filter(pk=application.pk).exists()


def test_validation_errors_name_the_field_path(api):
    response = api.post(
        APPS,
        {
            "name": "API",
            "domain": "api.example.com",
            "cors_headers": {
                "allowed_origins": ["https://app.example.com"],
                "allowed_methods": ["GET"],
                "max_age": 90000,
            },
        },
        format="json",
    )

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["result"] is None
    assert body["errors"] == [
        {"code": 1004, "message": "cors_headers.max_age: must be between -1 and 86400"}
    ]


def test_every_problem_is_reported_once(api):
    response = api.post(
        APPS,
        {
            "name": "API",
            "domain": "api.example.com",
            "session_duration": "soon",
            "cors_headers": {"allowed_origins": ["*"], "allow_credentials": True},
        },
        format="json",
    )

    assert response.status_code == 400
    paths = [message.split(":")[0] for message in error_messages(response)]
    assert sorted(paths) == [
        "cors_headers.allow_credentials",
        "cors_headers.allowed_methods",
        "session_duration",
    ]


def test_types_are_judged_by_the_service_not_coerced(api):
    response = api.post(
        APPS,
        {"name": "API", "domain": "api.example.com", "enable_binding_cookie": "true"},
        format="json",
    )

    assert response.status_code == 400
    assert error_messages(response) == ["enable_binding_cookie: must be true or false"]


def test_missing_required_fields(api):
    response = api.post(APPS, {}, format="json")

    assert response.status_code == 400
    assert error_messages(response) == ["name: is required", "domain: is required"]


def test_malformed_json_is_400_in_the_envelope(api):
    response = api.generic("POST", APPS, "{not json", content_type="application/json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == 6007


def test_not_a_json_object(api):
    response = api.post(APPS, [1, 2], format="json")

    assert response.status_code == 400
    assert response.json()["success"] is False


def test_unauthenticated_is_401_naming_bearer():
    response = APIClient().get(APPS)

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["errors"] == [
        {"code": 10000, "message": "Authentication credentials were not provided."}
    ]


def test_invalid_token_is_401():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer apt_0123456789abcdef_nope")

    response = client.get(APPS)

    assert response.status_code == 401
    assert response.json()["errors"] == [{"code": 10000, "message": "Invalid API token."}]


def test_reading_needs_the_view_permission(client_with):
    ApplicationFactory()

    assert client_with().get(APPS).status_code == 403
    assert client_with("policies.view_application").get(APPS).status_code == 200


def test_creating_needs_the_add_permission(client_with):
    payload = {"name": "Wiki", "domain": "wiki.example.com"}

    denied = client_with("policies.view_application").post(APPS, payload, format="json")
    allowed = client_with("policies.add_application").post(APPS, payload, format="json")

    assert denied.status_code == 403
    assert denied.json()["errors"][0]["code"] == 10001
    assert allowed.status_code == 201


def test_changing_needs_the_change_permission(client_with):
    application = ApplicationFactory()
    url = f"{APPS}/{application.pk}"

    assert client_with("policies.view_application").patch(url, {}, format="json").status_code == 403
    assert (
        client_with("policies.change_application").patch(url, {}, format="json").status_code == 200
    )


def test_deleting_needs_the_delete_permission(client_with):
    application = ApplicationFactory()
    url = f"{APPS}/{application.pk}"

    assert client_with("policies.change_application").delete(url).status_code == 403
    assert client_with("policies.delete_application").delete(url).status_code == 200


def test_read_only_token_cannot_write_even_as_superuser(admin_user):
    from tests.api.conftest import token_client

    client = token_client(admin_user, read_only=True)

    assert client.get(APPS).status_code == 200
    response = client.post(APPS, {"name": "Wiki", "domain": "wiki.example.com"}, format="json")
    assert response.status_code == 403
    assert error_messages(response) == ["This API token is read-only: it cannot change anything."]
    assert not Application.objects.exists()


def test_unknown_route_under_the_prefix_is_404_in_the_envelope(api):
    response = api.get("/api/access/nothing-here")

    assert response.status_code == 404
    assert response.json()["errors"] == [{"code": 7000, "message": "No route for that URI"}]


def test_wrong_method_is_405_in_the_envelope(api):
    response = api.delete(APPS)

    assert response.status_code == 405
    assert response.json()["errors"][0]["code"] == 7001


def test_id_too_large_for_the_database_is_404(api):
    response = api.get(f"{APPS}/132628180063430936187162912096256")

    assert response.status_code == 404
    assert response.json()["success"] is False


def test_page_past_what_a_database_can_count_is_a_validation_error(api):
    response = api.get(APPS, {"page": 10**30})

    assert response.status_code == 400
    assert error_messages(response)[0].startswith("page: Ensure this value is less than")
