"""`/cdn-cgi/access/account`: a person's own page on the login host.

It lists their second factors and the sign-ins (org sessions) still open, and lets them add an
authenticator app or a passkey, remove a factor, make new recovery codes, and sign out one
session or all. Everything is for the person of the login host's session, read from the
database on each request. A person who has a factor changes factors only from a session that
gave one (the page asks for it first); signing out needs no more than the session itself.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone

from identity.clients import client_ip
from identity.cookies import clear_access_cookies
from identity.crosssite import apply_login_headers, refuse_cross_site
from identity.factors import services as factors
from identity.factors.stepup import Next, StepUp
from identity.flows.signin import Flow, current_sign_in, live_org_session
from identity.hosts import request_scheme
from identity.login_urls import LOGIN_PATH
from identity.models import AccessSession
from identity.sessions import sessions_revoke_for_nonce
from identity.views.login import (
    FACTOR_STEPS,
    INVALID_LINK,
    InvalidFlow,
    enrol_page,
    may_enrol,
    message_page,
    second_factor_page,
    validated_flow,
)

ALL_FACTORS = frozenset({"otp", "hwk", "swk"})


def _open_sessions(email: str) -> list[AccessSession]:
    return list(
        AccessSession.objects.filter(
            email__iexact=email,
            application__isnull=True,
            revoked_at__isnull=True,
            expires_at__gt=timezone.now(),
        ).order_by("-issued_at")
    )


def _page(request: HttpRequest, flow: Flow, claims: Any, *, notice: str = "") -> HttpResponse:
    email = claims.email
    return render(
        request,
        "identity/account.html",
        {
            "email": email,
            "factors": factors.confirmed_factors(email),
            "recovery_left": factors.recovery_codes_left(email),
            "sessions": _open_sessions(email),
            "this_nonce": claims.identity_nonce,
            "may_change": may_enrol(claims),
            "has_mfa": "mfa" in claims.auth_methods,
            "amr": sorted(claims.auth_methods),
            "form_action": request.path,
            "flow": {},
            "notice": notice,
        },
    )


def _changes(request: HttpRequest, flow: Flow, claims: Any) -> HttpResponse | None:
    """The account's own steps (those of the login page are dispatched before)."""
    step = str(request.POST.get("step", ""))
    email = claims.email
    if step in {"end_session", "end_all"}:
        ended = [
            session
            for session in _open_sessions(email)
            if step == "end_all" or str(session.pk) == str(request.POST.get("session", ""))
        ]
        for session in ended:
            sessions_revoke_for_nonce(session.identity_nonce, actor="the person's own page")
        if any(session.identity_nonce == claims.identity_nonce for session in ended):
            response = HttpResponseRedirect(LOGIN_PATH)
            clear_access_cookies(response, scheme=request_scheme(request))
            return response
        return HttpResponseRedirect(request.path)
    if step not in {"verify", "add_totp", "add_passkey", "remove", "new_codes"}:
        return None
    if step == "verify" or not may_enrol(claims):
        # A person with a factor gives it before changing any: the page asks, then returns here.
        return second_factor_page(
            request, flow, email, StepUp(Next.ASK, factors.enrolled_methods(email))
        )
    if step == "add_totp":
        return enrol_page(request, flow, email, frozenset({"otp"}))
    if step == "add_passkey":
        return enrol_page(request, flow, email, frozenset({"hwk", "swk"}))
    if step == "remove":
        factor_id = str(request.POST.get("factor", ""))
        if factor_id.isdigit():
            factors.factor_remove(email=email, factor_id=int(factor_id), ip=client_ip(request))
        return HttpResponseRedirect(request.path)
    if not factors.confirmed_factors(email):
        return HttpResponseRedirect(request.path)  # recovery codes stand in for a factor only
    codes = factors.recovery_codes_issue(email=email)
    return render(
        request,
        "identity/factors/recovery_codes.html",
        {"email": email, "codes": codes, "continue_url": request.path},
    )


@refuse_cross_site
def account_page(request: HttpRequest) -> HttpResponseBase:
    """The person's page (see the module docstring); on another host, the login host's."""
    try:
        flow = validated_flow(request, None, {})
    except InvalidFlow as invalid:
        apply_login_headers(invalid.response)
        return invalid.response
    claims = current_sign_in(request, flow)
    response: HttpResponseBase
    if claims is None or live_org_session(flow, claims) is None:
        response = HttpResponseRedirect(LOGIN_PATH)
    elif request.method != "POST":
        response = _page(request, flow, claims)
    else:
        step = FACTOR_STEPS.get(str(request.POST.get("step", "")))
        changed = step(request, flow) if step is not None else _changes(request, flow, claims)
        response = changed or message_page(request, INVALID_LINK, status=400)
    apply_login_headers(response)
    return response
