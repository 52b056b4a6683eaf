"""An API token never carries more than its user may do, and only a superuser makes one for
someone else: the staff member allowed to add tokens cannot borrow the superuser's rights."""

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from common.api.tokens import api_token_create
from common.models import ApiToken
from tests.api.conftest import bearer, error_messages
from tests.factories import ApplicationFactory, UserFactory

pytestmark = pytest.mark.django_db

ADD = "/admin/common/apitoken/add/"


def _grant(user, *codenames):
    for codename in codenames:
        user.user_permissions.add(Permission.objects.get(codename=codename))


@pytest.fixture
def superuser():
    return UserFactory(username="root", is_staff=True, is_superuser=True)


@pytest.fixture
def staff(client):
    """A staff member who may add API tokens and nothing else, signed in to the admin."""
    user = UserFactory(username="clerk", is_staff=True)
    _grant(user, "add_apitoken")
    client.force_login(user)
    return user


def _api(plain: str) -> APIClient:
    api = APIClient()
    api.credentials(**bearer(plain))
    return api


def test_staff_cannot_create_a_token_for_the_superuser_in_the_admin(client, staff, superuser):
    application = ApplicationFactory(name="Wiki", domain="wiki.example.com")

    response = client.post(ADD, {"name": "mine now", "user": superuser.pk, "read_only": ""})

    assert response.status_code == 200
    assert "plain_token" not in response.context
    assert list(response.context["adminform"].form.errors) == ["user"]
    assert not ApiToken.objects.exists()
    # Nor through the service the admin calls, whatever form sits in front of it.
    with pytest.raises(ValidationError) as caught:
        api_token_create(name="mine now", user=superuser, created_by=staff, read_only=False)
    assert list(caught.value.message_dict) == ["user"]
    assert not ApiToken.objects.exists()
    application.refresh_from_db()
    assert application.name == "Wiki"


def test_staff_creates_a_token_for_themselves(client, staff, superuser):
    page = client.get(ADD)
    choices = [value for value, _ in page.context["adminform"].form.fields["user"].choices if value]

    response = client.post(ADD, {"name": "own", "user": staff.pk, "read_only": "on"})

    assert [str(choice) for choice in choices] == [str(staff.pk)]
    assert response.status_code == 200
    token = ApiToken.objects.get()
    assert (token.user, token.name) == (staff, "own")
    assert response.context["plain_token"].startswith(f"apt_{token.key_id}_")


def test_superuser_creates_a_token_for_another_user(client, superuser):
    client.force_login(superuser)
    bot = UserFactory(username="ci-bot")

    response = client.post(ADD, {"name": "deploy", "user": bot.pk, "read_only": "on"})

    assert response.status_code == 200
    assert ApiToken.objects.get().user == bot


def test_service_lets_a_superuser_create_for_another_user(superuser):
    bot = UserFactory(username="ci-bot")

    token, _ = api_token_create(name="deploy", user=bot, created_by=superuser)

    assert token.user == bot


def test_service_lets_anyone_create_their_own_token():
    person = UserFactory()

    token, _ = api_token_create(name="mine", user=person, created_by=person)

    assert token.user == person


def test_token_loses_a_permission_its_user_loses():
    application = ApplicationFactory(name="Wiki", domain="wiki.example.com")
    editor = UserFactory(username="editor")
    _grant(editor, "change_application")
    _, plain = api_token_create(name="edit", user=editor, created_by=editor, read_only=False)
    url = f"/api/access/apps/{application.pk}"
    first = _api(plain).patch(url, {"name": "Wiki 2"}, format="json")

    editor.user_permissions.clear()
    second = _api(plain).patch(url, {"name": "Wiki 3"}, format="json")

    assert first.status_code == 200
    assert second.status_code == 403
    assert error_messages(second) == ["You do not have permission to perform this action."]
    application.refresh_from_db()
    assert application.name == "Wiki 2"


def test_token_of_a_demoted_superuser_loses_its_rights(superuser):
    application = ApplicationFactory(name="Wiki", domain="wiki.example.com")
    _, plain = api_token_create(name="root", user=superuser, created_by=superuser, read_only=False)
    url = f"/api/access/apps/{application.pk}"
    first = _api(plain).get(url)

    superuser.is_superuser = False
    superuser.save()
    second = _api(plain).get(url)

    assert first.status_code == 200
    assert second.status_code == 403


def test_token_of_a_deactivated_user_is_refused_at_once(superuser):
    _, plain = api_token_create(name="root", user=superuser, created_by=superuser)
    first = _api(plain).get("/api/access/apps")

    superuser.is_active = False
    superuser.save()
    second = _api(plain).get("/api/access/apps")

    assert first.status_code == 200
    assert second.status_code == 401
    assert error_messages(second) == ["The user of this API token is inactive."]
