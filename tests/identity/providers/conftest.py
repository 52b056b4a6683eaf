"""Fixtures for sign-in through upstream identity providers: a real OpenID Provider."""

from collections.abc import Iterator

import pytest

from identity.providers.oidc import forget_cached_documents
from policies import services
from tests.gatekit import committed
from tests.identity.providers.openid_provider import OpenIdProvider

CLIENT_ID = "accessproject"
CLIENT_SECRET = "op-client-secret-0123456789"
CALLBACKS = [
    "https://access.localhost/cdn-cgi/access/callback",
    "https://app.localhost/cdn-cgi/access/callback",
]
USERS = {
    "alice": {
        "email": "alice@example.com",
        "email_verified": True,
        "name": "Alice",
        "groups": ["admins", "staff"],
        "department": "ops",
    },
    "bob": {"email": "bob@example.com", "email_verified": True, "groups": ["staff"]},
    "carol": {"email": "carol@example.com", "email_verified": False, "groups": ["admins"]},
    "dave": {"email": "dave@example.com", "email_verified": True, "amr": ["mfa", "pwd"]},
}


@pytest.fixture(scope="session")
def openid_provider() -> Iterator[OpenIdProvider]:
    """One oidc-provider for the session; each test resets how it behaves."""
    provider = OpenIdProvider(
        clients=[
            {
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "redirect_uris": CALLBACKS,
            }
        ],
        users=USERS,
    )
    yield provider
    provider.stop()


@pytest.fixture
def op(openid_provider: OpenIdProvider) -> Iterator[OpenIdProvider]:
    """The OpenID Provider, behaving, with this process's cached documents and keys forgotten."""
    openid_provider.misbehave("normal")
    forget_cached_documents()
    yield openid_provider
    openid_provider.misbehave("normal")
    forget_cached_documents()


@pytest.fixture
def team_domain(settings) -> str:
    settings.ACCESS_TEAM_DOMAIN = "access.localhost"
    return "access.localhost"


def make_oidc_provider(issuer: str, *, name: str = "Corp", **config):
    """An `oidc` identity provider for the OpenID Provider at `issuer`, through the services."""
    with committed():
        return services.identity_provider_create(
            name=name,
            type="oidc",
            config={
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
                "issuer": issuer,
                **config,
            },
        )
