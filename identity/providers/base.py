"""The interface every login method implements, and the registry the login page asks.

Each identity provider type (`policies.providers.PROVIDER_TYPES`) has one `LoginMethod` here,
registered by `register`: the one-time PIN and the password (forms on the login page), OpenID
Connect and its presets, and GitHub (a button that goes to the provider and comes back to
`/cdn-cgi/access/callback`). The login page, the sign-in flows and the admin ask the method of a
provider's type; nothing else in accessproject branches on a type. docs/architecture.md
("Where a new feature goes: a login method") says how to add one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, TypeVar

from policies.snapshot import CompiledIdentityProvider

if TYPE_CHECKING:
    from django.http import HttpRequest

__all__ = [
    "CheckResult",
    "LoginMethod",
    "ProviderAnswer",
    "ProviderReturn",
    "ProviderStart",
    "SignInFailed",
    "login_method_for",
    "register",
]


class SignInFailed(Exception):
    """A sign-in at an identity provider did not prove who someone is.

    `reason` goes to the authentication event and the log (never a secret, a token or a code);
    `message` is what the person reads on the login host, with a link to try again; `status`
    is the page's (502: the provider failed or misbehaved; 400: the sign-in was cancelled;
    403: the provider vouched for nobody accessproject may accept).
    """

    def __init__(self, reason: str, message: str = "", *, status: int = 502) -> None:
        super().__init__(reason)
        self.reason = reason
        self.message = message or "The sign-in could not be completed."
        self.status = status


@dataclass(frozen=True)
class ProviderStart:
    """One sign-in's values for the provider: where it must come back to, and the secrets
    that bind its answer to this browser's flow (RFC 6749 §10.12 `state`, OpenID Connect
    `nonce`, RFC 7636 PKCE)."""

    redirect_uri: str
    state: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class ProviderReturn:
    """The provider's answer at the callback (its query), with the values the start used."""

    params: Mapping[str, str]
    redirect_uri: str
    nonce: str
    code_verifier: str


@dataclass(frozen=True)
class ProviderAnswer:
    """What an identity provider said about the person who signed in there."""

    email: str
    amr: tuple[str, ...] = ()  # RFC 8176 methods, as the provider sent them
    groups: tuple[str, ...] = ()
    custom: Mapping[str, object] = field(default_factory=dict)  # the config's `claims`


@dataclass(frozen=True)
class CheckResult:
    """The admin's "Test" of a provider: what was fetched, and every problem found."""

    checked: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.problems


class LoginMethod:
    """How one type of identity provider signs people in.

    Form methods (PIN, password) name the template of their form on the login page
    (`form_template`); the page's steps do the rest. Redirect methods (`redirects = True`) show
    a "Sign in with <name>" button: `start` gives the URL to send the browser to (with the
    flow's `state`, `nonce` and PKCE challenge in `begin`), `finish` turns the provider's answer
    at the callback into a `ProviderAnswer` or raises `SignInFailed`. `check` is the admin's
    "Test" button. `amr` is what a sign-in of this type proves when the provider says nothing.
    """

    types: ClassVar[tuple[str, ...]] = ()
    form_template: ClassVar[str] = ""
    redirects: ClassVar[bool] = False
    # Sign-ins are a Django user's, whose account must still be active for them to count.
    signs_in_users: ClassVar[bool] = False
    amr: ClassVar[frozenset[str]] = frozenset()

    def start(self, provider: CompiledIdentityProvider, begin: ProviderStart) -> str:
        """The provider's authorization URL for this sign-in (redirect methods only)."""
        raise NotImplementedError

    def finish(
        self, provider: CompiledIdentityProvider, back: ProviderReturn, request: HttpRequest
    ) -> ProviderAnswer:
        """Who signed in, from the provider's answer at the callback; `SignInFailed` if not."""
        raise NotImplementedError

    def check(self, provider: CompiledIdentityProvider) -> CheckResult:
        """Reach the provider as a sign-in would, and report what is wrong."""
        return CheckResult(checked=("nothing to reach: this type signs in on the login page",))


_REGISTRY: dict[str, LoginMethod] = {}
_M = TypeVar("_M", bound=type[LoginMethod])


def register(cls: _M) -> _M:
    """Class decorator: make `cls` the login method of each of its `types`."""
    instance = cls()
    for type_ in cls.types:
        if type_ in _REGISTRY:
            raise RuntimeError(f"two login methods for the type {type_!r}")
        _REGISTRY[type_] = instance
    return cls


def login_method_for(provider: CompiledIdentityProvider | str) -> LoginMethod | None:
    """The login method of a provider (or of a type), or None for a type nothing handles."""
    type_ = provider if isinstance(provider, str) else provider.type
    return _REGISTRY.get(type_)


def registered_types() -> frozenset[str]:
    """Every type some login method handles (a test holds it equal to PROVIDER_TYPES)."""
    return frozenset(_REGISTRY)
