"""Forward-auth: the gate asked by a proxy about a request to a service that is not Django.

Requests come from a trusted proxy address with the `X-Forwarded-*` headers the proxy sets; the
original request's own headers (cookies, Origin, service-token headers) travel with them, as
nginx, Caddy and Traefik copy them. Where the answer is a refusal, it is compared with what the
gate middleware answers the same request reaching Django directly: one decision, one answer.
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qs, urlsplit

import pytest

from identity.cookies import CF_APP_SESSION, CF_AUTHORIZATION
from identity.middleware import ASSERTION_HEADER, EMAIL_HEADER
from identity.views.forward_auth import NOT_COVERED_TEXT, OWN_PATH_TEXT, PASS_HEADER
from tests.gatekit import (
    API_HOST,
    CALLER,
    allow_policy,
    make_application,
    service_token,
    token_for,
)

pytestmark = pytest.mark.django_db

PROXY = "10.0.0.5"
FORWARD_AUTH = "/cdn-cgi/access/forward-auth"
AUTH_REQUEST = "/cdn-cgi/access/auth-request"
WIKI = "wiki.localhost"
CORS = {"allowed_origins": [CALLER], "allowed_methods": ["PUT"], "allow_credentials": True}


@pytest.fixture(autouse=True)
def _trusted_proxy(settings):
    settings.ACCESS_TRUSTED_PROXIES = ["10.0.0.0/24"]


@pytest.fixture
def wiki():
    """A service on its own host: all of it protected for alice@example.com."""
    application = make_application(name="Wiki", domain=WIKI)
    allow_policy(application)
    return application


def forwarded(method="GET", uri="/page?x=1", host=WIKI, proto="https", **headers):
    """The headers a proxy sends about `method uri` on `host`."""
    return {
        "REMOTE_ADDR": PROXY,
        "HTTP_X_FORWARDED_HOST": host,
        "HTTP_X_FORWARDED_PROTO": proto,
        "HTTP_X_FORWARDED_METHOD": method,
        "HTTP_X_FORWARDED_URI": uri,
        **headers,
    }


def ask(client, endpoint=FORWARD_AUTH, **headers):
    return client.get(endpoint, **headers)


def direct(client, method="get", path="/page?x=1", host=WIKI, **headers):
    """The same request reaching Django's gate middleware directly, over HTTPS."""
    return getattr(client, method)(path, HTTP_HOST=host, secure=True, **headers)


# --- who may ask -------------------------------------------------------------------------------


@pytest.mark.parametrize("endpoint", [FORWARD_AUTH, AUTH_REQUEST])
def test_a_peer_outside_the_trusted_proxies_is_refused_whatever_it_sends(client, wiki, endpoint):
    client.cookies[CF_AUTHORIZATION] = token_for(wiki, host=WIKI, scheme="https")

    response = ask(client, endpoint, **forwarded(REMOTE_ADDR="10.0.1.5"))

    expected = 403 if endpoint == FORWARD_AUTH else 401
    assert response.status_code == expected
    assert PASS_HEADER not in response
    assert ASSERTION_HEADER not in response
    assert response["Cache-Control"] == "no-store"


def test_without_trusted_proxies_forward_auth_answers_nobody(client, wiki, settings):
    settings.ACCESS_TRUSTED_PROXIES = []
    client.cookies[CF_AUTHORIZATION] = token_for(wiki, host=WIKI, scheme="https")

    response = ask(client, **forwarded())

    assert response.status_code == 403
    assert b"ACCESS_TRUSTED_PROXIES" in response.content


def test_x_forwarded_for_from_a_proxy_is_the_client_address(client, settings):
    application = make_application(name="Wiki", domain=WIKI)
    allow_policy(application, decision="bypass", include=[{"ip": {"ip": "192.0.2.0/24"}}])

    inside = ask(client, **forwarded(HTTP_X_FORWARDED_FOR="192.0.2.7"))
    outside = ask(client, **forwarded(HTTP_X_FORWARDED_FOR="198.51.100.7"))
    spoofed = ask(client, **forwarded(HTTP_X_FORWARDED_FOR="192.0.2.7, 198.51.100.7"))

    assert inside[PASS_HEADER] == "bypass"
    assert outside.status_code == 302  # the bypass rule did not match: sign in
    assert spoofed.status_code == 302  # the client's own claim, left of the proxy's hop


