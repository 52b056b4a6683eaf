"""`/api/access/identity_providers`."""

import pytest

from policies.models import IdentityProvider
from tests.api.conftest import error_messages
from tests.factories import ApplicationFactory, IdentityProviderFactory

pytestmark = pytest.mark.django_db

PROVIDERS = "/api/access/identity_providers"


def test_create(api):
    response = api.post(PROVIDERS, {"name": "Staff PIN", "type": "onetimepin"}, format="json")

    assert response.status_code == 201
    assert response.json()["result"]["type"] == "onetimepin"
    assert IdentityProvider.objects.filter(name="Staff PIN").exists()


def test_unknown_type_is_refused(api):
    response = api.post(PROVIDERS, {"name": "LDAP", "type": "ldap"}, format="json")

    assert response.status_code == 400
    assert error_messages(response) == [
        "type: must be one of onetimepin, password, oidc, google, azureAD, okta, github"
    ]


def test_saml_is_refused_as_not_supported_yet(api):
    response = api.post(PROVIDERS, {"name": "SAML", "type": "saml"}, format="json")

    assert response.status_code == 400
    assert error_messages(response) == [
        "type: SAML is not supported yet; use oidc (OpenID Connect) instead"
    ]


def test_list_includes_the_defaults(api):
    names = [item["name"] for item in api.get(PROVIDERS).json()["result"]]

    assert set(names) >= {"One-time PIN", "Password"}


def test_retrieve_patch_delete(api):
    provider = IdentityProviderFactory(name="Extra")
    url = f"{PROVIDERS}/{provider.pk}"

    assert api.get(url).json()["result"]["name"] == "Extra"
    assert api.patch(url, {"name": "Renamed"}, format="json").status_code == 200
    assert IdentityProvider.objects.get(pk=provider.pk).name == "Renamed"
    assert api.delete(url).status_code == 200
    assert not IdentityProvider.objects.filter(pk=provider.pk).exists()


def test_provider_an_application_relies_on_cannot_be_deleted(api):
    provider = IdentityProviderFactory(name="Extra")
    application = ApplicationFactory()
    application.allowed_idps.add(provider)

    response = api.delete(f"{PROVIDERS}/{provider.pk}")

    assert response.status_code == 400
    assert IdentityProvider.objects.filter(pk=provider.pk).exists()


def test_needs_permissions(client_with):
    assert client_with().get(PROVIDERS).status_code == 403
    assert client_with("policies.view_identityprovider").get(PROVIDERS).status_code == 200


OIDC_CONFIG = {
    "client_id": "accessproject",
    "client_secret": "s3cret-from-the-idp",
    "issuer": "https://idp.example.com",
    "claims": ["groups"],
}


def test_an_oidc_provider_is_created_with_its_config_and_the_secret_is_write_only(api):
    response = api.post(
        PROVIDERS, {"name": "Corp", "type": "oidc", "config": OIDC_CONFIG}, format="json"
    )

    assert response.status_code == 201
    config = response.json()["result"]["config"]
    assert config["client_id"] == "accessproject"
    assert config["claims"] == ["groups"]
    assert "client_secret" not in config
    assert "s3cret-from-the-idp" not in response.content.decode()
    stored = IdentityProvider.objects.get(name="Corp")
    assert "s3cret-from-the-idp" not in stored.secrets
    assert "s3cret-from-the-idp" not in str(stored.config)
    read = api.get(f"{PROVIDERS}/{stored.pk}")
    assert "s3cret-from-the-idp" not in read.content.decode()
    listed = api.get(PROVIDERS)
    assert "s3cret-from-the-idp" not in listed.content.decode()


def test_a_config_change_without_the_secret_keeps_the_stored_one(api):
    created = api.post(
        PROVIDERS, {"name": "Corp", "type": "oidc", "config": OIDC_CONFIG}, format="json"
    ).json()["result"]
    public = {key: value for key, value in OIDC_CONFIG.items() if key != "client_secret"}

    response = api.patch(
        f"{PROVIDERS}/{created['id']}",
        {"config": {**public, "claims": ["groups", "department"]}},
        format="json",
    )

    assert response.status_code == 200
    assert response.json()["result"]["config"]["claims"] == ["groups", "department"]
    from policies.providers import decrypt_secrets

    stored = IdentityProvider.objects.get(pk=created["id"])
    assert decrypt_secrets(stored.secrets) == {"client_secret": "s3cret-from-the-idp"}


def test_a_new_secret_replaces_the_stored_one(api):
    created = api.post(
        PROVIDERS, {"name": "Corp", "type": "oidc", "config": OIDC_CONFIG}, format="json"
    ).json()["result"]

    api.patch(
        f"{PROVIDERS}/{created['id']}",
        {"config": {**OIDC_CONFIG, "client_secret": "rotated"}},
        format="json",
    )

    from policies.providers import decrypt_secrets

    stored = IdentityProvider.objects.get(pk=created["id"])
    assert decrypt_secrets(stored.secrets) == {"client_secret": "rotated"}


def test_a_new_provider_needs_its_secret(api):
    public = {key: value for key, value in OIDC_CONFIG.items() if key != "client_secret"}
    response = api.post(
        PROVIDERS, {"name": "Corp", "type": "oidc", "config": public}, format="json"
    )

    assert response.status_code == 400
    assert error_messages(response) == ["config.client_secret: is required"]
    assert not IdentityProvider.objects.filter(name="Corp").exists()


def test_config_errors_are_keyed_by_field(api):
    response = api.post(
        PROVIDERS,
        {"name": "Corp", "type": "oidc", "config": {**OIDC_CONFIG, "issuer": "http://idp.example"}},
        format="json",
    )

    assert response.status_code == 400
    assert error_messages(response) == [
        "config.issuer: must use https:// (plain http:// only to a provider on this machine)"
    ]


def test_changing_the_type_drops_the_old_secret(api):
    created = api.post(
        PROVIDERS, {"name": "Corp", "type": "oidc", "config": OIDC_CONFIG}, format="json"
    ).json()["result"]

    response = api.patch(
        f"{PROVIDERS}/{created['id']}",
        {"type": "github", "config": {"client_id": "gh"}},
        format="json",
    )

    assert response.status_code == 400
    assert error_messages(response) == ["config.client_secret: is required"]


def test_allowed_idps_take_ids_as_accesss_api_writes_them(api):
    password = IdentityProvider.objects.get(name="Password")
    response = api.post(
        "/api/access/apps",
        {"name": "Wiki", "domain": "wiki.example.com", "allowed_idps": [password.pk]},
        format="json",
    )

    assert response.status_code == 201, response.json()
    assert response.json()["result"]["allowed_idps"] == ["Password"]


def test_allowed_idps_refuse_an_id_no_provider_has(api):
    response = api.post(
        "/api/access/apps",
        {"name": "Wiki", "domain": "wiki.example.com", "allowed_idps": [999]},
        format="json",
    )

    assert response.status_code == 400
    assert error_messages(response) == [
        'allowed_idps[0]: no identity provider has the name or id "999"; create it or fix the name'
    ]
