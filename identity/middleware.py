"""The gate: authentication and per-application CORS on every protected path.

`__call__` turns the request into `RequestFacts`, asks `identity.gate.decide_request` and applies
the `GateDecision`. Refusals are finished in one place (`_refuse`), and every decision but a bypass
is logged to the `accessproject.access` logger as one structured record.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers

from identity import cookies, login_urls
from identity.claims import AccessClaims
from identity.clients import client_country_from_meta, client_ip_from_meta
from identity.denial import deny_response
from identity.endpoints import is_own_endpoint
from identity.gate import (
    GateDecision,
    Outcome,
    RequestFacts,
    decide_for_application,
    is_gated_path,
    place_request,
)
from identity.hosts import parse_authority
from identity.login_urls import login_host_for
from identity.service_tokens import (
    authenticate_service_token,
    issue_service_access_token,
    record_service_token_use,
)
from identity.tokens import issuer_for, verify_access_token
from policies.cors import PREFLIGHT_VARY, origin_is_allowed, response_cors_headers
from policies.snapshot import CompiledApplication, CompiledServiceToken, Snapshot, get_snapshot

logger = logging.getLogger("accessproject.access")

ASSERTION_HEADER = "Cf-Access-Jwt-Assertion"
EMAIL_HEADER = "Cf-Access-Authenticated-User-Email"
TOKEN_HEADER = "cf-access-token"

# WSGI folds `-` and `_` into the same META key, so one key per header covers every spelling and
# case a client can send.
_ASSERTION_META = "HTTP_CF_ACCESS_JWT_ASSERTION"
_EMAIL_META = "HTTP_CF_ACCESS_AUTHENTICATED_USER_EMAIL"
_CLIENT_ID_META = "HTTP_CF_ACCESS_CLIENT_ID"
_CLIENT_SECRET_META = "HTTP_CF_ACCESS_CLIENT_SECRET"
_TOKEN_META = "HTTP_CF_ACCESS_TOKEN"
_IDENTITY_META = (_ASSERTION_META, _EMAIL_META)


@dataclass(frozen=True)
class RequestAccess:
    """`request.access`: who passed the gate, for which application, and why."""

    application: str
    aud: str
    email: str
    common_name: str
    policy: str
    reason: str
    identity_nonce: str
    claims: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "application": self.application,
            "aud": self.aud,
            "email": self.email,
            "common_name": self.common_name,
            "policy": self.policy,
            "reason": self.reason,
            "identity_nonce": self.identity_nonce,
            "claims": self.claims,
        }


class AccessGateMiddleware:
    """Enforce docs/architecture.md (The gate, request by request) on every covered request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Identity headers are the gate's to set: client-sent copies never reach a view, protected
        # or not.
        for key in _IDENTITY_META:
            request.META.pop(key, None)
        path = request.path_info
        if not is_gated_path(path):
            return self.get_response(request)
        try:
            snapshot = get_snapshot()
        except Exception:
            logger.exception("configuration unavailable: refusing every gated request")
            return _unavailable()
        host = request.get_host()
        try:
            # Host and path first: a request no application covers reads nothing else.
            placed = place_request(host, path, snapshot, is_own_endpoint=is_own_endpoint)
        except Exception:
            logger.exception("gate decision failed: refusing the request")
            return _unavailable()
        if isinstance(placed, GateDecision):
            if placed.outcome is Outcome.UNTOUCHED:
                return self.get_response(request)
            return self._apply(request, _request_facts(request, host), placed)
        facts = _request_facts(request, host)
        try:
            decision = decide_for_application(
                facts,
                snapshot,
                placed,
                verify_token=partial(_verify_app_token, issuer=_issuer(facts)),
                authenticate_service_token=partial(_authenticate, snapshot=snapshot),
            )
        except Exception:
            # Keys or state that cannot be loaded: fail closed.
            logger.exception("gate decision failed: refusing the request")
            return _unavailable()
        return self._apply(request, facts, decision)

    def _apply(
        self, request: HttpRequest, facts: RequestFacts, decision: GateDecision
    ) -> HttpResponse:
        outcome = decision.outcome
        if outcome is Outcome.UNTOUCHED or outcome is Outcome.BYPASS:
            return self.get_response(request)
        if outcome is Outcome.MISDIRECTED:
            log_decision(facts, decision)
            return _plain_refusal(
                421, "Misdirected request: this path is protected on another host."
            )
        application = decision.application
        assert application is not None
        log_decision(facts, decision)
        if outcome is Outcome.PREFLIGHT_TO_VIEW:
            return self.get_response(request)
        if outcome is Outcome.PREFLIGHT_ANSWERED or outcome is Outcome.PREFLIGHT_REFUSED:
            return preflight_response(decision)
        if outcome is Outcome.BAD_PATH:
            return _plain_refusal(400, "Bad request: the path is not in canonical form.")
        if outcome is Outcome.UNAUTHENTICATED:
            return _readable(_unauthenticated(request, facts, application), application, facts)
        if outcome is Outcome.DENY:
            return _readable(_denied(request, decision, application), application, facts)
        return self._allow(request, facts, decision, application)

    def _allow(
        self,
        request: HttpRequest,
        facts: RequestFacts,
        decision: GateDecision,
        application: CompiledApplication,
    ) -> HttpResponse:
        token = decision.token
        service_token = decision.service_token
        if decision.issues_token and service_token is not None:
            try:
                token = issue_service_access_token(
                    token=service_token,
                    application=application,
                    issuer=_issuer(facts),
                )
                record_service_token_use(service_token, application, facts.ip)
            except Exception:
                # No key to sign with, or the use cannot be recorded: fail closed, as above.
                logger.exception("service token answer failed: refusing the request")
                return _unavailable()
        # The service token's secret is the gate's business, not the view's.
        request.META.pop(_CLIENT_SECRET_META, None)
        claims = decision.claims
        email = claims.email if claims else ""
        if token:
            request.META[_ASSERTION_META] = token
        if email:
            request.META[_EMAIL_META] = email
        request.access = RequestAccess(  # type: ignore[attr-defined]
            application=application.name,
            aud=application.aud,
            email=email,
            common_name=service_token.client_id if service_token else "",
            policy=_policy_name(decision),
            reason=decision.reason,
            identity_nonce=claims.identity_nonce if claims else "",
            claims=dict(claims.raw) if claims else {},
        )
        response = self.get_response(request)
        # What a person may see behind the gate is theirs alone: no shared cache may keep it.
        if "Cache-Control" in response:
            patch_cache_control(response, private=True)
        else:
            response["Cache-Control"] = "private"  # what patch_cache_control writes here
        if decision.issues_token and token:
            cookies.set_app_token_cookie(
                response,
                token=token,
                application=application,
                secure=request.is_secure(),
                max_age=int(application.session_duration.total_seconds()),
            )
        if application.cors_on_responses and application.cors is not None:
            _add_response_cors_headers(response, application, facts)
        return response


