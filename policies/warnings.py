"""Warnings about configurations that are valid but defeat themselves.

Validation (`policies.validation`) refuses what cannot work; these are the settings it accepts
that still do something no administrator wants: an application nobody can enter, a rule that can
never match, CORS that the browser will refuse anyway, a policy that never gets to decide. One
function computes them from an application's plain field values (the selectors' and the config
files' shape), so the admin (on save), `manage.py check`, the `access_apply` plan and the API
(a `warnings` list) say the same thing with the same path (`policies[1].include[0]`).

Pure: no ORM, no settings. The callers gather the values (`policies.selectors`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["ConfigWarning", "application_warnings", "prefixed"]

# Decisions by their config names. Bypass and Service Auth are evaluated first, then Allow and
# Block (docs/architecture.md, Matching and policy order).
_FIRST_PHASE = ("bypass", "non_identity")
_LETS_IN = frozenset({"allow", "bypass", "non_identity"})
_RULE_LISTS = ("include", "require", "exclude")


@dataclass(frozen=True, slots=True)
class ConfigWarning:
    """One warning: a stable id (as `manage.py check` shows it), the field path it concerns
    (relative to the application), what is wrong and what to do."""

    id: str
    path: str
    message: str
    hint: str = ""

    def to_data(self) -> dict[str, str]:
        return {"id": self.id, "path": self.path, "message": self.message, "hint": self.hint}

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path else ""
        hint = f" {self.hint}" if self.hint else ""
        return f"{where}{self.message}{hint}"


def prefixed(warnings: Sequence[ConfigWarning], prefix: str) -> list[ConfigWarning]:
    """The same warnings with their paths under `prefix` (`applications[2]`)."""
    return [
        ConfigWarning(w.id, f"{prefix}.{w.path}" if w.path else prefix, w.message, w.hint)
        for w in warnings
    ]


def application_warnings(
    application: Mapping[str, Any],
    policies: Sequence[Mapping[str, Any]],
    *,
    groups: Mapping[str, Mapping[str, Any]],
    view_sets_cors: bool = False,
) -> list[ConfigWarning]:
    """Every warning about one application, its policies (in any order) and the groups they use.

    `groups` maps each group name to its fields (include, require, exclude); `view_sets_cors`
    says whether the project's views answer CORS themselves (django-cors-headers installed).
    """
    name = str(application.get("name", ""))
    found = list(_cors_warnings(name, application, view_sets_cors=view_sets_cors))
    indexed = [(index, policy) for index, policy in enumerate(policies)]
    if not any(policy.get("decision") in _LETS_IN for _, policy in indexed):
        found.append(
            ConfigWarning(
                "policies.W007",
                "policies",
                f'Application "{name}" has no Allow, Bypass or Service Auth policy: nobody can '
                "enter, every request is refused.",
                "Add an Allow policy for the people who should get in.",
            )
        )
    for index, policy in indexed:
        found.extend(_policy_warnings(name, index, policy, groups))
    found.extend(_shadowed_warnings(name, indexed))
    return found


def _cors_warnings(
    name: str, application: Mapping[str, Any], *, view_sets_cors: bool
) -> Iterator[ConfigWarning]:
    cors = application.get("cors_headers")
    cors = cors if isinstance(cors, Mapping) else None
    same_site = application.get("same_site_cookie_attribute")
    if cors is not None and cors.get("allow_credentials") is True and same_site != "none":
        yield ConfigWarning(
            "policies.W002",
            "same_site_cookie_attribute",
            f'Application "{name}" allows credentialed CORS requests, but its cookie is '
            f"SameSite={same_site}.",
            "Browsers do not send that cookie on cross-site fetches; set "
            "same_site_cookie_attribute to none (the cookie is then sent only over HTTPS).",
        )
    on_responses = application.get("cors_on_responses") is True
    if on_responses and cors is None:
        yield ConfigWarning(
            "policies.W004",
            "cors_on_responses",
            f'Application "{name}" has cors_on_responses on but no cors_headers.',
            "Set cors_headers, or turn cors_on_responses off: there is nothing to add.",
        )
    if on_responses and application.get("options_preflight_bypass") is True:
        yield ConfigWarning(
            "policies.W005",
            "options_preflight_bypass",
            f'Application "{name}" sends preflights to the view (options_preflight_bypass) and '
            "also has the gate add CORS headers to responses (cors_on_responses).",
            "The view's preflight answer and the gate's response headers may disagree; let one "
            "of them own CORS.",
        )
    if cors is not None and not on_responses and not view_sets_cors:
        yield ConfigWarning(
            "policies.W008",
            "cors_on_responses",
            f'Application "{name}" answers preflights from cors_headers, but neither the gate '
            "(cors_on_responses is off) nor the views (no CORS middleware) put "
            "Access-Control-Allow-Origin on the responses: the browser refuses to hand them to "
            'the page (fetch fails with "TypeError: Failed to fetch") while the gate logs allow.',
            "Turn on cors_on_responses, or set the CORS headers in the view.",
        )


def _policy_warnings(
    name: str, index: int, policy: Mapping[str, Any], groups: Mapping[str, Mapping[str, Any]]
) -> Iterator[ConfigWarning]:
    where = f"policies[{index}]"
    label = f'Policy "{policy.get("name")}" of application "{name}"'
    include, require, exclude = (_rule_list(policy, key) for key in _RULE_LISTS)
    if (
        policy.get("decision") == "allow"
        and any(_kind(rule) == "everyone" for rule in include)
        and not require
    ):
        yield ConfigWarning(
            "policies.W001",
            f"{where}.include",
            f"{label} allows everyone.",
            "Anyone who can sign in (including any email address with a one-time PIN) passes. "
            "Add a require rule or include specific emails, domains or groups.",
        )
    for list_name, index_in_list, reason in _dead_rules(include, require, exclude, groups):
        yield ConfigWarning(
            "policies.W009",
            f"{where}.{list_name}[{index_in_list}]",
            f"{label}: this rule can never match ({reason}).",
            "Fix the rule or the rules it contradicts; as it stands it lets nobody in.",
        )


def _shadowed_warnings(
    name: str, indexed: Sequence[tuple[int, Mapping[str, Any]]]
) -> Iterator[ConfigWarning]:
    """A policy that an earlier one, in evaluation order, always decides before it."""

    def order(item: tuple[int, Mapping[str, Any]]) -> tuple[int, int]:
        precedence = item[1].get("precedence")
        number = precedence if isinstance(precedence, int) else 0
        return (0 if item[1].get("decision") in _FIRST_PHASE else 1, number)

    ordered = sorted(indexed, key=order)
    for position, (index, policy) in enumerate(ordered):
        phase = order((index, policy))[0]
        for _, earlier in ordered[:position]:
            same_phase = order((0, earlier))[0] == phase
            covers = _matches_everything(earlier) or _same_rules(earlier, policy)
            # A bypass of everyone runs the view with no check at all: nothing after it decides.
            bypass_all = earlier.get("decision") == "bypass" and _matches_everything(earlier)
            if covers and (same_phase or bypass_all):
                yield ConfigWarning(
                    "policies.W010",
                    f"policies[{index}]",
                    f'Policy "{policy.get("name")}" of application "{name}" never decides: '
                    f'"{earlier.get("name")}" (precedence {earlier.get("precedence")}) is '
                    "evaluated first and matches every request it would.",
                    "Give it a lower precedence number, or narrow the earlier policy.",
                )
                break


def _rule_list(values: Mapping[str, Any], key: str) -> list[Any]:
    value = values.get(key)
    return list(value) if isinstance(value, list) else []


def _kind(rule: object) -> str | None:
    if isinstance(rule, Mapping) and len(rule) == 1:
        return str(next(iter(rule)))
    return None


def _value(rule: object, field: str, *, fold: bool = True) -> str:
    """A rule's field as text (folded to lower case: addresses and domains), else ""."""
    kind = _kind(rule)
    inner = rule[kind] if isinstance(rule, Mapping) and kind is not None else None
    text = str(inner.get(field, "")).strip() if isinstance(inner, Mapping) else ""
    return text.lower() if fold else text


