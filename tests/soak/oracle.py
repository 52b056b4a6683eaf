"""The soak's oracle: whether a request that reached the view was allowed to, by the configuration
in force when it was sent.

Every request the load client sends is kept as a `Sent`: what kind of request it was, for whom,
when it left, what came back, and whom the echo view says it served (`served`: None when no view
ran). Every change the soak makes is kept as a `Change` at the moment it was acknowledged (the
API answered, the logout page said so: the write had committed). A change must be enforced on
every instance within `bound` seconds; a request sent later that still reached the view is a
fail-open. Requests sent inside that window may go either way: how long it took is measured
apart (`run.enforcement`), against the same bound.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    PROTECTED = "protected"  # a session's app cookie on the main application
    POLICY = "policy"  # a session's app cookie on the application whose policy is changed
    REVOKED = "revoked"  # the cookie of the person whose sessions are revoked
    REPLAY = "replay"  # the cookie of a sign-in that has logged out
    NEW_APP = "new_app"  # no cookie, on a path the 1,000-application file protects
    PREFLIGHT = "preflight"  # a CORS preflight the gate answers itself
    OPEN = "open"  # a path no application covers
    UNAUTHENTICATED = "unauthenticated"  # no cookie, on the main application
    SERVICE = "service"  # service-token headers
    SIGN_IN = "sign_in"  # a whole password sign-in, gate to app cookie
    LOGOUT = "logout"


class What(StrEnum):
    POLICY = "policy"  # subject: the email domain the policy no longer lets in
    REVOCATION = "revocation"  # subject: the person whose sessions are revoked
    LOGOUT = "logout"  # subject: the identity nonce of the sign-in that logged out
    ROTATION = "rotation"  # subject: the new key's kid (a pass is not a fail-open)
    APPLY = "apply"  # subject: the path prefix the applied applications protect


@dataclass(frozen=True)
class Sent:
    """One request as the load client saw it (times in seconds since the run began)."""

    kind: Kind
    instance: str
    started: float
    duration: float
    status: int  # 0: no answer (the connection failed or timed out)
    served: str | None  # whom the view served ("" anonymous); None: no view ran
    subject: str = ""  # whom it was sent as: an email, a service token's client id
    nonce: str = ""  # the identity nonce of the cookie sent

    @property
    def status_class(self) -> str:
        return f"{self.status // 100}xx" if self.status else "no answer"


@dataclass(frozen=True)
class Change:
    what: What
    at: float  # acknowledged, seconds since the run began
    subject: str


# Several requests each (a sign-in: gate, login page, form, hop back): counted as one, apart from
# the latencies of single requests.
FLOWS = frozenset({Kind.SIGN_IN, Kind.LOGOUT})
# Whose view may never run, whatever the configuration.
NEVER_SERVED = frozenset({Kind.UNAUTHENTICATED, Kind.PREFLIGHT})
# Served as the person of the cookie, unless a change since forbids it.
AS_SUBJECT = frozenset({Kind.PROTECTED, Kind.POLICY, Kind.REVOKED, Kind.REPLAY})


def _forbidding(sent: Sent, change: Change) -> bool:
    """Whether `change` forbids `sent` once it is in force."""
    if change.what is What.REVOCATION:
        return sent.kind in AS_SUBJECT and sent.subject == change.subject
    if change.what is What.LOGOUT:
        return sent.kind in AS_SUBJECT and bool(sent.nonce) and sent.nonce == change.subject
    if change.what is What.POLICY:
        return sent.kind is Kind.POLICY and sent.subject.endswith("@" + change.subject)
    if change.what is What.APPLY:
        return sent.kind is Kind.NEW_APP
    return False


def is_fail_open(sent: Sent, changes: Iterable[Change], *, bound: float) -> bool:
    """Whether `sent` reached the view when the configuration at that moment says it must not."""
    served = sent.served
    if served is None:
        return False  # the gate answered: never a fail-open (it may be a fail-closed)
    if sent.kind in NEVER_SERVED:
        return True
    if sent.kind is Kind.OPEN:
        return served != ""  # someone's identity on a path nobody protects
    if served != sent.subject:
        return True  # served as somebody else than the cookie or the token says
    return any(
        _forbidding(sent, change) and sent.started >= change.at + bound for change in changes
    )


def fail_opens(sent: Sequence[Sent], changes: Sequence[Change], *, bound: float) -> list[Sent]:
    """Every request of `sent` that is a fail-open."""
    return [request for request in sent if is_fail_open(request, changes, bound=bound)]
