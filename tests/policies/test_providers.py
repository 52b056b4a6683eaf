"""Identity provider types: each config declared once, validated, its secrets kept apart."""

import pytest

from common.encryption import Undecryptable
from policies.models import IdentityProvider
from policies.providers import (
    PROVIDER_TYPES,
    config_errors,
    decrypt_secrets,
    encrypt_secrets,
    parse_config,
)

OIDC = {"client_id": "app", "client_secret": "s3cret", "issuer": "https://idp.example.com"}


def test_the_model_offers_exactly_the_declared_types():
    assert list(IdentityProvider.Type.values) == list(PROVIDER_TYPES)
    assert IdentityProvider.Type.ONETIMEPIN == "onetimepin"
    assert IdentityProvider.Type.AZUREAD.label == "Microsoft Entra ID"


def test_every_declared_type_has_a_login_method():
    from identity.providers.base import registered_types

    assert registered_types() == frozenset(PROVIDER_TYPES)


def test_oidc_defaults_are_accesss():
    config = parse_config("oidc", OIDC)
    assert config.public_data() == {
        "client_id": "app",
        "claims": [],
        "email_claim_name": "email",
        "pkce_enabled": True,
        "issuer": "https://idp.example.com",
        "auth_url": "",
        "token_url": "",
        "certs_url": "",
        "scopes": ["openid", "email", "profile"],
    }


def test_the_secret_is_never_in_the_public_config():
    config = parse_config("oidc", OIDC)
    assert "client_secret" not in config.public_data()
    assert config.secret_data() == {"client_secret": "s3cret"}


@pytest.mark.parametrize(
    ("type_", "config", "issuer"),
    [
        ("oidc", OIDC, "https://idp.example.com"),
        ("google", {"client_id": "a", "client_secret": "b"}, "https://accounts.google.com"),
        (
            "azureAD",
            {"client_id": "a", "client_secret": "b", "directory_id": "8a8e0c6e-7f4b"},
            "https://login.microsoftonline.com/8a8e0c6e-7f4b/v2.0",
        ),
        (
            "okta",
            {"client_id": "a", "client_secret": "b", "okta_account": "https://dev-1.okta.com"},
            "https://dev-1.okta.com",
        ),
        (
            "okta",
            {
                "client_id": "a",
                "client_secret": "b",
                "okta_account": "https://dev-1.okta.com/",
                "authorization_server_id": "default",
            },
            "https://dev-1.okta.com/oauth2/default",
        ),
    ],
)
def test_presets_derive_their_issuer(type_, config, issuer):
    endpoints = parse_config(type_, config).endpoints()  # type: ignore[attr-defined]
    assert endpoints.issuer == issuer
    assert endpoints.discovery_url == issuer + "/.well-known/openid-configuration"
    assert (endpoints.auth_url, endpoints.token_url, endpoints.certs_url) == ("", "", "")


def test_explicit_endpoints_are_kept():
    config = {
        **OIDC,
        "auth_url": "https://idp.example.com/auth",
        "token_url": "https://idp.example.com/token",
        "certs_url": "https://idp.example.com/jwks",
    }
    endpoints = parse_config("oidc", config).endpoints()  # type: ignore[attr-defined]
    assert endpoints.token_url == "https://idp.example.com/token"


def test_github_defaults_to_github_com():
    config = parse_config("github", {"client_id": "a", "client_secret": "b"})
    assert config.public_data() == {
        "client_id": "a",
        "base_url": "https://github.com",
        "api_url": "https://api.github.com",
    }


