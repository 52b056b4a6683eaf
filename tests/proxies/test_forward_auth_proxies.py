"""A service that is not Django, behind nginx and behind Caddy with the documented files: who
reaches it, what it learns, and what everyone else gets instead.

Every test runs once per proxy (`deployment` is parametrised). Each request carries a marker of
its own in its path, so the service's record (`upstream.seen`) and the project's access log show
exactly what became of it.
"""

from __future__ import annotations

import json
import re
import uuid
from urllib.parse import parse_qs, urlsplit

from tests.browser.records import wait_for
from tests.httpbrowser import HttpBrowser, Response
from tests.proxies.conftest import (
    ADA,
    LOGIN_HOST,
    MALLORY,
    SERVICE_HOST,
    Deployment,
    Person,
    caller_origin,
)

# One access record, as the plain log format writes it: decision, method, host, path.
ACCESS_RECORD = re.compile(
    r"(?P<decision>\w+) (?P<method>\S+) '(?P<host>[^']*)' '(?P<path>[^']*)':"
)


def marker() -> str:
    return uuid.uuid4().hex


def service_saw(deployment: Deployment, path: str) -> list:
    return deployment.upstream.requests_to(path)


def service_json(response: Response) -> dict:
    assert response.status == 200, response.text
    body = json.loads(response.body)
    assert body["service"] == "wiki"
    return body


def header_values(body: dict, name: str) -> list[str]:
    return [value for key, value in body["headers"] if key.lower() == name.lower()]


def sign_in(
    deployment: Deployment, path: str, person: Person = ADA
) -> tuple[HttpBrowser, Response]:
    """Go to `path` on the service, sign in with a password on the login host, come back."""
    browser = HttpBrowser()
    login = browser.navigate(deployment.url(path))
    assert login.status == 200, login.text
    assert urlsplit(login.url).hostname == LOGIN_HOST
    landed = browser.submit(
        login, {"username": person.username, "password": person.password}, step="password"
    )
    return browser, landed


def access_records(deployment: Deployment, path: str) -> list[str]:
    """The decisions the project logged for `path` on the service host."""
    log = deployment.project.error_log
    text = log.read_text(errors="replace") if log.exists() else ""
    return [
        match["decision"]
        for match in ACCESS_RECORD.finditer(text)
        if match["path"] == path and match["host"].startswith(SERVICE_HOST)
    ]


def records_once_written(deployment: Deployment, path: str, count: int = 1) -> list[str]:
    """The decisions logged for `path`, once there are at least `count` (records of requests
    let through are written in batches, a fraction of a second late)."""
    return wait_for(
        lambda: records if len(records := access_records(deployment, path)) >= count else None
    ) or access_records(deployment, path)


# --- people -------------------------------------------------------------------------------------


def test_a_person_signs_in_and_the_service_learns_who(deployment):
    path = f"/pages/{marker()}?tab=history"

    browser, landed = sign_in(deployment, path)

    body = service_json(landed)
    assert landed.url == deployment.url(path)
    assert body["target"] == path
    assert header_values(body, "Cf-Access-Authenticated-User-Email") == [ADA.email]
    assert header_values(body, "Cf-Access-Jwt-Assertion") == [
        browser.jars[SERVICE_HOST]["CF_Authorization"]
    ]
    # The first visit, refused, and the one that came back signed in: one record each.
    assert records_once_written(deployment, urlsplit(path).path, 2) == [
        "unauthenticated",
        "allow",
    ]


def test_identity_headers_a_client_sends_never_reach_the_service(deployment):
    browser, _landed = sign_in(deployment, f"/pages/{marker()}")
    forged = {
        "Cf-Access-Authenticated-User-Email": "boss@example.com",
        "Cf-Access-Jwt-Assertion": "forged",
        "cf-access-jwt-assertion": "forged again",
    }

    response = browser.request("GET", deployment.url(f"/pages/{marker()}"), headers=forged)

    body = service_json(response)
    assert header_values(body, "Cf-Access-Authenticated-User-Email") == [ADA.email]
    assert header_values(body, "Cf-Access-Jwt-Assertion") == [
        browser.jars[SERVICE_HOST]["CF_Authorization"]
    ]


def test_a_stranger_is_sent_to_the_login_host_and_the_service_never_sees_them(deployment):
    path = f"/pages/{marker()}"

    response = HttpBrowser().request("GET", deployment.url(path + "?a=1"))

    assert response.status == 302
    assert response.header("Cache-Control") == "no-store"
    location = urlsplit(response.header("Location") or "")
    assert (location.scheme, location.netloc) == ("https", f"{LOGIN_HOST}:{deployment.proxy.port}")
    assert location.path == f"/cdn-cgi/access/login/{SERVICE_HOST}:{deployment.proxy.port}"
    assert parse_qs(location.query)["redirect_url"] == [path + "?a=1"]
    (state_cookie,) = [c for c in response.all("Set-Cookie") if c.startswith("CF_AppSession=")]
    assert "Secure" in state_cookie
    assert "HttpOnly" in state_cookie
    assert service_saw(deployment, path) == []
    # One decision, one record: the proxy asked twice, the project logged once.
    assert records_once_written(deployment, path) == ["unauthenticated"]


def test_a_script_gets_a_401_with_the_login_url(deployment):
    path = f"/pages/{marker()}"

    response = HttpBrowser().request(
        "GET", deployment.url(path), headers={"X-Requested-With": "XMLHttpRequest"}
    )

    assert response.status == 401
    assert response.header("WWW-Authenticate") == 'Bearer realm="accessproject"'
    body = json.loads(response.body)
    assert body["error"] == "unauthenticated"
    assert urlsplit(body["login_url"]).hostname == LOGIN_HOST
    assert service_saw(deployment, path) == []


