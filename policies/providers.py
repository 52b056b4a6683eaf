"""Identity provider types and the shape of each one's `config`, declared once.

An identity provider is a row with an id, a `type` and a `config`, as in Access's API. Each type
is one entry of `PROVIDER_TYPES`: its label and the pydantic model of its `config`. Validation
(`policies.validation.identity_provider_errors`), the API's schema, the admin and config files
all ask this module, so a field is declared here and nowhere else. How a type signs people in
is the identity side's business (`identity/providers/`, one class per type, registered with the
login page); this module knows nothing of requests or tokens.

Secret fields (`client_secret`) are stored encrypted, apart from the rest of the config
(`IdentityProvider.secrets`), and are write-only: the API, the admin and `access_export` never
show them.

The OpenID Connect presets (`google`, `azureAD`, `okta`) are OIDC underneath: each derives its
issuer from its own fields, and the endpoints come from the issuer's discovery document.
"""

from __future__ import annotations

import builtins
import ipaddress
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from common.encryption import Undecryptable, decrypt_text, encrypt_text

__all__ = [
    "PROVIDER_TYPES",
    "UNSUPPORTED_TYPES",
    "GitHubConfig",
    "OidcEndpoints",
    "ProviderConfig",
    "ProviderType",
    "checked_url",
    "config_errors",
    "decrypt_secrets",
    "encrypt_secrets",
    "parse_config",
]

_SECRETS_PURPOSE = b"accessproject identity-provider secrets v1"
# A claim name as providers write them (`email`, `groups`, `https://example.com/roles`).
_CLAIM_NAME = re.compile(r"[A-Za-z0-9_.:/#-]{1,200}")
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]{1,100}")  # RFC 6749 scope-token characters
_DIRECTORY_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,253}")
_AUTHORIZATION_SERVER_ID = re.compile(r"[A-Za-z0-9_-]{1,100}")
DEFAULT_SCOPES = ("openid", "email", "profile")


def _all_match(pattern: re.Pattern[str], values: Iterable[str], what: str) -> None:
    """Refuse the first of `values` that `pattern` does not wholly match: `"x" is not {what}`."""
    for value in values:
        if not pattern.fullmatch(value):
            raise ValueError(f'"{value}" is not {what}')


def checked_url(value: str) -> str:
    """An absolute https URL; plain http only to a loopback address (a provider on this machine).

    Anything else would send the client secret, codes and tokens over the network in clear.
    """
    if not isinstance(value, str) or any(c.isspace() or ord(c) < 32 for c in value):
        raise ValueError("must be an absolute https:// URL")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (reading it checks that the port is a number in range)
    except ValueError:
        raise ValueError("must be an absolute https:// URL") from None
    if not parts.hostname or parts.scheme not in ("https", "http"):
        raise ValueError("must be an absolute https:// URL, like https://idp.example.com")
    if parts.username or parts.password or parts.fragment:
        raise ValueError("must not hold a user, a password or a #fragment")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise ValueError("must use https:// (plain http:// only to a provider on this machine)")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True, slots=True)
class OidcEndpoints:
    """Where an OpenID Provider is, as a sign-in needs it. Empty URLs come from discovery."""

    issuer: str
    auth_url: str = ""
    token_url: str = ""
    certs_url: str = ""

    @property
    def discovery_url(self) -> str:
        """The issuer's `/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4)."""
        return self.issuer.rstrip("/") + "/.well-known/openid-configuration"


