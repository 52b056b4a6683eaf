"""A policy: decision, precedence, rule lists, purpose justification and approval; and a set's
names and precedences, one each."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from policies.approvals import checked_approval_groups
from policies.catalog import Catalog
from policies.errors import Errors, add_error, check_unknown, merge_errors
from policies.models import POLICY_FIELDS, PURPOSE_PROMPT_MAX_LENGTH, Policy
from policies.validation.rule_lists import check_rule_lists
from policies.validation.shared import (
    check_duration,
    check_name,
    check_storable_text,
    listed_choices,
)

# The largest value a PositiveIntegerField holds on every supported database (PostgreSQL's integer).
MAX_PRECEDENCE = 2_147_483_647
# What only an allow policy may ask of the person it lets in, with the value that asks nothing.
ALLOW_ONLY: dict[str, object] = {
    "purpose_justification_required": False,
    "purpose_justification_prompt": "",
    "approval_required": False,
    "approval_groups": [],
}


def policy_errors(fields: Mapping[str, Any], *, catalog: Catalog) -> Errors:
    """Every problem with one policy's field values (precedence uniqueness is checked per set)."""
    errors: Errors = {}
    check_unknown(errors, fields, POLICY_FIELDS)
    check_storable_text(errors, fields)
    check_name(errors, fields.get("name"), max_length=200)
    decision = fields.get("decision")
    if decision not in Policy.Decision.values:
        add_error(errors, "decision", f"must be one of {listed_choices(Policy.Decision)}")
    precedence = fields.get("precedence")
    if (
        not isinstance(precedence, int)
        or isinstance(precedence, bool)
        or not 1 <= precedence <= MAX_PRECEDENCE
    ):
        add_error(errors, "precedence", f"must be a whole number from 1 to {MAX_PRECEDENCE}")
    session_duration = fields.get("session_duration", "")
    if session_duration != "":
        check_duration(errors, "session_duration", session_duration)
    _check_purpose_and_approval(errors, fields, decision)
    rules = check_rule_lists(errors, fields, catalog=catalog)
    if decision == Policy.Decision.BYPASS:
        for path, rule in rules:
            for kind in catalog.identity_kinds(rule):
                add_error(
                    errors,
                    path,
                    f"bypass policies take no identity selectors ({kind}): use IP or country "
                    "rules, or choose another decision",
                )
    if decision != Policy.Decision.NON_IDENTITY:
        for path, rule in rules:
            for kind in catalog.service_token_kinds(rule):
                add_error(
                    errors,
                    path,
                    f"{kind} selectors need the non_identity (Service Auth) decision",
                )
    return errors


def _check_purpose_and_approval(
    errors: Errors, fields: Mapping[str, Any], decision: object
) -> None:
    """Purpose justification and temporary approval, as in Access: on allow policies only, and
    an approval is asked for with a justification (Access turns purpose justification on
    before temporary authentication), so approval_required needs purpose_justification_required."""
    for name in ("purpose_justification_required", "approval_required"):
        if not isinstance(fields.get(name, False), bool):
            add_error(errors, name, "must be true or false")
    prompt = fields.get("purpose_justification_prompt", "")
    if not isinstance(prompt, str):
        add_error(errors, "purpose_justification_prompt", "must be text")
    elif len(prompt) > PURPOSE_PROMPT_MAX_LENGTH:
        add_error(
            errors,
            "purpose_justification_prompt",
            f"must be at most {PURPOSE_PROMPT_MAX_LENGTH} characters",
        )
    groups, group_errors = checked_approval_groups(fields.get("approval_groups", []))
    merge_errors(errors, group_errors, "approval_groups")
    if decision in Policy.Decision.values and decision != Policy.Decision.ALLOW:
        for name, unset in ALLOW_ONLY.items():
            if fields.get(name, unset) != unset:
                add_error(
                    errors,
                    name,
                    f"only allow policies ask this of the people they let in; turn it off "
                    f"or choose the allow decision (this policy's is {decision})",
                )
    if fields.get("approval_required") is True:
        if fields.get("purpose_justification_required") is not True:
            add_error(
                errors,
                "approval_required",
                "needs purpose_justification_required: the person asks an approver with a "
                "justification, so turn purpose justification on too",
            )
        if groups == ():
            add_error(
                errors,
                "approval_groups",
                'needs at least one approval group, like [{"approvals_needed": 1, '
                '"email_addresses": ["ann@example.com"]}]',
            )


def policy_set_errors(policies: Sequence[Mapping[str, Any]], *, catalog: Catalog) -> Errors:
    """Every problem with an application's complete list of policies, keyed `[index].field`."""
    errors: Errors = {}
    seen_precedence: dict[object, str] = {}
    seen_names: set[str] = set()
    for index, policy in enumerate(policies):
        prefix = f"[{index}]"
        if not isinstance(policy, Mapping):
            add_error(
                errors, prefix, "must be an object with name, decision, precedence and include"
            )
            continue
        merge_errors(errors, policy_errors(policy, catalog=catalog), prefix)
        name = policy.get("name")
        if isinstance(name, str) and name in seen_names:
            add_error(errors, f"{prefix}.name", f'another policy is named "{name}"; rename one')
        if isinstance(name, str):
            seen_names.add(name)
        precedence = policy.get("precedence")
        if isinstance(precedence, int) and precedence in seen_precedence:
            add_error(
                errors,
                f"{prefix}.precedence",
                f'precedence {precedence} is already used by policy "{seen_precedence[precedence]}"'
                "; give each policy its own precedence",
            )
        elif isinstance(precedence, int):
            seen_precedence[precedence] = str(name)
    return errors
