"""Why the gate refused: the decision's reason and the access-log record's reason, exactly.

An administrator reading the access log, and the policy tester, rely on the reason to tell an
expired token from a forged one, a revoked session from a missing cookie. Each way a request is
refused is sent through the real middleware; the decision it made (`place_request`'s answer, or
`decide_for_application`'s once the request was placed) and the one record it logged must both
carry the expected reason.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client

from identity import gate
from identity.cookies import CF_AUTHORIZATION, CF_BINDING
from identity.gate import binding_digest
from identity.sessions import revoke_tokens_issued_before
from policies import services
from tests.gatekit import (
    API_HOST,
    allow_policy,
    committed,
    echo,
    make_application,
    service_token,
    token_for,
)

pytestmark = pytest.mark.django_db

PATH = "/demo/echo/api/x"
DOMAIN = f"{API_HOST}/demo/echo/api"


def _alice_application(**fields: Any):
    application = make_application(domain=DOMAIN, **fields)
    allow_policy(application)
    return application


def _with_cookie(client: Client, token: str, **extra: Any):
    client.cookies[CF_AUTHORIZATION] = token
    return echo(client, PATH, **extra)


def _no_credentials(client):
    _alice_application()
    return echo(client, PATH)


def _expired(client):
    application = _alice_application()
    token = token_for(application, lifetime=timedelta(minutes=5), issued_ago=timedelta(minutes=6))
    return _with_cookie(client, token)


def _wrong_audience(client):
    _alice_application()
    other = make_application(name="Other", domain="other.localhost")
    return _with_cookie(client, token_for(other))


def _wrong_issuer(client):
    application = _alice_application()
    return _with_cookie(client, token_for(application, host="elsewhere.localhost"))


def _issued_over_another_scheme(client):
    application = _alice_application()
    return _with_cookie(client, token_for(application, scheme="https"))  # asked over http


def _bad_signature(client):
    application = _alice_application()
    header, payload, signature = token_for(application).split(".")
    forged = signature[:10] + ("A" if signature[10] != "A" else "B") + signature[11:]
    return _with_cookie(client, f"{header}.{payload}.{forged}")


def _malformed(client):
    _alice_application()
    return _with_cookie(client, "not-a-jwt")


def _revoked(client):
    application = _alice_application()
    token = token_for(application, issued_ago=timedelta(minutes=1))
    with committed():
        revoke_tokens_issued_before(email="alice@example.com")
    return _with_cookie(client, token)


def _binding_mismatch(client):
    application = _alice_application(enable_binding_cookie=True)
    token = token_for(application, extra={"binding": binding_digest("the browser's own")})
    client.cookies[CF_BINDING] = "another browser's"
    return _with_cookie(client, token)


def _service_token_application(**fields: Any):
    application = make_application(domain=DOMAIN, **fields)
    allow_policy(
        application, name="ci", decision="non_identity", include=[{"any_valid_service_token": {}}]
    )
    return application


def _earned_app_token(client, token, secret) -> str:
    """The app token the gate answers valid service-token headers with."""
    response = echo(
        client, PATH, HTTP_CF_ACCESS_CLIENT_ID=token.client_id, HTTP_CF_ACCESS_CLIENT_SECRET=secret
    )
    assert response.status_code == 200
    client.cookies.clear()
    return response.cookies[CF_AUTHORIZATION].value


def _deleted_service_token(client):
    application = _service_token_application()
    allow_policy(application, name="people", precedence=2)
    token, secret = service_token()
    earned = _earned_app_token(client, token, secret)
    with committed():
        services.service_token_delete(token=token)
    return _with_cookie(client, earned)


def _rotated_secret(client):
    application = _service_token_application()
    allow_policy(application, name="people", precedence=2)
    token, secret = service_token()
    earned = _earned_app_token(client, token, secret)
    with committed():
        services.service_token_rotate(token=token)
    return _with_cookie(client, earned)


def _service_token_jwt_where_only_headers_count(client):
    _service_token_application()
    token, secret = service_token()
    return _with_cookie(client, _earned_app_token(client, token, secret))


def _wrong_service_token_secret(client):
    _service_token_application()
    token, _secret = service_token()
    return echo(
        client,
        PATH,
        HTTP_CF_ACCESS_CLIENT_ID=token.client_id,
        HTTP_CF_ACCESS_CLIENT_SECRET="0" * 64,
    )


def _deny_policy(client):
    application = make_application(domain=DOMAIN)
    allow_policy(
        application,
        name="no mallory",
        decision="deny",
        include=[{"email": {"email": "mallory@example.com"}}],
    )
    allow_policy(application, name="everyone", precedence=2, include=[{"everyone": {}}])
    return _with_cookie(client, token_for(application, email="mallory@example.com"))


def _no_policy_matched(client):
    application = _alice_application()
    return _with_cookie(client, token_for(application, email="mallory@example.com"))


def _bad_path(client):
    _alice_application()
    return echo(client, "/demo/echo/api/../api/x")


def _misdirected(client):
    _alice_application()
    return client.get(PATH, HTTP_HOST="127.0.0.1")


REFUSALS = [
    pytest.param(_no_credentials, 302, "unauthenticated", "no credentials", id="no credentials"),
    pytest.param(_expired, 302, "unauthenticated", "token refused: expired", id="expired"),
    pytest.param(
        _wrong_audience, 302, "unauthenticated", "token refused: wrong audience", id="audience"
    ),
    pytest.param(_wrong_issuer, 302, "unauthenticated", "token refused: wrong issuer", id="issuer"),
    pytest.param(
        _issued_over_another_scheme,
        302,
        "unauthenticated",
        "token refused: wrong issuer",
        id="issued over https, asked over http",
    ),
    pytest.param(
        _bad_signature, 302, "unauthenticated", "token refused: bad signature", id="signature"
    ),
    pytest.param(_malformed, 302, "unauthenticated", "token refused: malformed", id="malformed"),
    pytest.param(_revoked, 302, "unauthenticated", "token refused: revoked", id="revoked"),
    pytest.param(
        _binding_mismatch,
        302,
        "unauthenticated",
        "token refused: binding cookie missing or mismatched",
        id="binding mismatch",
    ),
    pytest.param(
        _deleted_service_token,
        302,
        "unauthenticated",
        "the token's service token no longer exists",
        id="deleted service token",
    ),
    pytest.param(
        _rotated_secret,
        302,
        "unauthenticated",
        "the token was minted before the service token's secret was rotated",
        id="rotated secret",
    ),
    pytest.param(
        _service_token_jwt_where_only_headers_count,
        302,
        "unauthenticated",
        "this application accepts service tokens only in their headers",
        id="service token jwt, headers only",
    ),
    pytest.param(
        _wrong_service_token_secret,
        302,
        "unauthenticated",
        "invalid or expired service token",
        id="wrong service token secret",
    ),
    pytest.param(_deny_policy, 403, "deny", "blocked by policy 'no mallory'", id="deny policy"),
    pytest.param(_no_policy_matched, 403, "deny", "no policy matched", id="no policy matched"),
    pytest.param(_bad_path, 400, "bad_path", "the path is not in canonical form", id="bad path"),
    pytest.param(
        _misdirected,
        421,
        "misdirected",
        "this path is protected on another host, not on this one",
        id="misdirected",
    ),
]


class DecisionSpy:
    """The gate's deciding steps as the middleware calls them, remembering each decision (placing
    a request answers with an application when it does not decide itself)."""

    def __init__(self) -> None:
        self.decisions: list[gate.GateDecision] = []

    def wrap(self, step: Callable[..., Any]) -> Callable[..., Any]:
        def spied(*args: Any, **kwargs: Any) -> Any:
            answer = step(*args, **kwargs)
            if isinstance(answer, gate.GateDecision):
                self.decisions.append(answer)
            return answer

        return spied


@pytest.mark.parametrize(("refuse", "status", "outcome", "reason"), REFUSALS)
def test_each_refusal_says_why_in_the_decision_and_the_access_log(
    client, caplog, monkeypatch, refuse, status, outcome, reason
):
    spy = DecisionSpy()
    monkeypatch.setattr("identity.middleware.place_request", spy.wrap(gate.place_request))
    monkeypatch.setattr(
        "identity.middleware.decide_for_application", spy.wrap(gate.decide_for_application)
    )
    with caplog.at_level(logging.INFO, logger="accessproject.access"):
        caplog.clear()
        spy.decisions.clear()
        response = _last(refuse, client, caplog, spy)

    assert response.status_code == status
    assert [(d.outcome.value, d.reason) for d in spy.decisions] == [(outcome, reason)]
    records = [r for r in caplog.records if r.name == "accessproject.access"]
    assert [(r.access["decision"], r.access["reason"]) for r in records] == [(outcome, reason)]
    assert records[0].getMessage().endswith(f"({reason})")


def _last(refuse, client, caplog, spy):
    """Run `refuse`, keeping only what its last request decided and logged."""

    def clear_before_each_request(*args: Any, **kwargs: Any):
        caplog.clear()
        spy.decisions.clear()
        return original(*args, **kwargs)

    original = client.request
    client.request = clear_before_each_request
    try:
        return refuse(client)
    finally:
        client.request = original
