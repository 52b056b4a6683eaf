"""API tokens in Django admin: the plain token is shown once, right after creation."""

from datetime import timedelta

import pytest
from django.utils import timezone

from common.api.tokens import api_token_authenticate
from common.models import ApiToken
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/common/apitoken/add/"


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(username="admin", is_staff=True, is_superuser=True))
    return client


def test_add_page_loads(admin_client):
    response = admin_client.get(ADD)

    assert response.status_code == 200
    assert b"secret_hash" not in response.content


def test_created_token_is_shown_once_and_works(admin_client):
    owner = UserFactory(username="ci-bot")

    response = admin_client.post(ADD, {"name": "deploy", "user": owner.pk, "read_only": "on"})

    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    plain = response.context["plain_token"]
    assert plain.encode() in response.content
    token = ApiToken.objects.get(name="deploy")
    assert api_token_authenticate(plain) == token
    assert token.read_only is True
    changelist = admin_client.get("/admin/common/apitoken/")
    change = admin_client.get(f"/admin/common/apitoken/{token.pk}/change/")
    for page in (changelist, change):
        assert page.status_code == 200
        assert plain.split("_")[2].encode() not in page.content


def test_expired_expiry_is_refused_on_the_form(admin_client):
    owner = UserFactory(username="ci-bot")
    past = timezone.now() - timedelta(days=1)

    response = admin_client.post(
        ADD,
        {
            "name": "deploy",
            "user": owner.pk,
            "expires_at_0": past.strftime("%Y-%m-%d"),
            "expires_at_1": past.strftime("%H:%M:%S"),
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"expires_at": ["must be in the future"]}
    assert not ApiToken.objects.exists()


def test_change_page_keeps_the_user_fixed(admin_client):
    owner = UserFactory(username="ci-bot")
    other = UserFactory(username="other")
    admin_client.post(ADD, {"name": "deploy", "user": owner.pk})
    token = ApiToken.objects.get()

    admin_client.post(
        f"/admin/common/apitoken/{token.pk}/change/",
        {"name": "renamed", "user": other.pk, "read_only": ""},
    )

    token.refresh_from_db()
    assert (token.name, token.user, token.read_only) == ("renamed", owner, False)
