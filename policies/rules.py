"""Policy rules: the selectors of an Access policy, compiled once and evaluated against a subject.

A rule is a one-key object as Cloudflare's API writes it, for example
`{"email_domain": {"domain": "example.com"}}`. `compile_rule` checks its shape and returns a `Rule`
whose `matches(subject, groups)` answers for one request. Include rules are ORed, require rules
ANDed and exclude rules negate (`evaluate_rules`). Everything fails closed: an unknown group, a
group cycle or a missing attribute on the subject never matches.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar

__all__ = [
    "SELECTORS",
    "SUPPORTED_SELECTORS",
    "CompiledGroup",
    "ProviderRule",
    "Rule",
    "RuleError",
    "RulesOutcome",
    "Subject",
    "compile_rule",
    "compile_rules",
    "evaluate_rules",
    "github_team_slug",
    "is_email_address",
    "provider_id",
    "rules_match",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

# One or more labels: single-label domains (ann@localhost) exist on development machines.
_DOMAIN = re.compile(
    r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*"
)
_COUNTRY = re.compile(r"[A-Z]{2}")
_AUTH_METHOD = re.compile(r"[a-z0-9_-]+")


class RuleError(ValueError):
    """A rule that does not have the shape of an Access selector."""


@dataclass(frozen=True, slots=True)
class Subject:
    """Who (or what) is asking, as far as the rules need to know.

    `login_method` is the identity provider's name and `idp_id`, `idp_type` its id and type;
    `idp_groups` and `idp_claims` are what that provider said at sign-in (its groups, and the
    claims its config copies into the Access token). `service_token` is the service token's
    name. `country` is an ISO 3166 alpha-2 code in upper case.
    """

    email: str | None = None
    ip: IPAddress | None = None
    country: str | None = None
    login_method: str | None = None
    auth_methods: frozenset[str] = frozenset()
    service_token: str | None = None
    is_service_token: bool = False
    idp_id: str | None = None
    idp_type: str | None = None
    idp_groups: frozenset[str] = frozenset()
    idp_claims: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CompiledGroup:
    """An access group: reusable include/require/exclude rules, referenced by name."""

    name: str
    include: tuple[Rule, ...]
    require: tuple[Rule, ...] = ()
    exclude: tuple[Rule, ...] = ()


# Groups being evaluated further up the stack: a group met again is a cycle and does not match.
_Visiting = frozenset[str]


class Rule:
    """A compiled selector, a dataclass. Subclasses define `kind`, `is_identity` and `_holds`
    (`_matches` where the rule resolves groups); `_fields` where the selector's fields are not
    the dataclass's own, by the same names."""

    __slots__ = ()
    kind: ClassVar[str]
    is_identity: ClassVar[bool]

    def matches(self, subject: Subject, groups: Mapping[str, CompiledGroup]) -> bool:
        """Whether this rule holds for `subject`; groups are resolved by name in `groups`."""
        return self._matches(subject, groups, frozenset())

    def to_data(self) -> dict[str, dict[str, str]]:
        """The rule in its API shape, such as {"email": {"email": "ann@example.com"}}."""
        return {self.kind: self._fields()}

    def _fields(self) -> dict[str, str]:
        own = fields(self)  # type: ignore[arg-type]  # every subclass is a dataclass
        return {item.name: getattr(self, item.name) for item in own if item.init}

    def _matches(
        self, subject: Subject, groups: Mapping[str, CompiledGroup], visiting: _Visiting
    ) -> bool:
        return self._holds(subject)

    def _holds(self, subject: Subject) -> bool:
        raise NotImplementedError

    def __str__(self) -> str:
        values = ", ".join(self._fields().values())
        return f"{self.kind} {values}" if values else self.kind


@dataclass(frozen=True, slots=True)
class EveryoneRule(Rule):
    kind: ClassVar[str] = "everyone"
    is_identity: ClassVar[bool] = False

    def _holds(self, subject: Subject) -> bool:
        return True


