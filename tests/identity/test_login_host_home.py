"""`/` on the login host says what the host is and links on; elsewhere it is no page of ours."""

import pytest
from django.test import Client

LOGIN_HOST = "access.localhost"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _team_domain(settings):
    settings.ACCESS_TEAM_DOMAIN = LOGIN_HOST
    settings.ALLOWED_HOSTS = [LOGIN_HOST, "wiki.localhost", "Access.Localhost"]


def test_the_login_hosts_root_says_what_the_host_is_and_links_to_sign_in():
    response = Client().get("/", HTTP_HOST=LOGIN_HOST, secure=True)

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    body = response.content.decode()
    assert "<h1>access.localhost</h1>" in body
    assert "This is where you sign in to the applications protected by accessproject." in body
    assert '<a href="/cdn-cgi/access/account">Sign in to your account</a>' in body


def test_the_login_hosts_root_answers_head():
    response = Client().head("/", HTTP_HOST=LOGIN_HOST, secure=True)

    assert response.status_code == 200


@pytest.mark.parametrize("method", ["post", "put", "delete"])
def test_the_login_hosts_root_refuses_other_methods(method):
    response = getattr(Client(), method)("/", HTTP_HOST=LOGIN_HOST, secure=True)

    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"


def test_the_host_is_compared_in_lower_case():
    response = Client().get("/", HTTP_HOST="Access.Localhost", secure=True)

    assert response.status_code == 200
    assert "<h1>access.localhost</h1>" in response.content.decode()


def test_an_application_hosts_root_is_not_the_login_page(settings):
    response = Client().get("/", HTTP_HOST="wiki.localhost", secure=True)

    assert response.status_code == 404
    assert b"This is where you sign in" not in response.content


def test_without_a_team_domain_no_host_shows_it(settings):
    settings.ACCESS_TEAM_DOMAIN = ""

    response = Client().get("/", HTTP_HOST=LOGIN_HOST, secure=True)

    assert response.status_code == 404