def _domain_of(email: str) -> str:
    return email.rpartition("@")[2]


def _matches_everything(policy: Mapping[str, Any]) -> bool:
    include = _rule_list(policy, "include")
    return (
        any(_kind(rule) == "everyone" for rule in include)
        and not _rule_list(policy, "require")
        and not _rule_list(policy, "exclude")
    )


def _same_rules(first: Mapping[str, Any], second: Mapping[str, Any]) -> bool:
    def canonical(policy: Mapping[str, Any]) -> tuple[frozenset[str], ...]:
        return tuple(
            frozenset(json.dumps(rule, sort_keys=True) for rule in _rule_list(policy, key))
            for key in _RULE_LISTS
        )

    return canonical(first) == canonical(second)


def _dead_rules(
    include: list[Any],
    require: list[Any],
    exclude: list[Any],
    groups: Mapping[str, Mapping[str, Any]],
    seen: frozenset[str] = frozenset(),
) -> Iterator[tuple[str, int, str]]:
    """(list, index, why) for each include rule nobody can ever match through."""
    required_domains = {_value(rule, "domain") for rule in require if _kind(rule) == "email_domain"}
    required_emails = {_value(rule, "email") for rule in require if _kind(rule) == "email"}
    excluded_domains = {_value(rule, "domain") for rule in exclude if _kind(rule) == "email_domain"}
    excluded_emails = {_value(rule, "email") for rule in exclude if _kind(rule) == "email"}
    if any(_kind(rule) == "everyone" for rule in exclude):
        for index, _ in enumerate(include):
            yield "include", index, "exclude has everyone"
        return
    if len(required_domains) > 1 or len(required_emails) > 1:
        for index, _ in enumerate(include):
            yield "include", index, "require asks for two different email addresses or domains"
        return
    for index, rule in enumerate(include):
        kind = _kind(rule)
        if kind == "email":
            email = _value(rule, "email")
            domain = _domain_of(email)
            if required_domains and domain not in required_domains:
                yield "include", index, f"{email} is outside {_listed(required_domains)}"
            elif required_emails and email not in required_emails:
                yield "include", index, f"require asks for {_listed(required_emails)} only"
            elif email in excluded_emails or domain in excluded_domains:
                yield "include", index, f"exclude refuses {email}"
        elif kind == "email_domain":
            domain = _value(rule, "domain")
            if required_domains and domain not in required_domains:
                yield "include", index, f"{domain} is not {_listed(required_domains)}"
            elif domain in excluded_domains:
                yield "include", index, f"exclude refuses all of {domain}"
        elif kind == "group":
            group_name = _value(rule, "name", fold=False)
            if group_name in seen or group_name not in groups:
                continue  # a cycle or an unknown group: validation's business
            if _group_is_empty(groups[group_name], groups, seen | {group_name}):
                yield "include", index, f'group "{group_name}" can never match anyone'


def _group_is_empty(
    group: Mapping[str, Any], groups: Mapping[str, Mapping[str, Any]], seen: frozenset[str]
) -> bool:
    include, require, exclude = (_rule_list(group, key) for key in _RULE_LISTS)
    dead = list(_dead_rules(include, require, exclude, groups, seen))
    return not include or len(dead) == len(include)


def _listed(values: set[str]) -> str:
    return " and ".join(sorted(values))