@dataclass(frozen=True, slots=True)
class EmailRule(Rule):
    email: str  # lower case
    kind: ClassVar[str] = "email"
    is_identity: ClassVar[bool] = True

    def _holds(self, subject: Subject) -> bool:
        return subject.email is not None and subject.email.lower() == self.email


@dataclass(frozen=True, slots=True)
class EmailDomainRule(Rule):
    domain: str  # lower case, no "@"
    kind: ClassVar[str] = "email_domain"
    is_identity: ClassVar[bool] = True

    def _holds(self, subject: Subject) -> bool:
        if subject.email is None:
            return False
        # The domain is what follows the last "@", compared whole: never a suffix match, so
        # evil-example.com, example.com.evil.net and sub.example.com all stay out.
        local, at, domain = subject.email.rpartition("@")
        return bool(local and at) and domain.lower() == self.domain


@dataclass(frozen=True, slots=True)
class IpRule(Rule):
    network: IPNetwork
    kind: ClassVar[str] = "ip"
    is_identity: ClassVar[bool] = False

    def _holds(self, subject: Subject) -> bool:
        address = subject.ip
        if address is None:
            return False
        # A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; IPv4 rules must see them.
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        return address.version == self.network.version and address in self.network

    def _fields(self) -> dict[str, str]:
        return {"ip": self.network.with_prefixlen}


@dataclass(frozen=True, slots=True)
class GeoRule(Rule):
    country_code: str  # ISO 3166 alpha-2, upper case
    kind: ClassVar[str] = "geo"
    is_identity: ClassVar[bool] = False

    def _holds(self, subject: Subject) -> bool:
        return subject.country is not None and subject.country.upper() == self.country_code


@dataclass(frozen=True, slots=True)
class GroupRule(Rule):
    name: str
    kind: ClassVar[str] = "group"
    # Groups are resolved at evaluation time; treat them as identity rules unless resolved.
    is_identity: ClassVar[bool] = True

    def _matches(
        self, subject: Subject, groups: Mapping[str, CompiledGroup], visiting: _Visiting
    ) -> bool:
        group = groups.get(self.name)
        if group is None or self.name in visiting:
            return False
        return _evaluate(
            group.include, group.require, group.exclude, subject, groups, visiting | {self.name}
        ).matched


@dataclass(frozen=True, slots=True)
class ServiceTokenRule(Rule):
    name: str
    kind: ClassVar[str] = "service_token"
    is_identity: ClassVar[bool] = False

    def _holds(self, subject: Subject) -> bool:
        return subject.is_service_token and subject.service_token == self.name


@dataclass(frozen=True, slots=True)
class AnyValidServiceTokenRule(Rule):
    kind: ClassVar[str] = "any_valid_service_token"
    is_identity: ClassVar[bool] = False

    def _holds(self, subject: Subject) -> bool:
        return subject.is_service_token


@dataclass(frozen=True, slots=True)
class LoginMethodRule(Rule):
    """The identity provider the sign-in used: by id (as Access writes it), or by name."""

    name: str = ""
    id: str = ""
    _folded: str = field(init=False, repr=False, compare=False)
    kind: ClassVar[str] = "login_method"
    is_identity: ClassVar[bool] = True

    def __post_init__(self) -> None:
        object.__setattr__(self, "_folded", self.name.casefold())

    def _holds(self, subject: Subject) -> bool:
        if self.id:
            return subject.idp_id == self.id
        return subject.login_method is not None and subject.login_method.casefold() == self._folded

    def _fields(self) -> dict[str, str]:
        return {"id": self.id} if self.id else {"name": self.name}


def _claim_holds(value: object, wanted: str) -> bool:
    """Whether a claim's value is `wanted`, or (a list) holds it. Compared as text, exactly:
    `true` for a JSON true, `3` for a number; objects never match."""
    if isinstance(value, list):
        return any(_claim_holds(item, wanted) for item in value if not isinstance(item, list))
    if isinstance(value, bool):
        return wanted == ("true" if value else "false")
    if isinstance(value, str | int | float):
        return str(value) == wanted
    return False


