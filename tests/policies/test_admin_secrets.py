"""A service-token secret made in the admin is shown on a page of its own, once.

Django's messages travel in a cookie (signed, not encrypted) or in the session: a secret put in
a message would be readable by anything that sees the browser's cookies or the session store.
"""

import logging
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from common.credentials import verify_secret
from policies.models import ServiceToken
from tests.factories import ServiceTokenFactory

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:policies_servicetoken_changelist")


def _secret_on_page(response, token: ServiceToken) -> str:
    """The secret the page shows next to `token`'s client id."""
    secrets = response.context["secrets"]
    (secret,) = [shown.secret for shown in secrets if shown.client_id == token.client_id]
    return secret


def _assert_kept_out_of_storage(client, response, secret: str) -> None:
    """The secret is in no cookie set, no session and no message of the next page."""
    assert all(secret not in morsel.value for morsel in response.cookies.values())
    assert secret not in str(dict(client.session.items()))
    following = client.get(CHANGELIST)
    assert secret not in following.content.decode()
    assert all(secret not in morsel.value for morsel in following.cookies.values())
    assert all(secret not in str(message) for message in following.context["messages"])


def test_created_secret_is_shown_on_its_own_page_and_nowhere_else(admin_client, caplog):
    caplog.set_level(logging.DEBUG)

    response = admin_client.post(
        reverse("admin:policies_servicetoken_add"), {"name": "ci", "duration": "8760h"}
    )

    token = ServiceToken.objects.get(name="ci")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    secret = _secret_on_page(response, token)
    assert verify_secret(secret, token.secret_hash)
    page = response.content.decode()
    assert secret in page
    assert token.client_id in page
    assert secret not in caplog.text
    _assert_kept_out_of_storage(admin_client, response, secret)
    change = admin_client.get(reverse("admin:policies_servicetoken_change", args=[token.pk]))
    assert secret not in change.content.decode()


def test_rotated_secrets_are_shown_on_their_own_page(admin_client, caplog):
    caplog.set_level(logging.DEBUG)
    first = ServiceTokenFactory(name="first")
    second = ServiceTokenFactory(name="second")

    response = admin_client.post(
        CHANGELIST,
        {"action": "rotate_secret", "_selected_action": [first.pk, second.pk]},
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    for token in (first, second):
        token.refresh_from_db()
        secret = _secret_on_page(response, token)
        assert verify_secret(secret, token.secret_hash)
        assert token.client_secret_version == 2
        assert token.previous_secret_expires_at > timezone.now() + timedelta(hours=23)
        assert secret not in caplog.text
        _assert_kept_out_of_storage(admin_client, response, secret)
