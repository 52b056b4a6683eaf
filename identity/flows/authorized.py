"""The authorized hop's work: a code from `/cdn-cgi/access/authorized?code=...` becomes the cookie.

It exchanges a single-use authorization code (60 s) for the application cookie, but only in the
browser that started the flow: the code is bound to the hash of the `CF_AppSession` cookie the
gate set on this host before sending the browser to the login page. Anything wrong — missing,
unknown, expired or reused code, a code for another host, a missing or mismatched state cookie —
is refused (`CodeRefused`) and sets no cookie.

The new token's `aud` lists this application plus every application of this host in a
still-valid app token the browser already holds from the same sign-in, so moving between the
applications of one host does not bounce through the login page. It never outlives any token it
merges: the merged expiry is the earliest of them. It carries the purpose answers of the
applications it opens only, within a bound (`identity.flows.purpose.answers_carried`) that
keeps the cookie under browsers' 4 KB; a token still too long for a cookie
(`MAX_TOKEN_LENGTH`: a host with dozens of applications) opens this application only.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.http import HttpRequest, HttpResponseBase, HttpResponseRedirect
from django.utils import timezone

from common.credentials import code_hash
from identity.approvals import approval_claim, approvals_in_token
from identity.claims import APPROVAL_CLAIM, BINDING_CLAIM, IDP_CLAIM, PURPOSE_CLAIM, TokenError
from identity.clients import client_ip
from identity.cookies import (
    CF_APP_SESSION,
    CF_AUTHORIZATION,
    clear_app_session_cookie,
    cookie_values,
    set_app_token_cookie,
    set_binding_cookie,
)
from identity.flows.purpose import answers_carried
from identity.flows.signin import after_sign_in_url, signed_in_as_user, unspent
from identity.gate import binding_digest
from identity.hosts import Authority, canonical_authority, request_scheme
from identity.login_urls import login_host_for, state_hash_for
from identity.models import AuthorizationCode
from identity.person import SIGN_IN_CLAIMS
from identity.sessions import session_create, sign_in_is_live
from identity.tokens import issue_token, issuer_for, verify_access_token
from policies.snapshot import CompiledApplication, Snapshot, get_snapshot

# The longest app token a hop sets: with the cookie's name and attributes, under the 4096 bytes
# browsers keep of a cookie.
MAX_TOKEN_LENGTH = 3800


class CodeRefused(Exception):
    """The code cannot be exchanged here; `reason` is for the log, never shown."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _find_code(request: HttpRequest, snapshot: Snapshot, authority: Authority) -> AuthorizationCode:
    code = request.GET.get("code", "")
    if not code or len(code) > 256:
        raise CodeRefused("missing code")
    found = unspent(
        AuthorizationCode.objects.select_related("application", "session__user")
        .filter(code_hash=code_hash(code))
        .first(),
        what="code",
        refused=CodeRefused,
    )
    # Only on the host (and port) it was issued for: a code is never redeemable through another
    # spelling or port, even one an application of the same host would accept.
    if not secrets.compare_digest(found.app_host, str(authority)):
        raise CodeRefused("code for another host")
    application = snapshot.applications.get(found.application_id)
    if application is None or application not in snapshot.applications_for_host(authority.host):
        raise CodeRefused("code for another host")
    states = cookie_values(request.META.get("HTTP_COOKIE", ""), CF_APP_SESSION)
    if not any(secrets.compare_digest(state_hash_for(value), found.state_hash) for value in states):
        raise CodeRefused("state cookie missing or mismatched")
    claims = found.claims if isinstance(found.claims, dict) else {}
    idp = claims.get(IDP_CLAIM)
    idp_id = idp.get("id") if isinstance(idp, dict) else None
    needs_user = signed_in_as_user(
        snapshot,
        idp_id=idp_id if isinstance(idp_id, str) else "",
        login_method=found.login_method,
    )
    if not sign_in_is_live(found.session, needs_user=needs_user):
        raise CodeRefused("sign-in revoked, or its user deactivated or deleted")
    return found


def _merged_audiences(
    request: HttpRequest,
    snapshot: Snapshot,
    *,
    application: CompiledApplication,
    host: str,
    email: str,
    identity_nonce: str,
    issuer: str,
    expires_at: datetime,
) -> tuple[list[str], datetime]:
    """This application's AUD plus those of still-valid app tokens of this host, same sign-in."""
    host_audiences = {app.aud for app in snapshot.applications_for_host(host)}
    audiences = [application.aud]
    for value in cookie_values(request.META.get("HTTP_COOKIE", ""), CF_AUTHORIZATION):
        try:
            claims = verify_access_token(value, audience=None, token_type="app", issuer=issuer)
        except TokenError:
            continue
        if claims.email.lower() != email.lower() or claims.common_name:
            continue
        # Only the same sign-in: revocation goes by (identity nonce, AUD), so an audience
        # carried over under another sign-in's nonce would outlive revoking the session that
        # granted it.
        if claims.identity_nonce != identity_nonce:
            continue
        kept = [aud for aud in claims.audiences if aud in host_audiences and aud not in audiences]
        if kept:
            audiences.extend(kept)
            expires_at = min(expires_at, claims.expires_at)
    return audiences, expires_at


