"""`/api/access/apps` with the App Launcher's fields: `type`, `app_launcher_visible`, `logo_url`."""

import pytest

from policies.models import Application
from tests.api.conftest import error_messages
from tests.policies.test_app_launcher_fields import LOGO_MESSAGE, PEOPLE

pytestmark = pytest.mark.django_db


def test_the_api_creates_the_app_launcher_without_a_domain(api):
    response = api.post(
        "/api/access/apps", {"name": "App Launcher", "type": "app_launcher"}, format="json"
    )

    assert response.status_code == 201
    result = response.json()["result"]
    assert (result["type"], result["domain"]) == ("app_launcher", "")
    policy = api.post(f"/api/access/apps/{result['id']}/policies", PEOPLE, format="json")
    assert policy.status_code == 201


def test_the_api_reads_and_writes_the_tile_fields(api):
    response = api.post(
        "/api/access/apps",
        {
            "name": "Wiki",
            "domain": "wiki.example.com",
            "app_launcher_visible": False,
            "logo_url": "https://cdn.example.com/wiki.png",
        },
        format="json",
    )

    assert response.status_code == 201
    result = response.json()["result"]
    assert result["type"] == "self_hosted"
    assert result["app_launcher_visible"] is False
    assert result["logo_url"] == "https://cdn.example.com/wiki.png"


def test_the_api_refuses_a_bad_logo_url_by_field(api):
    response = api.post(
        "/api/access/apps",
        {"name": "Wiki", "domain": "wiki.example.com", "logo_url": "javascript:alert(1)"},
        format="json",
    )

    assert response.status_code == 400
    assert error_messages(response) == [f"logo_url: {LOGO_MESSAGE}"]
    assert not Application.objects.exists()


def test_the_api_still_requires_a_domain_of_a_protected_application(api):
    response = api.post("/api/access/apps", {"name": "Wiki"}, format="json")

    assert response.status_code == 400
    assert error_messages(response) == ["domain: is required"]
