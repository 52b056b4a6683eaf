"""A policy's `approval_groups`: who approves a temporary authentication, and how many of them.

As in Access, the value is a list of groups, `[{"approvals_needed": 1, "email_addresses":
["ann@example.com", ...]}]`: each group lists approvers and how many of them must approve (what
counts as approved is the approval flow's business). `checked_approval_groups` is the one set
of rules for the shape: validation (admin, API, config files) and the snapshot's compiler both
call it, so whatever validation accepts compiles, and a stored value can never leave the
snapshot unbuildable.

Addresses are stored as written and must be written in their canonical form (lower case): the
approval flow compares them with the address a sign-in proved, which is lower case too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from policies.errors import Errors, add_error, check_unknown, errors_text, merge_errors
from policies.rules import is_email_address

__all__ = [
    "APPROVAL_GROUP_FIELDS",
    "ApprovalGroup",
    "approval_groups_from_data",
    "checked_approval_groups",
]

APPROVAL_GROUP_FIELDS = frozenset({"approvals_needed", "email_addresses"})
EXAMPLE = '[{"approvals_needed": 1, "email_addresses": ["ann@example.com"]}]'


@dataclass(frozen=True, slots=True)
class ApprovalGroup:
    """Approvers (canonical addresses, as stored) and how many of them must approve."""

    approvals_needed: int
    email_addresses: tuple[str, ...]


def checked_approval_groups(value: object) -> tuple[tuple[ApprovalGroup, ...] | None, Errors]:
    """`approval_groups` checked and compiled: the groups and no errors, or None and every
    problem keyed by its path (`[0].approvals_needed`, `[1].email_addresses[2]`, ...)."""
    errors: Errors = {}
    if not isinstance(value, list):
        add_error(errors, "", f"must be a list of approval groups, like {EXAMPLE}")
        return None, errors
    groups: list[ApprovalGroup] = []
    for index, item in enumerate(value):
        group = _checked_group(errors, f"[{index}]", item)
        if group is not None:
            groups.append(group)
    if errors:
        return None, errors
    return tuple(groups), errors


def _checked_group(errors: Errors, prefix: str, item: object) -> ApprovalGroup | None:
    own: Errors = {}
    if not isinstance(item, Mapping):
        add_error(errors, prefix, f"must be an object like {EXAMPLE[1:-1]}")
        return None
    check_unknown(own, item, APPROVAL_GROUP_FIELDS)
    addresses = item.get("email_addresses")
    if not isinstance(addresses, list) or not addresses:
        add_error(
            own,
            "email_addresses",
            'must list at least one approver\'s address, like ["ann@example.com"]',
        )
        addresses = []
    seen: set[str] = set()
    for position, address in enumerate(addresses):
        path = f"email_addresses[{position}]"
        canonical = address.strip().lower() if isinstance(address, str) else ""
        if not is_email_address(canonical):
            add_error(own, path, "must be an email address like ann@example.com")
        elif address != canonical:
            add_error(own, path, f'write the address as "{canonical}" (lower case, no spaces)')
        elif address in seen:
            add_error(own, path, "repeats another address of this group; remove it")
        seen.add(canonical)
    needed = item.get("approvals_needed")
    if not isinstance(needed, int) or isinstance(needed, bool) or needed < 1:
        add_error(own, "approvals_needed", "must be a whole number of at least 1")
    elif addresses and needed > len(addresses):
        add_error(
            own,
            "approvals_needed",
            f"is more than the {len(addresses)} approvers listed; list more addresses or "
            "ask for fewer approvals",
        )
    merge_errors(errors, own, prefix)
    if own or not isinstance(needed, int):
        return None
    return ApprovalGroup(approvals_needed=needed, email_addresses=tuple(addresses))


def approval_groups_from_data(value: object) -> tuple[ApprovalGroup, ...]:
    """Compile stored `approval_groups` by the rules validation uses; raises `ValueError`
    naming every path that breaks them."""
    groups, errors = checked_approval_groups(value)
    if groups is None:
        raise ValueError(errors_text(errors, "approval_groups"))
    return groups
