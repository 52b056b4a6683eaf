"""Logout: `/cdn-cgi/access/logout` on an application host or on the login host.

As in Access, it revokes the sign-in's sessions across all applications (every token carrying
its identity nonce is refused by every process within a second) and clears this host's cookies;
on an application host it also links to the login host's logout, whose org cookie it cannot
clear itself. GET and POST both work: signing someone out is harmless.

The page never dead-ends: "Sign in again" leads back to the application the person came from
when it is known (`redirect_url`, else the `Referer` of the page that linked here), validated
as every redirect target is (`identity.redirects.application_page_url`), else to the login
host's root. With `sign_in_again=1` (the deny page's "Try another account") the browser goes
straight there after signing out, through the login host's logout first, so that its org cookie
is gone too and the sign-in page asks who is signing in.
"""

from __future__ import annotations

import logging
from typing import Literal

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseRedirect
from django.shortcuts import render

from identity.claims import AccessClaims, TokenError
from identity.clients import client_ip
from identity.conf import conf
from identity.cookies import CF_AUTHORIZATION, clear_access_cookies, cookie_values
from identity.crosssite import refuse_cross_site
from identity.events import record_event
from identity.hosts import parse_authority, request_scheme, served_ports
from identity.login_urls import (
    LOGIN_PATH,
    LOGOUT_REDIRECT_PARAMETER,
    SIGN_IN_AGAIN_PARAMETER,
    login_host_for,
    login_host_return,
    login_host_sign_in_url,
    logout_back_to,
    logout_url,
)
from identity.models import AuthEvent
from identity.redirects import application_page_url
from identity.sessions import sessions_revoke_for_nonce
from identity.tokens import issuer_for, verify_access_token
from policies.snapshot import get_snapshot

logger = logging.getLogger("accessproject.access")

_TOKEN_TYPES: tuple[Literal["app", "org"], ...] = ("app", "org")


def _signed_in_claims(request: HttpRequest, issuer: str) -> list[AccessClaims]:
    """The claims of every `CF_Authorization` value that verifies here (app or org token).

    Its keys are read again for a kid this process does not know yet (`keys_now`): a token
    another process signed with a key it rotated a moment ago is one its gate lets in, so
    logout must revoke it too. A value that still does not verify is one no gate accepts; why
    is logged (never the value itself)."""
    found = []
    for value in cookie_values(request.META.get("HTTP_COOKIE", ""), CF_AUTHORIZATION):
        reasons = []
        for token_type in _TOKEN_TYPES:
            try:
                claims = verify_access_token(
                    value, audience=None, token_type=token_type, issuer=issuer, keys_now=True
                )
            except TokenError as error:
                reasons.append(error.reason)
                continue
            found.append(claims)
            break
        else:
            logger.info("logout: a cookie revokes nothing: %s", " / ".join(reasons))
    return found


def _came_from(request: HttpRequest, *, scheme: str, on_login_host: bool) -> str | None:
    """The application page the person came from, checked, or None when it is not known.

    An explicit `redirect_url` decides alone (a refused one is not replaced by the Referer). On
    the login host it may also be one of the login host's own pages that send a person to sign
    in and back (`login_host_return`: an approver's link), and the way back is that sign-in."""
    params = request.POST if request.method == "POST" else request.GET
    value = params.get(LOGOUT_REDIRECT_PARAMETER)
    if value is not None and login_host_return(value) and on_login_host:
        return login_host_sign_in_url(value)
    if value is None:
        value = request.META.get("HTTP_REFERER")
    if not value:
        return None
    authority = parse_authority(request.get_host(), scheme=scheme)
    if authority is None:
        return None
    try:
        snapshot = get_snapshot()
    except Exception:
        # Signing out goes on without the configuration; only the way back is unknown.
        logger.exception("logout: the configuration cannot be loaded to check the way back")
        return None
    return application_page_url(
        value,
        request_host=str(authority),
        scheme=scheme,
        snapshot=snapshot,
        ports=served_ports(authority),
        debug=settings.DEBUG,
    )


def sign_in_elsewhere_url(*, scheme: str, login_host: str) -> str:
    """Where "Sign in again" leads when no application is known: the login host's root (with
    `ACCESS_TEAM_DOMAIN`), else this host's own sign-in page."""
    return f"{scheme}://{login_host}/" if conf.team_domain else LOGIN_PATH


@refuse_cross_site
def logout(request: HttpRequest) -> HttpResponseBase:
    """Revoke the sign-in everywhere, clear this host's cookies, say so."""
    request_host = request.get_host().lower()
    login_host = login_host_for(request_host)
    nonces_done: set[str] = set()
    scheme = request_scheme(request)
    for claims in _signed_in_claims(request, issuer_for(login_host, scheme=scheme)):
        nonce = claims.identity_nonce
        if not nonce or nonce in nonces_done or claims.common_name:
            continue
        nonces_done.add(nonce)
        sessions_revoke_for_nonce(nonce, actor="logout")
        record_event(
            AuthEvent.Kind.LOGOUT,
            email=claims.email,
            ip=client_ip(request),
            detail={"host": request_host},
        )
    on_login_host = login_host == request_host
    came_from = _came_from(request, scheme=scheme, on_login_host=on_login_host)
    params = request.POST if request.method == "POST" else request.GET
    response: HttpResponse
    # Only an explicit target goes straight on; a Referer alone only fills in the link.
    if (
        came_from is not None
        and LOGOUT_REDIRECT_PARAMETER in params
        and params.get(SIGN_IN_AGAIN_PARAMETER) == "1"
    ):
        next_url = (
            came_from
            if on_login_host
            else logout_back_to(
                logout_url(scheme=scheme, host=login_host), came_from, sign_in_again=True
            )
        )
        response = HttpResponseRedirect(next_url)
    else:
        response = render(
            request,
            "identity/signed_out.html",
            {
                "login_host_logout_url": ""
                if on_login_host
                else logout_back_to(logout_url(scheme=scheme, host=login_host), came_from),
                "sign_in_again_url": came_from
                or sign_in_elsewhere_url(scheme=scheme, login_host=login_host),
            },
        )
    clear_access_cookies(response, scheme=request_scheme(request))
    return response
