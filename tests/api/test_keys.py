"""`/api/access/keys`: public keys only, and rotation."""

import pytest

from identity.models import SigningKey

pytestmark = pytest.mark.django_db

KEYS = "/api/access/keys"


def test_list_shows_the_current_public_key(api):
    response = api.get(KEYS)

    assert response.status_code == 200
    [key] = response.json()["result"]
    assert key["current"] is True
    assert set(key["jwk"]) == {"kty", "kid", "alg", "use", "n", "e"}
    assert key["jwk"]["kid"] == key["kid"]
    assert key["cert"].startswith("-----BEGIN CERTIFICATE-----")
    assert "PRIVATE" not in response.content.decode()


def test_rotate_makes_a_new_current_key_and_keeps_the_previous(api):
    first = api.get(KEYS).json()["result"][0]["kid"]

    response = api.post(f"{KEYS}/rotate")

    assert response.status_code == 200
    keys = response.json()["result"]
    current = [key["kid"] for key in keys if key["current"]]
    assert len(current) == 1
    assert current[0] != first
    previous = next(key for key in keys if key["kid"] == first)
    assert previous["retired_at"] is not None
    assert previous["expires_at"] is not None
    assert SigningKey.objects.filter(retired_at__isnull=True).count() == 1


def test_rotating_needs_the_change_permission(client_with):
    assert client_with("identity.view_signingkey").get(KEYS).status_code == 200
    assert client_with("identity.view_signingkey").post(f"{KEYS}/rotate").status_code == 403
    assert client_with("identity.change_signingkey").post(f"{KEYS}/rotate").status_code == 200
