"""The gate's answers: a `GateDecision` turned into the HTTP response a client gets.

Every adapter of the gate answers through here, so a decision is answered the same whichever one
made it: the gate middleware (a Django view behind it), the WSGI preflight fast path, and the
forward-auth endpoints that nginx, Caddy and Traefik ask about services that are not Django
(`identity.views.forward_auth`). An adapter says what it knows of the original request in an
`AnswerContext` (scheme, the path to come back to, whether it came over HTTPS, its headers), and
gets back either a refusal (`refusal_for`) or, for a request let through, the `Admission` it then
passes on: the token and email the service sees, and the app cookie a service token earns.

Every refusal carries `Cache-Control: no-store`: a shared cache that kept a 302 to the login page,
a 403 or a 503 would serve it to the next person, and a browser would replay it after signing in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.utils.cache import patch_vary_headers

from identity import cookies, login_urls
from identity.denial import deny_response
from identity.gate import GateDecision, Outcome, RequestFacts
from identity.hosts import parse_authority, request_scheme
from identity.login_urls import login_host_for
from identity.service_tokens import issue_service_access_token, record_service_token_use
from identity.tokens import issuer_for
from policies.cors import PREFLIGHT_VARY, origin_is_allowed, response_cors_headers
from policies.snapshot import CompiledApplication

UNAVAILABLE_TEXT = "Service unavailable: access configuration cannot be loaded."
MISDIRECTED_TEXT = "Misdirected request: this path is protected on another host."
BAD_PATH_TEXT = "Bad request: the path is not in canonical form."
RETRY_AFTER_SECONDS = "5"


@dataclass(frozen=True)
class AnswerContext:
    """What an answer needs of the original request, whoever received it."""

    request: HttpRequest  # the request being answered (pages render with it)
    scheme: str
    full_path: str  # where a sign-in comes back to
    headers: Mapping[str, Any]  # the original request's headers, by WSGI key

    @classmethod
    def of(cls, request: HttpRequest) -> AnswerContext:
        """The context of a request Django received itself."""
        return cls(
            request=request,
            scheme=request_scheme(request),
            full_path=request.get_full_path_info(),
            headers=request.META,
        )


@dataclass(frozen=True)
class Admission:
    """What the service behind the gate receives with a request the gate let through."""

    token: str  # Cf-Access-Jwt-Assertion ("" for none)
    email: str  # Cf-Access-Authenticated-User-Email ("" for a service token)
    issued: bool  # the token was minted for this answer: it goes back in the app cookie


def refusal(status: int, text: str) -> HttpResponse:
    """A plain-text refusal, never stored by a cache."""
    return _refuse(HttpResponse(text + "\n", status=status, content_type="text/plain"))


def unavailable() -> HttpResponse:
    """The fail-closed answer when keys or state cannot be loaded: 503, try again soon."""
    response = refusal(503, UNAVAILABLE_TEXT)
    response["Retry-After"] = RETRY_AFTER_SECONDS
    return response


def _refuse(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


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
    """`preflight_answer` as Django's response."""
    status, headers, body = preflight_answer(decision)
    response = HttpResponse(body, status=int(status.split(" ", 1)[0]))
    del response["Content-Type"]  # only the headers of the answer
    for name, value in headers:
        response[name] = value
    return response


def refusal_for(
    decision: GateDecision, facts: RequestFacts, context: AnswerContext
) -> HttpResponse | None:
    """The answer to a request the gate does not let through, or None when it does (untouched,
    bypass, a preflight for the view, allowed)."""
    outcome = decision.outcome
    if outcome is Outcome.MISDIRECTED:
        return refusal(421, MISDIRECTED_TEXT)
    application = decision.application
    if application is None:
        return None
    if outcome is Outcome.PREFLIGHT_ANSWERED or outcome is Outcome.PREFLIGHT_REFUSED:
        return preflight_response(decision)
    if outcome is Outcome.BAD_PATH:
        return refusal(400, BAD_PATH_TEXT)
    if outcome is Outcome.UNAUTHENTICATED:
        return _readable(_unauthenticated(context, facts, application), application, facts)
    if outcome is Outcome.DENY:
        return _readable(_denied(context, decision, application), application, facts)
    return None


