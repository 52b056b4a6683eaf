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
    response = api.post(PROVIDERS, {"name": "SAML", "type": "saml"}, format="json")

    assert response.status_code == 400
    assert error_messages(response) == ["type: must be one of onetimepin, password"]


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