class ProviderConfig(BaseModel):
    """The `config` of one type. Unknown fields are refused; values are never coerced."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset()

    def public_data(self) -> dict[str, Any]:
        """The config as the API, the admin and exports show it: without its secrets."""
        return self.model_dump(mode="json", exclude=set(self.SECRET_FIELDS))

    def secret_data(self) -> dict[str, str]:
        """Only the secrets, for `encrypt_secrets`."""
        return {name: getattr(self, name) for name in sorted(self.SECRET_FIELDS)}


class NoConfig(ProviderConfig):
    """One-time PIN and password take no configuration (Access: `config: {}`)."""


class _ClientCredentials(ProviderConfig):
    SECRET_FIELDS: ClassVar[frozenset[str]] = frozenset({"client_secret"})

    client_id: str = Field(min_length=1, max_length=500)
    client_secret: str = Field(min_length=1, max_length=2000, json_schema_extra={"writeOnly": True})


class _OidcFamily(_ClientCredentials):
    """What every OpenID Connect type has: the claims it copies and how it finds the email."""

    claims: list[str] = Field(default_factory=list, max_length=50)
    email_claim_name: str = "email"
    pkce_enabled: bool = True

    @field_validator("claims")
    @classmethod
    def _claim_names(cls, value: list[str]) -> list[str]:
        _all_match(_CLAIM_NAME, value, "a claim name")
        if len(set(value)) != len(value):
            raise ValueError("lists a claim twice")
        return value

    @field_validator("email_claim_name")
    @classmethod
    def _email_claim_name(cls, value: str) -> str:
        _all_match(_CLAIM_NAME, [value], "a claim name")
        return value

    @property
    def scope_list(self) -> tuple[str, ...]:
        return DEFAULT_SCOPES

    def endpoints(self) -> OidcEndpoints:
        raise NotImplementedError


class OidcConfig(_OidcFamily):
    """Generic OpenID Connect, with Access's field names, plus `issuer` and discovery.

    Give `issuer` alone and the endpoints come from its discovery document; or give `auth_url`,
    `token_url` and `certs_url` as well (then nothing is discovered). The issuer is required
    either way: every id_token's `iss` is checked against it.
    """

    issuer: str
    auth_url: str = ""
    token_url: str = ""
    certs_url: str = ""
    scopes: list[str] = Field(default_factory=lambda: list(DEFAULT_SCOPES), max_length=50)

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        checked_url(value)
        if urlsplit(value).query:
            raise ValueError("must not hold a ?query (OpenID Connect Discovery 1.0 §2)")
        return value

    @field_validator("auth_url", "token_url", "certs_url")
    @classmethod
    def _endpoint(cls, value: str) -> str:
        return checked_url(value) if value else value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        _all_match(_SCOPE, value, "a scope")
        if "openid" not in value:
            raise ValueError('must include "openid"')
        return value

    @model_validator(mode="after")
    def _endpoints_together(self) -> OidcConfig:
        given = [bool(self.auth_url), bool(self.token_url), bool(self.certs_url)]
        if any(given) and not all(given):
            raise ValueError(
                "give auth_url, token_url and certs_url together, or none of them "
                "(then they come from the issuer's discovery document)"
            )
        return self

    @property
    def scope_list(self) -> tuple[str, ...]:
        return tuple(self.scopes)

    def endpoints(self) -> OidcEndpoints:
        return OidcEndpoints(self.issuer, self.auth_url, self.token_url, self.certs_url)


class GoogleConfig(_OidcFamily):
    """Google: an OAuth client of type "Web application" in the Google Cloud console."""

    ISSUER: ClassVar[str] = "https://accounts.google.com"

    def endpoints(self) -> OidcEndpoints:
        return OidcEndpoints(self.ISSUER)


class AzureAdConfig(_OidcFamily):
    """Microsoft Entra ID (Azure AD): an app registration in the tenant `directory_id`."""

    directory_id: str

    @field_validator("directory_id")
    @classmethod
    def _directory_id(cls, value: str) -> str:
        if not _DIRECTORY_ID.fullmatch(value):
            raise ValueError(
                "must be the tenant's Directory (tenant) ID, "
                "like 8a8e0c6e-7f4b-4a3d-9c5e-1f2a3b4c5d6e"
            )
        return value

    def endpoints(self) -> OidcEndpoints:
        return OidcEndpoints(f"https://login.microsoftonline.com/{self.directory_id}/v2.0")


class OktaConfig(_OidcFamily):
    """Okta: an OIDC web application in the Okta organisation `okta_account`."""

    okta_account: str
    authorization_server_id: str = ""

    @field_validator("okta_account")
    @classmethod
    def _okta_account(cls, value: str) -> str:
        checked_url(value)
        parts = urlsplit(value)
        if parts.path.strip("/") or parts.query:
            raise ValueError("must be the organisation's URL alone, like https://dev-123.okta.com")
        return value

    @field_validator("authorization_server_id")
    @classmethod
    def _server_id(cls, value: str) -> str:
        if value and not _AUTHORIZATION_SERVER_ID.fullmatch(value):
            raise ValueError('must be an authorization server id, like "default"')
        return value

    def endpoints(self) -> OidcEndpoints:
        base = self.okta_account.rstrip("/")
        if self.authorization_server_id:
            return OidcEndpoints(f"{base}/oauth2/{self.authorization_server_id}")
        return OidcEndpoints(base)


class GitHubConfig(_ClientCredentials):
    """GitHub (OAuth 2, no OpenID Connect): an OAuth App of the organisation.

    `base_url` and `api_url` point at GitHub Enterprise Server (`https://github.example.com`
    and `https://github.example.com/api/v3`) or leave github.com's defaults.
    """

    base_url: str = "https://github.com"
    api_url: str = "https://api.github.com"

    @field_validator("base_url", "api_url")
    @classmethod
    def _url(cls, value: str) -> str:
        return checked_url(value)


@dataclass(frozen=True, slots=True)
class ProviderType:
    """One type of identity provider: its Access name, label and the shape of its config."""

    type: str
    label: str
    config: builtins.type[ProviderConfig]
    # OpenID Connect underneath: the `oidc` rule selector applies to its claims.
    is_oidc: bool = False


PROVIDER_TYPES: dict[str, ProviderType] = {
    entry.type: entry
    for entry in (
        ProviderType("onetimepin", "One-time PIN", NoConfig),
        ProviderType("password", "Username and password", NoConfig),
        ProviderType("oidc", "OpenID Connect", OidcConfig, is_oidc=True),
        ProviderType("google", "Google", GoogleConfig, is_oidc=True),
        ProviderType("azureAD", "Microsoft Entra ID", AzureAdConfig, is_oidc=True),
        ProviderType("okta", "Okta", OktaConfig, is_oidc=True),
        ProviderType("github", "GitHub", GitHubConfig),
    )
}
# Access's types that accessproject does not offer yet, with the reason given to whoever asks.
UNSUPPORTED_TYPES = {"saml": "SAML is not supported yet; use oidc (OpenID Connect) instead"}


def parse_config(type_: str, data: Mapping[str, Any]) -> ProviderConfig:
    """The config of a provider of `type_`; raises pydantic's `ValidationError` or `KeyError`."""
    return PROVIDER_TYPES[type_].config.model_validate(dict(data))


