"""An access group: its rules, its cycles, and what a change would do to the policies using it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from policies.catalog import Catalog, all_rules
from policies.errors import Errors, add_error, check_unknown
from policies.validation.policies import policy_errors
from policies.validation.rule_lists import RULE_LISTS, check_rule_lists
from policies.validation.shared import check_name, check_storable_text

GROUP_FIELDS = frozenset({"name", *RULE_LISTS})


def group_errors(
    fields: Mapping[str, Any], *, catalog: Catalog, current_name: str | None = None
) -> Errors:
    """Every problem with an access group, its cycles, and what it would do to policies using it."""
    errors: Errors = {}
    check_unknown(errors, fields, GROUP_FIELDS)
    check_storable_text(errors, fields)
    name = fields.get("name")
    check_name(errors, name, max_length=200)
    check_rule_lists(errors, fields, catalog=catalog)
    if errors or not isinstance(name, str):
        return errors
    rules = all_rules(fields.get("include"), fields.get("require"), fields.get("exclude"))
    updated = catalog.with_group(current_name or name, None).with_group(name, rules)
    cycle = updated.group_cycle(name)
    if cycle:
        add_error(
            errors,
            "include",
            f"groups cannot contain themselves ({' → '.join(cycle)}); remove one of the references",
        )
        return errors
    renamed_from = current_name if current_name and current_name != name else None
    for place in catalog.uses_of_group(renamed_from):
        add_error(
            errors, "name", f"is used by {place}; change those rules before renaming the group"
        )
    for use in catalog.policies:
        if not updated.uses_group(use.rules, name):
            continue
        problems = policy_errors(
            {
                "name": use.name,
                "decision": use.decision,
                "precedence": 1,
                "include": list(use.rules),
            },
            catalog=updated,
        )
        for messages in problems.values():
            for message in messages:
                add_error(
                    errors,
                    "include",
                    f'policy "{use.name}" of application "{use.application}" uses this group: '
                    f"{message}",
                )
    return errors