def _request_facts(request: HttpRequest, host: str) -> RequestFacts:
    return request_facts(
        request.META,
        host=host,
        path=request.path_info,
        method=request.method or "GET",
    )


def request_facts(meta: Mapping[str, Any], *, host: str, path: str, method: str) -> RequestFacts:
    """The gate's facts from `request.META` or a WSGI environ (the same keys), host and path
    already worked out as Django's request would."""
    cookie_header = meta.get("HTTP_COOKIE", "")
    return RequestFacts(
        host=host,
        path=path,
        method=method,
        origin=meta.get("HTTP_ORIGIN"),
        access_control_request_method=meta.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
        access_control_request_headers=meta.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
        cookie_tokens=tuple(cookies.cookie_values(cookie_header, cookies.CF_AUTHORIZATION)),
        header_token=meta.get(_TOKEN_META),
        binding_cookies=tuple(cookies.cookie_values(cookie_header, cookies.CF_BINDING)),
        client_id=meta.get(_CLIENT_ID_META),
        client_secret=meta.get(_CLIENT_SECRET_META),
        ip=client_ip_from_meta(meta),
        country=client_country_from_meta(meta),
    )


def _issuer(facts: RequestFacts) -> str:
    return issuer_for(login_host_for(facts.host))


def _verify_app_token(token: str, audience: str, *, issuer: str) -> AccessClaims:
    return verify_access_token(token, audience=audience, token_type="app", issuer=issuer)


def _authenticate(
    client_id: str, client_secret: str, *, snapshot: Snapshot
) -> CompiledServiceToken | None:
    return authenticate_service_token(client_id, client_secret, snapshot, timezone.now())


_PREFLIGHT_REFUSED_BODY = b"Preflight refused.\n"
_PREFLIGHT_REFUSED = (
    "403 Forbidden",
    [
        ("Content-Type", "text/plain"),
        ("Content-Length", str(len(_PREFLIGHT_REFUSED_BODY))),
        ("Cache-Control", "no-store"),
    ],
    _PREFLIGHT_REFUSED_BODY,
)
_PREFLIGHT_VARY_VALUE = ", ".join(PREFLIGHT_VARY)


def preflight_answer(decision: GateDecision) -> tuple[str, list[tuple[str, str]], bytes]:
    """The gate's answer to a preflight as WSGI sends it (status line, headers, body): 200 with
    the CORS headers and an empty body, or 403 with no `Access-Control-*` header at all."""
    if decision.outcome is not Outcome.PREFLIGHT_ANSWERED or decision.preflight is None:
        status, headers, body = _PREFLIGHT_REFUSED
        return status, list(headers), body
    headers = [*decision.preflight.headers, ("Content-Length", "0")]
    # The answer depends on all three request headers, whatever it is.
    headers.append(("Vary", _PREFLIGHT_VARY_VALUE))
    return "200 OK", headers, b""


def preflight_response(decision: GateDecision) -> HttpResponse:
    """`preflight_answer` as Django's response, for the gate middleware."""
    status, headers, body = preflight_answer(decision)
    response = HttpResponse(body, status=int(status.split(" ", 1)[0]))
    del response["Content-Type"]  # only the headers of the answer
    for name, value in headers:
        response[name] = value
    return response


