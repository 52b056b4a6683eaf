"""The gate's decision: plain request facts in, one `GateDecision` out.

This is docs/architecture.md (The gate, request by request) as a function. It knows nothing of
`HttpRequest` or responses: the middleware turns a request into `RequestFacts`, asks
`decide_request` and turns the answer into a response.
The order is fixed: a bypass policy, then a preflight, then credentials, then the policies.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address

from identity.claims import AccessClaims, TokenError
from policies.cors import PreflightAnswer, answer_preflight
from policies.decision import Verdict, find_bypass
from policies.rules import Subject
from policies.snapshot import CompiledApplication, CompiledServiceToken, Snapshot

TokenVerifier = Callable[[str, str], AccessClaims]
"""verify(token, audience) -> claims, raising TokenError: the issuer and type are bound already."""

ServiceTokenAuthenticator = Callable[[str, str], CompiledServiceToken | None]
"""authenticate(client_id, client_secret) -> the service token, or None."""

OwnEndpointCheck = Callable[[str, str], bool]
"""is_own_endpoint(host, path): one of the project's own endpoints that authenticate for
themselves (the admin, the REST API), on the login host."""

# The gate's own endpoints (login, authorized hop, logout, identity, certs) answer for themselves
# on every host, whatever application covers it; health checks must answer when the
# configuration cannot. Both adapters (the middleware and the WSGI fast path) leave them alone.
ACCESS_ENDPOINTS_PREFIX = "/cdn-cgi/access/"
ALWAYS_OPEN_PATHS = frozenset({"/healthz", "/readyz"})


def is_gated_path(path: str) -> bool:
    """Whether the gate decides requests for `path` at all (see `ACCESS_ENDPOINTS_PREFIX`)."""
    return not (path in ALWAYS_OPEN_PATHS or path.startswith(ACCESS_ENDPOINTS_PREFIX))


def _no_own_endpoints(host: str, path: str) -> bool:
    return False


class Outcome(StrEnum):
    UNTOUCHED = "untouched"  # no application covers the path, on this host or any other
    MISDIRECTED = "misdirected"  # a path protected on another host, asked for through this one
    BAD_PATH = "bad_path"  # the path has several readings; refuse rather than guess
    BYPASS = "bypass"
    PREFLIGHT_TO_VIEW = "preflight_to_view"  # options_preflight_bypass
    PREFLIGHT_ANSWERED = "preflight_answered"
    PREFLIGHT_REFUSED = "preflight_refused"
    ALLOW = "allow"
    UNAUTHENTICATED = "unauthenticated"
    DENY = "deny"


@dataclass(frozen=True, slots=True)
class RequestFacts:
    """What the gate needs to know about a request, and nothing else."""

    host: str
    path: str
    method: str
    scheme: str  # http or https: the original request's, and the tokens' issuer's
    origin: str | None = None
    access_control_request_method: str | None = None
    access_control_request_headers: str | None = None
    cookie_tokens: tuple[str, ...] = ()
    header_token: str | None = None
    binding_cookies: tuple[str, ...] = ()
    client_id: str | None = None
    client_secret: str | None = None
    ip: IPv4Address | IPv6Address | None = None
    country: str = ""

    @property
    def is_preflight(self) -> bool:
        # Fetch: a CORS preflight is OPTIONS with Origin and Access-Control-Request-Method; an
        # empty method value still makes it one. A plain OPTIONS is an ordinary request.
        return (
            self.method == "OPTIONS"
            and self.origin is not None
            and self.access_control_request_method is not None
        )

    @property
    def has_service_token_headers(self) -> bool:
        return self.client_id is not None or self.client_secret is not None


@dataclass(frozen=True, slots=True)
class GateDecision:
    outcome: Outcome
    reason: str
    application: CompiledApplication | None = None
    verdict: Verdict | None = None
    claims: AccessClaims | None = None
    token: str | None = None  # the token the view will see in Cf-Access-Jwt-Assertion
    service_token: CompiledServiceToken | None = None
    preflight: PreflightAnswer | None = None
    subject: Subject | None = field(default=None, repr=False)

    @property
    def issues_token(self) -> bool:
        """A service token passed by its headers: the answer carries an app token, as in Access."""
        return self.outcome is Outcome.ALLOW and self.service_token is not None and not self.claims


def binding_digest(value: str) -> str:
    """What an app token carries in its `binding` claim for a `CF_Binding` cookie value."""
    return hashlib.sha256(value.encode()).hexdigest()


NO_APPROVAL = "the deciding policy wants a temporary approval this token does not name"
NO_PURPOSE = "the deciding policy wants a purpose justification this token does not carry"
_OWN_ENDPOINT = GateDecision(Outcome.UNTOUCHED, "the gate's own endpoint")
_NOT_COVERED = GateDecision(Outcome.UNTOUCHED, "no application covers this path")
_ELSEWHERE = GateDecision(
    Outcome.MISDIRECTED, "this path is protected on another host, not on this one"
)


def place_request(
    host: str,
    path: str,
    snapshot: Snapshot,
    *,
    is_own_endpoint: OwnEndpointCheck = _no_own_endpoints,
) -> CompiledApplication | GateDecision:
    """The application that decides a request, from its host and path alone; or, when none
    does, the decision itself: the gate's own endpoints and paths nothing covers pass untouched,
    a path protected on another host is misdirected, a path with several readings is refused.

    Both adapters ask this first, before reading anything else of the request: a request that no
    application covers costs them nothing more.
    """
    if not is_gated_path(path):
        return _OWN_ENDPOINT
    return place_by_patterns(host, path, snapshot, is_own_endpoint=is_own_endpoint)


def place_by_patterns(
    host: str,
    path: str,
    snapshot: Snapshot,
    *,
    is_own_endpoint: OwnEndpointCheck = _no_own_endpoints,
) -> CompiledApplication | GateDecision:
    """`place_request` for a path the patterns alone decide, with no path set aside for the
    project's own endpoints: forward-auth asks about another service, whose `/healthz` is its
    own and may well be protected."""
    application, non_canonical = snapshot.match(host, path)
    if application is None:
        # Django serves the same views on every host it accepts: a path an application protects
        # anywhere is served through this host only when one of this host's applications covers
        # it (and decides), else it would be the way around that protection.
        if snapshot.protects_path(path) and not is_own_endpoint(host, path):
            return _ELSEWHERE
        return _NOT_COVERED
    if non_canonical:
        return GateDecision(
            Outcome.BAD_PATH, "the path is not in canonical form", application=application
        )
    return application


def decide_request(
    facts: RequestFacts,
    snapshot: Snapshot,
    *,
    verify_token: TokenVerifier,
    authenticate_service_token: ServiceTokenAuthenticator,
    is_own_endpoint: OwnEndpointCheck = _no_own_endpoints,
) -> GateDecision:
    """Decide one request, in the order docs/architecture.md gives."""
    placed = place_request(facts.host, facts.path, snapshot, is_own_endpoint=is_own_endpoint)
    if isinstance(placed, GateDecision):
        return placed
    return decide_for_application(
        facts,
        snapshot,
        placed,
        verify_token=verify_token,
        authenticate_service_token=authenticate_service_token,
    )


def decide_for_application(
    facts: RequestFacts,
    snapshot: Snapshot,
    application: CompiledApplication,
    *,
    verify_token: TokenVerifier,
    authenticate_service_token: ServiceTokenAuthenticator,
) -> GateDecision:
    """The rest of the decision once `place_request` found the application: a bypass policy,
    then a preflight, then credentials, then the policies."""
    network = Subject(ip=facts.ip, country=facts.country or None)
    bypass = find_bypass(application.policies, network, snapshot.groups)
    if bypass is not None:
        return GateDecision(Outcome.BYPASS, f"bypass policy {bypass.name!r}", application)

    if facts.is_preflight:
        return _decide_preflight(facts, application)

    if facts.has_service_token_headers:
        # Headers sent means the client chose service auth: a bad pair is refused outright, never
        # silently replaced by whatever cookie happens to ride along.
        service_token = authenticate_service_token(facts.client_id or "", facts.client_secret or "")
        return _decide_with_service_token(facts, snapshot, application, service_token)

    return _decide_with_token(facts, snapshot, application, verify_token)


def _decide_preflight(facts: RequestFacts, application: CompiledApplication) -> GateDecision:
    if application.options_preflight_bypass:
        return GateDecision(
            Outcome.PREFLIGHT_TO_VIEW, "options_preflight_bypass: the view answers", application
        )
    if application.cors is None:
        # A preflight never carries the cookie: without CORS settings there is nothing to check.
        return GateDecision(
            Outcome.PREFLIGHT_REFUSED, "preflight without CORS settings", application
        )
    answer = answer_preflight(
        application.cors,
        origin=facts.origin,
        request_method=facts.access_control_request_method,
        request_headers=facts.access_control_request_headers,
    )
    outcome = Outcome.PREFLIGHT_ANSWERED if answer.allowed else Outcome.PREFLIGHT_REFUSED
    return GateDecision(outcome, answer.reason, application, preflight=answer)


def _decide_with_service_token(
    facts: RequestFacts,
    snapshot: Snapshot,
    application: CompiledApplication,
    service_token: CompiledServiceToken | None,
) -> GateDecision:
    if service_token is None:
        return GateDecision(
            Outcome.UNAUTHENTICATED, "invalid or expired service token", application
        )
    subject = _service_subject(service_token, facts)
    return _apply_policies(snapshot, application, subject, service_token=service_token)


def _decide_with_token(
    facts: RequestFacts,
    snapshot: Snapshot,
    application: CompiledApplication,
    verify_token: TokenVerifier,
) -> GateDecision:
    claims, token, reason = _first_valid_token(facts, application, verify_token)
    if claims is None or token is None:
        return GateDecision(Outcome.UNAUTHENTICATED, reason, application)

    if claims.common_name:
        service_token = _service_token_by_client_id(snapshot, claims.common_name)
        if service_token is None:
            return GateDecision(
                Outcome.UNAUTHENTICATED, "the token's service token no longer exists", application
            )
        if claims.secret_version != service_token.secret_version:
            # Rotating a secret is how a leaked one is cut off: what it earned goes with it.
            return GateDecision(
                Outcome.UNAUTHENTICATED,
                "the token was minted before the service token's secret was rotated",
                application,
            )
        if application.only_service_auth:
            # Access: with only Service Auth policies the service token must be sent every time.
            return GateDecision(
                Outcome.UNAUTHENTICATED,
                "this application accepts service tokens only in their headers",
                application,
            )
        subject = _service_subject(service_token, facts)
        return _apply_policies(
            snapshot, application, subject, claims=claims, token=token, service_token=service_token
        )

    subject = claims.as_subject(ip=facts.ip, country=facts.country)
    return _apply_policies(snapshot, application, subject, claims=claims, token=token)


def _first_valid_token(
    facts: RequestFacts, application: CompiledApplication, verify_token: TokenVerifier
) -> tuple[AccessClaims | None, str | None, str]:
    """The first credential that verifies for this application, trying every value in turn.

    Browsers send every `CF_Authorization` cookie of a host (an org and an app token, or cookies
    scoped to different paths); a forged copy must not shadow a valid one, so each is tried.
    """
    candidates = [*facts.cookie_tokens]
    if facts.header_token:
        candidates.append(facts.header_token)
    if not candidates:
        return None, None, "no credentials"
    reason = "no credentials"
    for token in candidates:
        try:
            claims = verify_token(token, application.aud)
        except TokenError as error:
            reason = f"token refused: {error.reason}"
            continue
        if application.enable_binding_cookie and not _binding_matches(claims, facts):
            reason = "token refused: binding cookie missing or mismatched"
            continue
        return claims, token, "valid token"
    return None, None, reason


def _binding_matches(claims: AccessClaims, facts: RequestFacts) -> bool:
    expected = claims.binding
    if not expected:
        return False
    return any(binding_digest(value) == expected for value in facts.binding_cookies)


def _service_token_by_client_id(snapshot: Snapshot, client_id: str) -> CompiledServiceToken | None:
    return snapshot.service_tokens.get(client_id)


def _service_subject(service_token: CompiledServiceToken, facts: RequestFacts) -> Subject:
    return Subject(
        ip=facts.ip,
        country=facts.country or None,
        service_token=service_token.name,
        is_service_token=True,
    )


def _apply_policies(
    snapshot: Snapshot,
    application: CompiledApplication,
    subject: Subject,
    *,
    claims: AccessClaims | None = None,
    token: str | None = None,
    service_token: CompiledServiceToken | None = None,
) -> GateDecision:
    verdict = snapshot.decide(application, subject, with_trace=False)
    if verdict.wants_approval and (claims is None or not claims.approval_for(application.aud)):
        # The deciding policy asks for a temporary approval, and this token was minted without
        # one (before the policy asked, or for another application of the host): sign in again,
        # where the person asks for one or their live one goes into the new token.
        return GateDecision(Outcome.UNAUTHENTICATED, NO_APPROVAL, application)
    if verdict.wants_purpose and (claims is None or claims.purpose_for(application.aud) is None):
        # The policy asks why before letting in, and this token was minted without the answer
        # (before the policy asked, say): sign in again, where the person answers.
        return GateDecision(Outcome.UNAUTHENTICATED, NO_PURPOSE, application)
    outcome = Outcome.ALLOW if verdict.allowed else Outcome.DENY
    return GateDecision(
        outcome,
        verdict.reason,
        application,
        verdict=verdict,
        claims=claims,
        token=token,
        service_token=service_token,
        subject=subject,
    )
