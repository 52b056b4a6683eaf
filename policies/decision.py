"""Which policy decides a request, in the order Access evaluates them.

Bypass and Service Auth (`non_identity`) policies come first, by precedence; then Allow and Block
(`deny`), by precedence. The first policy that matches decides; when none matches, the request is
denied. Allow and Block policies are about people, so they only ever match a signed-in person:
a service token or an anonymous request gets in through Bypass or Service Auth or not at all
(Access prompts for an identity-provider login instead).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from policies.approvals import ApprovalGroup
from policies.rules import (
    CompiledGroup,
    Rule,
    RulesOutcome,
    Subject,
    evaluate_rules,
    rules_match,
)

__all__ = [
    "Action",
    "CompiledPolicy",
    "PolicyTrace",
    "Verdict",
    "decide",
    "evaluation_order",
    "find_bypass",
]


class Action(StrEnum):
    """A policy's `decision`, named as in Cloudflare's API."""

    ALLOW = "allow"
    DENY = "deny"
    NON_IDENTITY = "non_identity"
    BYPASS = "bypass"


_FIRST_PHASE = frozenset({Action.BYPASS, Action.NON_IDENTITY})
_PERSON_ONLY = frozenset({Action.ALLOW, Action.DENY})


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """One policy of an application, ready to evaluate."""

    id: int | None
    name: str
    action: Action
    precedence: int
    include: tuple[Rule, ...]
    require: tuple[Rule, ...] = ()
    exclude: tuple[Rule, ...] = ()
    session_duration: timedelta | None = None
    # What an allowed person does before entering (allow policies only; docs/architecture.md,
    # The wire contract); the compiled prompt is never empty (the default is filled in).
    purpose_justification_required: bool = False
    purpose_justification_prompt: str = ""
    approval_required: bool = False
    approval_groups: tuple[ApprovalGroup, ...] = ()

    @property
    def allows(self) -> bool:
        """Whether a match lets the request through (every action but `deny`)."""
        return self.action is not Action.DENY


@dataclass(frozen=True, slots=True)
class PolicyTrace:
    """How one policy fared: evaluated or not, matched or not, and why."""

    policy: CompiledPolicy
    evaluated: bool
    matched: bool
    outcome: RulesOutcome | None = None
    note: str = ""

    @property
    def explanation(self) -> str:
        """Why the policy matched or not, as a short sentence (built only when asked for)."""
        if self.outcome is not None:
            return self.outcome.explanation
        return self.note


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision for one request: allowed or not, the deciding policy, and a trace."""

    allowed: bool
    policy: CompiledPolicy | None
    reason: str
    trace: tuple[PolicyTrace, ...]

    @property
    def wants_purpose(self) -> bool:
        """Whether the policy that allowed this asks for a purpose justification on its own
        page first. A policy that also wants an approval asks for it with the approval
        request instead (Access's temporary authentication: one justification, there)."""
        policy = self.policy
        return (
            self.allowed
            and policy is not None
            and policy.purpose_justification_required
            and not policy.approval_required
        )

    @property
    def wants_approval(self) -> bool:
        """Whether the policy that allowed this asks for an approver's approval first."""
        policy = self.policy
        return self.allowed and policy is not None and policy.approval_required


def _order_key(policy: CompiledPolicy) -> tuple[int, int, int, str]:
    phase = 0 if policy.action in _FIRST_PHASE else 1
    # Precedence is unique within an application; id and name only make ties deterministic.
    return phase, policy.precedence, policy.id if policy.id is not None else -1, policy.name


def evaluation_order(policies: Iterable[CompiledPolicy]) -> tuple[CompiledPolicy, ...]:
    """Bypass and Service Auth first by precedence, then Allow and Block by precedence."""
    return tuple(sorted(policies, key=_order_key))


def _is_person(subject: Subject) -> bool:
    return subject.email is not None and not subject.is_service_token


_VERBS = {
    Action.ALLOW: "allowed by",
    Action.DENY: "blocked by",
    Action.NON_IDENTITY: "allowed by service auth policy",
    Action.BYPASS: "bypassed by",
}


def _reason(policy: CompiledPolicy) -> str:
    verb = _VERBS[policy.action]
    noun = "" if policy.action is Action.NON_IDENTITY else " policy"
    return f"{verb}{noun} {policy.name!r}"


def decide(
    policies: Sequence[CompiledPolicy],
    subject: Subject,
    groups: Mapping[str, CompiledGroup],
    *,
    ordered: bool = False,
    with_trace: bool = True,
) -> Verdict:
    """Evaluate `policies` in evaluation order; the first match decides, none is a deny.

    The trace lists every policy (those after the deciding one marked as not evaluated), for the
    policy tester. The gate, deciding every request, passes `ordered=True` (a compiled
    application keeps its policies in evaluation order) and `with_trace=False`: it needs only
    the answer, and stops at the first match.
    """
    trace: list[PolicyTrace] = []
    decided: CompiledPolicy | None = None
    person = _is_person(subject)
    for policy in policies if ordered else evaluation_order(policies):
        if decided is not None:
            if not with_trace:
                break
            note = f"not evaluated: {decided.name!r} decided first"
            trace.append(PolicyTrace(policy, False, False, note=note))
            continue
        if policy.action in _PERSON_ONLY and not person:
            if with_trace:
                note = f"{policy.action} policies need a signed-in person"
                trace.append(PolicyTrace(policy, True, False, note=note))
            continue
        if with_trace:
            outcome = evaluate_rules(
                policy.include, policy.require, policy.exclude, subject, groups
            )
            trace.append(PolicyTrace(policy, True, outcome.matched, outcome))
            matched = outcome.matched
        else:
            matched = rules_match(policy.include, policy.require, policy.exclude, subject, groups)
        if matched:
            decided = policy
    if decided is None:
        return Verdict(allowed=False, policy=None, reason="no policy matched", trace=tuple(trace))
    return Verdict(
        allowed=decided.allows, policy=decided, reason=_reason(decided), trace=tuple(trace)
    )


def find_bypass(
    policies: Sequence[CompiledPolicy], subject: Subject, groups: Mapping[str, CompiledGroup]
) -> CompiledPolicy | None:
    """The first bypass policy, in evaluation order, that matches `subject`, if any."""
    # Only bypass policies can answer, and most applications have none: sort just those.
    bypasses = [policy for policy in policies if policy.action is Action.BYPASS]
    for policy in evaluation_order(bypasses) if len(bypasses) > 1 else bypasses:
        if rules_match(policy.include, policy.require, policy.exclude, subject, groups):
            return policy
    return None