def test_a_person_the_policies_refuse_gets_the_deny_page(deployment):
    path = f"/pages/{marker()}"

    _browser, landed = sign_in(deployment, path, MALLORY)

    assert landed.status == 403
    assert "That account does not have access." in landed.text
    assert landed.header("Cache-Control") == "no-store"
    assert service_saw(deployment, path) == []


def test_the_sign_in_endpoints_answer_on_the_service_host(deployment):
    browser, _landed = sign_in(deployment, f"/pages/{marker()}")

    response = browser.request("GET", deployment.url("/cdn-cgi/access/get-identity"))

    assert response.status == 200
    assert json.loads(response.body)["email"] == ADA.email


# --- service tokens ---------------------------------------------------------------------------


def test_a_service_token_reaches_the_service_without_its_secret(deployment):
    token = deployment.service_token
    path = f"/api/{marker()}"
    browser = HttpBrowser()

    response = browser.request(
        "GET",
        deployment.url(path),
        headers={
            "CF-Access-Client-Id": token["client_id"],
            "CF-Access-Client-Secret": token["client_secret"],
        },
    )

    body = service_json(response)
    (assertion,) = header_values(body, "Cf-Access-Jwt-Assertion")
    assert assertion == browser.jars[SERVICE_HOST]["CF_Authorization"]  # the cookie it earned
    assert header_values(body, "Cf-Access-Client-Secret") == []
    assert not any(header_values(body, "Cf-Access-Authenticated-User-Email"))  # no person
    # The cookie alone then lets it in again.
    again = browser.request("GET", deployment.url(f"/api/{marker()}"))
    assert header_values(service_json(again), "Cf-Access-Jwt-Assertion") == [assertion]


def test_a_wrong_service_token_secret_never_reaches_the_service(deployment):
    path = f"/api/{marker()}"

    response = HttpBrowser().request(
        "GET",
        deployment.url(path),
        headers={
            "CF-Access-Client-Id": deployment.service_token["client_id"],
            "CF-Access-Client-Secret": "not the secret",
        },
    )

    assert response.status == 302
    assert service_saw(deployment, path) == []


# --- CORS preflights --------------------------------------------------------------------------


def test_a_preflight_is_answered_from_cors_headers_and_never_reaches_the_service(deployment):
    path = f"/api/{marker()}"
    origin = caller_origin(deployment.proxy)

    response = HttpBrowser().request(
        "OPTIONS",
        deployment.url(path),
        headers={
            "Origin": origin,
            "Access-Control-Request-Method": "PUT",
            "Access-Control-Request-Headers": "x-api-version",
        },
    )

    assert response.status == 200
    assert response.body == b""
    assert response.header("Access-Control-Allow-Origin") == origin
    assert response.header("Access-Control-Allow-Credentials") == "true"
    assert response.header("Access-Control-Allow-Methods") == "PUT"
    assert response.header("Access-Control-Allow-Headers") == "x-api-version"
    assert response.header("Access-Control-Max-Age") == "600"
    assert response.header("Vary") == (
        "Origin, Access-Control-Request-Method, Access-Control-Request-Headers"
    )
    assert response.header("X-Access-Pass") is None
    assert service_saw(deployment, path) == []
    assert records_once_written(deployment, path) == ["preflight_answered"]


def test_a_preflight_from_another_origin_is_refused_without_cors_headers(deployment):
    path = f"/api/{marker()}"

    response = HttpBrowser().request(
        "OPTIONS",
        deployment.url(path),
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "PUT"},
    )

    assert response.status == 403
    assert not [name for name, _ in response.headers if name.lower().startswith("access-control")]
    assert service_saw(deployment, path) == []


# --- what the proxy itself must not let a client decide ---------------------------------------


def test_an_open_path_reaches_the_service_with_no_identity_at_all(deployment):
    path = f"/public/{marker()}"

    response = HttpBrowser().request(
        "GET",
        deployment.url(path),
        headers={"Cf-Access-Authenticated-User-Email": "boss@example.com"},
    )

    body = service_json(response)
    assert not any(header_values(body, "Cf-Access-Authenticated-User-Email"))
    assert not any(header_values(body, "Cf-Access-Jwt-Assertion"))


def test_forwarded_headers_a_client_sends_decide_nothing(deployment):
    path = f"/pages/{marker()}"
    spoofed = {
        "X-Forwarded-Uri": "/public/x",
        "X-Original-URI": "/public/x",
        "X-Forwarded-Method": "OPTIONS",
        "X-Original-Method": "OPTIONS",
        "X-Forwarded-Host": "elsewhere.example",
    }

    response = HttpBrowser().request("GET", deployment.url(path), headers=spoofed)

    assert response.status == 302
    location = urlsplit(response.header("Location") or "")
    assert parse_qs(location.query)["redirect_url"] == [path]
    assert service_saw(deployment, path) == []


def test_the_forward_auth_endpoints_are_not_reachable_through_the_proxy(deployment):
    for endpoint in ("/cdn-cgi/access/forward-auth", "/cdn-cgi/access/auth-request"):
        response = HttpBrowser().request(
            "GET",
            deployment.url(endpoint),
            headers={
                "X-Forwarded-Host": SERVICE_HOST,
                "X-Forwarded-Proto": "https",
                "X-Forwarded-Method": "GET",
                "X-Forwarded-Uri": "/public/x",
            },
        )

        assert response.status == 404, endpoint
        assert response.header("X-Access-Pass") is None