@dataclass(frozen=True, slots=True)
class OidcClaimRule(Rule):
    """A claim an OpenID Connect provider sent at sign-in, as Access's "OIDC Claim" selector.

    Only the named provider's sign-ins match: the same claim from another provider (which may
    let anyone call themselves `admins`) never does.
    """

    claim_name: str
    claim_value: str
    identity_provider_id: str
    kind: ClassVar[str] = "oidc"
    is_identity: ClassVar[bool] = True

    def _holds(self, subject: Subject) -> bool:
        if subject.idp_id != self.identity_provider_id:
            return False
        if self.claim_name == "groups" and self.claim_value in subject.idp_groups:
            return True
        value = subject.idp_claims.get(self.claim_name)
        return value is not None and _claim_holds(value, self.claim_value)


def github_team_slug(name: str) -> str:
    """A GitHub team's slug from its name or slug ("Site Ops" -> "site-ops")."""
    return re.sub(r"[^a-z0-9_]+", "-", name.strip().lower()).strip("-")


@dataclass(frozen=True, slots=True)
class GitHubOrganizationRule(Rule):
    """Membership of a GitHub organisation (and one of its teams), read at sign-in.

    The GitHub sign-in carries the organisations (`acme`) and teams (`acme/site-ops`) in the
    Access token's groups; only sign-ins through a GitHub provider (this one, when named) count.
    """

    name: str  # the organisation's login, lower case
    team: str = ""  # the team's slug
    identity_provider_id: str = ""
    kind: ClassVar[str] = "github-organization"
    is_identity: ClassVar[bool] = True

    def _holds(self, subject: Subject) -> bool:
        if subject.idp_type != "github":
            return False
        if self.identity_provider_id and subject.idp_id != self.identity_provider_id:
            return False
        wanted = f"{self.name}/{self.team}" if self.team else self.name
        return wanted in {group.lower() for group in subject.idp_groups}

    def _fields(self) -> dict[str, str]:
        values = {"name": self.name}
        if self.team:
            values["team"] = self.team
        if self.identity_provider_id:
            values["identity_provider_id"] = self.identity_provider_id
        return values


# The rules that name an identity provider: by id, or (login_method) by id or by name.
ProviderRule = LoginMethodRule | OidcClaimRule | GitHubOrganizationRule


def provider_id(rule: Rule) -> str | None:
    """The id of the identity provider `rule` names, or None (it names none, or names it by
    name: a login_method rule with `name`)."""
    if isinstance(rule, LoginMethodRule):
        return rule.id or None
    if isinstance(rule, OidcClaimRule | GitHubOrganizationRule):
        return rule.identity_provider_id or None
    return None


@dataclass(frozen=True, slots=True)
class AuthMethodRule(Rule):
    auth_method: str  # an RFC 8176 "amr" value, lower case
    kind: ClassVar[str] = "auth_method"
    is_identity: ClassVar[bool] = True

    def _holds(self, subject: Subject) -> bool:
        return any(method.lower() == self.auth_method for method in subject.auth_methods)


# --- compiling ---------------------------------------------------------------------------------


def _string_field(selector: str, fields: Mapping[str, Any], name: str, example: str) -> str:
    value = fields[name]
    if not isinstance(value, str) or not value.strip():
        raise RuleError(f"{selector}.{name} must be a non-empty string, for example {example!r}")
    return value.strip()


def _compile_everyone(fields: Mapping[str, Any]) -> Rule:
    return EveryoneRule()


def is_email_address(text: str) -> bool:
    """Whether lower-case `text` is an address like ann@example.com (a domain, no spaces)."""
    local, at, domain = text.rpartition("@")
    return bool(local and at and _DOMAIN.fullmatch(domain)) and not any(c.isspace() for c in local)


def _compile_email(fields: Mapping[str, Any]) -> Rule:
    email = _string_field("email", fields, "email", "ann@example.com").lower()
    if not is_email_address(email):
        raise RuleError(f"email.email {email!r} is not an email address like ann@example.com")
    return EmailRule(email)