def config_errors(type_: str, data: object) -> dict[str, list[str]]:
    """Every problem with a config for `type_`, keyed by field (`client_id`, `claims[2]`)."""
    if not isinstance(data, Mapping):
        return {"": ["must be an object"]}
    entry = PROVIDER_TYPES.get(type_)
    if entry is None:
        return {}  # the type itself is refused
    try:
        entry.config.model_validate(dict(data))
    except ValidationError as error:
        return _errors(error, entry.config)
    return {}


def _errors(error: ValidationError, model: type[ProviderConfig]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for item in error.errors(include_url=False):
        path = "".join(
            f"[{part}]" if isinstance(part, int) else f".{part}" for part in item["loc"]
        ).lstrip(".")
        found.setdefault(path, []).append(_message(item, model))
    return found


def _message(item: Any, model: type[ProviderConfig]) -> str:
    kind = item["type"]
    context = item.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        known = ", ".join(model.model_fields)
        return f"unknown field; expected one of {known}" if known else "takes no fields"
    if kind in ("string_type", "string_sub_type"):
        return "must be text"
    if kind == "bool_type":
        return "must be true or false"
    if kind == "list_type":
        return "must be a list"
    if kind == "string_too_short":
        return "is required"
    if kind == "string_too_long":
        return f"must be at most {context.get('max_length')} characters"
    if kind == "too_long":
        return f"must hold at most {context.get('max_length')} items"
    if kind == "value_error":
        return str(context.get("error", item["msg"]))
    if kind == "model_type":
        return "must be an object"
    return str(item["msg"])


def encrypt_secrets(secrets: Mapping[str, str]) -> str:
    """The stored form of a provider's secrets ("" when there are none)."""
    if not secrets:
        return ""
    return encrypt_text(
        json.dumps(dict(secrets), sort_keys=True).encode(), purpose=_SECRETS_PURPOSE
    )


def decrypt_secrets(stored: str) -> dict[str, str]:
    """A provider's secrets from their stored form; `Undecryptable` when SECRET_KEY changed."""
    if not stored:
        return {}
    value = json.loads(decrypt_text(stored, purpose=_SECRETS_PURPOSE))
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise Undecryptable("stored identity provider secrets are malformed")
    return value
