"""OpenID Connect (`oidc`) and its presets (`google`, `azureAD`, `okta`): the client side.

The authorization-code flow (OpenID Connect Core 1.0 §3.1) with `state`, `nonce` and PKCE
(RFC 7636, S256). Authlib makes the requests (the authorization URL, the token request with
client authentication and the code verifier) and validates the id_token's claims
(`CodeIDToken`: `iss`, `aud`, `azp`, `exp`, `iat`, `nonce`, `at_hash`); joserfc, which Authlib
builds on, verifies its signature against the provider's JWKS. Around them this module adds
what a gate needs:

- endpoints come from the config or from the issuer's discovery document, whose `issuer` must
  be the configured one exactly (Discovery §4.3), each endpoint an https URL (http only to a
  loopback provider); documents are cached for an hour, failures never;
- keys are cached per JWKS URL and fetched again when a token names a key the cache does not
  hold (the provider rotated its keys), at most once a second;
- only asymmetric signatures are accepted (never `none`, never a MAC keyed by the client
  secret), and of those only what the provider says it uses;
- an `iss` parameter on the callback (RFC 9207) must be the issuer: a mix-up attack ends here;
- the email comes from `email_claim_name`; `email_verified: false` refuses the sign-in;
- what the provider said travels on: `amr`, `groups`, and the config's `claims` (`custom`),
  within a size that still fits in a cookie (refused, never cut: a group left out could be
  the one an exclude rule names).

Every failure is `SignInFailed`, whose reason names what went wrong without a secret, a token
or a code. Every call to the provider has a timeout (`ACCESS_IDP_TIMEOUT`); nothing here is
called while the login page renders, so a provider that is down never blocks another way in.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import requests
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.requests_client import OAuth2Session
from authlib.oidc.core import CodeIDToken
from django.http import HttpRequest
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

from identity.conf import conf
from identity.providers.base import (
    CheckResult,
    LoginMethod,
    ProviderAnswer,
    ProviderReturn,
    ProviderStart,
    SignInFailed,
    register,
)
from policies.providers import OidcEndpoints, checked_url
from policies.snapshot import CompiledIdentityProvider

logger = logging.getLogger("accessproject.identity")

# Signatures a provider may use: public-key ones only.
ASYMMETRIC_ALGORITHMS = (
    "RS256",
    "RS384",
    "RS512",
    "PS256",
    "PS384",
    "PS512",
    "ES256",
    "ES384",
    "ES512",
    "EdDSA",
)
METADATA_LIFETIME = 3600.0
KEYS_LIFETIME = 3600.0
# A token naming a key the cached set lacks fetches the set again (the provider rotated its
# keys), once per such key a minute: a token naming a key that does not exist costs one fetch.
KEYS_REFETCH_INTERVAL = 60.0
CLOCK_LEEWAY = 60
MAX_DOCUMENT_BYTES = 512 * 1024
# What a sign-in may carry into the Access token (a cookie holds about 4 KB).
MAX_GROUPS = 100
MAX_CLAIMS_BYTES = 2048
UNREACHABLE = "The identity provider could not be reached. Try again in a moment."
MISBEHAVED = "The identity provider's answer could not be trusted, so you were not signed in."


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The endpoints of an OpenID Provider and the signatures it uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    algorithms: tuple[str, ...] = ASYMMETRIC_ALGORITHMS


def fetch_json(url: str, *, what: str, session: requests.Session | None = None) -> Any:
    """GET `url` and parse its JSON, or `SignInFailed` naming `what` failed and why."""
    getter = session or requests
    try:
        # No redirects: a document must be where the configuration (or discovery) says, and a
        # redirect could lead anywhere, over plain http too.
        response = getter.get(
            url,
            timeout=conf.idp_timeout,
            headers={"Accept": "application/json"},
            stream=True,
            allow_redirects=False,
        )
        try:
            body = response.raw.read(MAX_DOCUMENT_BYTES + 1, decode_content=True)
        finally:
            response.close()
    except requests.Timeout:
        raise SignInFailed(f"{what}: timed out", UNREACHABLE) from None
    except (requests.RequestException, OSError) as error:
        raise SignInFailed(f"{what}: unreachable ({type(error).__name__})", UNREACHABLE) from None
    if 300 <= response.status_code < 400:
        raise SignInFailed(
            f"{what}: HTTP {response.status_code} (redirects are not followed)", MISBEHAVED
        )
    if response.status_code != 200:
        raise SignInFailed(f"{what}: HTTP {response.status_code}", UNREACHABLE)
    if len(body) > MAX_DOCUMENT_BYTES:
        raise SignInFailed(f"{what}: larger than {MAX_DOCUMENT_BYTES} bytes", MISBEHAVED)
    try:
        return json.loads(body)
    except ValueError:
        raise SignInFailed(f"{what}: not JSON", MISBEHAVED) from None


_metadata_cache: dict[str, tuple[float, ProviderMetadata]] = {}
_keys_cache: dict[str, tuple[float, KeySet]] = {}
# (JWKS URL, kid) -> when a token naming that unknown key last made us fetch the set again.
_refetched_for: dict[tuple[str, str], float] = {}
_cache_lock = threading.Lock()


def forget_cached_documents() -> None:
    """Forget every discovery document and key set (tests, and the admin's "Test")."""
    with _cache_lock:
        _metadata_cache.clear()
        _keys_cache.clear()
        _refetched_for.clear()


def provider_metadata(endpoints: OidcEndpoints, *, fresh: bool = False) -> ProviderMetadata:
    """The provider's endpoints: as configured, or from its discovery document (cached)."""
    if endpoints.auth_url and endpoints.token_url and endpoints.certs_url:
        return ProviderMetadata(
            endpoints.issuer, endpoints.auth_url, endpoints.token_url, endpoints.certs_url
        )
    url = endpoints.discovery_url
    now = time.monotonic()
    with _cache_lock:
        cached = _metadata_cache.get(url)
    if cached is not None and not fresh and now - cached[0] < METADATA_LIFETIME:
        return cached[1]
    metadata = _parse_discovery(fetch_json(url, what="discovery document"), endpoints.issuer)
    with _cache_lock:
        _metadata_cache[url] = (now, metadata)
    return metadata


def _parse_discovery(document: object, issuer: str) -> ProviderMetadata:
    if not isinstance(document, Mapping):
        raise SignInFailed("discovery document: not a JSON object", MISBEHAVED)
    # OpenID Connect Discovery 1.0 §4.3: the issuer must be exactly the one configured, or a
    # document served elsewhere could name another provider's endpoints.
    if document.get("issuer") != issuer:
        raise SignInFailed("discovery document: its issuer is not the configured one", MISBEHAVED)
    found: dict[str, str] = {}
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        value = document.get(name)
        try:
            found[name] = checked_url(value) if isinstance(value, str) else ""
        except ValueError:
            found[name] = ""
        if not found[name]:
            raise SignInFailed(f"discovery document: no usable {name}", MISBEHAVED)
    listed = document.get("id_token_signing_alg_values_supported")
    algorithms: tuple[str, ...] = ASYMMETRIC_ALGORITHMS
    if isinstance(listed, list):
        algorithms = tuple(alg for alg in ASYMMETRIC_ALGORITHMS if alg in listed)
        if not algorithms:
            raise SignInFailed(
                "discovery document: the provider signs id_tokens with no public-key algorithm",
                MISBEHAVED,
            )
    return ProviderMetadata(
        issuer,
        found["authorization_endpoint"],
        found["token_endpoint"],
        found["jwks_uri"],
        algorithms,
    )


def provider_keys(jwks_uri: str, *, kid: str | None, fresh: bool = False) -> KeySet:
    """The provider's public keys, fetched again when `kid` is not among the cached ones."""
    now = time.monotonic()
    with _cache_lock:
        cached = _keys_cache.get(jwks_uri)
    if cached is not None and not fresh:
        fetched_at, keys = cached
        known = kid is None or any(key.kid == kid for key in keys)
        if now - fetched_at < KEYS_LIFETIME:
            if known:
                return keys
            with _cache_lock:
                last = _refetched_for.get((jwks_uri, kid or ""))
                if last is not None and now - last < KEYS_REFETCH_INTERVAL:
                    return keys
                if len(_refetched_for) > 1000:
                    _refetched_for.clear()
                _refetched_for[(jwks_uri, kid or "")] = now
    document = fetch_json(jwks_uri, what="key set (JWKS)")
    try:
        keys = KeySet.import_key_set(document)
    except (JoseError, ValueError, TypeError, KeyError, AttributeError):
        raise SignInFailed("key set (JWKS): not a set of keys", MISBEHAVED) from None
    with _cache_lock:
        _keys_cache[jwks_uri] = (now, keys)
    return keys


def verify_id_token(
    id_token: str,
    *,
    metadata: ProviderMetadata,
    client_id: str,
    nonce: str,
    access_token: str | None,
) -> Mapping[str, Any]:
    """The claims of an id_token that passes every check, or `SignInFailed` saying which failed."""
    if not isinstance(id_token, str) or id_token.count(".") != 2:
        raise SignInFailed("id_token: not a signed JWT", MISBEHAVED)
    try:
        header = json.loads(_b64decode(id_token.split(".")[0]))
    except ValueError:
        raise SignInFailed("id_token: unreadable header", MISBEHAVED) from None
    if not isinstance(header, dict) or header.get("alg") not in metadata.algorithms:
        raise SignInFailed(
            "id_token: not signed with the provider's public-key algorithm", MISBEHAVED
        )
    kid = header.get("kid") if isinstance(header.get("kid"), str) else None
    keys = provider_keys(metadata.jwks_uri, kid=kid)
    try:
        token = jwt.decode(id_token, keys, algorithms=list(metadata.algorithms))
    except BadSignatureError:
        raise SignInFailed("id_token: bad signature", MISBEHAVED) from None
    except JoseError as error:
        raise SignInFailed(f"id_token: cannot be verified ({error.error})", MISBEHAVED) from None
    except ValueError:
        raise SignInFailed("id_token: cannot be verified", MISBEHAVED) from None
    claims = CodeIDToken(
        token.claims,
        token.header,
        {"iss": {"essential": True, "value": metadata.issuer}, "aud": {"essential": True}},
        {"nonce": nonce, "client_id": client_id, "access_token": access_token},
    )
    try:
        _check_audience(claims.get("aud"), client_id)
        claims.validate(leeway=CLOCK_LEEWAY)
    except ExpiredTokenError:
        raise SignInFailed("id_token: expired", MISBEHAVED) from None
    except (InvalidClaimError, MissingClaimError) as error:
        raise SignInFailed(f"id_token: wrong or missing {error.claim}", MISBEHAVED) from None
    except JoseError as error:
        raise SignInFailed(f"id_token: refused ({error.error})", MISBEHAVED) from None
    return dict(claims)


def _check_audience(audience: object, client_id: str) -> None:
    """`aud` must name this client (OpenID Connect Core §3.1.3.7, step 3)."""
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences:
        raise InvalidClaimError("aud")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def email_from(claims: Mapping[str, Any], claim_name: str) -> str:
    """The verified email address of the person, or `SignInFailed`."""
    email = claims.get(claim_name)
    if not isinstance(email, str) or "@" not in email or len(email) > 254 or email != email.strip():
        raise SignInFailed(
            f"the provider sent no usable email address in {claim_name!r}",
            "The identity provider did not say which email address you have.",
            status=403,
        )
    verified = claims.get("email_verified")
    if verified is not None and verified is not True and verified != "true":
        raise SignInFailed(
            "the provider says the email address is not verified",
            "Your email address is not verified at the identity provider. Verify it there, "
            "then sign in again.",
            status=403,
        )
    return email


def carried_claims(
    claims: Mapping[str, Any], *, names: tuple[str, ...] | list[str]
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, object]]:
    """The `amr`, the groups and the custom claims a sign-in carries into its Access token."""
    amr = claims.get("amr")
    methods = tuple(m for m in amr if isinstance(m, str))[:20] if isinstance(amr, list) else ()
    raw_groups = claims.get("groups")
    groups = (
        tuple(group for group in raw_groups if isinstance(group, str))
        if isinstance(raw_groups, list)
        else ()
    )
    custom = {name: claims[name] for name in names if name in claims}
    check_carried_size(groups, custom)
    return methods, groups, custom


