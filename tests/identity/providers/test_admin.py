"""The identity providers' admin: config and write-only secret, and the "Test" button."""

from __future__ import annotations

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse

from policies.models import IdentityProvider
from policies.providers import decrypt_secrets
from tests.identity.providers.conftest import CLIENT_ID, CLIENT_SECRET, make_oidc_provider

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("on_login_host")]


def messages_of(response) -> list[tuple[str, str]]:
    return [(message.level_tag, str(message)) for message in get_messages(response.wsgi_request)]


def test_adding_an_oidc_provider_stores_the_secret_encrypted_and_never_shows_it(admin_client):
    response = admin_client.post(
        reverse("admin:policies_identityprovider_add"),
        {
            "name": "Corp",
            "type": "oidc",
            "config": '{"client_id": "app", "issuer": "https://idp.example.com"}',
            "client_secret": "s3cret-in-the-admin",
        },
    )

    assert response.status_code == 302, response.content
    provider = IdentityProvider.objects.get(name="Corp")
    assert decrypt_secrets(provider.secrets) == {"client_secret": "s3cret-in-the-admin"}
    page = admin_client.get(reverse("admin:policies_identityprovider_change", args=[provider.pk]))
    assert "s3cret-in-the-admin" not in page.content.decode()
    assert "client_secret" not in str(provider.config)


def test_saving_without_a_secret_keeps_the_stored_one(admin_client):
    provider = make_oidc_provider("https://idp.example.com")
    response = admin_client.post(
        reverse("admin:policies_identityprovider_change", args=[provider.pk]),
        {
            "name": "Corp",
            "type": "oidc",
            "config": f'{{"client_id": "{CLIENT_ID}", "issuer": "https://idp.example.com", '
            '"claims": ["groups"]}',
            "client_secret": "",
        },
    )

    assert response.status_code == 302, response.content
    provider.refresh_from_db()
    assert provider.config["claims"] == ["groups"]
    assert decrypt_secrets(provider.secrets) == {"client_secret": CLIENT_SECRET}


def test_a_new_provider_without_a_secret_is_refused_on_the_secret_field(admin_client):
    response = admin_client.post(
        reverse("admin:policies_identityprovider_add"),
        {
            "name": "Corp",
            "type": "oidc",
            "config": '{"client_id": "app", "issuer": "https://idp.example.com"}',
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["client_secret"] == ["is required"]
    assert not IdentityProvider.objects.filter(name="Corp").exists()


@pytest.mark.oidc
def test_the_test_button_fetches_discovery_and_the_keys(admin_client, op):
    provider = make_oidc_provider(op.issuer)
    change = reverse("admin:policies_identityprovider_change", args=[provider.pk])
    assert 'id="test-provider"' in admin_client.get(change).content.decode()

    response = admin_client.post(
        reverse("admin:policies_identityprovider_test", args=[provider.pk]), follow=True
    )

    found = messages_of(response)
    assert (
        "info",
        f"Corp: discovery document: {op.issuer}/.well-known/openid-configuration",
    ) in found
    assert ("info", f"Corp: key set (JWKS): {op.issuer}/jwks, 1 public key(s)") in found
    assert ("success", "Corp: no problem found.") in found


@pytest.mark.oidc
@pytest.mark.parametrize(
    ("mode", "problem"),
    [
        (
            "discovery_wrong_issuer",
            "Corp: discovery document: its issuer is not the configured one",
        ),
        ("discovery_garbage", "Corp: discovery document: not JSON"),
        ("jwks_garbage", "Corp: key set (JWKS): not a set of keys"),
    ],
)
def test_the_test_button_says_what_is_wrong(admin_client, op, mode, problem):
    provider = make_oidc_provider(op.issuer)
    op.misbehave(mode)

    response = admin_client.post(
        reverse("admin:policies_identityprovider_test", args=[provider.pk]), follow=True
    )

    found = messages_of(response)
    assert ("error", problem) in found
    assert not any(level == "success" for level, _ in found)


def test_the_test_button_reports_an_unreachable_provider(admin_client):
    provider = make_oidc_provider("http://127.0.0.1:9")  # nothing listens on the discard port

    response = admin_client.post(
        reverse("admin:policies_identityprovider_test", args=[provider.pk]), follow=True
    )

    assert any(
        level == "error" and text.startswith("Corp: discovery document: unreachable")
        for level, text in messages_of(response)
    )


def test_the_test_button_takes_only_posts(admin_client):
    provider = make_oidc_provider("https://idp.example.com")
    url = reverse("admin:policies_identityprovider_test", args=[provider.pk])

    assert admin_client.get(url).status_code == 405
