"""The gate: authentication and per-application CORS on every protected path.

`__call__` places the request by host and path, turns it into `RequestFacts`, asks
`identity.gate` for the `GateDecision` and applies it: refusals are answered by `identity.answers`
(the same answers every adapter gives), an allowed request reaches the view with `request.access`
and the identity headers. Every decision but a bypass is logged to the `accessproject.access`
logger as one structured record (`log_decision`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.cache import patch_cache_control

from common.versioning import VersionUnavailable
from identity import answers, cookies
from identity.activity import record_decision
from identity.claims import AccessClaims
from identity.clients import client_country_from_meta, client_ip_from_meta
from identity.decisions import memo
from identity.endpoints import is_own_endpoint
from identity.gate import (
    GateDecision,
    Outcome,
    RequestFacts,
    decide_for_application,
    is_gated_path,
    place_request,
)
from identity.hosts import request_scheme
from identity.service_tokens import authenticate_service_token
from identity.tokens import verify_access_token
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
# The cookies the gate reads, in the order `request_facts` takes them.
_GATE_COOKIES = (cookies.CF_AUTHORIZATION, cookies.CF_BINDING)

# A database that cannot be reached (the server went away, the connection was closed, so the
# configuration version cannot be read either): worth trying again in a few seconds. Every other
# database error is a bug and stays a 500.
DATABASE_OUTAGES = (OperationalError, InterfaceError, VersionUnavailable)


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
            return answers.unavailable()
        host = request.get_host()
        try:
            # Host and path first: a request no application covers reads nothing else.
            placed = place_request(host, path, snapshot, is_own_endpoint=is_own_endpoint)
        except Exception:
            logger.exception("gate decision failed: refusing the request")
            return answers.unavailable()
        if isinstance(placed, GateDecision):
            if placed.outcome is Outcome.UNTOUCHED:
                return self.get_response(request)
            return self._apply(request, _request_facts(request, host), placed)
        facts = _request_facts(request, host)
        try:
            decision = decide_with_verifiers(facts, snapshot, placed)
        except Exception:
            # Keys or state that cannot be loaded: fail closed.
            logger.exception("gate decision failed: refusing the request")
            return answers.unavailable()
        return self._apply(request, facts, decision)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """A view that lost the database (a sign-in, a logout, the API, the admin) answers the
        gate's own 503, as the gate does when its state cannot be read: never a 500, and nothing
        was let through."""
        if not isinstance(exception, DATABASE_OUTAGES):
            return None
        logger.error(
            "database unavailable: answering 503 to %s %r",
            request.method,
            request.path,
            exc_info=exception,
        )
        return answers.unavailable()

    def _apply(
        self, request: HttpRequest, facts: RequestFacts, decision: GateDecision
    ) -> HttpResponse:
        outcome = decision.outcome
        if outcome is Outcome.UNTOUCHED or outcome is Outcome.BYPASS:
            return self.get_response(request)
        log_decision(facts, decision)
        if outcome is Outcome.PREFLIGHT_TO_VIEW:
            return self.get_response(request)
        if outcome is Outcome.ALLOW:
            return self._allow(request, facts, decision)
        response = answers.refusal_for(decision, facts, answers.AnswerContext.of(request))
        assert response is not None  # every other outcome is a refusal
        return response

    def _allow(
        self, request: HttpRequest, facts: RequestFacts, decision: GateDecision
    ) -> HttpResponse:
        application = decision.application
        assert application is not None
        try:
            admission = answers.admit(decision, facts)
        except Exception:
            # No key to sign with, or the use cannot be recorded: fail closed, as above.
            logger.exception("service token answer failed: refusing the request")
            return answers.unavailable()
        # The service token's secret is the gate's business, not the view's.
        request.META.pop(_CLIENT_SECRET_META, None)
        if admission.token:
            request.META[_ASSERTION_META] = admission.token
        if admission.email:
            request.META[_EMAIL_META] = admission.email
        claims = decision.claims
        service_token = decision.service_token
        request.access = RequestAccess(  # type: ignore[attr-defined]
            application=application.name,
            aud=application.aud,
            email=admission.email,
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
        answers.set_issued_cookie(response, admission, application, scheme=request_scheme(request))
        if application.cors_on_responses and application.cors is not None:
            answers.add_response_cors_headers(response, application, facts)
        return response


def _request_facts(request: HttpRequest, host: str) -> RequestFacts:
    return request_facts(
        request.META,
        scheme=request_scheme(request),
        host=host,
        path=request.path_info,
        method=request.method or "GET",
    )


def request_facts(
    meta: Mapping[str, Any], *, scheme: str, host: str, path: str, method: str
) -> RequestFacts:
    """The gate's facts from `request.META` or a WSGI environ (the same keys), host and path
    already worked out as Django's request would."""
    tokens, bindings = cookies.cookies_values(meta.get("HTTP_COOKIE", ""), _GATE_COOKIES)
    return RequestFacts(
        host=host,
        path=path,
        method=method,
        scheme=scheme,
        origin=meta.get("HTTP_ORIGIN"),
        access_control_request_method=meta.get("HTTP_ACCESS_CONTROL_REQUEST_METHOD"),
        access_control_request_headers=meta.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS"),
        cookie_tokens=tuple(tokens),
        header_token=meta.get(_TOKEN_META),
        binding_cookies=tuple(bindings),
        client_id=meta.get(_CLIENT_ID_META),
        client_secret=meta.get(_CLIENT_SECRET_META),
        ip=client_ip_from_meta(meta),
        country=client_country_from_meta(meta),
    )


