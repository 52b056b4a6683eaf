"""The gate through the full stack: `client`, the real MIDDLEWARE, `/demo/echo/` as the view.

One test per step of docs/architecture.md (The gate, request by request) and per sentence of its
CORS with Access. The echo view answers JSON of what it received, so each test shows what the
view did, and did not, see.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from unittest import mock

import jwt
import pytest
from django.test import Client

from common import versioning
from identity.cookies import CF_APP_SESSION, CF_AUTHORIZATION, CF_BINDING
from identity.gate import binding_digest
from identity.middleware import ASSERTION_HEADER, EMAIL_HEADER
from policies import services
from tests.gatekit import (
    API_HOST,
    CALLER,
    allow_policy,
    committed,
    echo,
    make_application,
    service_token,
    token_for,
)

pytestmark = pytest.mark.django_db

ACCESS_CONTROL = "access-control-"
CREDENTIALED_GET = {
    "allowed_origins": [CALLER],
    "allowed_methods": ["GET"],
    "allow_credentials": True,
}


def _cors_headers_of(response) -> dict[str, str]:
    return {
        k.lower(): v for k, v in response.headers.items() if k.lower().startswith(ACCESS_CONTROL)
    }


def _preflight(
    client: Client, path: str, *, origin: str = CALLER, method: str = "PUT", headers=None
):
    extra = {"HTTP_ORIGIN": origin, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": method}
    if headers is not None:
        extra["HTTP_ACCESS_CONTROL_REQUEST_HEADERS"] = headers
    return client.options(path, HTTP_HOST=API_HOST, **extra)


# --- CORS with Access, first sentence: only covered paths are touched ----------------------------


def test_path_no_application_covers_reaches_the_view_untouched(client):
    make_application(domain=f"{API_HOST}/demo/echo/api")

    response = echo(client, "/demo/echo/open/x")

    assert response.status_code == 200
    assert response.json()["access"] is None


def test_every_request_to_a_protected_path_needs_a_valid_cookie(client):
    make_application(domain=f"{API_HOST}/demo/echo/api")

    response = echo(client, "/demo/echo/api/x")

    assert response.status_code == 302


# --- §4.1 bypass ------------------------------------------------------------------------------


def test_bypass_policy_passes_without_any_check_and_is_not_logged(client, caplog):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app, precedence=2)
    allow_policy(app, name="public", decision="bypass", precedence=1, include=[{"everyone": {}}])

    with caplog.at_level(logging.INFO, logger="accessproject.access"):
        response = echo(client, "/demo/echo/api/x", HTTP_CF_ACCESS_AUTHENTICATED_USER_EMAIL="x@y.z")

    assert response.status_code == 200
    body = response.json()
    assert body["access"] is None
    assert body["headers"] == {}
    assert not [r for r in caplog.records if r.name == "accessproject.access"]


# --- §4.2 preflights --------------------------------------------------------------------------


# What a browser sends is the serialized origin (Fetch): lower case, no default port. Any other
# spelling of an allowed origin is allowed, and answered with the origin's one spelling, never
# with what the request wrote.
SPELLED_CALLER = [
    "HTTPS://APP.OTHER.TEST",
    "https://App.Other.Test",
    "https://app.other.test:443",
    "https://app.other.test:00443",
]


@pytest.mark.parametrize("origin", SPELLED_CALLER)
def test_a_preflight_from_another_spelling_is_answered_with_the_origins_own(client, origin):
    make_application(
        domain=f"{API_HOST}/demo/echo/api",
        cors_headers={"allowed_origins": [CALLER], "allowed_methods": ["PUT"]},
    )

    response = _preflight(client, "/demo/echo/api/x", origin=origin)

    assert response.status_code == 200
    assert _cors_headers_of(response) == {
        "access-control-allow-origin": CALLER,
        "access-control-allow-methods": "PUT",
    }


@pytest.mark.parametrize("origin", SPELLED_CALLER)
def test_an_answer_to_another_spelling_names_the_origins_own(client, origin):
    app = make_application(
        domain=f"{API_HOST}/demo/echo/api", cors_headers=CREDENTIALED_GET, cors_on_responses=True
    )
    allow_policy(app)
    client.cookies[CF_AUTHORIZATION] = token_for(app)

    response = echo(client, "/demo/echo/api/x", HTTP_ORIGIN=origin)

    assert response.status_code == 200
    assert _cors_headers_of(response) == {
        "access-control-allow-origin": CALLER,
        "access-control-allow-credentials": "true",
    }


def test_preflight_with_options_preflight_bypass_reaches_the_view(client):
    make_application(domain=f"{API_HOST}/demo/echo/api", options_preflight_bypass=True)

    response = _preflight(client, "/demo/echo/api/x")

    assert response.status_code == 200
    assert response.json()["method"] == "OPTIONS"


def test_preflight_allowed_is_answered_by_the_gate(client):
    make_application(
        domain=f"{API_HOST}/demo/echo/api",
        cors_headers={
            "allowed_origins": [CALLER],
            "allowed_methods": ["GET", "PUT"],
            "allowed_headers": ["X-Custom", "content-type"],
            "allow_credentials": True,
            "max_age": 600,
        },
    )

    response = _preflight(client, "/demo/echo/api/x", headers="x-custom")

    assert response.status_code == 200
    assert response.content == b""  # the echo view never ran
    assert response["Content-Length"] == "0"
    assert _cors_headers_of(response) == {
        "access-control-allow-origin": CALLER,
        "access-control-allow-methods": "PUT",
        "access-control-allow-headers": "x-custom",
        "access-control-allow-credentials": "true",
        "access-control-max-age": "600",
    }
    assert response["Vary"] == (
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    )


@pytest.mark.parametrize(
    ("origin", "method", "headers"),
    [
        ("https://evil.example", "PUT", None),
        (CALLER, "DELETE", None),
        (CALLER, "PUT", "x-other"),
        (CALLER, "", None),
        ("not an origin", "PUT", None),
    ],
)
def test_preflight_not_allowed_is_refused_without_cors_headers(client, origin, method, headers):
    make_application(
        domain=f"{API_HOST}/demo/echo/api",
        cors_headers={"allowed_origins": [CALLER], "allowed_methods": ["PUT"]},
    )

    response = _preflight(client, "/demo/echo/api/x", origin=origin, method=method, headers=headers)

    assert response.status_code == 403
    assert _cors_headers_of(response) == {}


def test_preflight_without_cors_settings_is_refused_even_signed_in(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)
    client.cookies[CF_AUTHORIZATION] = token_for(app)

    response = _preflight(client, "/demo/echo/api/x")

    assert response.status_code == 403
    assert _cors_headers_of(response) == {}


def test_plain_options_without_request_method_is_an_ordinary_request(client):
    make_application(
        domain=f"{API_HOST}/demo/echo/api",
        cors_headers={"allowed_origins": [CALLER], "allowed_methods": ["PUT"]},
    )

    response = client.options("/demo/echo/api/x", HTTP_HOST=API_HOST, HTTP_ORIGIN=CALLER)

    assert response.status_code == 302


# --- §4.3-4.4 credentials and what the view receives --------------------------------------------


def test_valid_cookie_reaches_the_view_with_identity(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)
    token = token_for(app)
    client.cookies[CF_AUTHORIZATION] = token

    response = echo(client, "/demo/echo/api/x")

    assert response.status_code == 200
    body = response.json()
    assert body["headers"][ASSERTION_HEADER] == token
    assert body["headers"][EMAIL_HEADER] == "alice@example.com"
    assert body["access"]["email"] == "alice@example.com"
    assert body["access"]["application"] == app.name
    assert body["access"]["policy"] == "people"


def test_allowed_responses_are_private_to_shared_caches(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)

    response = echo(client, "/demo/echo/api/x", HTTP_CF_ACCESS_TOKEN=token_for(app))
    untouched = echo(client, "/demo/echo/open/x")

    assert response["Cache-Control"] == "private"
    assert not untouched.has_header("Cache-Control")


def test_token_in_cf_access_token_header_is_accepted(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)

    response = echo(client, "/demo/echo/api/x", HTTP_CF_ACCESS_TOKEN=token_for(app))

    assert response.status_code == 200
    assert response.json()["access"]["email"] == "alice@example.com"


def test_forged_cookie_does_not_shadow_a_valid_one(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)
    valid = token_for(app)

    response = echo(
        client,
        "/demo/echo/api/x",
        HTTP_COOKIE=f"{CF_AUTHORIZATION}=forged.token.x; {CF_AUTHORIZATION}={valid}",
    )

    assert response.status_code == 200
    assert response.json()["headers"][ASSERTION_HEADER] == valid


@pytest.mark.parametrize(
    "make_token",
    [
        lambda app, other: token_for(
            app, lifetime=timedelta(minutes=5), issued_ago=timedelta(minutes=6)
        ),
        lambda app, other: token_for(other),
        lambda app, other: token_for(app)[:-4] + "AAAA",
        lambda app, other: "not-a-jwt",
    ],
    ids=["expired", "other-application", "tampered", "garbage"],
)
def test_invalid_tokens_are_treated_as_no_credentials(client, make_token):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    other = make_application(name="Other", domain="other.localhost")
    allow_policy(app)
    client.cookies[CF_AUTHORIZATION] = make_token(app, other)

    response = echo(client, "/demo/echo/api/x")

    assert response.status_code == 302


def test_binding_cookie_is_required_when_the_application_enables_it(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api", enable_binding_cookie=True)
    allow_policy(app)
    client.cookies[CF_AUTHORIZATION] = token_for(app, extra={"binding": binding_digest("b1")})

    without = echo(client, "/demo/echo/api/x")
    client.cookies[CF_BINDING] = "b1"
    with_binding = echo(client, "/demo/echo/api/x")

    assert without.status_code == 302
    assert with_binding.status_code == 200


def test_network_rules_are_checked_on_every_request(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app, require=[{"ip": {"ip": "10.0.0.0/8"}}])
    client.cookies[CF_AUTHORIZATION] = token_for(app)

    inside = echo(client, "/demo/echo/api/x", REMOTE_ADDR="10.1.2.3")
    outside = echo(client, "/demo/echo/api/x", REMOTE_ADDR="192.0.2.7")

    assert inside.status_code == 200
    assert outside.status_code == 403


def test_service_token_headers_pass_and_answer_with_an_app_token(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    token, secret = service_token()
    allow_policy(app, decision="non_identity", include=[{"service_token": {"name": token.name}}])

    response = echo(
        client,
        "/demo/echo/api/x",
        HTTP_CF_ACCESS_CLIENT_ID=token.client_id,
        HTTP_CF_ACCESS_CLIENT_SECRET=secret,
    )

    assert response.status_code == 200
    body = response.json()
    assert body["access"]["common_name"] == token.client_id
    assert "Cf-Access-Client-Secret" not in body["headers"]
    assert body["headers"][ASSERTION_HEADER]
    assert response.cookies[CF_AUTHORIZATION].value == body["headers"][ASSERTION_HEADER]


@pytest.mark.parametrize("spelling", [f"{API_HOST}.", f"{API_HOST}:443", f"{API_HOST}:00443"])
def test_the_app_token_a_service_token_earns_names_its_host_in_its_one_spelling(client, spelling):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    token, secret = service_token()
    allow_policy(app, decision="non_identity", include=[{"service_token": {"name": token.name}}])

    response = echo(
        client,
        "/demo/echo/api/x",
        secure=True,
        HTTP_HOST=spelling,
        HTTP_CF_ACCESS_CLIENT_ID=token.client_id,
        HTTP_CF_ACCESS_CLIENT_SECRET=secret,
    )

    assert response.status_code == 200
    issued = response.cookies[CF_AUTHORIZATION].value
    assert jwt.decode(issued, options={"verify_signature": False})["iss"] == f"https://{API_HOST}"


def test_wrong_service_token_secret_is_unauthenticated(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    token, _secret = service_token()
    allow_policy(app, decision="non_identity", include=[{"service_token": {"name": token.name}}])

    response = echo(
        client,
        "/demo/echo/api/x",
        HTTP_CF_ACCESS_CLIENT_ID=token.client_id,
        HTTP_CF_ACCESS_CLIENT_SECRET="0" * 64,
    )

    assert response.status_code == 302


@pytest.mark.parametrize(
    "header",
    [
        "HTTP_CF_ACCESS_AUTHENTICATED_USER_EMAIL",
        "HTTP_CF_ACCESS_JWT_ASSERTION",
    ],
)
@pytest.mark.parametrize("path", ["/demo/echo/open/x", "/demo/echo/api/x"])
def test_client_sent_identity_headers_are_removed(client, header, path):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)
    client.cookies[CF_AUTHORIZATION] = token_for(app, email="bob@example.com")
    allow_policy(app, name="bob", precedence=5, include=[{"email": {"email": "bob@example.com"}}])

    response = echo(client, path, **{header: "mallory@example.com"})

    assert response.status_code == 200
    assert "mallory@example.com" not in response.json()["headers"].values()


# --- §4.5 no valid credentials ----------------------------------------------------------------


def test_unauthenticated_request_is_redirected_to_the_login_page(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)

    response = echo(client, "/demo/echo/api/x?a=1")

    assert response.status_code == 302
    location = response["Location"]
    assert location.startswith(f"http://{API_HOST}/cdn-cgi/access/login/{API_HOST}?")
    assert f"kid={app.aud}" in location
    assert "redirect_url=%2Fdemo%2Fecho%2Fapi%2Fx%3Fa%3D1" in location
    assert response.cookies[CF_APP_SESSION].value
    assert response.cookies[CF_APP_SESSION]["httponly"]


def test_xmlhttprequest_gets_401_instead_of_a_redirect(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)

    response = echo(client, "/demo/echo/api/x", HTTP_X_REQUESTED_WITH="XMLHttpRequest")

    assert response.status_code == 401
    assert response.json()["login_url"] == (
        f"http://{API_HOST}/cdn-cgi/access/login/{API_HOST}"
        f"?kid={app.aud}&redirect_url=%2Fdemo%2Fecho%2Fapi%2Fx"
    )
    # A cross-site fetch's answer cannot store the state cookie: none is set.
    assert CF_APP_SESSION not in response.cookies


def test_login_url_of_a_401_leads_through_the_gate_to_a_fresh_flow(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)
    login_url = echo(client, "/demo/echo/api/x", HTTP_X_REQUESTED_WITH="XMLHttpRequest").json()[
        "login_url"
    ]

    bounce = client.get(login_url, HTTP_HOST=API_HOST)
    restart = client.get(bounce["Location"], HTTP_HOST=API_HOST)

    assert bounce.status_code == 302
    assert bounce["Location"] == f"http://{API_HOST}/demo/echo/api/x"
    assert restart.status_code == 302
    assert "state=" in restart["Location"]
    assert restart.cookies[CF_APP_SESSION].value


def test_service_auth_401_redirect_answers_401_on_service_only_applications(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api", service_auth_401_redirect=True)
    allow_policy(app, decision="non_identity", include=[{"any_valid_service_token": {}}])

    response = echo(client, "/demo/echo/api/x")

    assert response.status_code == 401


# --- §4.6 denied ------------------------------------------------------------------------------


def _as_refused_person(client, **application_fields):
    """Mallory, signed in, asking for an application whose policy allows only Alice."""
    app = make_application(domain=f"{API_HOST}/demo/echo/api", **application_fields)
    allow_policy(app)
    client.cookies[CF_AUTHORIZATION] = token_for(app, email="mallory@example.com")
    return echo(client, "/demo/echo/api/x")


def test_denied_person_sees_the_default_deny_message(client):
    response = _as_refused_person(client)

    assert response.status_code == 403
    assert b"That account does not have access." in response.content


def test_denied_person_sees_the_custom_deny_message(client):
    response = _as_refused_person(client, custom_deny_message="Ask the admins.")

    assert response.status_code == 403
    assert b"Ask the admins." in response.content


def test_denied_person_is_sent_to_the_custom_deny_url(client):
    response = _as_refused_person(client, custom_deny_url="https://help.example.com/denied")

    assert response.status_code == 302
    assert response["Location"] == "https://help.example.com/denied"


def test_block_policy_denies_before_a_later_allow(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app, name="block alice", decision="deny", precedence=1)
    allow_policy(app, name="everyone", precedence=2, include=[{"everyone": {}}])
    client.cookies[CF_AUTHORIZATION] = token_for(app)

    response = echo(client, "/demo/echo/api/x")

    assert response.status_code == 403


# --- readable errors and the two opt-in options -----------------------------------------------


def test_gate_401_is_readable_from_an_allowed_origin(client):
    app = make_application(
        domain=f"{API_HOST}/demo/echo/api",
        cors_headers=CREDENTIALED_GET,
    )
    allow_policy(app)

    response = echo(
        client, "/demo/echo/api/x", HTTP_ORIGIN=CALLER, HTTP_X_REQUESTED_WITH="XMLHttpRequest"
    )

    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == CALLER
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response["Vary"]


def test_gate_403_is_readable_from_an_allowed_origin_only(client):
    app = make_application(
        domain=f"{API_HOST}/demo/echo/api",
        cors_headers={"allowed_origins": [CALLER], "allowed_methods": ["GET"]},
    )
    allow_policy(app)
    client.cookies[CF_AUTHORIZATION] = token_for(app, email="mallory@example.com")

    allowed = echo(client, "/demo/echo/api/x", HTTP_ORIGIN=CALLER)
    other = echo(client, "/demo/echo/api/x", HTTP_ORIGIN="https://evil.example")

    assert allowed.status_code == other.status_code == 403
    assert allowed["Access-Control-Allow-Origin"] == CALLER
    assert "Access-Control-Allow-Origin" not in other


def test_seed_cookie_without_preflight_needs_the_view_to_set_cors_headers(client):
    app = make_application(
        domain=f"{API_HOST}/demo/echo/api",
        cors_headers=CREDENTIALED_GET,
    )
    allow_policy(app)
    client.cookies[CF_AUTHORIZATION] = token_for(app)

    plain = echo(client, "/demo/echo/api/x", HTTP_ORIGIN=CALLER)
    view_cors = echo(client, "/demo/echo/api/x?cors=1", HTTP_ORIGIN=CALLER)

    assert plain.status_code == 200
    assert "Access-Control-Allow-Origin" not in plain
    assert view_cors["Access-Control-Allow-Origin"] == CALLER


def test_cors_on_responses_adds_headers_to_allowed_responses(client):
    app = make_application(
        domain=f"{API_HOST}/demo/echo/api",
        cors_headers=CREDENTIALED_GET,
        cors_on_responses=True,
    )
    allow_policy(app)
    client.cookies[CF_AUTHORIZATION] = token_for(app)

    response = echo(client, "/demo/echo/api/x", HTTP_ORIGIN=CALLER)
    other = echo(client, "/demo/echo/api/x", HTTP_ORIGIN="https://evil.example")

    assert response["Access-Control-Allow-Origin"] == CALLER
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in response["Vary"]
    assert "Access-Control-Allow-Origin" not in other


def test_cors_on_responses_never_duplicates_what_the_view_set(client):
    app = make_application(
        domain=f"{API_HOST}/demo/echo/api",
        cors_headers=CREDENTIALED_GET,
        cors_on_responses=True,
    )
    allow_policy(app)
    client.cookies[CF_AUTHORIZATION] = token_for(app)

    response = echo(client, "/demo/echo/api/x?cors=1", HTTP_ORIGIN=CALLER)

    assert response.headers["Access-Control-Allow-Origin"] == CALLER
    assert response.headers["Vary"].count("Origin") == 1


@pytest.mark.parametrize(
    ("extra", "status"),
    [
        ({"HTTP_SEC_FETCH_MODE": "cors", "HTTP_ACCEPT": "*/*"}, 401),
        ({"HTTP_ACCEPT": "application/json"}, 401),
        ({"HTTP_SEC_FETCH_MODE": "navigate", "HTTP_ACCEPT": "text/html,*/*"}, 302),
    ],
)
def test_unauthenticated_401_option_answers_scripts_with_json(client, extra, status):
    app = make_application(domain=f"{API_HOST}/demo/echo/api", unauthenticated_401=True)
    allow_policy(app)

    response = echo(client, "/demo/echo/api/x", **extra)

    assert response.status_code == status
    if status == 401:
        assert response.json()["login_url"].startswith(f"http://{API_HOST}/cdn-cgi/access/login/")


def test_without_the_option_scripts_are_redirected_like_pages(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)

    response = echo(client, "/demo/echo/api/x", HTTP_SEC_FETCH_MODE="cors", HTTP_ACCEPT="*/*")

    assert response.status_code == 302


# --- canonical paths --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/demo//echo/api/x",
        "/demo/echo//api/x",
        "/demo/./echo/api/x",
        "/demo/echo/./api/x",
        "/demo/echo/api/../api/x",
        "/demo/echo/x/../api/y",
        "/demo/echo/api%5cx",
        "/demo/echo/api./x",
        "/demo/echo/%2e%2e/echo/api/x",
    ],
)
def test_non_canonical_paths_on_a_protected_prefix_are_refused(client, path):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)

    response = echo(client, path)

    assert response.status_code == 400
    assert response.content == b"Bad request: the path is not in canonical form.\n"


def test_an_encoded_slash_is_the_slash_the_view_would_see(client):
    # The server decodes %2f before Django (and the gate) see the path: it is /demo/echo/api/x.
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)

    assert echo(client, "/demo/echo/api%2fx").status_code == 302


# --- logging, failing closed, no queries ------------------------------------------------------


def test_every_decision_is_logged_as_one_structured_record(client, caplog):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)
    client.cookies[CF_AUTHORIZATION] = token_for(app)

    with caplog.at_level(logging.INFO, logger="accessproject.access"):
        echo(client, "/demo/echo/api/x", REMOTE_ADDR="192.0.2.9")

    records = [r for r in caplog.records if r.name == "accessproject.access"]
    assert len(records) == 1
    assert records[0].access == {
        "application": app.name,
        "aud": app.aud,
        "decision": "allow",
        "reason": records[0].access["reason"],
        "policy": "people",
        "who": "alice@example.com",
        "client_ip": "192.0.2.9",
        "method": "GET",
        "host": API_HOST,
        "path": "/demo/echo/api/x",
    }


def test_broken_snapshot_fails_closed_with_503(client):
    make_application(domain=f"{API_HOST}/demo/echo/api")

    with mock.patch("identity.middleware.get_snapshot", side_effect=RuntimeError("broken")):
        response = echo(client, "/demo/echo/open/x")

    assert response.status_code == 503


def test_gated_requests_make_no_sql_query_in_steady_state(
    client, settings, django_assert_num_queries
):
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)
    client.cookies[CF_AUTHORIZATION] = token_for(app)
    assert echo(client, "/demo/echo/api/x").status_code == 200  # warm-up

    with django_assert_num_queries(0):
        for _ in range(50):
            assert echo(client, "/demo/echo/api/x").status_code == 200
            assert echo(client, "/demo/echo/open/x").status_code == 200


def test_no_sql_query_in_steady_state_once_the_check_interval_is_stretched(
    client, settings, monkeypatch, django_assert_num_queries
):
    now = [1000.0]
    monkeypatch.setattr(versioning, "clock", lambda: now[0])
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)
    client.cookies[CF_AUTHORIZATION] = token_for(app)
    assert echo(client, "/demo/echo/api/x").status_code == 200  # next checks in 0.5 s
    settings.ACCESS_VERSION_CHECK_INTERVAL = 3600
    now[0] += 0.1
    assert echo(client, "/demo/echo/api/x").status_code == 200  # one look at each version
    now[0] += 5  # well past the checks the short interval had scheduled

    with django_assert_num_queries(0):
        for _ in range(20):
            assert echo(client, "/demo/echo/api/x").status_code == 200


@pytest.mark.parametrize(
    ("path", "status"),
    [("/cdn-cgi/access/certs", 200), ("/cdn-cgi/access/get-identity", 401), ("/healthz", 200)],
)
def test_the_gates_own_endpoints_answer_on_a_protected_host(client, path, status):
    app = make_application(domain=API_HOST)
    allow_policy(app)

    response = echo(client, path)

    assert response.status_code == status  # the endpoint's own answer, not the gate's
    assert not response.has_header("Location")


def test_login_page_is_reachable_on_a_host_an_application_covers_whole(client):
    app = make_application(domain=API_HOST)
    allow_policy(app)
    location = echo(client, "/demo/").headers["Location"]

    response = client.get(location, HTTP_HOST=API_HOST)

    assert response.status_code == 200
    assert b"Send me a code" in response.content


@pytest.mark.parametrize("host", ["[::1]:8000", "a.b.localhost", "127.0.0.1"])
def test_protected_path_through_a_host_no_application_covers_is_refused(client, host):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)

    response = client.get("/demo/echo/api/x", HTTP_HOST=host)
    open_path = client.get("/demo/echo/open/x", HTTP_HOST=host)

    assert response.status_code == 421
    assert open_path.status_code == 200


def test_refused_service_token_goes_to_the_non_identity_deny_url(client):
    app = make_application(
        domain=f"{API_HOST}/demo/echo/api",
        custom_deny_url="https://help.example.com/people",
        custom_non_identity_deny_url="https://help.example.com/machines",
    )
    token, secret = service_token()
    allow_policy(
        app,
        name="block ci",
        decision="non_identity",
        require=[{"ip": {"ip": "10.0.0.0/8"}}],
        include=[{"service_token": {"name": token.name}}],
    )
    allow_policy(app, name="people", precedence=2)

    response = echo(
        client,
        "/demo/echo/api/x",
        REMOTE_ADDR="192.0.2.1",
        HTTP_CF_ACCESS_CLIENT_ID=token.client_id,
        HTTP_CF_ACCESS_CLIENT_SECRET=secret,
    )

    assert response.status_code == 302
    assert response["Location"] == "https://help.example.com/machines"


def test_rotating_a_service_token_secret_cuts_off_the_app_tokens_it_earned(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    token, secret = service_token()
    allow_policy(
        app, name="ci", decision="non_identity", include=[{"service_token": {"name": token.name}}]
    )
    allow_policy(app, name="people", precedence=2)
    earned = (
        echo(
            client,
            "/demo/echo/api/x",
            HTTP_CF_ACCESS_CLIENT_ID=token.client_id,
            HTTP_CF_ACCESS_CLIENT_SECRET=secret,
        )
        .cookies[CF_AUTHORIZATION]
        .value
    )
    client.cookies.clear()

    before = echo(client, "/demo/echo/api/x", HTTP_CF_ACCESS_TOKEN=earned)
    with committed():
        services.service_token_rotate(token=token)
    after = echo(client, "/demo/echo/api/x", HTTP_CF_ACCESS_TOKEN=earned)

    assert before.status_code == 200
    assert after.status_code == 302


def test_a_path_no_application_covers_reads_nothing_else_of_the_request(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)

    with mock.patch(
        "identity.middleware.request_facts", side_effect=AssertionError("facts were built")
    ):
        response = echo(client, "/demo/echo/open/x", HTTP_COOKIE=f"{CF_AUTHORIZATION}=x")

    assert response.status_code == 200
    assert response.json()["access"] is None


def test_a_covered_path_reads_the_request_once_it_is_placed(client):
    app = make_application(domain=f"{API_HOST}/demo/echo/api")
    allow_policy(app)
    client.cookies[CF_AUTHORIZATION] = token_for(app)

    response = echo(client, "/demo/echo/api/x")

    assert response.status_code == 200
    assert response["Cache-Control"] == "private"
    assert response.json()["access"]["email"] == "alice@example.com"