def _compile_email_domain(fields: Mapping[str, Any]) -> Rule:
    domain = _string_field("email_domain", fields, "domain", "example.com").lower()
    if not _DOMAIN.fullmatch(domain):
        raise RuleError(
            f"email_domain.domain {domain!r} is not a domain; write it like example.com "
            f"(no @, no wildcard)"
        )
    return EmailDomainRule(domain)


def _compile_ip(fields: Mapping[str, Any]) -> Rule:
    text = _string_field("ip", fields, "ip", "192.0.2.0/24")
    try:
        network = ipaddress.ip_network(text)
    except ValueError as error:
        if "has host bits set" in str(error):
            fixed = ipaddress.ip_network(text, strict=False)
            raise RuleError(
                f"ip.ip {text!r} has host bits set; write the network, {fixed.with_prefixlen!r}"
            ) from None
        raise RuleError(
            f"ip.ip {text!r} is not an IP address or CIDR range like 192.0.2.0/24 or 2001:db8::/32"
        ) from None
    return IpRule(network)


def _compile_geo(fields: Mapping[str, Any]) -> Rule:
    code = _string_field("geo", fields, "country_code", "PT").upper()
    if not _COUNTRY.fullmatch(code):
        raise RuleError(f"geo.country_code {code!r} must be a two-letter country code like PT")
    return GeoRule(code)


def _compile_group(fields: Mapping[str, Any]) -> Rule:
    return GroupRule(_string_field("group", fields, "name", "Engineering"))


def _compile_service_token(fields: Mapping[str, Any]) -> Rule:
    return ServiceTokenRule(_string_field("service_token", fields, "name", "ci-deploy"))


def _compile_any_valid_service_token(fields: Mapping[str, Any]) -> Rule:
    return AnyValidServiceTokenRule()


def _provider_id(selector: str, fields: Mapping[str, Any], name: str) -> str:
    """An identity provider's id: its number, written as a number or as text."""
    value = fields[name]
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return str(value)
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return str(int(value.strip()))
    raise RuleError(f"{selector}.{name} must be an identity provider's id, for example 3")


def _compile_login_method(fields: Mapping[str, Any]) -> Rule:
    if ("id" in fields) == ("name" in fields):
        raise RuleError(
            'login_method takes the identity provider\'s "id" or its "name", one of them, '
            'for example {"login_method": {"id": 3}}'
        )
    if "id" in fields:
        return LoginMethodRule(id=_provider_id("login_method", fields, "id"))
    return LoginMethodRule(name=_string_field("login_method", fields, "name", "One-time PIN"))


def _compile_oidc(fields: Mapping[str, Any]) -> Rule:
    return OidcClaimRule(
        claim_name=_string_field("oidc", fields, "claim_name", "groups"),
        claim_value=_string_field("oidc", fields, "claim_value", "admins"),
        identity_provider_id=_provider_id("oidc", fields, "identity_provider_id"),
    )


def _compile_github_organization(fields: Mapping[str, Any]) -> Rule:
    selector = "github-organization"
    team = ""
    if "team" in fields:
        team = github_team_slug(_string_field(selector, fields, "team", "site-ops"))
    provider = (
        _provider_id(selector, fields, "identity_provider_id")
        if "identity_provider_id" in fields
        else ""
    )
    return GitHubOrganizationRule(
        name=_string_field(selector, fields, "name", "acme").lower(),
        team=team,
        identity_provider_id=provider,
    )


def _compile_saml(fields: Mapping[str, Any]) -> Rule:
    raise RuleError(
        "saml rules are not supported yet: accessproject has no SAML identity providers; "
        'use an OpenID Connect provider and {"oidc": {"claim_name": ..., "claim_value": ...}}'
    )