def decide_with_verifiers(
    facts: RequestFacts, snapshot: Snapshot, application: CompiledApplication
) -> GateDecision:
    """`decide_for_application` with the gate's own verifiers: app tokens for the request's
    login host, service tokens of the snapshot; remembered for a token seen before
    (`identity.decisions`)."""
    return memo.decide(facts, snapshot, application, _decide_afresh)


def _decide_afresh(
    facts: RequestFacts, snapshot: Snapshot, application: CompiledApplication
) -> GateDecision:
    return decide_for_application(
        facts,
        snapshot,
        application,
        verify_token=partial(_verify_app_token, issuer=_issuer(facts)),
        authenticate_service_token=partial(_authenticate, snapshot=snapshot),
    )


def _issuer(facts: RequestFacts) -> str:
    return answers.token_issuer(facts)


def _verify_app_token(token: str, audience: str, *, issuer: str) -> AccessClaims:
    return verify_access_token(token, audience=audience, token_type="app", issuer=issuer)


def _authenticate(
    client_id: str, client_secret: str, *, snapshot: Snapshot
) -> CompiledServiceToken | None:
    return authenticate_service_token(client_id, client_secret, snapshot, timezone.now())


def _policy_name(decision: GateDecision) -> str:
    verdict = decision.verdict
    return verdict.policy.name if verdict and verdict.policy else ""


def log_decision(facts: RequestFacts, decision: GateDecision) -> None:
    """One structured record of a decision on the `accessproject.access` logger, and one count
    in the activity counters (`identity.activity`, in memory)."""
    application = decision.application
    client_ip = str(facts.ip) if facts.ip else ""
    record_decision(
        decision=decision.outcome.value,
        application=application.name if application else "",
        path=facts.path,
        origin=facts.origin,
        ip=client_ip,
    )
    if not logger.isEnabledFor(logging.INFO):
        return  # ACCESS_LOG_LEVEL=WARNING: not even the record is built
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
        "client_ip": client_ip,
        "method": facts.method,
        "host": facts.host,
        "path": facts.path,
    }
    purpose = claims.purpose_for(application.aud) if claims and application else None
    if purpose is not None:
        record["purpose_justification"] = purpose  # why the person said they came
    approval = claims.approval_for(application.aud) if claims and application else ""
    if approval:
        record["approval"] = approval  # the temporary approval it came in under
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
