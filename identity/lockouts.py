"""The lock-outs in force now, and lifting one (the admin's "Lock-outs" page).

The counters behind them live in the cache under hashed keys (`identity.throttles`), which cannot
be listed. Every lock-out also records one `AuthEvent` (kind `lockout`) with what it was keyed
by: the username and client address of a password lock-out, the address, client address and
application of a PIN or second-factor pause. From those the keys are derived again and the cache
asked how long each still holds. Lifting ends the ban (or pause) and forgets its failures, and is
recorded in the audit trail.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import ip_address

from django.utils import timezone

from common.audit import record_change
from identity.flows.password import SCOPES, lockout_keys
from identity.models import AuthEvent
from identity.throttles import (
    PIN_BUDGET_MAX_PAUSE,
    PIN_VERIFY_PER_IP,
    SECOND_FACTOR_PER_IP,
    FailureBudget,
    pin_verify_budgets,
    second_factor_budgets,
    throttle_key_for_ip,
)

# No ban or pause lasts longer than this: older events hold nothing any more.
LONGEST = max(
    PIN_BUDGET_MAX_PAUSE,
    PIN_VERIFY_PER_IP.max_pause,
    SECOND_FACTOR_PER_IP.max_pause,
    *(lockout.ban for lockout in SCOPES.values()),
)
# The newest lock-out events read for the page (an attack may record very many).
MOST_EVENTS = 500


@dataclass(frozen=True)
class CurrentLockout:
    """One lock-out in force: what it locks (scope and who), since when and for how long."""

    event_id: int
    step: str  # "password", "pin" or "second factor"
    scope: str
    who: str
    ip: str
    started_at: datetime
    left: timedelta
    _lift: Callable[[], None]

    @property
    def minutes_left(self) -> int:
        return max(1, -(-int(self.left.total_seconds()) // 60))


def current_lockouts(*, now: datetime | None = None) -> list[CurrentLockout]:
    """Every lock-out in force now, newest first, each key once."""
    now = now or timezone.now()
    events = AuthEvent.objects.filter(
        kind=AuthEvent.Kind.LOCKOUT, created_at__gte=now - LONGEST
    ).select_related("application")[:MOST_EVENTS]
    found: dict[tuple[str, str], CurrentLockout] = {}
    for event in events:
        for key, lockout in _holds(event, now=now):
            found.setdefault(key, lockout)
    return list(found.values())


def lockout_lift(*, event_id: int, scope: str, now: datetime | None = None) -> bool:
    """Lift the lock-out that event `event_id` recorded for `scope`; False if none holds."""
    now = now or timezone.now()
    event = AuthEvent.objects.select_related("application").filter(pk=event_id).first()
    if event is None or event.kind != AuthEvent.Kind.LOCKOUT:
        return False
    for _, lockout in _holds(event, now=now):
        if lockout.scope == scope:
            lockout._lift()
            record_change(
                "lift",
                event,
                object_type="lock-out",
                object_name=f"{lockout.step}, {scope}: {lockout.who}"[:350],
                before={"scope": scope, "who": lockout.who, "ip": lockout.ip},
                after=None,
            )
            return True
    return False


def _holds(event: AuthEvent, *, now: datetime) -> Iterator[tuple[tuple[str, str], CurrentLockout]]:
    """The lock-outs event `event` started that still hold, each with its (scope, key)."""
    detail = event.detail if isinstance(event.detail, dict) else {}
    scopes = [str(scope) for scope in detail.get("scope", []) if isinstance(scope, str)]
    ip_key = throttle_key_for_ip(ip_address(event.ip)) if event.ip else ""
    step = str(detail.get("step", "password"))
    if step == "password":
        who = str(detail.get("username", ""))
        keys = lockout_keys(who, ip_key)
        for scope in scopes:
            if scope not in SCOPES or scope not in keys:
                continue
            lockout, key = SCOPES[scope], keys[scope]
            left = lockout.locked_for(key, now=now)
            if left is not None:
                lift = _lifter(lockout.lift, key, now)
                yield (scope, key), _current(event, step, scope, who, left, lift)
        return
    budgets: list[tuple[FailureBudget, str]]
    if step == "pin":
        aud = event.application.aud if event.application is not None else None
        budgets = pin_verify_budgets(ip_key=ip_key, email=event.email, application_aud=aud)
    elif step == "second factor":
        budgets = second_factor_budgets(ip_key=ip_key, email=event.email)
    else:
        return
    for budget, key in budgets:
        if budget.name not in scopes:
            continue
        left = budget.paused_for(key, now=now)
        if left is not None:
            lift = _lifter(budget.lift, key, now)
            yield (budget.name, key), _current(event, step, budget.name, event.email, left, lift)


def _lifter(lift: Callable[..., None], key: str, now: datetime) -> Callable[[], None]:
    return lambda: lift(key, now=now)


def _current(
    event: AuthEvent, step: str, scope: str, who: str, left: timedelta, lift: Callable[[], None]
) -> CurrentLockout:
    return CurrentLockout(
        event_id=event.pk,
        step=step,
        scope=scope,
        who=who,
        ip=event.ip or "",
        started_at=event.created_at,
        left=left,
        _lift=lift,
    )