def token_issuer(facts: RequestFacts) -> str:
    """The `iss` of the tokens for this request's host and scheme: its login host's.

    Without a team domain that is the request's host, named in its canonical spelling
    (`identity.hosts`: `api.example.com.` and `api.example.com:443` over HTTPS are
    `api.example.com`), never in the one the request wrote; a host with no canonical reading
    (port 0) keeps its own, which no token minted elsewhere names."""
    authority = parse_authority(facts.host, scheme=facts.scheme)
    host = facts.host if authority is None else str(authority)
    return issuer_for(login_host_for(host), scheme=facts.scheme)


def admit(decision: GateDecision, facts: RequestFacts) -> Admission:
    """What the service receives with an allowed request. A service token that passed by its
    headers earns an app token, as in Access: it is signed and its use recorded here, and either
    failing raises (the adapter answers `unavailable()`)."""
    application = decision.application
    assert application is not None
    token = decision.token or ""
    issued = False
    service_token = decision.service_token
    if decision.issues_token and service_token is not None:
        token = issue_service_access_token(
            token=service_token, application=application, issuer=token_issuer(facts)
        )
        record_service_token_use(service_token, application, facts.ip)
        issued = True
    claims = decision.claims
    return Admission(token=token, email=claims.email if claims else "", issued=issued)


def set_issued_cookie(
    response: HttpResponse, admission: Admission, application: CompiledApplication, *, scheme: str
) -> None:
    """The app cookie of a token minted for this answer (a service token's), on the response."""
    if admission.issued and admission.token:
        cookies.set_app_token_cookie(
            response,
            token=admission.token,
            application=application,
            scheme=scheme,
            max_age=int(application.session_duration.total_seconds()),
        )


def add_response_cors_headers(
    response: HttpResponse, application: CompiledApplication, facts: RequestFacts
) -> None:
    """The application's CORS headers for an allowed origin; the response's own headers win."""
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


def _is_page_load(headers: Mapping[str, Any]) -> bool:
    mode = headers.get("HTTP_SEC_FETCH_MODE")
    if mode is not None and mode != "navigate":
        return False
    return "text/html" in headers.get("HTTP_ACCEPT", "")


def _unauthenticated(
    context: AnswerContext, facts: RequestFacts, application: CompiledApplication
) -> HttpResponse:
    scheme = context.scheme
    # The login page takes the application host only in its canonical spelling: send that.
    authority = parse_authority(facts.host, scheme=scheme)
    if authority is None:
        return refusal(400, "Bad request: the host is not a host name.")
    app_host = str(authority)
    headers = context.headers
    wants_401 = (
        headers.get("HTTP_X_REQUESTED_WITH") == "XMLHttpRequest"
        or (application.service_auth_401_redirect and application.only_service_auth)
        or (application.unauthenticated_401 and not _is_page_load(headers))
    )
    login_url = partial(
        login_urls.build_login_url,
        application=application,
        app_host=app_host,
        scheme=scheme,
        redirect_url=context.full_path,
    )
    if wants_401:
        response: HttpResponse = JsonResponse(
            {"error": "unauthenticated", "login_url": login_url(state_hash=None)}, status=401
        )
        response["WWW-Authenticate"] = 'Bearer realm="accessproject"'
        return _refuse(response)
    cookie_value, state_hash = login_urls.new_app_session_state()
    response = HttpResponseRedirect(login_url(state_hash=state_hash))
    cookies.set_app_session_cookie(response, value=cookie_value, scheme=context.scheme)
    return _refuse(response)


def _denied(
    context: AnswerContext, decision: GateDecision, application: CompiledApplication
) -> HttpResponse:
    claims = decision.claims
    response = deny_response(
        context.request,
        application=application,
        email=claims.email if claims else "",
        non_identity=decision.service_token is not None,
        return_url=context.full_path,
    )
    return _refuse(response)


def _readable(
    response: HttpResponse, application: CompiledApplication, facts: RequestFacts
) -> HttpResponse:
    """The gate's own 401/403: readable by a script from an allowed origin, not an opaque error."""
    if response.status_code in (401, 403) and application.cors is not None:
        add_response_cors_headers(response, application, facts)
    return response