def _compile_auth_method(fields: Mapping[str, Any]) -> Rule:
    method = _string_field("auth_method", fields, "auth_method", "mfa").lower()
    if not _AUTH_METHOD.fullmatch(method):
        raise RuleError(
            f"auth_method.auth_method {method!r} must be an RFC 8176 method such as mfa, pwd or otp"
        )
    return AuthMethodRule(method)


@dataclass(frozen=True, slots=True)
class Selector:
    """A selector's fields (`required`, and `optional` ones), its compiler, an example of the
    whole rule for error messages and what it selects, in a few words; the API's schema of a
    rule is made from these (`policies.api.schemas.RULE`). `supported` is false for a selector
    Access has that accessproject refuses (its compiler says why)."""

    required: tuple[str, ...]
    compiler: Callable[[Mapping[str, Any]], Rule]
    example: str
    description: str
    optional: tuple[str, ...] = ()
    supported: bool = True


SELECTORS: dict[str, Selector] = {
    "everyone": Selector((), _compile_everyone, '{"everyone": {}}', "Anyone."),
    "email": Selector(
        ("email",), _compile_email, '{"email": {"email": "ann@example.com"}}', "One email address."
    ),
    "email_domain": Selector(
        ("domain",),
        _compile_email_domain,
        '{"email_domain": {"domain": "example.com"}}',
        "Every address of a domain.",
    ),
    "ip": Selector(
        ("ip",), _compile_ip, '{"ip": {"ip": "192.0.2.0/24"}}', "An IP address or CIDR range."
    ),
    "geo": Selector(
        ("country_code",),
        _compile_geo,
        '{"geo": {"country_code": "PT"}}',
        "A country (ISO 3166 alpha-2).",
    ),
    "group": Selector(
        ("name",), _compile_group, '{"group": {"name": "Engineering"}}', "An access group, by name."
    ),
    "service_token": Selector(
        ("name",),
        _compile_service_token,
        '{"service_token": {"name": "ci-deploy"}}',
        "A service token, by name.",
    ),
    "any_valid_service_token": Selector(
        (),
        _compile_any_valid_service_token,
        '{"any_valid_service_token": {}}',
        "Any service token.",
    ),
    "login_method": Selector(
        (),
        _compile_login_method,
        '{"login_method": {"id": 3}}',
        "An identity provider, by id or by name (one of them).",
        optional=("id", "name"),
    ),
    "auth_method": Selector(
        ("auth_method",),
        _compile_auth_method,
        '{"auth_method": {"auth_method": "mfa"}}',
        'An RFC 8176 method, e.g. "mfa".',
    ),
    "oidc": Selector(
        ("claim_name", "claim_value", "identity_provider_id"),
        _compile_oidc,
        '{"oidc": {"claim_name": "groups", "claim_value": "admins", "identity_provider_id": 3}}',
        "A claim an OpenID Connect provider sent at sign-in.",
    ),
    "github-organization": Selector(
        ("name",),
        _compile_github_organization,
        '{"github-organization": {"name": "acme", "team": "site-ops", "identity_provider_id": 4}}',
        "Membership of a GitHub organisation, or of one of its teams.",
        optional=("team", "identity_provider_id"),
    ),
    "saml": Selector(
        (),
        _compile_saml,
        '{"saml": {"attribute_name": ..., "attribute_value": ...}}',
        "A SAML attribute: not supported yet.",
        optional=("attribute_name", "attribute_value", "identity_provider_id"),
        supported=False,
    ),
}

# The selectors validation accepts, in `SELECTORS` order: what the API's schema describes and
# the admin's rule builder offers.
SUPPORTED_SELECTORS: tuple[str, ...] = tuple(
    kind for kind, selector in SELECTORS.items() if selector.supported
)


