"""Temporary approval: a person asks to enter an application, approvers decide, for a while.

When the deciding policy of an allowed sign-in has `approval_required`, the person enters only
with a live approval of that application. They ask with a justification and a duration
(`approval_request_create`); every address of the policy's `approval_groups` (the requester's
own excepted) is emailed a link to the approver's page on the login host. A link is 256 random
bits, stored as its SHA-256 only, made in the task that emails it (never written to a queue),
good for that one approver and that one request, until the request lapses, and decides once,
while a policy of the application still names that approver.
The approver must be signed in on the login host as the link's address
(`approval_decide`). One refusal ends the request; it is approved once every approval group
has its `approvals_needed` approvals, until the shortest duration the approvers gave, counted
from the last approval. The person is emailed the outcome.

An administrator revokes an approval (`approval_revoke`): the person's tokens for that
application stop working at once, through a revocation cutoff (`identity.sessions`), which
every process learns through the revocations' version; their next sign-in asks again.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from ipaddress import IPv4Address, IPv6Address

from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from common.audit import record_change
from common.credentials import code_hash
from identity.background import enqueue_after_response, task
from identity.events import record_event
from identity.login_urls import APPROVAL_PATH
from identity.models import ApprovalRequest, Approver, AuthEvent
from identity.sessions import revoke_tokens_issued_before
from policies.approvals import ApprovalGroup, approval_groups_from_data
from policies.decision import Verdict
from policies.snapshot import CompiledApplication, get_snapshot

logger = logging.getLogger("accessproject.identity")

# A request nobody decided within this lapses, and its links with it.
REQUEST_LIFETIME = timedelta(hours=24)
JUSTIFICATION_MAX_LENGTH = 1000
CHOOSE_DURATION = "Choose how long you need access for."
# What a requester may ask for and an approver may grant.
DURATIONS: tuple[tuple[timedelta, str], ...] = (
    (timedelta(hours=1), "1 hour"),
    (timedelta(hours=4), "4 hours"),
    (timedelta(hours=8), "8 hours"),
    (timedelta(hours=24), "24 hours"),
    (timedelta(days=7), "7 days"),
)
# Keyed by the form's value exactly as the pages write it: any other spelling ("03600", digits
# of another script, which `str.isdigit` accepts and `int` may not) is no choice at all.


def duration_value(duration: timedelta) -> str:
    """A duration as the pages' forms write it: whole seconds ("3600")."""
    return str(int(duration.total_seconds()))


_DURATION_BY_VALUE = {duration_value(duration): duration for duration, _ in DURATIONS}

# Why a link cannot be used, as the page says it.
LINK_INVALID = "This approval link is not valid. Use the link in the most recent email."
LINK_USED = "This approval link has already been used: your decision is recorded."
LINK_EXPIRED = "This approval link has expired, and the request with it."
REQUEST_CLOSED = "This request has already been decided, so there is nothing left to decide."
NO_LONGER_APPROVER = (
    "You are no longer an approver of this application, so this link cannot decide the request."
)
WRONG_APPROVER = "This link is for {email}. Sign in as {email} to decide, or ignore this request."


