"""`/cdn-cgi/access/approval/<link>`: an approver's page for one temporary-approval request.

The link comes from the approver's email (`identity.approvals`). The page is on the login host
and is for the person of its session only, signed in as the address the link was emailed to:
someone else is told whom the link is for, and a visitor with no session is sent to sign in
and back here. It shows who asks, for which application and why; the approver approves for a
duration or refuses (a POST with the CSRF token, like every login page). A link that is
unknown, used, or past its request's end gets a page that says so, never an error.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render

from identity import approvals
from identity.approvals import (
    LinkRefused,
    duration_choice,
    duration_label,
    duration_options,
    duration_value,
)
from identity.clients import client_ip
from identity.crosssite import apply_login_headers, refuse_cross_site
from identity.flows.signin import current_sign_in, live_org_session
from identity.login_urls import LAUNCHER_PATH, LOGOUT_PATH, login_host_sign_in_url
from identity.models import ApprovalRequest, Approver
from identity.views.login import InvalidFlow, validated_flow

CHOOSE_GRANTED_DURATION = "Choose how long the approval lasts."
DECIDED = {
    ApprovalRequest.Status.APPROVED: "You approved the request. {email} may enter {application} "
    "until {until} UTC, and has been emailed.",
    ApprovalRequest.Status.PENDING: "Your approval is recorded. {email} enters once the other "
    "approvers the policy needs have approved too.",
    ApprovalRequest.Status.REFUSED: "You refused the request. {email} has been emailed.",
}


@refuse_cross_site
def approval_page(request: HttpRequest, token: str) -> HttpResponseBase:
    """The approver's page (see the module docstring)."""
    try:
        flow = validated_flow(request, None, {})
    except InvalidFlow as invalid:
        apply_login_headers(invalid.response)
        return invalid.response
    try:
        approver = approvals.approver_for_link(token)
    except LinkRefused as refused:
        return _notice(request, refused.message, status=refused.status)
    claims = current_sign_in(request, flow)
    if claims is None or live_org_session(flow, claims) is None:
        return _notice(
            request,
            f"Sign in as {approver.email} to decide this request.",
            status=200,
            sign_in_url=login_host_sign_in_url(request.path),
        )
    try:
        approvals.check_approver(approver, signed_in_as=claims.email)
    except LinkRefused as refused:
        return _notice(request, refused.message, status=refused.status, signed_in_as=claims.email)
    if request.method != "POST":
        return _decide_page(request, approver)
    return _decide(request, approver, token=token, signed_in_as=claims.email)


def _decide(
    request: HttpRequest, approver: Approver, *, token: str, signed_in_as: str
) -> HttpResponse:
    approve = request.POST.get("decision") == "approve"
    if not approve and request.POST.get("decision") != "refuse":
        return _decide_page(request, approver, status=400)
    duration = duration_choice(str(request.POST.get("duration", ""))) if approve else None
    if approve and duration is None:
        return _decide_page(request, approver, error=CHOOSE_GRANTED_DURATION, status=400)
    try:
        decided = approvals.approval_decide(
            token=token,
            signed_in_as=signed_in_as,
            approve=approve,
            duration=duration,
            ip=client_ip(request),
        )
    except LinkRefused as refused:
        return _notice(request, refused.message, status=refused.status)
    until = f"{decided.granted_until:%Y-%m-%d %H:%M}" if decided.granted_until else ""
    message = DECIDED[ApprovalRequest.Status(decided.status)].format(
        email=decided.email, application=decided.application.name, until=until
    )
    return _notice(request, message, status=200, done=True)


def _decide_page(
    request: HttpRequest, approver: Approver, *, error: str = "", status: int = 200
) -> HttpResponse:
    asked = approver.request
    chosen = str(request.POST.get("duration", "")) or duration_value(asked.requested_duration)
    return render(
        request,
        "identity/approval_decide.html",
        {
            "asked": asked,
            "application_name": asked.application.name,
            "requested": duration_label(asked.requested_duration),
            "durations": duration_options(),
            "chosen": chosen,
            "error": error,
            "form_action": request.path,
        },
        status=status,
    )


def _notice(request: HttpRequest, message: str, *, status: int, **context: Any) -> HttpResponse:
    """Where the page cannot (or need not) show the decision form: what happened, and a way on."""
    return render(
        request,
        "identity/approval_notice.html",
        {
            "message": message,
            "home_url": LAUNCHER_PATH,
            "logout_url": LOGOUT_PATH,
            "problem": status >= 400,
            **context,
        },
        status=status,
    )
