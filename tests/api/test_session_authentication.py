"""Signed-in admins use the API from the browser (the browsable API), with CSRF enforced."""

import pytest
from rest_framework.test import APIClient

from policies.models import Application
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

APPS = "/api/access/apps"
WIKI = {"name": "Wiki", "domain": "wiki.example.com"}


@pytest.fixture
def browser():
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


def test_session_can_read(browser):
    response = browser.get(APPS)

    assert response.status_code == 200
    assert response.json()["success"] is True


def test_session_write_without_csrf_token_is_refused(browser):
    response = browser.post(APPS, WIKI, format="json")

    assert response.status_code == 403
    assert response.json()["errors"][0]["message"].startswith("CSRF Failed")
    assert not Application.objects.exists()


def test_session_write_with_csrf_token_is_accepted(browser):
    browser.get("/admin/")  # any page that sets the CSRF cookie
    token = browser.cookies["csrftoken"].value

    response = browser.post(APPS, WIKI, format="json", HTTP_X_CSRFTOKEN=token)

    assert response.status_code == 201


def test_browsable_api_renders_for_a_signed_in_admin(browser):
    response = browser.get(APPS, HTTP_ACCEPT="text/html")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")


def test_schema_and_docs_pages_are_served(client):
    schema = client.get("/api/schema/")
    docs = client.get("/api/docs/")
    redoc = client.get("/api/redoc/")

    assert schema.status_code == 200
    assert b"/api/access/apps" in schema.content
    assert (docs.status_code, redoc.status_code) == (200, 200)


@pytest.mark.parametrize("page", ["/api/docs/", "/api/redoc/"])
def test_docs_pages_load_their_scripts_from_this_site(client, page):
    response = client.get(page)

    assert response.status_code == 200
    assert b"cdn." not in response.content
    assert b"/static/drf_spectacular_sidecar/" in response.content
