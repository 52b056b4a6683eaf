"""GitHub (`github`): OAuth 2 without OpenID Connect, and GitHub's API for who signed in.

The authorization-code flow with `state` and PKCE (S256) through Authlib, at `base_url`
(github.com, or a GitHub Enterprise Server). GitHub issues no id_token, so the person is read
from its REST API at `api_url` with the access token, once, at sign-in:

- the email is the account's primary address, and only when GitHub says it is verified
  (`GET /user/emails`): another listed address, or an unverified one, could belong to anyone;
- the organisations (`GET /user/orgs`) and teams (`GET /user/teams`) become the sign-in's
  groups, `acme` and `acme/site-ops` (organisation login and team slug, lower case), which
  `github-organization` rules match. Lists follow GitHub's `Link: rel="next"` pages.

The access token is used for these calls and then forgotten: nothing asks GitHub again per
request, and nothing stores the token.
"""

from __future__ import annotations

import re
from typing import Any, ClassVar

import requests
from authlib.integrations.requests_client import OAuth2Session
from django.http import HttpRequest

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
from identity.providers.oidc import (
    MISBEHAVED,
    UNREACHABLE,
    check_carried_size,
    exchange_code,
    fetch_json,
    refused_at_provider,
)
from policies.snapshot import CompiledIdentityProvider

SCOPES = ("read:user", "user:email", "read:org")
PAGE_SIZE = 100
MAX_PAGES = 10
_NEXT_LINK = re.compile(r'<([^>]+)>;\s*rel="next"')


@register
class GitHub(LoginMethod):
    types: ClassVar[tuple[str, ...]] = ("github",)
    redirects: ClassVar[bool] = True

    def _session(self, provider: CompiledIdentityProvider, *, redirect_uri: str) -> OAuth2Session:
        config: Any = provider.config
        session = OAuth2Session(
            client_id=config.client_id,
            client_secret=config.client_secret,
            scope=" ".join(SCOPES),
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            # GitHub reads the client's credentials from the form, as its documentation shows.
            token_endpoint_auth_method="client_secret_post",
        )
        session.headers["Accept"] = "application/json"
        return session

    def start(self, provider: CompiledIdentityProvider, begin: ProviderStart) -> str:
        config: Any = provider.config
        session = self._session(provider, redirect_uri=begin.redirect_uri)
        url, _ = session.create_authorization_url(
            f"{config.base_url.rstrip('/')}/login/oauth/authorize",
            state=begin.state,
            code_verifier=begin.code_verifier,
        )
        return str(url)

    def finish(
        self, provider: CompiledIdentityProvider, back: ProviderReturn, request: HttpRequest
    ) -> ProviderAnswer:
        config: Any = provider.config
        refused_at_provider(back.params)
        code = back.params.get("code", "")
        if not code:
            raise SignInFailed("GitHub sent no code", MISBEHAVED)
        session = self._session(provider, redirect_uri=back.redirect_uri)
        token = exchange_code(
            session,
            f"{config.base_url.rstrip('/')}/login/oauth/access_token",
            code=code,
            code_verifier=back.code_verifier,
        )
        if not isinstance(token.get("access_token"), str):
            raise SignInFailed("GitHub's token endpoint sent no access token", MISBEHAVED)
        api = config.api_url.rstrip("/")
        session.headers["Accept"] = "application/vnd.github+json"
        email = _primary_verified_email(_pages(session, f"{api}/user/emails", what="emails"))
        groups: list[str] = []
        for organisation in _pages(session, f"{api}/user/orgs", what="organisations"):
            login = organisation.get("login") if isinstance(organisation, dict) else None
            if isinstance(login, str) and login:
                groups.append(login.lower())
        for team in _pages(session, f"{api}/user/teams", what="teams"):
            slug = team.get("slug") if isinstance(team, dict) else None
            owner = team.get("organization") if isinstance(team, dict) else None
            login = owner.get("login") if isinstance(owner, dict) else None
            if isinstance(slug, str) and isinstance(login, str) and slug and login:
                groups.append(f"{login.lower()}/{slug.lower()}")
        found = tuple(dict.fromkeys(groups))
        check_carried_size(found, {})
        return ProviderAnswer(email=email, groups=found)

    def check(self, provider: CompiledIdentityProvider) -> CheckResult:
        config: Any = provider.config
        api = config.api_url.rstrip("/")
        try:
            fetch_json(f"{api}/", what="GitHub API")
        except SignInFailed as failure:
            return CheckResult(problems=(failure.reason,))
        return CheckResult(
            checked=(
                f"GitHub API: {api}/ answers",
                f"sign-in page: {config.base_url.rstrip('/')}/login/oauth/authorize",
            )
        )


def _pages(session: OAuth2Session, url: str, *, what: str) -> list[Any]:
    """Every item of a GitHub list, following `Link: rel="next"` (at most `MAX_PAGES` pages)."""
    items: list[Any] = []
    next_url: str | None = f"{url}?per_page={PAGE_SIZE}"
    for _ in range(MAX_PAGES):
        if next_url is None:
            return items
        try:
            response = session.get(next_url, timeout=conf.idp_timeout)
        except requests.Timeout:
            raise SignInFailed(f"GitHub API ({what}): timed out", UNREACHABLE) from None
        except requests.RequestException as error:
            raise SignInFailed(
                f"GitHub API ({what}): unreachable ({type(error).__name__})", UNREACHABLE
            ) from None
        if response.status_code != 200:
            raise SignInFailed(f"GitHub API ({what}): HTTP {response.status_code}", UNREACHABLE)
        try:
            page = response.json()
        except ValueError:
            raise SignInFailed(f"GitHub API ({what}): not JSON", MISBEHAVED) from None
        if not isinstance(page, list):
            raise SignInFailed(f"GitHub API ({what}): not a list", MISBEHAVED)
        items.extend(page)
        link = _NEXT_LINK.search(response.headers.get("Link", ""))
        # Only pages of the same API: a Link elsewhere would send the token there.
        next_url = link.group(1) if link and link.group(1).startswith(url) else None
    raise SignInFailed(f"GitHub API ({what}): more than {MAX_PAGES} pages", MISBEHAVED)


def _primary_verified_email(emails: list[Any]) -> str:
    for entry in emails:
        if isinstance(entry, dict) and entry.get("primary") is True:
            address = entry.get("email")
            if entry.get("verified") is not True:
                raise SignInFailed(
                    "GitHub says the primary email address is not verified",
                    "Your primary email address is not verified at GitHub. Verify it there, "
                    "then sign in again.",
                    status=403,
                )
            if isinstance(address, str) and "@" in address and len(address) <= 254:
                return address
    raise SignInFailed(
        "GitHub lists no primary email address",
        "GitHub did not say which email address you have.",
        status=403,
    )
