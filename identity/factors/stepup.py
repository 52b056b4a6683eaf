"""The step-up decision: what a sign-in that its application refuses still needs, if anything.

A policy may demand `mfa`, or a specific RFC 8176 method (`otp`, `hwk`, `swk`), that the
session's sign-in did not prove. Rather than refuse, the login page asks for a second factor
when giving one would let the person in. `next_step` answers from plain values: the policies
as a function of the methods proved (`allows`), the methods the session has, the factors the
person has, and whether the application requires people to have one.

Giving a factor adds its own method and `mfa` (`methods_with`); nothing else ever adds `mfa`
but an upstream provider's own `amr`. So a session that proved one factor never passes a rule
that demands two.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum

MFA = "mfa"
# What a use of each kind of factor proves (RFC 8176): an authenticator app a one-time
# password; a WebAuthn key held in hardware (a security key, a device-bound passkey) `hwk`,
# a synced passkey `swk`; a recovery code stands in for the factor it replaces.
FACTOR_METHODS: dict[str, frozenset[str]] = {
    "otp": frozenset({"otp"}),
    "hwk": frozenset({"hwk"}),
    "swk": frozenset({"swk"}),
    "recovery": frozenset(),
}


class Next(StrEnum):
    PASS = "pass"  # the policies allow the session as it is
    ASK = "ask"  # ask for one of the person's factors (`methods`): it would let them in
    ENROL = "enrol"  # set up a factor first (none yet, and one is needed or required)
    REFUSE = "refuse"  # no factor would change the answer


@dataclass(frozen=True)
class StepUp:
    next: Next
    # The factor methods that would let the person in (ASK: among theirs; ENROL: any).
    methods: frozenset[str] = frozenset()


def methods_with(current: Iterable[str], factor_method: str) -> frozenset[str]:
    """The session's methods once a factor proving `factor_method` has been given."""
    return frozenset(current) | FACTOR_METHODS[factor_method] | {MFA}


def may_pass_with_a_factor(
    *, allows: Callable[[frozenset[str]], bool], current: frozenset[str]
) -> bool:
    """Whether the policies let the person in as they are, or once some factor is given (the
    PIN email goes out either way: it does not depend on which factors the person has)."""
    return allows(current) or any(
        allows(methods_with(current, method)) for method in FACTOR_METHODS
    )


def next_step(
    *,
    allows: Callable[[frozenset[str]], bool],
    current: frozenset[str],
    enrolled: frozenset[str],
    enrolment_required: bool = False,
) -> StepUp:
    """What the sign-in needs next.

    `allows(methods)`: whether the application's policies let the person in with these `amr`
    methods (everything else about them unchanged). `enrolled`: the methods of the person's
    confirmed factors (`otp`, `hwk`, `swk`; `recovery` while they hold unused codes).
    """
    has_factor = bool(enrolled - {"recovery"})
    if allows(current):
        if enrolment_required and not has_factor and MFA not in current:
            return StepUp(Next.ENROL, frozenset({"otp", "hwk", "swk"}))
        return StepUp(Next.PASS)
    helpful = frozenset(
        method for method in FACTOR_METHODS if allows(methods_with(current, method))
    )
    if not helpful:
        return StepUp(Next.REFUSE)
    usable = helpful & enrolled
    if usable:
        return StepUp(Next.ASK, usable)
    if not has_factor:
        return StepUp(Next.ENROL, helpful - {"recovery"} or helpful)
    return StepUp(Next.REFUSE)
