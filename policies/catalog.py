"""What rules may refer to, and who refers to what: the cross-object side of validation.

Rules refer to groups, service tokens and identity providers by name (an identity provider also
by id); a `Catalog` says which names exist (from the database, or from the final state a config
file describes), so that validation never depends on the order in which objects are written. It
also answers what a change would break: a group cycle, a rename or delete of something a policy
or group still uses, an identity selector reached through a group.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property

from policies.errors import Errors, add_error
from policies.matching import PatternError, compile_pattern
from policies.models import AccessGroup, Application, IdentityProvider, Policy, ServiceToken
from policies.rules import Rule, RuleError, compile_rule, provider_id

__all__ = [
    "SERVICE_TOKEN_KINDS",
    "Catalog",
    "PolicyUse",
    "all_rules",
    "group_delete_errors",
    "provider_delete_errors",
    "reference_delete_errors",
    "referenced_name",
]

SERVICE_TOKEN_KINDS = frozenset({"service_token", "any_valid_service_token"})


@dataclass(frozen=True)
class PolicyUse:
    """A policy as cross-object checks see it: where it is, what it decides, which rules it has."""

    application: str
    name: str
    decision: str
    rules: tuple[object, ...]


@dataclass(frozen=True)
class Catalog:
    """The names rules may refer to, and the policies and patterns other checks compare with."""

    groups: Mapping[str, tuple[object, ...]] = field(default_factory=dict)
    service_tokens: frozenset[str] = frozenset()
    identity_providers: frozenset[str] = frozenset()
    # Identity providers by id (the text of their number): their type.
    identity_provider_ids: Mapping[str, str] = field(default_factory=dict)
    policies: tuple[PolicyUse, ...] = ()
    application_patterns: tuple[tuple[str, str], ...] = ()
    # Names of the applications of type `app_launcher` (at most one is valid).
    app_launchers: tuple[str, ...] = ()

    @classmethod
    def from_database(cls) -> Catalog:
        """The catalog of what is stored now."""
        groups = {
            group.name: all_rules(group.include, group.require, group.exclude)
            for group in AccessGroup.objects.all()
        }
        policies = tuple(
            PolicyUse(
                application=policy.application.name,
                name=policy.name,
                decision=policy.decision,
                rules=all_rules(policy.include, policy.require, policy.exclude),
            )
            for policy in Policy.objects.select_related("application")
        )
        patterns: list[tuple[str, str]] = []
        launchers: list[str] = []
        for application in Application.objects.all():
            if application.type == Application.Type.APP_LAUNCHER:
                launchers.append(application.name)
                continue
            destinations = application.destinations
            more = destinations if isinstance(destinations, list) else []
            patterns.append((application.name, application.domain))
            patterns.extend((application.name, text) for text in more if isinstance(text, str))
        return cls(
            groups=groups,
            service_tokens=frozenset(ServiceToken.objects.values_list("name", flat=True)),
            identity_providers=frozenset(IdentityProvider.objects.values_list("name", flat=True)),
            identity_provider_ids={
                str(pk): type_ for pk, type_ in IdentityProvider.objects.values_list("pk", "type")
            },
            policies=policies,
            application_patterns=tuple(patterns),
            app_launchers=tuple(launchers),
        )

    @cached_property
    def patterns_by_key(self) -> Mapping[tuple[str, str], tuple[tuple[int, str, str], ...]]:
        """`application_patterns` by compiled host and path, each as (position, application,
        text): compiled once per catalog, however many applications are checked against it
        (a configuration file of n applications would otherwise compile n² patterns). Patterns
        that do not compile are left out: no other pattern can equal them."""
        index: dict[tuple[str, str], list[tuple[int, str, str]]] = {}
        for position, (application, text) in enumerate(self.application_patterns):
            try:
                pattern = compile_pattern(text)
            except PatternError:
                continue
            index.setdefault((pattern.host, pattern.path), []).append((position, application, text))
        return {key: tuple(owners) for key, owners in index.items()}

    def with_group(self, name: str, rules: tuple[object, ...] | None) -> Catalog:
        """This catalog with group `name` defined as `rules` (or removed, when None)."""
        groups = {key: value for key, value in self.groups.items() if key != name}
        if rules is not None:
            groups[name] = rules
        return replace(self, groups=groups)

    def identity_kinds(self, rule: Rule) -> list[str]:
        """The identity selectors `rule` is or reaches through groups."""
        return sorted(
            {inner.kind for inner in self._expand(rule, frozenset()) if inner.is_identity}
        )

    def service_token_kinds(self, rule: Rule) -> list[str]:
        """The service-token selectors `rule` is or reaches through groups."""
        return sorted(
            {
                inner.kind
                for inner in self._expand(rule, frozenset())
                if inner.kind in SERVICE_TOKEN_KINDS
            }
        )

    def group_cycle(self, start: str) -> list[str]:
        """The path of a cycle through group `start` (["A", "B", "A"]), or [] when there is none."""

        def visit(name: str, path: list[str]) -> list[str]:
            for child in _group_references(self.groups.get(name, ())):
                if child == start:
                    return [*path, child]
                if child not in path:
                    found = visit(child, [*path, child])
                    if found:
                        return found
            return []

        return visit(start, [start])

    def uses_group(self, rules: Sequence[object], name: str) -> bool:
        """Whether `rules` refer to group `name`, directly or through other groups."""
        pending = list(_group_references(rules))
        seen: set[str] = set()
        while pending:
            current = pending.pop()
            if current == name:
                return True
            if current not in seen:
                seen.add(current)
                pending.extend(_group_references(self.groups.get(current, ())))
        return False

    def uses_of_group(self, name: str | None) -> list[str]:
        """The policies and other groups that name group `name` in a rule, for messages."""
        if name is None:
            return []
        uses = [
            f'policy "{use.name}" of application "{use.application}"'
            for use in self.policies
            if any(_refers_to(rule, "group", name) for rule in use.rules)
        ]
        uses.extend(
            f'group "{group}"'
            for group, rules in self.groups.items()
            if group != name and any(_refers_to(rule, "group", name) for rule in rules)
        )
        return uses

    def _expand(self, rule: Rule, seen: frozenset[str]) -> Iterator[Rule]:
        """The rule itself, or for a group rule the rules of the group (and its groups)."""
        if rule.kind != "group":
            yield rule
            return
        name = referenced_name(rule.to_data(), "group")
        if name is None or name in seen or name not in self.groups:
            return
        for item in self.groups[name]:
            try:
                inner = compile_rule(item)
            except RuleError:
                continue  # the group's own validation reports it
            yield from self._expand(inner, seen | {name})


def all_rules(*lists: object) -> tuple[object, ...]:
    """The rules of every list given (include, require, exclude), skipping what is not a list."""
    return tuple(rule for value in lists if isinstance(value, list) for rule in value)


def referenced_name(item: object, kind: str) -> str | None:
    """The name a rule `{kind: {"name": ...}}` refers to, or None for any other rule."""
    if isinstance(item, Mapping):
        value = item.get(kind)
        if isinstance(value, Mapping) and isinstance(value.get("name"), str):
            return str(value["name"])
    return None


def group_delete_errors(name: str, *, catalog: Catalog) -> Errors:
    """Refuse to delete a group that rules still refer to."""
    errors: Errors = {}
    for use in catalog.uses_of_group(name):
        add_error(errors, "name", f"is used by {use}; remove those rules first")
    return errors


def reference_delete_errors(kind: str, name: str, *, catalog: Catalog) -> Errors:
    """Refuse to delete a service token or identity provider that rules still refer to."""
    errors: Errors = {}
    for use in catalog.policies:
        if any(_refers_to(rule, kind, name) for rule in use.rules):
            add_error(
                errors,
                "name",
                f'is used by policy "{use.name}" of application "{use.application}"; '
                "remove those rules first",
            )
    for group, rules in catalog.groups.items():
        if any(_refers_to(rule, kind, name) for rule in rules):
            add_error(errors, "name", f'is used by group "{group}"; remove those rules first')
    return errors


def provider_delete_errors(provider_id: int, name: str, *, catalog: Catalog) -> Errors:
    """Refuse to delete an identity provider that rules still refer to, by name or by id."""
    errors = reference_delete_errors("login_method", name, catalog=catalog)
    wanted = str(provider_id)
    places = [
        (f'policy "{use.name}" of application "{use.application}"', use.rules)
        for use in catalog.policies
    ]
    places.extend((f'group "{group}"', rules) for group, rules in catalog.groups.items())
    for place, rules in places:
        if any(_provider_reference(item) == wanted for item in rules):
            add_error(errors, "name", f"is used by {place}; remove those rules first")
    return errors


def _refers_to(item: object, kind: str, name: str | None) -> bool:
    return name is not None and referenced_name(item, kind) == name


def _group_references(rules: Sequence[object]) -> list[str]:
    return [name for item in rules if (name := referenced_name(item, "group")) is not None]


def _provider_reference(item: object) -> str | None:
    """The id of the identity provider a rule names by id, or None."""
    try:
        rule = compile_rule(item)
    except RuleError:
        return None
    return provider_id(rule)
