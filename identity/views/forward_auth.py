"""Forward-auth: the gate for services that are not Django, asked by the proxy in front of them.

Two endpoints, one decision (`identity.gate`, as the middleware makes it) and one set of answers
(`identity.answers`, as the middleware gives them). The original request is read from the
proxy's `X-Forwarded-*` headers, believed only from `ACCESS_TRUSTED_PROXIES`
(`identity.forwarded`).

- `/cdn-cgi/access/forward-auth` (Caddy's `forward_auth`, Traefik's `forwardAuth`): a request the
  gate lets through is `200` with `X-Access-Pass` and the `Cf-Access-Jwt-Assertion` and
  `Cf-Access-Authenticated-User-Email` headers the proxy passes on (empty when there is nothing
  to pass; and the app cookie a service token earns); anything else is the answer the client gets,
  exactly as the gate would give it: `302` to the login page, `401`, the deny page, a preflight
  answered from `cors_headers` (`200` without `X-Access-Pass`, so a proxy must pass the service
  only on that header), `400`, `421`, `503`.
- `/cdn-cgi/access/auth-request` (nginx's `auth_request`, which can only let a request through on
  `2xx` or refuse it on `401`/`403`): the same `200` for a request let through, else an empty
  `401`, on which the documented nginx configuration asks `forward-auth` for the answer to send.
  It logs only what it lets through; the answer's request records the refusal.

Unlike the middleware, forward-auth refuses a request that no application covers (`403`): the
proxy asks because the service is meant to be protected, and a missing or mistyped application
must not leave it open. A service opens paths on purpose with a bypass policy. Paths under
`/cdn-cgi/access/` are refused too: the proxy routes them to the project, never through here.
"""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from identity import answers
from identity.forwarded import ForwardedRefusal, ForwardedRequest, read_forwarded
from identity.gate import (
    ACCESS_ENDPOINTS_PREFIX,
    GateDecision,
    Outcome,
    RequestFacts,
    place_by_patterns,
)
from identity.middleware import (
    ASSERTION_HEADER,
    EMAIL_HEADER,
    decide_with_verifiers,
    log_decision,
    request_facts,
)
from policies.snapshot import get_snapshot

logger = logging.getLogger("accessproject.access")

PASS_HEADER = "X-Access-Pass"
NOT_COVERED_TEXT = "Forbidden: no application covers this host and path."
OWN_PATH_TEXT = (
    "Forbidden: /cdn-cgi/access/ of a protected host goes to accessproject, not through"
    " forward-auth."
)
_PASSING = (Outcome.ALLOW, Outcome.BYPASS, Outcome.PREFLIGHT_TO_VIEW)


class _Asked:
    """One forward-auth request: the original request it describes, its facts, the decision."""

    def __init__(
        self, request: HttpRequest, forwarded: ForwardedRequest, facts: RequestFacts
    ) -> None:
        self.request = request
        self.forwarded = forwarded
        self.facts = facts

    def context(self) -> answers.AnswerContext:
        return answers.AnswerContext(
            request=self.request,
            scheme=self.forwarded.scheme,
            full_path=self.forwarded.full_path,
            headers=self.request.META,
        )


def _decide(request: HttpRequest) -> tuple[_Asked, GateDecision] | HttpResponse:
    """The decision about the forwarded request, or the answer when there is none to make."""
    try:
        forwarded = read_forwarded(request.META)
    except ForwardedRefusal as refused:
        logger.warning("forward-auth request refused: %s", refused.message)
        return answers.refusal(refused.status, refused.message)
    facts = request_facts(
        request.META,
        scheme=forwarded.scheme,
        host=forwarded.host,
        path=forwarded.path,
        method=forwarded.method,
    )
    asked = _Asked(request, forwarded, facts)
    if forwarded.path.startswith(ACCESS_ENDPOINTS_PREFIX):
        return asked, GateDecision(Outcome.UNTOUCHED, "the gate's own endpoint, not forward-auth's")
    try:
        snapshot = get_snapshot()
        placed = place_by_patterns(forwarded.host, forwarded.path, snapshot)
        if isinstance(placed, GateDecision):
            return asked, placed
        decision = decide_with_verifiers(facts, snapshot, placed)
    except Exception:
        # Configuration, keys or state that cannot be loaded: fail closed.
        logger.exception("forward-auth decision failed: refusing the request")
        return answers.unavailable()
    return asked, decision


def _pass(asked: _Asked, decision: GateDecision) -> HttpResponse:
    """`200` for the proxy to go on to the service, with what the service may know.

    Both identity headers are always there, empty when there is nothing to tell (a bypass, a
    service token's email): a proxy that copies them then replaces the client's copies with
    nothing, never leaves them or copies a placeholder (Caddy before 2.7 does, for a header the
    answer lacks)."""
    response = HttpResponse(status=200, content_type="text/plain")
    response["Cache-Control"] = "no-store"
    response[PASS_HEADER] = decision.outcome.value
    response[ASSERTION_HEADER] = ""
    response[EMAIL_HEADER] = ""
    if decision.outcome is not Outcome.ALLOW:
        return response
    application = decision.application
    assert application is not None
    try:
        admission = answers.admit(decision, asked.facts)
    except Exception:
        logger.exception("service token answer failed: refusing the request")
        return answers.unavailable()
    response[ASSERTION_HEADER] = admission.token
    response[EMAIL_HEADER] = admission.email
    # The scheme the browser used for the service, as the proxy forwards it.
    answers.set_issued_cookie(response, admission, application, scheme=asked.forwarded.scheme)
    return response


def _answer(asked: _Asked, decision: GateDecision) -> HttpResponse:
    """The answer the client gets for a request the gate does not let through."""
    if decision.outcome is Outcome.UNTOUCHED:
        own_path = asked.forwarded.path.startswith(ACCESS_ENDPOINTS_PREFIX)
        refused = GateDecision(
            Outcome.UNTOUCHED,
            "forward-auth refuses a request "
            + ("under /cdn-cgi/access/" if own_path else "that no application covers"),
        )
        log_decision(asked.facts, refused)
        return answers.refusal(403, OWN_PATH_TEXT if own_path else NOT_COVERED_TEXT)
    response = answers.refusal_for(decision, asked.facts, asked.context())
    assert response is not None  # every outcome but the passing ones is a refusal
    return response


@csrf_exempt
def forward_auth(request: HttpRequest) -> HttpResponse:
    """Caddy's `forward_auth`, Traefik's `forwardAuth`, and the answer of nginx's refusals."""
    decided = _decide(request)
    if isinstance(decided, HttpResponse):
        return decided
    asked, decision = decided
    if decision.outcome is not Outcome.BYPASS and decision.outcome is not Outcome.UNTOUCHED:
        log_decision(asked.facts, decision)
    if decision.outcome in _PASSING:
        return _pass(asked, decision)
    return _answer(asked, decision)


@csrf_exempt
def auth_request(request: HttpRequest) -> HttpResponse:
    """nginx's `auth_request`: `200` to go on, or `401` to ask `forward-auth` for the answer."""
    decided = _decide(request)
    if isinstance(decided, HttpResponse):
        return _ask_for_the_answer()
    asked, decision = decided
    if decision.outcome not in _PASSING:
        return _ask_for_the_answer()
    if decision.outcome is not Outcome.BYPASS:
        log_decision(asked.facts, decision)
    return _pass(asked, decision)


def _ask_for_the_answer() -> HttpResponse:
    response = HttpResponse(status=401, content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response
