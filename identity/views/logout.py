"""Logout: `/cdn-cgi/access/logout` on an application host or on the login host.

As in Access, it revokes the sign-in's sessions across all applications (every token carrying
its identity nonce is refused by every process within a second) and clears this host's cookies;
on an application host it also links to the login host's logout, whose org cookie it cannot
clear itself. GET and POST both work: signing someone out is harmless.
"""

from __future__ import annotations

import logging
from typing import Literal

from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.template.loader import render_to_string

from identity.claims import AccessClaims, TokenError
from identity.clients import client_ip
from identity.cookies import CF_AUTHORIZATION, clear_access_cookies, cookie_values
from identity.crosssite import refuse_cross_site
from identity.events import record_event
from identity.flows.signin import is_secure
from identity.hosts import request_scheme
from identity.login_urls import login_host_for, logout_url
from identity.models import AuthEvent
from identity.sessions import sessions_revoke_for_nonce
from identity.tokens import issuer_for, verify_access_token

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
    body = render_to_string(
        "identity/signed_out.html",
        {
            "login_host_logout_url": logout_url(scheme=scheme, host=login_host)
            if login_host != request_host
            else "",
        },
        request=request,
    )
    response = HttpResponse(body)
    clear_access_cookies(response, secure=is_secure(request))
    return response
