"""Who signed in, and how: the `Person` every sign-in produces, and the claims it puts in tokens.

Every login method ends with a `Person`: the email it proved, the identity provider (its name,
id and type), the RFC 8176 methods (`amr`) and, from an upstream provider, its groups and the
claims its config copies. They travel in the org token, the authorization code and the app
token (`token_claims`), so SSO, the gate and `get-identity` re-evaluate rules on them with no
query and no call to the provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address
from typing import TYPE_CHECKING

from identity.claims import (
    AUTH_METHODS_CLAIM,
    CUSTOM_CLAIM,
    GROUPS_CLAIM,
    IDP_CLAIM,
    LOGIN_METHOD_CLAIM,
    AccessClaims,
)
from identity.providers import login_method_for
from identity.providers.base import ProviderAnswer
from policies.rules import Subject
from policies.snapshot import CompiledIdentityProvider

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The claims a sign-in adds, carried from the org token to every app token minted from it.
SIGN_IN_CLAIMS = (LOGIN_METHOD_CLAIM, AUTH_METHODS_CLAIM, IDP_CLAIM, GROUPS_CLAIM, CUSTOM_CLAIM)


@dataclass(frozen=True)
class Person:
    """Who signed in, and how."""

    email: str
    login_method: str  # the identity provider's name
    auth_methods: frozenset[str] = frozenset()
    user: User | None = field(default=None, compare=False)
    idp_id: str = ""
    idp_type: str = ""
    groups: tuple[str, ...] = ()
    custom: Mapping[str, object] = field(default_factory=dict, compare=False)

    @classmethod
    def signed_in_with(
        cls,
        provider: CompiledIdentityProvider,
        *,
        email: str,
        user: User | None = None,
        answer: ProviderAnswer | None = None,
    ) -> Person:
        """A sign-in through `provider`: `amr` as the provider sent it, else what its type
        proves (a PIN `otp`, a password `pwd`)."""
        method = login_method_for(provider)
        amr = frozenset(answer.amr) if answer is not None and answer.amr else None
        if amr is None:
            amr = method.amr if method is not None else frozenset()
        return cls(
            email=email,
            login_method=provider.name,
            auth_methods=amr,
            user=user,
            idp_id=provider.id,
            idp_type=provider.type,
            groups=tuple(answer.groups) if answer is not None else (),
            custom=dict(answer.custom) if answer is not None else {},
        )

    @classmethod
    def from_claims(cls, claims: AccessClaims) -> Person:
        """The person a verified token stands for (everything as its sign-in claimed)."""
        return cls(
            email=claims.email,
            login_method=claims.login_method,
            auth_methods=frozenset(claims.auth_methods),
            idp_id=claims.idp_id,
            idp_type=claims.idp_type,
            groups=claims.groups,
            custom=dict(claims.custom),
        )

    def as_subject(self, *, ip: IPv4Address | IPv6Address | None, country: str) -> Subject:
        """This person as policies see them from a request with this address and country."""
        return Subject(
            email=self.email,
            ip=ip,
            country=country or None,
            login_method=self.login_method,
            auth_methods=self.auth_methods,
            idp_id=self.idp_id or None,
            idp_type=self.idp_type or None,
            idp_groups=frozenset(self.groups),
            idp_claims=self.custom,
        )

    def token_claims(self) -> dict[str, object]:
        """The claims this sign-in adds to its tokens (`SIGN_IN_CLAIMS`)."""
        claims: dict[str, object] = {
            LOGIN_METHOD_CLAIM: self.login_method,
            AUTH_METHODS_CLAIM: sorted(self.auth_methods),
            IDP_CLAIM: {"id": self.idp_id, "type": self.idp_type},
        }
        if self.groups:
            claims[GROUPS_CLAIM] = list(self.groups)
        if self.custom:
            claims[CUSTOM_CLAIM] = dict(self.custom)
        return claims