class LinkRefused(Exception):
    """An approver's link cannot be used: `message` is for the page, `status` its HTTP status."""

    def __init__(self, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


def duration_choice(value: str) -> timedelta | None:
    """The duration a form's choice (seconds, one of `DURATIONS`) stands for, else None."""
    return _DURATION_BY_VALUE.get(value)


def duration_options() -> list[dict[str, str]]:
    """The choices of a form's duration field: each value and how it reads."""
    return [{"value": duration_value(duration), "label": label} for duration, label in DURATIONS]


def duration_label(duration: timedelta | None) -> str:
    """How a duration reads on a page or in an email ("4 hours")."""
    for choice, label in DURATIONS:
        if choice == duration:
            return label
    return str(duration) if duration is not None else ""


def asks_approval(application: CompiledApplication) -> bool:
    """Whether any policy of the application asks for approval (in memory, no query)."""
    return any(policy.approval_required for policy in application.policies)


def approval_wanted(verdict: Verdict, *, email: str, application_id: int) -> bool:
    """Whether this allowed sign-in must be approved first: its deciding policy asks, and the
    person has no live approval of the application."""
    if not verdict.wants_approval:
        return False  # the common case costs no query
    return live_approval(email=email, application_id=application_id) is None


def approvals_in_token(
    *, email: str, applications: Sequence[CompiledApplication], now: datetime
) -> dict[str, ApprovalRequest]:
    """The person's live approvals of these applications (those an app token will name), by
    AUD tag; none of them asking for approval costs no query."""
    asking = {
        application.id: application.aud
        for application in applications
        if asks_approval(application)
    }
    if not asking:
        return {}
    live = ApprovalRequest.objects.filter(
        email__iexact=email,
        application_id__in=asking,
        status=ApprovalRequest.Status.APPROVED,
        granted_until__gt=now,
    ).order_by("granted_until")  # the latest ending wins for each application
    return {asking[approval.application_id]: approval for approval in live}


def approval_claim(approvals: Mapping[str, ApprovalRequest]) -> dict[str, dict[str, object]]:
    """What an app token's `approval` claim says: each application's approval and when it
    ends, by AUD tag."""
    return {
        aud: {"id": str(approval.pk), "until": int(approval.granted_until.timestamp())}
        for aud, approval in approvals.items()
        if approval.granted_until is not None
    }


def _latest_request(
    *, email: str, application_id: int, by: str = "created_at", **conditions: object
) -> ApprovalRequest | None:
    """The person's request for this application meeting `conditions` with the latest `by`."""
    return (
        ApprovalRequest.objects.filter(
            email__iexact=email, application_id=application_id, **conditions
        )
        .order_by(f"-{by}")
        .first()
    )


def live_approval(
    *, email: str, application_id: int, now: datetime | None = None
) -> ApprovalRequest | None:
    """The person's approval of this application that still lets them in (the latest ending)."""
    return _latest_request(
        email=email,
        application_id=application_id,
        by="granted_until",
        status=ApprovalRequest.Status.APPROVED,
        granted_until__gt=now or timezone.now(),
    )


def open_request(
    *, email: str, application_id: int, now: datetime | None = None
) -> ApprovalRequest | None:
    """The person's request for this application still waiting for approvers, if any."""
    return _latest_request(
        email=email,
        application_id=application_id,
        status=ApprovalRequest.Status.PENDING,
        expires_at__gt=now or timezone.now(),
    )


def last_refusal(*, email: str, application_id: int) -> ApprovalRequest | None:
    """The person's latest request for this application, when it was refused or revoked."""
    latest = _latest_request(email=email, application_id=application_id)
    closed = (ApprovalRequest.Status.REFUSED, ApprovalRequest.Status.REVOKED)
    if latest is None or latest.status not in closed:
        return None
    return latest


def approval_request_create(
    *,
    email: str,
    application_id: int,
    policy_name: str,
    approval_groups: Sequence[ApprovalGroup],
    justification: str,
    requested_duration: timedelta,
    login_origin: str,
    return_url: str = "",
    ip: IPv4Address | IPv6Address | str | None = None,
    now: datetime | None = None,
) -> ApprovalRequest:
    """Record a request and email every approver (after the response) a link to decide it.

    A request already waiting for this person and application is returned as it is: asking
    twice (even at once: one request waits per person and application) emails nobody twice.
    One nobody decided in time is marked lapsed first.
    """
    now = now or timezone.now()
    requester = email.strip().lower()
    approvers = sorted(
        {address for group in approval_groups for address in group.email_addresses} - {requester}
    )
    with transaction.atomic():
        ApprovalRequest.objects.filter(
            email=requester,
            application_id=application_id,
            status=ApprovalRequest.Status.PENDING,
            expires_at__lte=now,
        ).update(status=ApprovalRequest.Status.LAPSED)
        waiting = open_request(email=requester, application_id=application_id, now=now)
        if waiting is not None:
            return waiting
        request = ApprovalRequest(
            email=requester,
            application_id=application_id,
            policy_name=policy_name,
            justification=justification.strip()[:JUSTIFICATION_MAX_LENGTH],
            return_url=return_url,
            approval_groups=[
                {"approvals_needed": g.approvals_needed, "email_addresses": list(g.email_addresses)}
                for g in approval_groups
            ],
            requested_duration=requested_duration,
            created_at=now,
            expires_at=now + REQUEST_LIFETIME,
        )
        request.full_clean(validate_constraints=False)  # the database judges the race
        try:
            with transaction.atomic():
                request.save()
        except IntegrityError:
            # Another request of the same person and application was saved meanwhile.
            concurrent = open_request(email=requester, application_id=application_id, now=now)
            if concurrent is None:
                raise
            return concurrent
        Approver.objects.bulk_create(
            Approver(request=request, email=address, link_expires_at=request.expires_at)
            for address in approvers
        )
        record_event(
            AuthEvent.Kind.APPROVAL_REQUESTED,
            email=requester,
            application=application_id,
            ip=ip,
            detail={
                "approval": str(request.pk),
                "policy": policy_name,
                "justification": request.justification,
                "requested_duration": int(requested_duration.total_seconds()),
                "approvers": approvers,
            },
        )
    if not approvers:
        logger.warning("approval request %s for %s has no approver to email", request.pk, requester)
    enqueue_after_response(email_approvers, approval_id=str(request.pk), login_origin=login_origin)
    return request


def approver_for_link(token: str, *, now: datetime | None = None) -> Approver:
    """The approver a link stands for, while it may still decide; `LinkRefused` otherwise."""
    now = now or timezone.now()
    if not token or len(token) > 256:
        raise LinkRefused(LINK_INVALID, status=404)
    approver = (
        Approver.objects.select_related("request__application")
        .filter(link_hash=code_hash(token))
        .first()
    )
    if approver is None:
        raise LinkRefused(LINK_INVALID, status=404)
    if approver.decided_at is not None:
        raise LinkRefused(LINK_USED, status=410)
    request = approver.request
    lapsed = request.status == ApprovalRequest.Status.LAPSED or request.expires_at <= now
    if lapsed or approver.link_expires_at <= now:
        raise LinkRefused(LINK_EXPIRED, status=410)
    if request.status != ApprovalRequest.Status.PENDING:
        raise LinkRefused(REQUEST_CLOSED, status=410)
    if not still_approves(approver.email, application_id=request.application_id):
        # Taken off the policy (they left the team, say) after the link was emailed.
        raise LinkRefused(NO_LONGER_APPROVER, status=403)
    return approver


def still_approves(email: str, *, application_id: int) -> bool:
    """Whether a policy of the application, as configured now, asks for approvals and names
    `email` among its approvers (in memory, from the snapshot)."""
    application = get_snapshot().applications.get(application_id)
    return application is not None and any(
        email in group.email_addresses
        for policy in application.policies
        if policy.approval_required
        for group in policy.approval_groups
    )


def check_approver(approver: Approver, *, signed_in_as: str) -> None:
    """A link decides only for the approver it was emailed to: `LinkRefused` for anyone else."""
    if approver.email.lower() != signed_in_as.strip().lower():
        raise LinkRefused(WRONG_APPROVER.format(email=approver.email), status=403)


def approval_decide(
    *,
    token: str,
    signed_in_as: str,
    approve: bool,
    duration: timedelta | None = None,
    ip: IPv4Address | IPv6Address | str | None = None,
    now: datetime | None = None,
) -> ApprovalRequest:
    """Record one approver's decision through their link, signed in as `signed_in_as`.

    A refusal ends the request. An approval counts for every group that lists the approver;
    once each group has its `approvals_needed`, the request is approved until the shortest
    duration given, from now. The requester is emailed when the request ends either way.
    """
    now = now or timezone.now()
    if approve and duration is None:
        raise ValueError("an approval needs a duration")
    approver = approver_for_link(token, now=now)
    check_approver(approver, signed_in_as=signed_in_as)
    with transaction.atomic():
        request = ApprovalRequest.objects.select_for_update().get(pk=approver.request_id)
        if request.status != ApprovalRequest.Status.PENDING:
            raise LinkRefused(REQUEST_CLOSED, status=410)
        decided = Approver.objects.filter(pk=approver.pk, decided_at__isnull=True).update(
            decision=Approver.Decision.APPROVE if approve else Approver.Decision.REFUSE,
            duration=duration if approve else None,
            decided_at=now,
        )
        if not decided:
            raise LinkRefused(LINK_USED, status=410)
        if not approve:
            request.status = ApprovalRequest.Status.REFUSED
            request.decided_at = now
        else:
            approvals = list(
                Approver.objects.filter(request=request, decision=Approver.Decision.APPROVE)
            )
            if _groups_satisfied(request, {a.email for a in approvals}):
                request.status = ApprovalRequest.Status.APPROVED
                request.decided_at = now
                request.granted_until = now + min(a.duration for a in approvals if a.duration)
        request.save(update_fields=["status", "decided_at", "granted_until"])
        record_event(
            AuthEvent.Kind.APPROVAL_APPROVED if approve else AuthEvent.Kind.APPROVAL_REFUSED,
            email=request.email,
            application=request.application_id,
            ip=ip,
            detail={
                "approval": str(request.pk),
                "approver": approver.email,
                "duration": int(duration.total_seconds()) if approve and duration else None,
                "status": request.status,
                "granted_until": request.granted_until.isoformat()
                if request.granted_until
                else None,
            },
        )
    if request.status != ApprovalRequest.Status.PENDING:
        enqueue_after_response(email_requester, approval_id=str(request.pk))
    return request


def _groups_satisfied(request: ApprovalRequest, approved_by: set[str]) -> bool:
    """Whether every approval group of the request has its `approvals_needed` approvals."""
    groups = approval_groups_from_data(request.approval_groups)
    if not approved_by:
        return False
    return all(
        len(approved_by.intersection(group.email_addresses)) >= group.approvals_needed
        for group in groups
    )


def approval_revoke(
    *, approval: ApprovalRequest, actor: str = "", now: datetime | None = None
) -> bool:
    """End an approval (or a waiting request) now: the person's tokens for the application stop
    working at once, and their next sign-in asks again. False when it had already ended."""
    now = now or timezone.now()
    live = (ApprovalRequest.Status.PENDING, ApprovalRequest.Status.APPROVED)
    with transaction.atomic():
        updated = ApprovalRequest.objects.filter(pk=approval.pk, status__in=live).update(
            status=ApprovalRequest.Status.REVOKED, revoked_at=now, revoked_by=actor[:150]
        )
        if not updated:
            return False
        before = approval.status
        approval.refresh_from_db()
        record_change(
            "revoke",
            approval,
            before={"status": before},
            after={"status": approval.status, "revoked_at": now},
            object_type="approval",
            object_name=f"{approval.email}, {approval.application.name}",
        )
        record_event(
            AuthEvent.Kind.APPROVAL_REVOKED,
            email=approval.email,
            application=approval.application_id,
            detail={"approval": str(approval.pk), "actor": actor},
        )
        revoke_tokens_issued_before(
            email=approval.email, application=approval.application, now=now, actor=actor
        )
    enqueue_after_response(email_requester, approval_id=str(approval.pk))
    return True


# --- emails, sent after the response -------------------------------------------------------------


@task
def email_approvers(*, approval_id: str, login_origin: str) -> None:
    """Make each approver's link and email it. The link exists only in the email: the database
    keeps its hash, and the queue never sees it. An email the mail server refuses leaves its
    approver without a link (a new run of the task emails them), and the others are emailed."""
    request = ApprovalRequest.objects.select_related("application").filter(pk=approval_id).first()
    if request is None:
        return  # deleted meanwhile, with its application
    failed: list[str] = []
    for approver in request.approvers.filter(link_hash=""):
        token = secrets.token_urlsafe(32)
        digest = code_hash(token)
        if not Approver.objects.filter(pk=approver.pk, link_hash="").update(link_hash=digest):
            continue  # another worker emailed this one
        message = _message(
            "approval_asked",
            to=approver.email,
            context={
                "request": request,
                "application_name": request.application.name,
                "reason": quoted_lines(request.justification),
                "link": f"{login_origin}{APPROVAL_PATH}/{token}",
                "requested": duration_label(request.requested_duration),
                "expires_at": request.expires_at,
            },
        )
        try:
            message.send()
        except Exception as error:
            Approver.objects.filter(pk=approver.pk, link_hash=digest).update(link_hash="")
            logger.warning(
                "no approval email sent to %s for request %s: %s: %s",
                approver.email,
                request.pk,
                type(error).__name__,
                error,
            )
            failed.append(approver.email)
    if failed:
        raise RuntimeError(f"approval emails not sent to {', '.join(failed)}")  # the task fails


@task
def email_requester(*, approval_id: str) -> None:
    """Tell the person how their request ended (approved, refused or revoked)."""
    request = ApprovalRequest.objects.select_related("application").filter(pk=approval_id).first()
    if request is None:
        return
    _message(
        "approval_outcome",
        to=request.email,
        context={"request": request, "application_name": request.application.name},
    ).send()


def quoted_lines(text: str) -> str:
    """`text` (the requester's) for a plain-text email: every line, whatever breaks it (CR,
    U+2028, ...), indented and marked as quoted, so that none reads as the email's own."""
    return "\n".join(f"    > {line}".rstrip() for line in text.splitlines())


def _message(name: str, *, to: str, context: dict[str, object]) -> EmailMultiAlternatives:
    subject = render_to_string(f"identity/email/{name}_subject.txt", context).strip()
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string(f"identity/email/{name}.txt", context), to=[to]
    )
    message.attach_alternative(
        render_to_string(f"identity/email/{name}.html", context), "text/html"
    )
    return message
