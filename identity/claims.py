"""What a verified Access token says (`AccessClaims`), and the one error a refused token raises.

A leaf: `identity.tokens` makes and checks tokens, `identity.sessions` revokes them, and both
speak of claims without importing each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from ipaddress import IPv4Address, IPv6Address

from policies.rules import Subject

# Extra claims the sign-in flows add, read back through `AccessClaims` properties.
LOGIN_METHOD_CLAIM = "login_method"
AUTH_METHODS_CLAIM = "amr"
# The identity provider of the sign-in, {"id": "3", "type": "oidc"}, as Access's get-identity.
IDP_CLAIM = "idp"
# What that provider said: its groups (GitHub: organisations and "org/team" slugs), and the
# id_token claims its config's `claims` copy, under `custom` as Access puts them.
GROUPS_CLAIM = "groups"
CUSTOM_CLAIM = "custom"
BINDING_CLAIM = "binding"
# An app token names, by AUD tag, the temporary approval of each application that asks for one
# (`identity.approvals`): {"<aud>": {"id": "<approval id>", "until": <unix time>}}.
APPROVAL_CLAIM = "approval"
# An app token's answers to purpose prompts, {AUD tag: answer}, for the applications of its
# host whose policies asked in this sign-in (identity.flows.purpose).
PURPOSE_CLAIM = "purpose_justification"
# A service token's app token carries the secret version it was minted under.
SECRET_VERSION_CLAIM = "secret_version"


class TokenError(Exception):
    """A token was refused; `reason` is short and safe to log ("expired", "wrong audience")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """The verified claims of an Access token."""

    email: str
    subject: str
    audiences: tuple[str, ...]
    token_type: str
    issued_at: datetime
    expires_at: datetime
    not_before: datetime
    issuer: str
    identity_nonce: str
    country: str
    common_name: str
    raw: Mapping[str, object]

    @property
    def is_service_token(self) -> bool:
        return bool(self.common_name) and not self.subject

    @property
    def login_method(self) -> str:
        """The identity provider's name the sign-in used ("" when the token does not say)."""
        value = self.raw.get(LOGIN_METHOD_CLAIM)
        return value if isinstance(value, str) else ""

    @property
    def auth_methods(self) -> tuple[str, ...]:
        """The RFC 8176 authentication methods (`amr`) of the sign-in, e.g. ("pwd",)."""
        return self._strings(AUTH_METHODS_CLAIM)

    @property
    def idp_id(self) -> str:
        """The id of the identity provider the sign-in used ("" when the token does not say)."""
        return self._idp_field("id")

    @property
    def idp_type(self) -> str:
        """That provider's type (`oidc`, `github`, ...), "" when the token does not say."""
        return self._idp_field("type")

    @property
    def groups(self) -> tuple[str, ...]:
        """The groups the identity provider reported at sign-in."""
        return self._strings(GROUPS_CLAIM)

    @property
    def custom(self) -> Mapping[str, object]:
        """The provider's claims the config copies into the token (`claims`)."""
        value = self.raw.get(CUSTOM_CLAIM)
        return value if isinstance(value, dict) else {}

    def as_subject(self, *, ip: IPv4Address | IPv6Address | None, country: str) -> Subject:
        """The person this token stands for, as policies see them from this request."""
        return Subject(
            email=self.email or None,
            ip=ip,
            country=country or None,
            login_method=self.login_method or None,
            auth_methods=frozenset(self.auth_methods),
            idp_id=self.idp_id or None,
            idp_type=self.idp_type or None,
            idp_groups=frozenset(self.groups),
            idp_claims=self.custom,
        )

    def _strings(self, claim: str) -> tuple[str, ...]:
        """The text values of a list claim; none when it is not a list."""
        value = self.raw.get(claim)
        if not isinstance(value, list):
            return ()
        return tuple(item for item in value if isinstance(item, str))

    def _idp_field(self, name: str) -> str:
        idp = self.raw.get(IDP_CLAIM)
        value = idp.get(name) if isinstance(idp, dict) else None
        return value if isinstance(value, str) else ""

    @property
    def secret_version(self) -> int | None:
        """The service token secret version an app token was minted under (None: not said)."""
        value = self.raw.get(SECRET_VERSION_CLAIM)
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    def approval_for(self, audience: str) -> str:
        """The id of the approval this token carries for one application ("" = none)."""
        value = self.raw.get(APPROVAL_CLAIM)
        entry = value.get(audience) if isinstance(value, dict) else None
        approval = entry.get("id") if isinstance(entry, dict) else None
        return approval if isinstance(approval, str) else ""

    @property
    def approval_ids(self) -> frozenset[str]:
        """The ids of every approval this token carries, whatever the application."""
        value = self.raw.get(APPROVAL_CLAIM)
        if not isinstance(value, dict):
            return frozenset()
        return frozenset(
            entry["id"]
            for entry in value.values()
            if isinstance(entry, dict) and isinstance(entry.get("id"), str)
        )

    @property
    def binding(self) -> str:
        """SHA-256 hex of the `CF_Binding` cookie the token is bound to ("" = not bound)."""
        value = self.raw.get(BINDING_CLAIM)
        return value if isinstance(value, str) else ""

    def purpose_for(self, aud: str) -> str | None:
        """The answer this sign-in gave to application `aud`'s purpose prompt, if any."""
        answers = self.raw.get(PURPOSE_CLAIM)
        answer = answers.get(aud) if isinstance(answers, dict) else None
        return answer if isinstance(answer, str) and answer else None
