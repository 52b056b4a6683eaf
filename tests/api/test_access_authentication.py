"""`AccessAuthentication`: DRF views behind the gate see who passed it as `request.user`."""

from types import SimpleNamespace

import pytest
from django.test import Client
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from identity.api.authentication import AccessAuthentication, AccessUser
from identity.cookies import CF_AUTHORIZATION
from tests.factories import UserFactory
from tests.gatekit import API_HOST, allow_policy, make_application, token_for

pytestmark = pytest.mark.django_db


def authenticate(access):
    request = APIRequestFactory().get("/whoami")
    if access is not None:
        request.access = access
    return AccessAuthentication().authenticate(Request(request))


def access_of(*, email="", common_name="", claims=None):
    return SimpleNamespace(
        email=email, common_name=common_name, claims=claims or {"email": email}, aud="a" * 64
    )


def test_without_request_access_nobody_is_authenticated():
    assert authenticate(None) is None


def test_person_with_a_django_account_becomes_that_user():
    user = UserFactory(username="ann", email="Ann@Example.com")
    claims = {"email": "ann@example.com", "aud": ["a" * 64]}

    result = authenticate(access_of(email="ann@example.com", claims=claims))

    assert result == (user, claims)


def test_person_without_an_account_is_an_access_user():
    user, claims = authenticate(access_of(email="ann@example.com"))

    assert user == AccessUser(email="ann@example.com")
    assert user.is_authenticated is True
    assert user.has_perm("policies.view_application") is False
    assert claims == {"email": "ann@example.com"}


def test_inactive_account_is_not_used():
    UserFactory(username="ann", email="ann@example.com", is_active=False)

    user, _ = authenticate(access_of(email="ann@example.com"))

    assert isinstance(user, AccessUser)


def test_two_accounts_with_one_address_are_not_guessed_between():
    UserFactory(username="ann1", email="ann@example.com")
    UserFactory(username="ann2", email="ann@example.com")

    user, _ = authenticate(access_of(email="ann@example.com"))

    assert isinstance(user, AccessUser)


def test_service_token_is_an_access_user_named_by_client_id():
    UserFactory(username="robot", email="")

    user, _ = authenticate(access_of(common_name="0" * 32 + ".access"))

    assert user == AccessUser(email="", common_name="0" * 32 + ".access")
    assert str(user) == "0" * 32 + ".access"


@pytest.mark.urls("tests.api.protected_urls")
def test_view_behind_the_gate_sees_the_signed_in_person():
    user = UserFactory(username="alice", email="alice@example.com")
    application = make_application(domain=f"{API_HOST}/whoami")
    allow_policy(application)
    client = Client()
    client.cookies[CF_AUTHORIZATION] = token_for(application)

    response = client.get("/whoami", HTTP_HOST=API_HOST)

    assert response.status_code == 200
    assert response.json() == {
        "user": "alice",
        "django_user_id": user.pk,
        "email": "alice@example.com",
        "aud": [application.aud],
    }


@pytest.mark.urls("tests.api.protected_urls")
def test_view_off_the_gate_refuses_everyone():
    response = Client().get("/whoami", HTTP_HOST=API_HOST)

    assert response.status_code == 403