def _plain_refusal(status: int, text: str) -> HttpResponse:
    return _refuse(HttpResponse(text + "\n", status=status, content_type="text/plain"))


def _refuse(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


def _unavailable() -> HttpResponse:
    response = _plain_refusal(503, "Service unavailable: access configuration cannot be loaded.")
    response["Retry-After"] = "5"
    return response


def _redirect_target(request: HttpRequest) -> str:
    return request.get_full_path_info()


def _is_page_load(request: HttpRequest) -> bool:
    mode = request.META.get("HTTP_SEC_FETCH_MODE")
    if mode is not None and mode != "navigate":
        return False
    return "text/html" in request.META.get("HTTP_ACCEPT", "")


def _unauthenticated(
    request: HttpRequest, facts: RequestFacts, application: CompiledApplication
) -> HttpResponse:
    scheme = request.scheme or "https"
    redirect_url = _redirect_target(request)
    # The login page takes the application host only in its canonical spelling: send that.
    authority = parse_authority(facts.host, scheme=scheme)
    if authority is None:
        return _plain_refusal(400, "Bad request: the host is not a host name.")
    app_host = str(authority)
    wants_401 = (
        request.META.get("HTTP_X_REQUESTED_WITH") == "XMLHttpRequest"
        or (application.service_auth_401_redirect and application.only_service_auth)
        or (application.unauthenticated_401 and not _is_page_load(request))
    )
    if wants_401:
        login_url = login_urls.build_login_url(
            application=application,
            app_host=app_host,
            scheme=scheme,
            redirect_url=redirect_url,
            state_hash=None,
        )
        response: HttpResponse = JsonResponse(
            {"error": "unauthenticated", "login_url": login_url}, status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="accessproject"'
        return _refuse(response)
    cookie_value, state_hash = login_urls.new_app_session_state()
    login_url = login_urls.build_login_url(
        application=application,
        app_host=app_host,
        scheme=scheme,
        redirect_url=redirect_url,
        state_hash=state_hash,
    )
    response = HttpResponseRedirect(login_url)
    cookies.set_app_session_cookie(response, value=cookie_value, secure=request.is_secure())
    return _refuse(response)


def _denied(
    request: HttpRequest, decision: GateDecision, application: CompiledApplication
) -> HttpResponse:
    claims = decision.claims
    response = deny_response(
        request,
        application=application,
        email=claims.email if claims else "",
        non_identity=decision.service_token is not None,
    )
    return _refuse(response)


def _readable(
    response: HttpResponse, application: CompiledApplication, facts: RequestFacts
) -> HttpResponse:
    """The gate's own 401/403: readable by a script from an allowed origin, not an opaque error."""
    if response.status_code in (401, 403) and application.cors is not None:
        _add_response_cors_headers(response, application, facts)
    return response


def _add_response_cors_headers(
    response: HttpResponse, application: CompiledApplication, facts: RequestFacts
) -> None:
    cors = application.cors
    assert cors is not None
    # Whether or not the origin is allowed, the answer depends on it: caches must know.
    patch_vary_headers(response, ("Origin",))
    if not origin_is_allowed(cors, facts.origin):
        return
    for name, value in response_cors_headers(cors, facts.origin):
        # The view's own CORS headers win: never a second copy.
        if name not in response:
            response[name] = value


def _policy_name(decision: GateDecision) -> str:
    verdict = decision.verdict
    return verdict.policy.name if verdict and verdict.policy else ""


def log_decision(facts: RequestFacts, decision: GateDecision) -> None:
    """One structured record of a decision on the `accessproject.access` logger."""
    if not logger.isEnabledFor(logging.INFO):
        return  # ACCESS_LOG_LEVEL=WARNING: not even the record is built
    application = decision.application
    claims = decision.claims
    service_token = decision.service_token
    who = claims.email if claims and claims.email else (service_token.name if service_token else "")
    record = {
        "application": application.name if application else "",
        "aud": application.aud if application else "",
        "decision": decision.outcome.value,
        "reason": decision.reason,
        "policy": _policy_name(decision),
        "who": who,
        "client_ip": str(facts.ip) if facts.ip else "",
        "method": facts.method,
        "host": facts.host,
        "path": facts.path,
    }
    # %r: a host or path may hold control characters (a newline would forge a log line).
    arguments = (
        record["decision"],
        facts.method,
        facts.host,
        facts.path,
        record["application"],
        record["reason"],
    )
    # What `logger.info` does, less looking up the caller's frame (the same place every time).
    logger.handle(
        logger.makeRecord(
            logger.name,
            logging.INFO,
            __file__,
            0,
            "%s %s %r %r: %s (%s)",
            arguments,
            None,
            func="log_decision",
            extra={"access": record},
        )
    )


__all__ = [
    "ASSERTION_HEADER",
    "EMAIL_HEADER",
    "TOKEN_HEADER",
    "AccessGateMiddleware",
    "RequestAccess",
]
