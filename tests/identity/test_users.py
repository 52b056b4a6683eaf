"""The optional Django user behind the gate: `request.user` from the Access token's email."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User

from identity.cookies import CF_AUTHORIZATION
from identity.users import AccessUserBackend
from tests.gatekit import API_HOST, allow_policy, make_application, service_token, token_for

pytestmark = pytest.mark.django_db

USER_MIDDLEWARE = "identity.users.AccessUserMiddleware"
AUTHENTICATION = "django.contrib.auth.middleware.AuthenticationMiddleware"
BACKEND = "identity.users.AccessUserBackend"


@pytest.fixture
def site(settings):
    """A site's own view at /who/, protected for alice@ and mallory@, with the user mapping on."""
    settings.ROOT_URLCONF = "tests.identity.urlconfs.whoami"
    middleware = list(settings.MIDDLEWARE)
    middleware.insert(middleware.index(AUTHENTICATION) + 1, USER_MIDDLEWARE)
    settings.MIDDLEWARE = middleware
    settings.AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend", BACKEND]
    application = make_application(domain=f"{API_HOST}/who")
    allow_policy(
        application,
        include=[
            {"email": {"email": "alice@example.com"}},
            {"email": {"email": "bob@example.com"}},
        ],
    )
    return application


def who(client, application, email="alice@example.com", path="/who/"):
    client.cookies[CF_AUTHORIZATION] = token_for(application, email=email)
    response = client.get(path, HTTP_HOST=API_HOST)
    assert response.status_code == 200
    return response.json()


def test_the_user_with_the_token_email_is_request_user(client, site):
    User.objects.create_user("alice", email="Alice@Example.com")

    body = who(client, site)

    assert body == {
        "authenticated": True,
        "username": "alice",
        "backend": BACKEND,
        "access_email": "alice@example.com",
    }


def test_async_views_get_the_same_user(client, site):
    User.objects.create_user("alice", email="alice@example.com")

    assert who(client, site, path="/who/async")["username"] == "alice"


def test_an_address_without_an_account_is_anonymous(client, site):
    User.objects.create_user("alice", email="alice@elsewhere.example")

    body = who(client, site)

    assert body["authenticated"] is False
    assert body["access_email"] == "alice@example.com"
    assert User.objects.count() == 1  # nothing created: ACCESS_CREATE_USERS is off


def test_an_address_shared_by_two_accounts_names_nobody(client, site):
    User.objects.create_user("alice", email="alice@example.com")
    User.objects.create_user("alice2", email="ALICE@example.com")

    assert who(client, site)["authenticated"] is False


def test_an_inactive_account_is_anonymous(client, site):
    User.objects.create_user("alice", email="alice@example.com", is_active=False)

    assert who(client, site)["authenticated"] is False


def test_the_session_user_is_not_used_on_a_gated_path(client, site):
    """Someone signed in to Django as another person is still only who the Access token says."""
    User.objects.create_user("bob", email="bob@example.com")
    admin = User.objects.create_user("admin", email="admin@example.com")
    client.force_login(admin)

    assert who(client, site, email="bob@example.com")["username"] == "bob"
    assert who(client, site, email="alice@example.com")["authenticated"] is False


def test_paths_the_gate_does_not_cover_keep_the_session_user(client, site):
    admin = User.objects.create_user("admin", email="admin@example.com")
    client.force_login(admin)

    body = client.get("/open/", HTTP_HOST=API_HOST).json()

    assert body["username"] == "admin"
    assert body["access_email"] is None


def test_without_the_middleware_request_user_is_the_session_user(client, site, settings):
    settings.MIDDLEWARE = [entry for entry in settings.MIDDLEWARE if entry != USER_MIDDLEWARE]
    User.objects.create_user("alice", email="alice@example.com")

    assert who(client, site)["authenticated"] is False


def test_create_users_makes_an_account_for_a_new_address(client, site, settings):
    settings.ACCESS_CREATE_USERS = True

    first = who(client, site)
    second = who(client, site)

    assert first["username"] == second["username"] == "alice@example.com"
    user = User.objects.get()
    assert user.email == "alice@example.com"
    assert not user.has_usable_password()


def test_create_users_never_makes_a_second_account_for_a_deactivated_one(client, site, settings):
    settings.ACCESS_CREATE_USERS = True
    User.objects.create_user("alice", email="alice@example.com", is_active=False)

    assert who(client, site)["authenticated"] is False
    assert User.objects.count() == 1


def test_create_users_does_not_take_over_a_username(client, site, settings):
    settings.ACCESS_CREATE_USERS = True
    User.objects.create_user("alice@example.com", email="someone-else@example.com")

    assert who(client, site)["authenticated"] is False
    assert User.objects.count() == 1


class _Access:
    def __init__(self, email="", common_name=""):
        self.email = email
        self.common_name = common_name


def test_the_backend_never_authenticates_a_service_token_or_a_password():
    get_user_model().objects.create_user("alice", email="alice@example.com", password="pw")
    backend = AccessUserBackend()

    assert backend.authenticate(None, access=_Access("alice@example.com")) is not None
    assert backend.authenticate(None, access=_Access("", common_name="ci.access")) is None
    assert backend.authenticate(None, access=_Access("alice@example.com", common_name="x")) is None
    assert backend.authenticate(None, username="alice", password="pw") is None
    assert backend.authenticate(None) is None


def test_a_service_token_is_never_request_user(client, site, settings):
    token, secret = service_token()
    allow_policy(
        site,
        name="ci",
        decision="non_identity",
        precedence=2,
        include=[{"service_token": {"name": token.name}}],
    )
    User.objects.create_user("ci", email="")

    body = client.get(
        "/who/",
        HTTP_HOST=API_HOST,
        HTTP_CF_ACCESS_CLIENT_ID=token.client_id,
        HTTP_CF_ACCESS_CLIENT_SECRET=secret,
    ).json()

    assert body["authenticated"] is False