def check_carried_size(groups: tuple[str, ...], custom: Mapping[str, object]) -> None:
    """Refuse a sign-in whose groups and claims would not fit in an Access token cookie."""
    size = len(json.dumps([list(groups), dict(custom)], separators=(",", ":")))
    if len(groups) > MAX_GROUPS or size > MAX_CLAIMS_BYTES:
        raise SignInFailed(
            f"the provider's groups and claims are too large for an Access token "
            f"({len(groups)} groups, {size} bytes)",
            "Your account at the identity provider has more groups than accessproject can "
            "carry. Ask your administrator.",
            status=403,
        )


@register
class OpenIdConnect(LoginMethod):
    """Generic OpenID Connect and the presets that are OpenID Connect underneath."""

    types: ClassVar[tuple[str, ...]] = ("oidc", "google", "azureAD", "okta")
    redirects: ClassVar[bool] = True

    def _session(
        self, provider: CompiledIdentityProvider, *, redirect_uri: str
    ) -> tuple[OAuth2Session, Any]:
        config: Any = provider.config
        session = OAuth2Session(
            client_id=config.client_id,
            client_secret=config.client_secret,
            scope=" ".join(config.scope_list),
            redirect_uri=redirect_uri,
            code_challenge_method="S256" if config.pkce_enabled else None,
        )
        return session, config

    def start(self, provider: CompiledIdentityProvider, begin: ProviderStart) -> str:
        session, config = self._session(provider, redirect_uri=begin.redirect_uri)
        metadata = provider_metadata(config.endpoints())
        extra = {"code_verifier": begin.code_verifier} if config.pkce_enabled else {}
        url, _ = session.create_authorization_url(
            metadata.authorization_endpoint, state=begin.state, nonce=begin.nonce, **extra
        )
        return str(url)

    def finish(
        self, provider: CompiledIdentityProvider, back: ProviderReturn, request: HttpRequest
    ) -> ProviderAnswer:
        session, config = self._session(provider, redirect_uri=back.redirect_uri)
        endpoints = config.endpoints()
        refused_at_provider(back.params)
        # RFC 9207: the provider names itself; an answer from another one is a mix-up attack.
        if "iss" in back.params and back.params["iss"] != endpoints.issuer:
            raise SignInFailed("the answer came from another issuer (iss)", MISBEHAVED)
        code = back.params.get("code", "")
        if not code:
            raise SignInFailed("the provider sent no code", MISBEHAVED)
        metadata = provider_metadata(endpoints)
        token = exchange_code(
            session,
            metadata.token_endpoint,
            code=code,
            code_verifier=back.code_verifier if config.pkce_enabled else None,
        )
        id_token = token.get("id_token")
        if not id_token:
            raise SignInFailed("the token endpoint sent no id_token", MISBEHAVED)
        access_token = token.get("access_token")
        claims = verify_id_token(
            id_token,
            metadata=metadata,
            client_id=config.client_id,
            nonce=back.nonce,
            access_token=access_token if isinstance(access_token, str) else None,
        )
        email = email_from(claims, config.email_claim_name)
        amr, groups, custom = carried_claims(claims, names=config.claims)
        return ProviderAnswer(email=email, amr=amr, groups=groups, custom=custom)

    def check(self, provider: CompiledIdentityProvider) -> CheckResult:
        config: Any = provider.config
        endpoints = config.endpoints()
        checked: list[str] = []
        try:
            metadata = provider_metadata(endpoints, fresh=True)
            if endpoints.auth_url:
                checked.append("endpoints: configured (no discovery)")
            else:
                checked.append(f"discovery document: {endpoints.discovery_url}")
            keys = provider_keys(metadata.jwks_uri, kid=None, fresh=True)
        except SignInFailed as failure:
            return CheckResult(checked=tuple(checked), problems=(failure.reason,))
        signing = [key for key in keys if key.key_type in ("RSA", "EC", "OKP")]
        checked.append(f"key set (JWKS): {metadata.jwks_uri}, {len(signing)} public key(s)")
        problems = [] if signing else ["key set (JWKS): no public signing key"]
        checked.append(f"signatures accepted: {', '.join(metadata.algorithms)}")
        return CheckResult(checked=tuple(checked), problems=tuple(problems))