def compile_rule(data: object) -> Rule:
    """Compile one rule such as `{"email": {"email": "ann@example.com"}}`.

    Raises `RuleError` naming the selector or field at fault and showing the expected shape.
    """
    if not isinstance(data, Mapping):
        raise RuleError(
            'a rule must be an object with one selector, for example {"email": {"email": '
            f'"ann@example.com"}}}}; got {type(data).__name__}'
        )
    if len(data) != 1:
        names = ", ".join(sorted(map(str, data))) or "none"
        raise RuleError(
            f"a rule must have exactly one selector (found {len(data)}: {names}); "
            "put each selector in its own rule"
        )
    ((selector, fields),) = data.items()
    if selector not in SELECTORS:
        known = ", ".join(SELECTORS)
        raise RuleError(f"unknown selector {selector!r}; use one of: {known}")
    definition = SELECTORS[selector]
    example = definition.example
    if not definition.supported:
        return definition.compiler(fields if isinstance(fields, Mapping) else {})
    if not isinstance(fields, Mapping):
        raise RuleError(f"{selector} needs an object of fields, for example {example}")
    missing = [name for name in definition.required if name not in fields]
    if missing:
        raise RuleError(f"{selector} is missing field {missing[0]!r}, for example {example}")
    accepted = (*definition.required, *definition.optional)
    extra = sorted(str(name) for name in fields if name not in accepted)
    if extra:
        raise RuleError(f"{selector} has unexpected field {extra[0]!r}, for example {example}")
    return definition.compiler(fields)


def compile_rules(data: object, *, where: str) -> tuple[Rule, ...]:
    """Compile a list of rules; errors name the list and position (`include[2]: ...`)."""
    if not isinstance(data, Sequence) or isinstance(data, str | bytes):
        raise RuleError(f"{where} must be a list of rules")
    rules = []
    for position, item in enumerate(data):
        try:
            rules.append(compile_rule(item))
        except RuleError as error:
            raise RuleError(f"{where}[{position}]: {error}") from None
    return tuple(rules)


# --- evaluating --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RulesOutcome:
    """Whether include/require/exclude rules let a subject in, and which rule settled it."""

    matched: bool
    include_matched: Rule | None = None
    require_failed: Rule | None = None
    exclude_hit: Rule | None = None

    @property
    def explanation(self) -> str:
        """A short sentence for the policy tester."""
        if self.include_matched is None:
            return "no include rule matched"
        if self.require_failed is not None:
            return (
                f"include {self.include_matched} matched, but require {self.require_failed} failed"
            )
        if self.exclude_hit is not None:
            return f"include {self.include_matched} matched, but exclude {self.exclude_hit} matched"
        return f"include {self.include_matched} matched"


_NOTHING_INCLUDED = RulesOutcome(matched=False)


def _evaluate(
    include: Sequence[Rule],
    require: Sequence[Rule],
    exclude: Sequence[Rule],
    subject: Subject,
    groups: Mapping[str, CompiledGroup],
    visiting: _Visiting,
) -> RulesOutcome:
    included = None
    for rule in include:
        if rule._matches(subject, groups, visiting):
            included = rule
            break
    else:  # include is an OR of at least one rule: an empty list admits nobody
        return _NOTHING_INCLUDED
    for rule in require:
        if not rule._matches(subject, groups, visiting):
            return RulesOutcome(matched=False, include_matched=included, require_failed=rule)
    for rule in exclude:
        if rule._matches(subject, groups, visiting):
            return RulesOutcome(matched=False, include_matched=included, exclude_hit=rule)
    return RulesOutcome(matched=True, include_matched=included)


def evaluate_rules(
    include: Sequence[Rule],
    require: Sequence[Rule],
    exclude: Sequence[Rule],
    subject: Subject,
    groups: Mapping[str, CompiledGroup],
) -> RulesOutcome:
    """Include (OR, at least one), require (AND) and exclude (NOT), with the deciding rule."""
    return _evaluate(include, require, exclude, subject, groups, frozenset())


def rules_match(
    include: Sequence[Rule],
    require: Sequence[Rule],
    exclude: Sequence[Rule],
    subject: Subject,
    groups: Mapping[str, CompiledGroup],
) -> bool:
    """Whether `subject` passes: one include rule, every require rule and no exclude rule."""
    return _evaluate(include, require, exclude, subject, groups, frozenset()).matched
