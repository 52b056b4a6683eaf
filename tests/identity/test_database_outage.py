"""The database lost in the middle of a request: sign-in, logout, the API and the admin answer the
gate's own 503 (try again in a few seconds, never cached), never a 500 and never a pass.

The outage is Django's own: every query of the request raises `OperationalError` (the server went
away) or `InterfaceError` (the connection was already closed), as psycopg reports a cut link. What
was in memory before the outage (the policy snapshot) stays there, so each request gets past the
gate and meets the outage in its view, where the 500 used to come from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from functools import partial

import pytest
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError, ProgrammingError
from django.test import Client

from identity.cookies import CF_AUTHORIZATION
from identity.models import AccessSession
from policies.snapshot import get_snapshot
from tests.api.conftest import token_client
from tests.gatekit import database_refuses
from tests.identity.signin_support import NAVIGATION, Browser, LoginFlow, make_application

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"
UNAVAILABLE_BODY = b"Service unavailable: access configuration cannot be loaded.\n"

Outage = Callable[[], AbstractContextManager[None]]


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.ACCESS_TEAM_DOMAIN = ""
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600  # the snapshot in memory stays current
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(params=[OperationalError, InterfaceError], ids=lambda error: error.__name__)
def outage(request) -> Outage:
    return partial(database_refuses, error=request.param)


@pytest.fixture
def flow() -> LoginFlow:
    get_user_model().objects.create_user("ann", email="ann@example.com", password=PASSWORD)
    flow = LoginFlow(Browser(), make_application(domain="app.localhost/demo"))
    flow.browser.client.raise_request_exception = False
    assert flow.open().status_code == 200  # the page and the snapshot, before the outage
    get_snapshot()
    return flow


def assert_unavailable(response) -> None:
    """The gate's 503 (`identity.answers.unavailable`), to the byte."""
    assert response.status_code == 503
    assert response.content == UNAVAILABLE_BODY
    assert response["Content-Type"] == "text/plain"
    assert response["Cache-Control"] == "no-store"
    assert response["Retry-After"] == "5"
    assert CF_AUTHORIZATION not in response.cookies


def test_password_sign_in_answers_503(flow, outage):
    with outage():
        response = flow.password("ann", PASSWORD)

    assert_unavailable(response)
    assert not AccessSession.objects.exists()


def test_password_sign_in_works_again_when_the_database_is_back(flow, outage):
    with outage():
        flow.password("ann", PASSWORD)

    response = flow.password("ann", PASSWORD)

    assert response.status_code == 302
    assert AccessSession.objects.get().email == "ann@example.com"


def test_logout_answers_503_and_revokes_nothing(flow, outage):
    hop = flow.password("ann", PASSWORD)
    assert hop.status_code == 302
    assert AccessSession.objects.filter(revoked_at__isnull=True).count() == 1

    with outage():
        response = flow.browser.get("https://app.localhost/cdn-cgi/access/logout", **NAVIGATION)

    assert_unavailable(response)
    assert AccessSession.objects.filter(revoked_at__isnull=True).count() == 1


@pytest.fixture
def api_client(on_login_host, db):
    administrator = get_user_model().objects.create_superuser("root", "root@example.com", None)
    client = token_client(administrator)
    client.raise_request_exception = False
    assert client.get("/api/access/apps").status_code == 200
    return client


def test_the_api_answers_503(api_client, outage):
    with outage():
        response = api_client.get("/api/access/apps")

    assert_unavailable(response)


def test_an_api_write_answers_503(api_client, outage):
    with outage():
        response = api_client.post(
            "/api/access/apps",
            {"name": "Wiki", "domain": "wiki.localhost"},
            format="json",
        )

    assert_unavailable(response)


@pytest.fixture
def admin_client(on_login_host, db) -> Client:
    administrator = get_user_model().objects.create_superuser("root", "root@example.com", None)
    client = Client(raise_request_exception=False)
    client.force_login(administrator)
    assert client.get("/admin/").status_code == 200
    return client


@pytest.mark.parametrize("path", ["/admin/", "/admin/policies/application/"])
def test_the_admin_answers_503(admin_client, outage, path):
    with outage():
        response = admin_client.get(path)

    assert_unavailable(response)


def test_the_outage_is_logged_with_its_cause(api_client, caplog):
    with caplog.at_level(logging.ERROR), database_refuses():
        api_client.get("/api/access/apps")

    [record] = [record for record in caplog.records if record.exc_info]
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], OperationalError)
    assert record.levelno == logging.ERROR


def test_a_database_error_that_is_no_outage_is_not_hidden(api_client):
    # A bad query is a bug: it must show as one (a 500), not as a passing outage.
    with database_refuses(error=ProgrammingError):
        response = api_client.get("/api/access/apps")

    assert response.status_code == 500