def exchange_code(request: HttpRequest) -> HttpResponseBase:
    """The redirect that sets the application cookie for `?code=`; `CodeRefused` if none may."""
    snapshot = get_snapshot()
    scheme = request_scheme(request)
    # The host as the browser sent it, and only in its canonical spelling: the login page sent
    # the code to that one (`authorized_url`), and a code is redeemed on no other spelling.
    authority = canonical_authority(request.get_host(), scheme=scheme)
    if authority is None:
        raise CodeRefused("bad host")
    request_host = str(authority)
    host = authority.host
    code = _find_code(request, snapshot, authority)
    application = snapshot.applications[code.application_id]
    now = timezone.now()
    # Single use, even against two concurrent requests: only one UPDATE finds it unused.
    with transaction.atomic():
        if not AuthorizationCode.objects.filter(pk=code.pk, used_at__isnull=True).update(
            used_at=now
        ):
            raise CodeRefused("code already used")

    claims = code.claims if isinstance(code.claims, dict) else {}
    claimed_lifetime = timedelta(seconds=int(claims.get("lifetime") or 0))
    if claimed_lifetime <= timedelta(0):
        claimed_lifetime = application.session_duration
    issuer = issuer_for(login_host_for(request_host), scheme=scheme)
    audiences, expires_at = _merged_audiences(
        request,
        snapshot,
        application=application,
        host=host,
        email=code.email,
        identity_nonce=code.identity_nonce,
        issuer=issuer,
        expires_at=now + claimed_lifetime,
    )
    binding = secrets.token_urlsafe(32) if application.enable_binding_cookie else ""
    token, lifetime = _app_token(
        code,
        snapshot,
        host=host,
        audiences=audiences,
        expires_at=expires_at,
        now=now,
        issuer=issuer,
        binding=binding,
    )
    if len(token) > MAX_TOKEN_LENGTH and len(audiences) > 1:
        # Too many applications of this host to carry in a cookie browsers keep: this one only
        # (the others hop through the login page on their next visit, by single sign-on).
        token, lifetime = _app_token(
            code,
            snapshot,
            host=host,
            audiences=[application.aud],
            expires_at=now + claimed_lifetime,
            now=now,
            issuer=issuer,
            binding=binding,
        )
    _create_app_session(request, code, now=now, lifetime=lifetime)
    target = after_sign_in_url(
        code.redirect_url,
        application=application,
        app_host=request_host,
        scheme=scheme,
        snapshot=snapshot,
        request_authority=authority,
    )
    response = HttpResponseRedirect(target)
    max_age = int(lifetime.total_seconds())
    set_app_token_cookie(
        response, token=token, application=application, scheme=scheme, max_age=max_age
    )
    if binding:
        set_binding_cookie(
            response, value=binding, application=application, scheme=scheme, max_age=max_age
        )
    clear_app_session_cookie(response, scheme=scheme)
    return response


def _app_token(
    code: AuthorizationCode,
    snapshot: Snapshot,
    *,
    host: str,
    audiences: list[str],
    expires_at: datetime,
    now: datetime,
    issuer: str,
    binding: str,
) -> tuple[str, timedelta]:
    """The app token opening `audiences` (this application's first) and its lifetime, with
    what the sign-in carries for them: its claims, its purpose answers, its live approvals."""
    claims = code.claims if isinstance(code.claims, dict) else {}
    extra: dict[str, object] = {name: claims[name] for name in SIGN_IN_CLAIMS if name in claims}
    answers = claims.get(PURPOSE_CLAIM)
    if isinstance(answers, dict) and answers:
        # The session's answers for this host's applications (the merged audiences are the
        # same sign-in's, so theirs are all here): only those of the applications this token
        # opens, within a bound that keeps the cookie small enough for browsers to keep.
        audiences, carried = answers_carried(answers, audiences)
        if carried:
            extra[PURPOSE_CLAIM] = carried
    # Each application that asks for approval is entered only with a live one, and no longer
    # than it lasts: the token names them, and ends with the first to end.
    approved = approvals_in_token(
        email=code.email,
        applications=[app for app in snapshot.applications_for_host(host) if app.aud in audiences],
        now=now,
    )
    if approved:
        extra[APPROVAL_CLAIM] = approval_claim(approved)
        expires_at = min(
            expires_at, *(a.granted_until for a in approved.values() if a.granted_until)
        )
    lifetime = max(expires_at - now, timedelta(seconds=1))
    if binding:
        extra[BINDING_CLAIM] = binding_digest(binding)
    token = issue_token(
        token_type="app",
        audiences=audiences,
        email=code.email,
        subject=str(claims.get("sub", "")),
        identity_nonce=code.identity_nonce,
        lifetime=lifetime,
        issuer=issuer,
        country=str(claims.get("country", "")),
        extra=extra,
    )
    return token, lifetime


def _create_app_session(
    request: HttpRequest, code: AuthorizationCode, *, now: datetime, lifetime: timedelta
) -> None:
    """Record the application session; it shares the sign-in's nonce, so logout revokes it."""
    claims = code.claims if isinstance(code.claims, dict) else {}
    org_session = code.session
    session_create(
        email=code.email,
        application=code.application,
        identity_nonce=code.identity_nonce,
        login_method=code.login_method,
        issued_at=now,
        expires_at=now + lifetime,
        user=org_session.user if org_session is not None else None,
        ip=client_ip(request),
        user_agent=request.headers.get("User-Agent", ""),
        country=str(claims.get("country", ""))[:2],
    )