# --- the forwarded request, read strictly -------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"HTTP_X_FORWARDED_HOST": None}, b"X-Forwarded-Host is missing"),
        ({"HTTP_X_FORWARDED_PROTO": None}, b"X-Forwarded-Proto is missing"),
        ({"HTTP_X_FORWARDED_METHOD": None}, b"X-Forwarded-Method is missing"),
        ({"HTTP_X_FORWARDED_URI": None}, b"X-Forwarded-URI is missing"),
        ({"HTTP_X_FORWARDED_PROTO": "ftp"}, b"http or https"),
        ({"HTTP_X_FORWARDED_PROTO": "https, http"}, b"http or https"),
        ({"HTTP_X_FORWARDED_HOST": "Wiki.localhost"}, b"canonical form"),
        ({"HTTP_X_FORWARDED_HOST": "wiki.localhost."}, b"canonical form"),
        ({"HTTP_X_FORWARDED_HOST": "wiki.localhost:443"}, b"canonical form"),
        ({"HTTP_X_FORWARDED_HOST": "wiki.localhost, evil.localhost"}, b"canonical form"),
        ({"HTTP_X_FORWARDED_HOST": "wiki.localhost:0x50"}, b"canonical form"),
        ({"HTTP_X_FORWARDED_HOST": ""}, b"X-Forwarded-Host is empty"),
        ({"HTTP_X_FORWARDED_HOST": "wiki.example.org"}, b"ALLOWED_HOSTS"),
        ({"HTTP_X_FORWARDED_METHOD": "GET, POST"}, b"not a method"),
        ({"HTTP_X_FORWARDED_URI": "page"}, b"not a path"),
        ({"HTTP_X_FORWARDED_URI": "https://wiki.localhost/page"}, b"not a path"),
        ({"HTTP_X_FORWARDED_URI": "/page, /admin"}, b"not a path"),
        ({"HTTP_X_FORWARDED_URI": "/page#top"}, b"not a path"),
        ({"HTTP_X_ORIGINAL_URI": "/public"}, b"X-Forwarded-URI and X-Original-URI disagree"),
        ({"HTTP_X_ORIGINAL_METHOD": "OPTIONS"}, b"disagree"),
    ],
)
def test_a_forwarded_request_that_cannot_be_read_is_refused(client, wiki, changes, complaint):
    headers = forwarded()
    for key, value in changes.items():
        if value is None:
            del headers[key]
        else:
            headers[key] = value
    client.cookies[CF_AUTHORIZATION] = token_for(wiki, host=WIKI, scheme="https")

    response = ask(client, **headers)

    assert response.status_code == 400
    assert complaint in response.content
    assert response["Cache-Control"] == "no-store"
    assert ASSERTION_HEADER not in response


def test_nginx_spellings_are_read_and_may_repeat_the_same_value(client, wiki):
    client.cookies[CF_AUTHORIZATION] = token_for(wiki, host=WIKI, scheme="https")
    nginx = forwarded(HTTP_X_ORIGINAL_URI="/page?x=1", HTTP_X_ORIGINAL_METHOD="GET")
    only_nginx = forwarded(HTTP_X_ORIGINAL_URI="/page", HTTP_X_ORIGINAL_METHOD="GET")
    del only_nginx["HTTP_X_FORWARDED_URI"], only_nginx["HTTP_X_FORWARDED_METHOD"]

    assert ask(client, **nginx).status_code == 200
    assert ask(client, **only_nginx).status_code == 200


def test_the_host_keeps_a_port_the_browser_wrote(client):
    application = make_application(name="Wiki", domain=WIKI)
    allow_policy(application)

    response = ask(client, **forwarded(host=f"{WIKI}:8443"))

    location = urlsplit(response["Location"])
    assert location.path == f"/cdn-cgi/access/login/{WIKI}:8443"
    assert location.netloc == f"{WIKI}:8443"


# --- the decision and its answer ----------------------------------------------------------------