def refused_at_provider(params: Mapping[str, str]) -> None:
    """The provider's error redirect (RFC 6749 §4.1.2.1), as `SignInFailed`."""
    error = params.get("error")
    if error is None:
        return
    safe = "".join(c for c in str(error)[:64] if c.isalnum() or c in "_-.")
    if error == "access_denied":
        raise SignInFailed(
            "the provider answered access_denied (cancelled, or not allowed there)",
            "The sign-in was cancelled at the identity provider.",
            status=400,
        )
    raise SignInFailed(f"the provider answered {safe}", MISBEHAVED)


def exchange_code(
    session: OAuth2Session, token_endpoint: str, *, code: str, code_verifier: str | None
) -> Mapping[str, Any]:
    """The token endpoint's answer for `code` (Authlib authenticates the client)."""
    extra = {"code_verifier": code_verifier} if code_verifier else {}
    try:
        token = session.fetch_token(token_endpoint, code=code, timeout=conf.idp_timeout, **extra)
    except OAuthError as error:
        safe = "".join(c for c in str(error.error)[:64] if c.isalnum() or c in "_-.")
        reason = f"token endpoint refused: {safe}"
        if error.error == "invalid_client":
            reason += " (is the client secret still the provider's?)"
        raise SignInFailed(reason, MISBEHAVED) from None
    except requests.Timeout:
        raise SignInFailed("token endpoint: timed out", UNREACHABLE) from None
    except requests.HTTPError as error:
        status = error.response.status_code if error.response is not None else "?"
        raise SignInFailed(f"token endpoint: HTTP {status}", UNREACHABLE) from None
    except requests.RequestException as error:
        raise SignInFailed(
            f"token endpoint: unreachable ({type(error).__name__})", UNREACHABLE
        ) from None
    except ValueError:
        raise SignInFailed("token endpoint: not JSON", MISBEHAVED) from None
    if not isinstance(token, Mapping):
        raise SignInFailed("token endpoint: not a JSON object", MISBEHAVED)
    return token