@pytest.mark.parametrize(
    ("type_", "config", "errors"),
    [
        (
            "oidc",
            {"client_secret": "b", "issuer": "https://i.example"},
            {"client_id": ["is required"]},
        ),
        ("oidc", {"client_id": "a", "client_secret": "b"}, {"issuer": ["is required"]}),
        ("oidc", {**OIDC, "client_secret": ""}, {"client_secret": ["is required"]}),
        (
            "oidc",
            {**OIDC, "issuer": "http://idp.example.com"},
            {"issuer": ["must use https:// (plain http:// only to a provider on this machine)"]},
        ),
        (
            "oidc",
            {**OIDC, "issuer": "ftp://idp.example.com"},
            {"issuer": ["must be an absolute https:// URL, like https://idp.example.com"]},
        ),
        (
            "oidc",
            {**OIDC, "issuer": "https://u:p@idp.example.com"},
            {"issuer": ["must not hold a user, a password or a #fragment"]},
        ),
        (
            "oidc",
            {**OIDC, "issuer": "https://idp.example.com/?x=1"},
            {"issuer": ["must not hold a ?query (OpenID Connect Discovery 1.0 §2)"]},
        ),
        (
            "oidc",
            {**OIDC, "auth_url": "https://idp.example.com/auth"},
            {
                "": [
                    "give auth_url, token_url and certs_url together, or none of them "
                    "(then they come from the issuer's discovery document)"
                ]
            },
        ),
        ("oidc", {**OIDC, "scopes": ["email"]}, {"scopes": ['must include "openid"']}),
        ("oidc", {**OIDC, "scopes": ["openid", "a b"]}, {"scopes": ['"a b" is not a scope']}),
        ("oidc", {**OIDC, "claims": ["groups", "groups"]}, {"claims": ["lists a claim twice"]}),
        (
            "oidc",
            {**OIDC, "claims": ["bad claim"]},
            {"claims": ['"bad claim" is not a claim name']},
        ),
        ("oidc", {**OIDC, "claims": "groups"}, {"claims": ["must be a list"]}),
        ("oidc", {**OIDC, "pkce_enabled": "yes"}, {"pkce_enabled": ["must be true or false"]}),
        ("oidc", {**OIDC, "client_id": 7}, {"client_id": ["must be text"]}),
        (
            "oidc",
            {**OIDC, "tenant": "x"},
            {
                "tenant": [
                    "unknown field; expected one of client_id, client_secret, claims, "
                    "email_claim_name, pkce_enabled, issuer, auth_url, token_url, certs_url, "
                    "scopes"
                ]
            },
        ),
        ("azureAD", {"client_id": "a", "client_secret": "b"}, {"directory_id": ["is required"]}),
        (
            "azureAD",
            {"client_id": "a", "client_secret": "b", "directory_id": "a/b"},
            {
                "directory_id": [
                    "must be the tenant's Directory (tenant) ID, "
                    "like 8a8e0c6e-7f4b-4a3d-9c5e-1f2a3b4c5d6e"
                ]
            },
        ),
        (
            "okta",
            {"client_id": "a", "client_secret": "b", "okta_account": "https://dev-1.okta.com/x"},
            {
                "okta_account": [
                    "must be the organisation's URL alone, like https://dev-123.okta.com"
                ]
            },
        ),
        (
            "github",
            {"client_id": "a", "client_secret": "b", "api_url": "http://api.example.com"},
            {"api_url": ["must use https:// (plain http:// only to a provider on this machine)"]},
        ),
        ("onetimepin", {"client_id": "a"}, {"client_id": ["takes no fields"]}),
        ("password", [], {"": ["must be an object"]}),
    ],
)
def test_config_errors_name_the_field_and_say_what_to_do(type_, config, errors):
    assert config_errors(type_, config) == errors


@pytest.mark.parametrize("host", ["127.0.0.1:8080", "localhost", "[::1]:9000", "idp.localhost"])
def test_plain_http_reaches_only_this_machine(host):
    assert config_errors("oidc", {**OIDC, "issuer": f"http://{host}"}) == {}


def test_secrets_are_encrypted_and_read_back(settings):
    stored = encrypt_secrets({"client_secret": "s3cret"})
    assert "s3cret" not in stored
    assert decrypt_secrets(stored) == {"client_secret": "s3cret"}
    assert encrypt_secrets({}) == ""
    assert decrypt_secrets("") == {}
    settings.SECRET_KEY = "another secret key, after a rotation nobody planned"
    with pytest.raises(Undecryptable):
        decrypt_secrets(stored)