def test_an_allowed_request_passes_with_the_identity_for_the_service(client, wiki, caplog):
    token = token_for(wiki, host=WIKI, scheme="https")
    client.cookies[CF_AUTHORIZATION] = token

    with caplog.at_level(logging.INFO, logger="accessproject.access"):
        response = ask(client, **forwarded())

    assert response.status_code == 200
    assert response.content == b""
    assert response[PASS_HEADER] == "allow"
    assert response[ASSERTION_HEADER] == token
    assert response[EMAIL_HEADER] == "alice@example.com"
    assert response["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in response
    (record,) = [r for r in caplog.records if hasattr(r, "access")]
    assert record.access["decision"] == "allow"
    assert (record.access["host"], record.access["path"]) == (WIKI, "/page")
    assert record.access["method"] == "GET"


def test_client_sent_identity_headers_never_come_back(client):
    application = make_application(name="Wiki", domain=WIKI)
    allow_policy(application, decision="bypass", include=[{"everyone": {}}])

    response = ask(
        client,
        **forwarded(
            HTTP_CF_ACCESS_JWT_ASSERTION="forged", HTTP_CF_ACCESS_AUTHENTICATED_USER_EMAIL="x@y"
        ),
    )

    assert response.status_code == 200
    assert response[PASS_HEADER] == "bypass"
    # Present and empty: a proxy copying them replaces the client's copies with nothing.
    assert response[ASSERTION_HEADER] == ""
    assert response[EMAIL_HEADER] == ""


def test_a_stranger_is_sent_to_the_login_page_as_the_gate_sends_them(client, wiki):
    response = ask(client, **forwarded(uri="/page?x=1&y=%C3%A9"))
    reference = direct(client, path="/page?x=1&y=%C3%A9")

    assert response.status_code == reference.status_code == 302
    assert PASS_HEADER not in response
    assert response["Cache-Control"] == "no-store"
    for answer in (response, reference):
        location = urlsplit(answer["Location"])
        assert location.scheme == "https"
        assert location.netloc == WIKI
        assert location.path == f"/cdn-cgi/access/login/{WIKI}"
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["redirect_url"] == ["/page?x=1&y=%C3%A9"]
    assert query["kid"] == [wiki.aud]
    state_cookie = response.cookies[CF_APP_SESSION]
    assert state_cookie["secure"]
    assert state_cookie["httponly"]


def test_the_redirect_comes_back_to_the_path_as_the_service_reads_it(client, wiki):
    response = ask(client, **forwarded(uri="/caf%C3%A9/%7Euser"))

    assert parse_qs(urlsplit(response["Location"]).query)["redirect_url"] == ["/caf%C3%A9/~user"]


@pytest.mark.parametrize(
    "headers",
    [{"HTTP_X_REQUESTED_WITH": "XMLHttpRequest"}, {}],
    ids=["script", "service token only"],
)
def test_a_401_answer_is_the_gates(client, headers):
    application = make_application(name="Wiki", domain=WIKI, service_auth_401_redirect=not headers)
    decision = "allow" if headers else "non_identity"
    include = [{"everyone": {}}] if headers else [{"any_valid_service_token": {}}]
    allow_policy(application, decision=decision, include=include)

    response = ask(client, **forwarded(**headers))
    reference = direct(client, **headers)

    assert response.status_code == reference.status_code == 401
    assert response["WWW-Authenticate"] == reference["WWW-Authenticate"]
    assert response.json()["error"] == "unauthenticated"
    assert response.json()["login_url"] == reference.json()["login_url"]


def test_a_refused_person_gets_the_deny_page(client, wiki):
    client.cookies[CF_AUTHORIZATION] = token_for(
        wiki, host=WIKI, scheme="https", email="mallory@example.com"
    )

    response = ask(client, **forwarded())
    reference = direct(client)

    assert response.status_code == reference.status_code == 403
    assert response.content == reference.content
    assert b"That account does not have access." in response.content
    assert response["Cache-Control"] == "no-store"


def test_a_refused_person_goes_to_the_custom_deny_url(client):
    application = make_application(
        name="Wiki", domain=WIKI, custom_deny_url="https://help.example.com/denied"
    )
    allow_policy(application)
    client.cookies[CF_AUTHORIZATION] = token_for(
        application, host=WIKI, scheme="https", email="m@example.com"
    )

    response = ask(client, **forwarded())

    assert response.status_code == 302
    assert response["Location"] == "https://help.example.com/denied"


def test_a_preflight_is_answered_from_cors_headers_exactly_as_the_gate_does(client):
    application = make_application(name="Wiki", domain=WIKI, cors_headers=CORS)
    allow_policy(application)
    preflight = {"HTTP_ORIGIN": CALLER, "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "PUT"}

    response = ask(client, **forwarded(method="OPTIONS", **preflight))
    reference = client.options("/page?x=1", HTTP_HOST=WIKI, secure=True, **preflight)

    assert response.status_code == reference.status_code == 200
    assert PASS_HEADER not in response  # the proxy answers it: the service never sees it
    # Django's response middleware also runs for the endpoint's answer (X-Frame-Options).
    assert {**dict(response.items()), "X-Frame-Options": "-"} == {
        **dict(reference.items()),
        "X-Frame-Options": "-",
    }
    assert response["Access-Control-Allow-Origin"] == CALLER
    assert response["Content-Length"] == "0"


def test_a_preflight_not_allowed_is_refused_without_cors_headers(client):
    application = make_application(name="Wiki", domain=WIKI, cors_headers=CORS)
    allow_policy(application)

    response = ask(
        client,
        **forwarded(
            method="OPTIONS",
            HTTP_ORIGIN="https://evil.example",
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="PUT",
        ),
    )

    assert response.status_code == 403
    assert not [name for name in response.headers if name.lower().startswith("access-control")]


def test_a_preflight_for_the_service_passes(client):
    application = make_application(name="Wiki", domain=WIKI, options_preflight_bypass=True)
    allow_policy(application)

    response = ask(
        client,
        **forwarded(method="OPTIONS", HTTP_ORIGIN=CALLER, HTTP_ACCESS_CONTROL_REQUEST_METHOD="PUT"),
    )

    assert response.status_code == 200
    assert response[PASS_HEADER] == "preflight_to_view"


def test_a_request_no_application_covers_is_refused_not_passed(client, caplog):
    make_application(name="Other", domain="other.localhost/admin")

    with caplog.at_level(logging.INFO, logger="accessproject.access"):
        response = ask(client, **forwarded())

    assert response.status_code == 403
    assert response.content == NOT_COVERED_TEXT.encode() + b"\n"
    assert PASS_HEADER not in response
    (record,) = [r for r in caplog.records if hasattr(r, "access")]
    assert "no application covers" in record.access["reason"]


def test_the_services_healthz_is_the_services_own_and_stays_protected(client, wiki):
    response = ask(client, **forwarded(uri="/healthz"))

    assert response.status_code == 302


def test_paths_under_cdn_cgi_access_never_go_through_forward_auth(client, wiki):
    client.cookies[CF_AUTHORIZATION] = token_for(wiki, host=WIKI, scheme="https")

    response = ask(client, **forwarded(uri="/cdn-cgi/access/login"))

    assert response.status_code == 403
    assert response.content == OWN_PATH_TEXT.encode() + b"\n"


def test_a_path_protected_on_another_host_is_misdirected(client):
    application = make_application(name="API", domain=f"{API_HOST}/private")
    allow_policy(application)
    make_application(name="Wiki", domain=f"{WIKI}/docs")

    response = ask(client, **forwarded(uri="/private/x"))

    assert response.status_code == 421
    assert response["Cache-Control"] == "no-store"


@pytest.mark.parametrize("uri", ["/docs/..%2F..%2Fprivate", "/docs//x", "/docs/%2e%2e/x"])
def test_a_path_with_several_readings_is_refused(client, uri):
    application = make_application(name="Wiki", domain=f"{WIKI}/docs")
    allow_policy(application)

    response = ask(client, **forwarded(uri=uri))

    assert response.status_code == 400
    assert PASS_HEADER not in response


def test_a_service_token_passes_and_earns_an_app_cookie(client):
    application = make_application(name="Wiki", domain=WIKI)
    token, secret = service_token()
    allow_policy(
        application, decision="non_identity", include=[{"service_token": {"name": token.name}}]
    )
    allow_policy(application, name="people too", precedence=2)

    response = ask(
        client,
        **forwarded(HTTP_CF_ACCESS_CLIENT_ID=token.client_id, HTTP_CF_ACCESS_CLIENT_SECRET=secret),
    )

    assert response.status_code == 200
    assert response[PASS_HEADER] == "allow"
    assert response[EMAIL_HEADER] == ""
    cookie = response.cookies[CF_AUTHORIZATION]
    assert cookie.value == response[ASSERTION_HEADER]
    assert cookie["secure"]
    # The token earned opens the service on its own, as the gate's cookie does.
    client.cookies[CF_AUTHORIZATION] = cookie.value
    again = ask(client, **forwarded())
    assert again.status_code == 200


def test_a_wrong_service_token_secret_is_unauthenticated(client):
    application = make_application(name="Wiki", domain=WIKI)
    token, _secret = service_token()
    allow_policy(
        application, decision="non_identity", include=[{"service_token": {"name": token.name}}]
    )

    response = ask(
        client,
        **forwarded(HTTP_CF_ACCESS_CLIENT_ID=token.client_id, HTTP_CF_ACCESS_CLIENT_SECRET="no"),
    )

    assert response.status_code == 302
    assert ASSERTION_HEADER not in response


# --- nginx's auth_request ------------------------------------------------------------------------


def test_auth_request_passes_what_forward_auth_passes(client, wiki, caplog):
    token = token_for(wiki, host=WIKI, scheme="https")
    client.cookies[CF_AUTHORIZATION] = token

    with caplog.at_level(logging.INFO, logger="accessproject.access"):
        response = ask(client, AUTH_REQUEST, **forwarded())

    assert response.status_code == 200
    assert response[PASS_HEADER] == "allow"
    assert response[ASSERTION_HEADER] == token
    assert response[EMAIL_HEADER] == "alice@example.com"
    assert [r.access["decision"] for r in caplog.records if hasattr(r, "access")] == ["allow"]


@pytest.mark.parametrize(
    "case", ["stranger", "denied", "preflight", "not covered", "bad host", "bad path"]
)
def test_auth_request_answers_everything_else_with_an_empty_401(client, wiki, caplog, case):
    headers = forwarded()
    if case == "denied":
        client.cookies[CF_AUTHORIZATION] = token_for(
            wiki, host=WIKI, scheme="https", email="m@example.com"
        )
    elif case == "preflight":
        headers.update(
            HTTP_X_FORWARDED_METHOD="OPTIONS",
            HTTP_ORIGIN=CALLER,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="PUT",
        )
    elif case == "not covered":
        headers["HTTP_X_FORWARDED_HOST"] = "api.localhost"
    elif case == "bad host":
        headers["HTTP_X_FORWARDED_HOST"] = "WIKI.localhost"
    elif case == "bad path":
        headers["HTTP_X_FORWARDED_URI"] = "/a/../b"

    with caplog.at_level(logging.INFO, logger="accessproject.access"):
        response = ask(client, AUTH_REQUEST, **headers)

    assert response.status_code == 401
    assert response.content == b""
    assert response["Cache-Control"] == "no-store"
    assert "Location" not in response
    assert "Set-Cookie" not in response
    # The answer is forward-auth's to give, and to record.
    assert [r for r in caplog.records if hasattr(r, "access")] == []


def test_the_installation_check_knows_the_forward_auth_endpoints(settings):
    from identity.checks import check_installation

    settings.ROOT_URLCONF = "tests.identity.urlconfs.access_under_a_prefix"

    (message,) = check_installation()
    assert "/cdn-cgi/access/forward-auth" in message.msg


# --- purpose justification and temporary approval ----------------------------------------------

APPROVERS = [{"approvals_needed": 1, "email_addresses": ["bob@example.com"]}]


@pytest.fixture
def asking_wiki():
    """A service whose one policy asks for a purpose, and one that also wants an approval."""
    wiki = make_application(name="Wiki", domain=WIKI)
    allow_policy(wiki, purpose_justification_required=True)
    vault = make_application(name="Vault", domain="vault.localhost")
    allow_policy(
        vault,
        purpose_justification_required=True,
        approval_required=True,
        approval_groups=APPROVERS,
    )
    return wiki, vault


def _claims_for(application, *, purpose=None, approval=None):
    extra = {}
    if purpose is not None:
        extra["purpose_justification"] = {purpose.aud: "INC-1"}
    if approval is not None:
        extra["approval"] = {approval.aud: {"id": "9b7c", "until": 2_000_000_000}}
    return token_for(application, host=application.domain, scheme="https", extra=extra)


@pytest.mark.parametrize("answered_for", [None, "other"])
def test_forward_auth_sends_a_token_without_the_purpose_answer_to_sign_in(
    client, asking_wiki, answered_for
):
    wiki, vault = asking_wiki
    token = _claims_for(wiki, purpose=vault if answered_for else None)
    client.cookies[CF_AUTHORIZATION] = token

    response = ask(client, **forwarded())
    reference = direct(client)
    nginx = ask(client, AUTH_REQUEST, **forwarded())

    assert response.status_code == reference.status_code == 302
    assert PASS_HEADER not in response
    assert urlsplit(response["Location"]).path == f"/cdn-cgi/access/login/{WIKI}"
    assert nginx.status_code == 401


def test_forward_auth_passes_a_token_carrying_the_answer(client, asking_wiki):
    wiki, _ = asking_wiki
    client.cookies[CF_AUTHORIZATION] = _claims_for(wiki, purpose=wiki)

    response = ask(client, **forwarded())

    assert response.status_code == 200
    assert response[PASS_HEADER] == "allow"


@pytest.mark.parametrize("approved_for", [None, "other"])
def test_forward_auth_sends_a_token_without_the_approval_to_sign_in(
    client, asking_wiki, approved_for
):
    wiki, vault = asking_wiki
    client.cookies[CF_AUTHORIZATION] = _claims_for(
        vault, purpose=vault, approval=wiki if approved_for else None
    )
    headers = forwarded(host="vault.localhost")

    response = ask(client, **headers)
    nginx = ask(client, AUTH_REQUEST, **headers)

    assert response.status_code == 302
    assert PASS_HEADER not in response
    assert nginx.status_code == 401
