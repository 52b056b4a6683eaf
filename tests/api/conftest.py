"""Fixtures for the API tests: users with chosen permissions, and their API tokens."""

from collections.abc import Callable, Iterable

import pytest
from django.contrib.auth.models import Permission, User
from rest_framework.test import APIClient

from common.api.tokens import api_token_create
from tests.factories import UserFactory

MakeUser = Callable[..., User]


@pytest.fixture(autouse=True)
def _api_on_login_host(on_login_host: None) -> None:
    """The API is served on the login host (see `on_login_host`)."""


@pytest.fixture
def make_user(db: None) -> MakeUser:
    """A user holding exactly the permissions named `app_label.codename`."""

    def make(*permissions: str, **fields: object) -> User:
        user = UserFactory(**fields)
        for name in permissions:
            app_label, codename = name.split(".")
            user.user_permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        return user

    return make


def bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def token_client(user: User, *, read_only: bool = False) -> APIClient:
    """An API client that sends a fresh API token of `user`."""
    _, plain = api_token_create(
        name=f"token of {user.username}", user=user, created_by=user, read_only=read_only
    )
    client = APIClient()
    client.credentials(**bearer(plain))
    return client


@pytest.fixture
def admin_user(db: None) -> User:
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def api(admin_user: User) -> APIClient:
    """A client with a read-write API token of a superuser."""
    return token_client(admin_user)


@pytest.fixture
def client_with(make_user: MakeUser) -> Callable[..., APIClient]:
    """A client whose token's user has exactly `permissions`."""

    def make(*permissions: str, read_only: bool = False) -> APIClient:
        return token_client(make_user(*permissions), read_only=read_only)

    return make


def error_messages(response: object) -> list[str]:
    return [error["message"] for error in response.json()["errors"]]  # type: ignore[attr-defined]


def all_permissions(app_label: str, model: str, actions: Iterable[str]) -> list[str]:
    return [f"{app_label}.{action}_{model}" for action in actions]
