"""`/api/access/service_tokens`: the secret is shown once, stored hashed, rotated and refreshed."""

from datetime import timedelta

import pytest
from django.utils import timezone

from common.credentials import verify_secret
from policies.models import ServiceToken
from tests.api.conftest import error_messages
from tests.factories import PolicyFactory, ServiceTokenFactory

pytestmark = pytest.mark.django_db

TOKENS = "/api/access/service_tokens"


def test_create_returns_the_secret_once(api):
    response = api.post(TOKENS, {"name": "ci", "duration": "24h"}, format="json")

    assert response.status_code == 201
    result = response.json()["result"]
    token = ServiceToken.objects.get(name="ci")
    assert result["client_id"] == token.client_id
    assert verify_secret(result["client_secret"], token.secret_hash)
    assert result["client_secret"] not in token.secret_hash
    assert "client_secret" not in api.get(f"{TOKENS}/{token.pk}").json()["result"]
    assert all("client_secret" not in item for item in api.get(TOKENS).json()["result"])


@pytest.mark.parametrize("action", ["create", "rotate"])
def test_answers_holding_a_secret_are_never_cached(api, action):
    if action == "create":
        response = api.post(TOKENS, {"name": "ci", "duration": "24h"}, format="json")
    else:
        response = api.post(f"{TOKENS}/{ServiceTokenFactory().pk}/rotate")

    assert "client_secret" in response.json()["result"]
    assert "no-store" in response["Cache-Control"].split(", ")
    assert "private" in response["Cache-Control"].split(", ")


def test_create_sets_the_expiry_from_the_duration(api):
    before = timezone.now()

    response = api.post(TOKENS, {"name": "ci", "duration": "24h"}, format="json")

    token = ServiceToken.objects.get(name="ci")
    assert before + timedelta(hours=24) <= token.expires_at
    assert response.json()["result"]["duration"] == "24h"


def test_forever_token_has_no_expiry(api):
    response = api.post(TOKENS, {"name": "ci", "duration": "forever"}, format="json")

    assert response.json()["result"]["expires_at"] is None


def test_bad_duration_is_refused(api):
    response = api.post(TOKENS, {"name": "ci", "duration": "a while"}, format="json")

    assert response.status_code == 400
    assert [message.split(":")[0] for message in error_messages(response)] == ["duration"]
    assert not ServiceToken.objects.exists()


def test_secret_cannot_be_chosen_through_the_api(api):
    response = api.post(TOKENS, {"name": "ci", "client_secret": "x" * 64}, format="json")

    assert response.status_code == 400
    assert error_messages(response)[0].startswith("client_secret: unknown field")


def test_rotate_returns_a_new_secret_and_keeps_the_old_one_for_a_while(api):
    token = ServiceTokenFactory(secret="old" * 22)

    response = api.post(f"{TOKENS}/{token.pk}/rotate")

    assert response.status_code == 200
    result = response.json()["result"]
    token.refresh_from_db()
    assert verify_secret(result["client_secret"], token.secret_hash)
    assert verify_secret("old" * 22, token.previous_secret_hash)
    assert result["client_secret_version"] == 2
    assert result["previous_secret_expires_at"] is not None


def test_refresh_extends_the_expiry(api):
    token = ServiceTokenFactory(duration="1h", expires_at=timezone.now() + timedelta(minutes=1))

    response = api.post(f"{TOKENS}/{token.pk}/refresh")

    assert response.status_code == 200
    token.refresh_from_db()
    assert token.expires_at > timezone.now() + timedelta(minutes=59)
    assert "client_secret" not in response.json()["result"]


def test_patch_renames(api):
    token = ServiceTokenFactory(name="ci")

    response = api.patch(f"{TOKENS}/{token.pk}", {"name": "deploy"}, format="json")

    assert response.status_code == 200
    assert ServiceToken.objects.get(pk=token.pk).name == "deploy"


def test_token_in_use_cannot_be_deleted(api):
    token = ServiceTokenFactory(name="ci")
    PolicyFactory(decision="non_identity", include=[{"service_token": {"name": "ci"}}])

    response = api.delete(f"{TOKENS}/{token.pk}")

    assert response.status_code == 400
    assert ServiceToken.objects.filter(pk=token.pk).exists()


def test_delete(api):
    token = ServiceTokenFactory()

    assert api.delete(f"{TOKENS}/{token.pk}").status_code == 200
    assert not ServiceToken.objects.filter(pk=token.pk).exists()


def test_rotate_unknown_is_404(api):
    assert api.post(f"{TOKENS}/999999/rotate").status_code == 404


def test_rotate_and_refresh_need_the_change_permission(client_with):
    token = ServiceTokenFactory()

    for action in ("rotate", "refresh"):
        url = f"{TOKENS}/{token.pk}/{action}"
        assert client_with("policies.add_servicetoken").post(url).status_code == 403
        assert client_with("policies.change_servicetoken").post(url).status_code == 200


def test_read_only_token_cannot_rotate(client_with):
    token = ServiceTokenFactory()
    client = client_with("policies.change_servicetoken", read_only=True)

    response = client.post(f"{TOKENS}/{token.pk}/rotate")

    assert response.status_code == 403
    assert ServiceToken.objects.get(pk=token.pk).client_secret_version == 1
