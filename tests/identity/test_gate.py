"""The gate's pure decision (identity.gate.decide_request): one test per step of
docs/architecture.md (The gate, request by request).

No database and no HTTP: a snapshot is compiled by hand, tokens and service tokens are checked by
fakes, so each test shows the decision alone.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from ipaddress import ip_address
from typing import Any

import pytest

from identity.claims import AccessClaims, TokenError
from identity.gate import (
    NO_APPROVAL,
    NO_PURPOSE,
    GateDecision,
    Outcome,
    RequestFacts,
    binding_digest,
    decide_request,
)
from policies.cors import CorsPolicy
from policies.decision import Action, CompiledPolicy
from policies.matching import ApplicationIndex, compile_pattern
from policies.rules import compile_rule
from policies.snapshot import (
    CompiledApplication,
    CompiledServiceToken,
    Snapshot,
    path_index_for,
)

HOST = "api.example.com"
AUD = "a" * 64
CALLER = "https://app.example.net"
NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _policy(name: str, action: Action, precedence: int, *include: dict[str, Any], **rest: Any):
    return CompiledPolicy(
        id=precedence,
        name=name,
        action=action,
        precedence=precedence,
        include=tuple(compile_rule(rule) for rule in include),
        require=tuple(compile_rule(rule) for rule in rest.get("require", ())),
    )


ALICE_ONLY = _policy("alice", Action.ALLOW, 1, {"email": {"email": "alice@example.com"}})


def _application(**fields: Any) -> CompiledApplication:
    base = CompiledApplication(
        id=1,
        aud=AUD,
        name="API",
        domain=f"{HOST}/api",
        destinations=(),
        session_duration=timedelta(hours=24),
        same_site_cookie_attribute="lax",
        http_only_cookie_attribute=True,
        enable_binding_cookie=False,
        options_preflight_bypass=False,
        cors=None,
        cors_on_responses=False,
        unauthenticated_401=False,
        custom_deny_message="",
        custom_deny_url="",
        custom_non_identity_deny_url="",
        service_auth_401_redirect=False,
        allowed_idps=(),
        auto_redirect_to_identity=False,
        require_second_factor_enrolment=False,
        policies=(ALICE_ONLY,),
    )
    return replace(base, **fields)


SERVICE_TOKEN = CompiledServiceToken(
    id=7, name="ci", client_id="c" * 32 + ".access", secret_hash="unused", expires_at=None
)


def _snapshot(application: CompiledApplication) -> Snapshot:
    entries = [(compile_pattern(application.domain), application.id)]
    return Snapshot(
        version=1,
        applications={application.id: application},
        by_aud={application.aud: application},
        index=ApplicationIndex(entries),
        groups={},
        service_tokens={SERVICE_TOKEN.client_id: SERVICE_TOKEN},
        identity_providers={},
        path_index=path_index_for(entries),
    )


def _claims(email: str = "alice@example.com", **raw: object) -> AccessClaims:
    return AccessClaims(
        email=email,
        subject="user-1",
        audiences=(AUD,),
        token_type="app",
        issued_at=NOW,
        expires_at=NOW + timedelta(hours=1),
        not_before=NOW,
        issuer=f"https://{HOST}",
        identity_nonce="nonce",
        country="",
        common_name=str(raw.pop("common_name", "")),
        raw={"email": email, **raw},
    )


def _verifier(valid: dict[str, AccessClaims]):
    def verify(token: str, audience: str) -> AccessClaims:
        claims = valid.get(token)
        if claims is None or audience not in claims.audiences:
            raise TokenError("bad signature")
        return claims

    return verify


def _authenticate(client_id: str, secret: str) -> CompiledServiceToken | None:
    return SERVICE_TOKEN if (client_id, secret) == (SERVICE_TOKEN.client_id, "right") else None


def _decide(
    application: CompiledApplication, *, valid: dict[str, AccessClaims] | None = None, **facts: Any
) -> GateDecision:
    facts.setdefault("host", HOST)
    facts.setdefault("path", "/api/items")
    facts.setdefault("method", "GET")
    facts.setdefault("scheme", "https")
    return decide_request(
        RequestFacts(**facts),
        _snapshot(application),
        verify_token=_verifier(valid or {}),
        authenticate_service_token=_authenticate,
    )


CORS = CorsPolicy.from_data(
    {"allowed_origins": [CALLER], "allowed_methods": ["GET", "PUT"], "allow_credentials": True}
)
PREFLIGHT = {"method": "OPTIONS", "origin": CALLER, "access_control_request_method": "PUT"}


def test_row7_paths_no_application_covers_are_untouched():
    assert _decide(_application(), path="/elsewhere").outcome is Outcome.UNTOUCHED


def _snapshot_of(*applications: CompiledApplication) -> Snapshot:
    entries = [
        (compile_pattern(text), application.id)
        for application in applications
        for text in (application.domain, *application.destinations)
    ]
    return Snapshot(
        version=1,
        applications={application.id: application for application in applications},
        by_aud={application.aud: application for application in applications},
        index=ApplicationIndex(entries),
        groups={},
        service_tokens={},
        identity_providers={},
        path_index=path_index_for(entries),
    )


LOGIN_HOST = "access.example.org"
# Protected on one host, in each kind of pattern; `other.example.org` covers another path.
PROTECTED = {
    "path": "api.example.com/private",
    "wildcard host": "*.example.com/private",
    "whole host": "whole.example.com",
}
OTHER = _application(id=2, aud="b" * 64, name="Other", domain="other.example.org/other")


def _through(kind: str, host: str, path: str, **rest: Any) -> Outcome:
    protected = _application(domain=PROTECTED[kind])

    def is_own_endpoint(request_host: str, request_path: str) -> bool:
        return request_host == LOGIN_HOST and request_path.startswith("/admin/")

    return decide_request(
        RequestFacts(**{"host": host, "path": path, "method": "GET", "scheme": "https", **rest}),
        _snapshot_of(protected, OTHER),
        verify_token=_verifier({}),
        authenticate_service_token=_authenticate,
        is_own_endpoint=is_own_endpoint,
    ).outcome


MISDIRECTED = Outcome.MISDIRECTED
UNTOUCHED = Outcome.UNTOUCHED
DECIDED = Outcome.UNAUTHENTICATED  # the covering application decides (no credentials here)


# A request reaches a view through host B only if an application on B covers the path (B's
# application decides) or no application on any host protects that path; otherwise 421.
@pytest.mark.parametrize(
    ("kind", "host", "path", "expected"),
    [
        ("path", "api.example.com", "/private/x", DECIDED),
        ("path", "other.example.org", "/private/x", MISDIRECTED),
        ("path", "other.example.org", "/other/x", DECIDED),
        ("path", "other.example.org", "/public", UNTOUCHED),
        ("path", LOGIN_HOST, "/private/x", MISDIRECTED),
        ("path", "uncovered.example.net", "/private/x", MISDIRECTED),
        ("path", "uncovered.example.net", "/public", UNTOUCHED),
        ("path", "192.0.2.10", "/private/x", MISDIRECTED),
        ("path", "[2001:db8::1]:8000", "/private/x", MISDIRECTED),
        ("wildcard host", "any.example.com", "/private/x", DECIDED),
        ("wildcard host", "example.com", "/private/x", MISDIRECTED),
        ("wildcard host", "other.example.org", "/private/x", MISDIRECTED),
        ("wildcard host", LOGIN_HOST, "/private/x", MISDIRECTED),
        ("wildcard host", "192.0.2.10", "/private/x", MISDIRECTED),
        ("wildcard host", "192.0.2.10", "/public", UNTOUCHED),
        ("whole host", "whole.example.com", "/admin/", DECIDED),
        ("whole host", "other.example.org", "/admin/", MISDIRECTED),
        ("whole host", "other.example.org", "/other/x", DECIDED),
        ("whole host", "uncovered.example.net", "/public", MISDIRECTED),
        ("whole host", "192.0.2.10", "/", MISDIRECTED),
        ("whole host", LOGIN_HOST, "/public", MISDIRECTED),
        # The project's own self-authenticating endpoints stay reachable on the login host only.
        ("whole host", LOGIN_HOST, "/admin/", UNTOUCHED),
        ("whole host", "uncovered.example.net", "/admin/", MISDIRECTED),
        # Non-canonical spellings of a protected path are refused too.
        ("path", "192.0.2.10", "/x/../private/x", MISDIRECTED),
        ("path", "192.0.2.10", "//private/x", MISDIRECTED),
    ],
)
def test_row7_a_protected_path_is_served_only_through_a_host_that_covers_it(
    kind, host, path, expected
):
    assert _through(kind, host, path) is expected


@pytest.mark.parametrize("kind", list(PROTECTED))
def test_row7_the_gates_own_endpoints_are_left_to_themselves_on_every_host(kind):
    for host in ("api.example.com", "uncovered.example.net", LOGIN_HOST):
        for path in ("/cdn-cgi/access/login", "/cdn-cgi/access/get-identity", "/healthz"):
            assert _through(kind, host, path) is UNTOUCHED


def test_row7_a_preflight_is_misdirected_like_any_request():
    preflight = {"method": "OPTIONS", "origin": CALLER, "access_control_request_method": "GET"}

    assert _through("path", "192.0.2.10", "/private/x", **preflight) is MISDIRECTED


def test_row1_bypass_policy_passes_before_anything_else():
    bypass = _policy("public", Action.BYPASS, 2, {"everyone": {}})
    application = _application(policies=(ALICE_ONLY, bypass))

    assert _decide(application).outcome is Outcome.BYPASS
    assert _decide(application, **PREFLIGHT).outcome is Outcome.BYPASS


def test_row1_bypass_on_network_rules_uses_the_client_address():
    bypass = _policy("office", Action.BYPASS, 2, {"ip": {"ip": "10.0.0.0/8"}})
    application = _application(policies=(ALICE_ONLY, bypass))

    assert _decide(application, ip=ip_address("10.1.1.1")).outcome is Outcome.BYPASS
    assert _decide(application, ip=ip_address("192.0.2.1")).outcome is Outcome.UNAUTHENTICATED


def test_row2_preflight_with_options_preflight_bypass_goes_to_the_view():
    application = _application(options_preflight_bypass=True)
    decision = _decide(application, **PREFLIGHT)

    assert decision.outcome is Outcome.PREFLIGHT_TO_VIEW
    assert decision.reason == "options_preflight_bypass: the view answers"
    assert decision.application is application


def test_row2_preflight_allowed_by_cors_headers_is_answered():
    decision = _decide(_application(cors=CORS), **PREFLIGHT)

    assert decision.outcome is Outcome.PREFLIGHT_ANSWERED
    assert decision.reason == "preflight allowed"
    assert decision.preflight is not None
    assert dict(decision.preflight.headers)["Access-Control-Allow-Origin"] == CALLER


def test_row2_preflight_not_allowed_is_refused_with_no_headers():
    decision = _decide(_application(cors=CORS), **{**PREFLIGHT, "origin": "https://evil.example"})

    assert decision.outcome is Outcome.PREFLIGHT_REFUSED
    assert decision.reason == "origin not allowed"
    assert decision.preflight is not None
    assert decision.preflight.headers == ()


def test_row2_preflight_without_cors_settings_is_refused_even_with_a_valid_cookie():
    application = _application()
    decision = _decide(application, valid={"t": _claims()}, cookie_tokens=("t",), **PREFLIGHT)

    assert decision.outcome is Outcome.PREFLIGHT_REFUSED
    assert decision.reason == "preflight without CORS settings"
    assert decision.application is application


def test_row2_empty_request_method_still_makes_a_preflight():
    decision = _decide(
        _application(cors=CORS), **{**PREFLIGHT, "access_control_request_method": ""}
    )

    assert decision.outcome is Outcome.PREFLIGHT_REFUSED


def test_row2_options_without_request_method_is_an_ordinary_request():
    decision = _decide(_application(cors=CORS), method="OPTIONS", origin=CALLER)

    assert decision.outcome is Outcome.UNAUTHENTICATED


def test_row3_cookie_verified_for_this_application_allows():
    decision = _decide(_application(), valid={"t": _claims()}, cookie_tokens=("t",))

    assert decision.outcome is Outcome.ALLOW
    assert decision.token == "t"
    assert decision.verdict is not None
    assert decision.verdict.policy is ALICE_ONLY


def test_row3_header_token_is_a_credential_too():
    decision = _decide(_application(), valid={"h": _claims()}, header_token="h")

    assert decision.outcome is Outcome.ALLOW


def test_row3_each_cookie_value_is_tried_in_turn():
    decision = _decide(_application(), valid={"good": _claims()}, cookie_tokens=("forged", "good"))

    assert decision.outcome is Outcome.ALLOW
    assert decision.token == "good"


def test_row3_binding_cookie_must_match_the_token():
    application = _application(enable_binding_cookie=True)
    valid = {"t": _claims(binding=binding_digest("b1"))}

    missing = _decide(application, valid=valid, cookie_tokens=("t",))
    wrong = _decide(application, valid=valid, cookie_tokens=("t",), binding_cookies=("b2",))
    right = _decide(application, valid=valid, cookie_tokens=("t",), binding_cookies=("b1",))

    assert missing.outcome is Outcome.UNAUTHENTICATED
    assert wrong.outcome is Outcome.UNAUTHENTICATED
    assert right.outcome is Outcome.ALLOW


def test_row3_with_a_binding_cookie_a_token_without_a_binding_is_refused():
    application = _application(enable_binding_cookie=True)
    valid = {"t": _claims()}  # minted before the application asked for binding cookies

    decision = _decide(application, valid=valid, cookie_tokens=("t",), binding_cookies=("b1",))

    assert (decision.outcome, decision.reason) == (
        Outcome.UNAUTHENTICATED,
        "token refused: binding cookie missing or mismatched",
    )


def test_row3_network_rules_are_rechecked_with_the_request_address():
    office = _policy(
        "alice in office",
        Action.ALLOW,
        1,
        {"email": {"email": "alice@example.com"}},
        require=[{"ip": {"ip": "10.0.0.0/8"}}],
    )
    application = _application(policies=(office,))
    valid = {"t": _claims()}

    inside = _decide(application, valid=valid, cookie_tokens=("t",), ip=ip_address("10.0.0.5"))
    outside = _decide(application, valid=valid, cookie_tokens=("t",), ip=ip_address("192.0.2.5"))

    assert inside.outcome is Outcome.ALLOW
    assert outside.outcome is Outcome.DENY


def test_row3_service_token_headers_pass_a_service_auth_policy():
    service = _policy("ci", Action.NON_IDENTITY, 1, {"service_token": {"name": "ci"}})
    decision = _decide(
        _application(policies=(service,)),
        client_id=SERVICE_TOKEN.client_id,
        client_secret="right",
    )

    assert decision.outcome is Outcome.ALLOW
    assert decision.issues_token


@pytest.mark.parametrize(
    ("require", "inside", "outside"),
    [
        (
            {"ip": {"ip": "10.0.0.0/8"}},
            {"ip": ip_address("10.0.0.5")},
            {"ip": ip_address("192.0.2.5")},
        ),
        ({"geo": {"country_code": "PT"}}, {"country": "PT"}, {"country": "NZ"}),
    ],
    ids=["ip", "country"],
)
def test_row3_a_service_token_is_held_to_its_policys_network_rules(require, inside, outside):
    service = _policy(
        "ci from the office",
        Action.NON_IDENTITY,
        1,
        {"service_token": {"name": "ci"}},
        require=[require],
    )
    headers = {"client_id": SERVICE_TOKEN.client_id, "client_secret": "right"}

    from_inside = _decide(_application(policies=(service,)), **headers, **inside)
    from_outside = _decide(_application(policies=(service,)), **headers, **outside)

    assert (from_inside.outcome, from_inside.reason) == (
        Outcome.ALLOW,
        "allowed by service auth policy 'ci from the office'",
    )
    assert (from_outside.outcome, from_outside.reason) == (Outcome.DENY, "no policy matched")


def test_row3_bad_service_token_headers_are_not_replaced_by_a_cookie():
    decision = _decide(
        _application(),
        valid={"t": _claims()},
        cookie_tokens=("t",),
        client_id=SERVICE_TOKEN.client_id,
        client_secret="wrong",
    )

    assert decision.outcome is Outcome.UNAUTHENTICATED


def test_row3_service_token_jwt_is_refused_where_only_service_auth_lets_in():
    service = _policy("ci", Action.NON_IDENTITY, 1, {"service_token": {"name": "ci"}})
    claims = _claims(email="", common_name=SERVICE_TOKEN.client_id, secret_version=1)

    decision = _decide(_application(policies=(service,)), valid={"t": claims}, cookie_tokens=("t",))

    assert decision.outcome is Outcome.UNAUTHENTICATED


@pytest.mark.parametrize(
    ("secret_version", "outcome"), [(1, Outcome.ALLOW), (0, Outcome.UNAUTHENTICATED)]
)
def test_row3_a_service_token_jwt_counts_only_for_the_current_secret(secret_version, outcome):
    service = _policy("ci", Action.NON_IDENTITY, 1, {"service_token": {"name": "ci"}})
    people = _policy("people", Action.ALLOW, 2, {"email": {"email": "alice@example.com"}})
    claims = _claims(email="", common_name=SERVICE_TOKEN.client_id, secret_version=secret_version)

    decision = _decide(
        _application(policies=(service, people)), valid={"t": claims}, cookie_tokens=("t",)
    )

    assert decision.outcome is outcome


def test_row5_no_credentials_is_unauthenticated():
    assert _decide(_application()).outcome is Outcome.UNAUTHENTICATED


def test_row5_a_token_for_another_application_is_no_credential():
    other = replace(_claims(), audiences=("b" * 64,))

    decision = _decide(_application(), valid={"t": other}, cookie_tokens=("t",))

    assert decision.outcome is Outcome.UNAUTHENTICATED


def test_row6_no_matching_policy_denies():
    decision = _decide(
        _application(), valid={"t": _claims("bob@example.com")}, cookie_tokens=("t",)
    )

    assert decision.outcome is Outcome.DENY
    assert decision.verdict is not None
    assert decision.verdict.policy is None


def test_non_canonical_path_on_a_protected_prefix_is_refused():
    decision = _decide(_application(), path="/api/../api/items")

    assert decision.outcome is Outcome.BAD_PATH


APPROVED_ALICE = replace(ALICE_ONLY, approval_required=True)


@pytest.mark.parametrize(
    ("approval", "outcome", "reason"),
    [
        ({}, Outcome.UNAUTHENTICATED, NO_APPROVAL),
        (
            {"b" * 64: {"id": "x"}},
            Outcome.UNAUTHENTICATED,
            NO_APPROVAL,
        ),
        ({AUD: {"id": "x", "until": 1}}, Outcome.ALLOW, "allowed by policy 'alice'"),
    ],
)
def test_row6_a_policy_wanting_approval_needs_a_token_naming_one(approval, outcome, reason):
    claims = _claims(approval=approval)
    application = _application(policies=(APPROVED_ALICE,))
    decision = _decide(application, valid={"t": claims}, cookie_tokens=("t",))

    assert (decision.outcome, decision.reason) == (outcome, reason)


# --- purpose justification: the token must carry the answer the deciding policy asks for ------

ASKS_PURPOSE = replace(
    ALICE_ONLY, purpose_justification_required=True, purpose_justification_prompt="Why?"
)


def test_a_token_without_the_answer_the_deciding_policy_asks_for_must_sign_in_again():
    decision = _decide(
        _application(policies=(ASKS_PURPOSE,)), valid={"t": _claims()}, cookie_tokens=("t",)
    )

    assert (decision.outcome, decision.reason) == (Outcome.UNAUTHENTICATED, NO_PURPOSE)


def test_an_answer_for_another_application_does_not_count():
    claims = _claims(purpose_justification={"b" * 64: "for the other one"})

    decision = _decide(
        _application(policies=(ASKS_PURPOSE,)), valid={"t": claims}, cookie_tokens=("t",)
    )

    assert decision.outcome is Outcome.UNAUTHENTICATED


def test_a_token_with_the_answer_is_let_in():
    claims = _claims(purpose_justification={AUD: "INC-1234"})

    decision = _decide(
        _application(policies=(ASKS_PURPOSE,)), valid={"t": claims}, cookie_tokens=("t",)
    )

    assert decision.outcome is Outcome.ALLOW
    assert decision.claims is not None
    assert decision.claims.purpose_for(AUD) == "INC-1234"


def test_with_an_approval_the_approval_request_carries_the_justification():
    asks_both = replace(ASKS_PURPOSE, approval_required=True)
    claims = _claims(approval={AUD: {"id": "x", "until": 1}})

    decision = _decide(
        _application(policies=(asks_both,)), valid={"t": claims}, cookie_tokens=("t",)
    )

    assert decision.outcome is Outcome.ALLOW


def test_a_policy_that_asks_nothing_needs_no_answer():
    decision = _decide(_application(), valid={"t": _claims()}, cookie_tokens=("t",))

    assert decision.outcome is Outcome.ALLOW
