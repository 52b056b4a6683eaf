"""`/cdn-cgi/access/get-identity`: the identity behind the caller's Access token, as JSON.

The token is looked for in this order, each candidate verified for its purpose:
1. the app token (`CF_Authorization` on this host, type "app", an `aud` of an application of
   this host);
2. the org token (`CF_Authorization`, type "org"), only when this host is the login host;
3. the `cf-access-token` header (as an app token, then as an org token on the login host).
Every value of a repeated `CF_Authorization` cookie is tried in turn; the first that verifies
wins, so a forged copy cannot shadow a valid one. No valid token: `401 {"err": ...}`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from identity.claims import APPROVAL_CLAIM, AccessClaims
from identity.clients import client_country, client_ip
from identity.cookies import CF_AUTHORIZATION, TOKEN_HEADER, cookie_values
from identity.hosts import request_scheme
from identity.login_urls import login_host_for
from identity.tokens import TokenType, issuer_for, verified_tokens
from policies.hosts import normalize_host
from policies.rules import Subject, rules_match
from policies.snapshot import Snapshot, get_snapshot

logger = logging.getLogger("accessproject.access")

_TOKEN_HEADER_META = "HTTP_" + TOKEN_HEADER.upper().replace("-", "_")


@never_cache
@require_safe
def get_identity(request: HttpRequest) -> HttpResponse:
    """Answer the identity of the caller's token, or 401."""
    host = request.get_host()
    try:
        snapshot = get_snapshot()
    except Exception:  # the configuration cannot be loaded: fail closed
        logger.exception("get-identity: the configuration snapshot is unavailable")
        return JsonResponse({"err": "configuration unavailable"}, status=503)
    claims = find_identity_claims(request, snapshot=snapshot, host=host)
    if claims is None:
        return JsonResponse({"err": "no valid Access token"}, status=401)
    return JsonResponse(_identity(request, claims, snapshot))


def find_identity_claims(
    request: HttpRequest, *, snapshot: Snapshot, host: str
) -> AccessClaims | None:
    """The claims of the first token of the request that verifies for this host, in order."""
    login_host = login_host_for(host)
    issuer = issuer_for(login_host, scheme=request_scheme(request))
    on_login_host = normalize_host(host) == normalize_host(login_host)
    host_audiences = frozenset(app.aud for app in snapshot.applications_for_host(host))
    cookies = cookie_values(request.headers.get("Cookie", ""), CF_AUTHORIZATION)
    header = str(request.META.get(_TOKEN_HEADER_META, "")).strip()

    searches: list[tuple[Iterable[str], TokenType]] = [(cookies, "app")]
    if on_login_host:
        searches.append((cookies, "org"))
    if header:
        searches.append(([header], "app"))
        if on_login_host:
            searches.append(([header], "org"))
    for claims, token_type in verified_tokens(searches, issuer=issuer):
        if token_type == "org" or host_audiences.intersection(claims.audiences):
            return claims
    return None


def _identity(request: HttpRequest, claims: AccessClaims, snapshot: Snapshot) -> dict[str, Any]:
    ip = client_ip(request)
    country = client_country(request) or claims.country
    service_token = (
        snapshot.service_tokens.get(claims.common_name) if claims.is_service_token else None
    )
    subject = (
        Subject(
            ip=ip, country=country or None, service_token=service_token.name, is_service_token=True
        )
        if service_token is not None
        else claims.as_subject(ip=ip, country=country)
    )
    groups = sorted(
        name
        for name, group in snapshot.groups.items()
        if rules_match(group.include, group.require, group.exclude, subject, snapshot.groups)
    )
    identity: dict[str, Any] = {
        "email": claims.email,
        "idp": _identity_provider(claims, snapshot),
        "user_uuid": claims.subject,
        "id": claims.subject,
        "iat": int(claims.issued_at.timestamp()),
        "ip": str(ip) if ip is not None else "",
        "country": country,
        "geo": {"country": country},
        "identity_nonce": claims.identity_nonce,
        "groups": groups,
        "amr": list(claims.auth_methods),
    }
    if claims.groups:
        identity["idp_groups"] = list(claims.groups)
    if claims.custom:
        identity["custom"] = dict(claims.custom)
    approval = claims.raw.get(APPROVAL_CLAIM)
    if isinstance(approval, dict) and approval:
        # The temporary approvals the token was minted under, by AUD tag (identity.approvals).
        identity["approval"] = dict(approval)
    purposes = {
        app.aud: answer
        for app in snapshot.applications_for_host(request.get_host())
        if (answer := claims.purpose_for(app.aud)) is not None
    }
    if purposes:
        # The answers to purpose prompts this sign-in gave here, by AUD tag (as the token holds).
        identity["purpose_justification"] = purposes
    if claims.is_service_token:
        identity.update(
            {
                "common_name": claims.common_name,
                "service_token_id": str(service_token.id) if service_token else "",
                "service_token_status": service_token is not None,
            }
        )
    return identity


def _identity_provider(claims: AccessClaims, snapshot: Snapshot) -> dict[str, str]:
    """`{"id", "type"}` as Access reports it, plus the name: all read from the token, so this
    costs no query (a token signed before providers had ids in tokens is looked up by name in
    the snapshot)."""
    if claims.is_service_token:
        return {"id": "", "type": "service_token"}
    if claims.idp_id:
        return {"id": claims.idp_id, "name": claims.login_method, "type": claims.idp_type}
    provider = snapshot.provider_named(claims.login_method)
    if provider is None:
        return {"id": "", "name": claims.login_method, "type": ""}
    return {"id": provider.id, "name": provider.name, "type": provider.type}
