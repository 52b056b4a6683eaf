"""One-time PIN: six digits by email, valid 10 minutes, single use, dead after 5 wrong tries.

A PIN is bound to the browser flow that asked for it (the `CF_Session` cookie holds a random flow
id), so a code read over someone's shoulder is useless in another browser. It is stored as an
HMAC keyed by SECRET_KEY: a copy of the database alone does not reveal it, and a six-digit space
cannot be searched without the key. Sending is throttled per address and per client IP; wrong
codes are budgeted per client, per address, per application and overall (`verify_pin`, and
docs/security.md for the bound they give). An address that no policy of the application could
allow gets no email, but the page says the same thing either way ("A code is on its way to
<address> if that address may sign in"), so it tells nobody who may enter; the server log says
that no email went out, and why (`_not_sent`).
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import replace
from datetime import datetime, timedelta
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address

from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import F, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from identity.background import enqueue_after_response, task
from identity.conf import conf
from identity.events import record_event
from identity.factors.stepup import may_pass_with_a_factor
from identity.models import AuthEvent, OneTimePin
from identity.person import Person
from identity.throttles import (
    PIN_SEND_PER_ADDRESS,
    PIN_SEND_PER_IP,
    pin_verify_budgets,
    refund_budgets,
    spend_budgets,
    throttle_key_for_ip,
)
from policies.snapshot import CompiledApplication, CompiledIdentityProvider, Snapshot

logger = logging.getLogger("accessproject.identity")

PIN_DIGITS = 6
PIN_LIFETIME = timedelta(minutes=10)
MAX_ATTEMPTS = 5
INVALID_CODE = "That code is not valid."
THROTTLED = "Too many codes were requested. Wait a few minutes and try again."
CHECKS_PAUSED = "Too many wrong codes were entered. Wait a few minutes and try again."
# Why no email went out, in the server log (never on the page).
NOT_SENT_NOT_ALLOWED = "no policy of the application allows this address"
NOT_SENT_THROTTLED_ADDRESS = "too many codes were asked for this address"
NOT_SENT_THROTTLED_IP = "too many codes were asked from this client's network"
NOT_SENT_MAIL_FAILED = "the email could not be handed to the mail server"
# Stored for an address that gets no email: no code's HMAC (64 hex digits) is ever equal to it.
UNUSABLE_CODE_HASH = "!unusable"


class PinRequestOutcome(StrEnum):
    SENT = "sent"
    NOT_ELIGIBLE = "not_eligible"  # no policy could allow the address: no email, same page
    THROTTLED = "throttled"


def _code_hash(*, code: str, email: str, flow_id: str) -> str:
    value = f"{flow_id}:{email}:{code}"
    return salted_hmac("accessproject.identity.pin", value, algorithm="sha256").hexdigest()


def new_code() -> str:
    """Six random decimal digits."""
    return f"{secrets.randbelow(10**PIN_DIGITS):0{PIN_DIGITS}d}"


def address_may_pass(
    snapshot: Snapshot,
    application: CompiledApplication | None,
    *,
    email: str,
    provider: CompiledIdentityProvider,
    ip: IPv4Address | IPv6Address | None,
    country: str,
) -> bool:
    """Whether some policy could let this address in with a PIN, with a second factor if need
    be (any application, or the App Launcher, on the login host's own page): otherwise no
    email is sent."""
    subject = Person.signed_in_with(provider, email=email).as_subject(ip=ip, country=country)
    candidates: list[CompiledApplication] = (
        [application] if application is not None else list(snapshot.applications.values())
    )
    if application is None and conf.app_launcher and snapshot.app_launcher is not None:
        # Signing in on the login host to open the App Launcher.
        candidates.append(snapshot.app_launcher)

    def allows_somewhere(methods: frozenset[str]) -> bool:
        changed = replace(subject, auth_methods=methods)
        return any(
            snapshot.decide(candidate, changed, with_trace=False).allowed
            for candidate in candidates
        )

    # A policy that wants a second factor still lets a PIN sign-in start: the page asks for it.
    return may_pass_with_a_factor(allows=allows_somewhere, current=subject.auth_methods)


def request_pin(
    *,
    snapshot: Snapshot,
    application: CompiledApplication | None,
    email: str,
    provider: CompiledIdentityProvider,
    flow_id: str,
    ip: IPv4Address | IPv6Address | None,
    country: str,
    now: datetime | None = None,
) -> PinRequestOutcome:
    """Send a new PIN to `email` for this flow, when the throttles and the policies allow it.

    Everything after the throttles (storing the PIN, the email, the event) is the `issue_pin`
    task, enqueued after the response for every address: those database writes and the email
    would otherwise make the answer slower (tens of milliseconds) for an address that may sign
    in than for one no policy allows, and tell an outsider which is which.
    """
    now = now or timezone.now()
    # Both throttles count every request, eligible or not: their answer may not depend on it.
    address_count = PIN_SEND_PER_ADDRESS.hit(email, now=now)
    ip_count = PIN_SEND_PER_IP.hit(throttle_key_for_ip(ip), now=now) if ip is not None else 0
    if address_count > PIN_SEND_PER_ADDRESS.limit or ip_count > PIN_SEND_PER_IP.limit:
        _not_sent(
            NOT_SENT_THROTTLED_ADDRESS
            if address_count > PIN_SEND_PER_ADDRESS.limit
            else NOT_SENT_THROTTLED_IP,
            email=email,
            application_name=application.name if application is not None else None,
            flow_id=flow_id,
        )
        return PinRequestOutcome.THROTTLED
    eligible = address_may_pass(
        snapshot, application, email=email, provider=provider, ip=ip, country=country
    )
    enqueue_after_response(
        issue_pin,
        eligible=eligible,
        application_id=application.id if application is not None else None,
        application_name=application.name if application is not None else None,
        email=email,
        login_method=provider.name,
        flow_id=flow_id,
        ip=str(ip) if ip is not None else None,
        requested_at=now.isoformat(),
    )
    return PinRequestOutcome.SENT if eligible else PinRequestOutcome.NOT_ELIGIBLE


@task
def issue_pin(
    *,
    eligible: bool,
    application_id: int | None,
    application_name: str | None,
    email: str,
    login_method: str,
    flow_id: str,
    ip: str | None,
    requested_at: str,
) -> None:
    """Store a new PIN for this flow and email it, when the address is eligible.

    An address no policy allows gets a PIN that can never match (`UNUSABLE_CODE_HASH`) and no
    email: a wrong code then costs the same database work (an attempt spent) for any address,
    so checking a code does not tell who may sign in either. The code itself is made here, so
    it is never written to a queue. The PIN's ten minutes count from the request, however long
    it waited in the queue.
    """
    now = datetime.fromisoformat(requested_at)
    code = new_code()
    with transaction.atomic():
        # A new code replaces the flow's earlier ones.
        _pins_of_flow(flow_id=flow_id, email=email, application_id=application_id).update(
            used_at=now
        )
        OneTimePin.objects.create(
            email=email,
            application_id=application_id,
            code_hash=_code_hash(code=code, email=email, flow_id=flow_id)
            if eligible
            else UNUSABLE_CODE_HASH,
            created_at=now,
            expires_at=now + PIN_LIFETIME,
            client_ip=ip,
            flow_id=flow_id,
        )
        if eligible:
            record_event(
                AuthEvent.Kind.PIN_SENT,
                email=email,
                application=application_id,
                ip=ip,
                detail={"login_method": login_method},
            )
    if not eligible:
        _not_sent(
            NOT_SENT_NOT_ALLOWED,
            email=email,
            application_name=application_name,
            flow_id=flow_id,
        )
        return
    try:
        _pin_message(email=email, code=code, application_name=application_name).send()
    except Exception as error:
        _not_sent(
            f"{NOT_SENT_MAIL_FAILED} ({type(error).__name__}: {error})",
            email=email,
            application_name=application_name,
            flow_id=flow_id,
            level=logging.WARNING,
        )
        raise  # the task fails, and its runner says so too


def _not_sent(
    reason: str,
    *,
    email: str,
    application_name: str | None,
    flow_id: str,
    level: int = logging.INFO,
) -> None:
    """Say in the server log that no code went out to `email`, and why.

    The visitor's page is the same either way (it must not tell who may sign in): this line is
    where an administrator finds why someone's code never arrived.
    """
    logger.log(
        level,
        "no PIN email sent to %s for %s: %s",
        email,
        application_name or "the login host's page",
        reason,
        extra={"flow": flow_id},
    )


def _pins_of_flow(*, flow_id: str, email: str, application_id: int | None) -> QuerySet[OneTimePin]:
    """The flow's unused PINs for this address and application (None = the login host's page)."""
    pins = OneTimePin.objects.filter(flow_id=flow_id, email=email, used_at__isnull=True)
    if application_id is None:
        return pins.filter(application__isnull=True)
    return pins.filter(application_id=application_id)


def _pin_message(*, email: str, code: str, application_name: str | None) -> EmailMultiAlternatives:
    context = {
        "code": code,
        "application_name": application_name,
        "minutes": int(PIN_LIFETIME.total_seconds() // 60),
    }
    subject = render_to_string("identity/email/pin_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string("identity/email/pin.txt", context),
        to=[email],
    )
    message.attach_alternative(render_to_string("identity/email/pin.html", context), "text/html")
    return message


class PinCheckOutcome(StrEnum):
    VALID = "valid"
    INVALID = "invalid"  # wrong, expired, used up, or no such PIN: one answer for them all
    THROTTLED = "throttled"  # a failure budget is spent: no code is checked for a while


def verify_pin(
    *,
    email: str,
    code: str,
    application: CompiledApplication | None,
    flow_id: str,
    ip: IPv4Address | IPv6Address | None = None,
    now: datetime | None = None,
) -> PinCheckOutcome:
    """Check `code` against this flow's current PIN for `email`; a success uses it up.

    Every check spends, *before* the comparison, one of the PIN's attempts (in one UPDATE) and
    one attempt from each failure budget (`pin_verify_budgets`: the client network, the address,
    the application, the whole installation), so concurrent guesses cannot exceed any limit; a
    success gives the budgets' attempts back. The budgets count for every address alike, and an
    address no policy allows has a PIN that never matches, so neither the answer nor the work
    behind it tells who may sign in.
    """
    now = now or timezone.now()
    ip_key = throttle_key_for_ip(ip) if ip is not None else ""
    application_id = application.id if application is not None else None
    pin = (
        _pins_of_flow(flow_id=flow_id, email=email, application_id=application_id)
        .order_by("-created_at")
        .first()
    )
    if pin is None or pin.expires_at <= now:
        return PinCheckOutcome.INVALID
    budgets = pin_verify_budgets(
        ip_key=ip_key,
        email=email,
        application_aud=application.aud if application is not None else None,
    )
    allowed, paused = spend_budgets(budgets, now=now)
    for budget in paused:
        record_event(
            AuthEvent.Kind.LOCKOUT,
            email=email,
            application=application_id,
            ip=ip,
            detail={"scope": [budget.name], "step": "pin"},
        )
    if not allowed:
        return PinCheckOutcome.THROTTLED
    spent = OneTimePin.objects.filter(
        pk=pin.pk, used_at__isnull=True, attempts__lt=MAX_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if not spent:
        refund_budgets(budgets, now=now)  # a dead PIN: nothing was compared
        return PinCheckOutcome.INVALID
    expected = _code_hash(code=code, email=email, flow_id=flow_id)
    if not constant_time_compare(pin.code_hash, expected):
        return PinCheckOutcome.INVALID
    refund_budgets(budgets, now=now)
    used = OneTimePin.objects.filter(pk=pin.pk, used_at__isnull=True).update(used_at=now)
    return PinCheckOutcome.VALID if used else PinCheckOutcome.INVALID
