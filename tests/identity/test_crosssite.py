"""The login endpoints refuse cross-site requests that are not top-level navigations."""

import itertools

import pytest

from identity.crosssite import content_security_policy, login_request_refusal
from tests.identity.signin_support import Browser, LoginFlow, make_application

OWN = "https://access.localhost"
SITES = ["same-origin", "same-site", "cross-site", "none"]
MODES = ["navigate", "cors", "no-cors", "same-origin", "websocket"]
DESTS = ["document", "iframe", "frame", "embed", "object", "empty", "image", "script"]
EMBEDDING = {"iframe", "frame", "embed", "object"}


def refusal(method="GET", origin=None, **fetch):
    headers = {f"Sec-Fetch-{name.title()}": value for name, value in fetch.items()}
    if origin is not None:
        headers["Origin"] = origin
    return login_request_refusal(method=method, headers=headers, own_origin=OWN)


@pytest.mark.parametrize(
    ("site", "mode", "dest"), list(itertools.product(["cross-site", "same-site"], MODES, DESTS))
)
def test_other_sites_may_only_navigate_the_top_level_window(site, mode, dest):
    allowed = (mode, dest) == ("navigate", "document")
    assert (refusal(site=site, mode=mode, dest=dest) is None) is allowed


@pytest.mark.parametrize(
    ("site", "mode", "dest"), list(itertools.product(["same-origin", "none"], MODES, DESTS))
)
def test_own_and_browser_requests_may_load_anything_but_a_frame(site, mode, dest):
    assert (refusal(site=site, mode=mode, dest=dest) is None) is (dest not in EMBEDDING)


@pytest.mark.parametrize(("site", "mode", "dest"), list(itertools.product(SITES, MODES, DESTS)))
def test_posts_come_only_from_the_same_origin_or_the_browser(site, mode, dest):
    allowed = site in ("same-origin", "none") and dest not in EMBEDDING
    assert (refusal("POST", site=site, mode=mode, dest=dest) is None) is allowed


def test_get_without_fetch_metadata_is_allowed():
    assert refusal() is None


def test_cross_site_navigation_without_dest_is_allowed():
    assert refusal(site="cross-site", mode="navigate") is None


def test_unknown_sec_fetch_site_is_refused():
    assert refusal(site="elsewhere", mode="navigate", dest="document") == "unknown Sec-Fetch-Site"


def test_post_without_fetch_metadata_or_origin_is_left_to_csrf():
    assert refusal("POST") is None


@pytest.mark.parametrize("origin", ["https://access.localhost", "https://ACCESS.localhost:443"])
def test_post_from_own_origin_is_allowed(origin):
    assert refusal("POST", origin=origin) is None


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.localhost",
        "http://access.localhost",
        "https://access.localhost:8443",
        "null",
        "garbage",
        "",
    ],
)
def test_post_from_another_origin_is_refused(origin):
    assert refusal("POST", origin=origin) == "foreign Origin"


def test_post_with_same_origin_metadata_but_foreign_origin_is_refused():
    assert refusal("POST", origin="https://evil.localhost", site="same-origin") == "foreign Origin"


def test_preflight_is_refused():
    headers = {"Origin": "https://evil.localhost", "Access-Control-Request-Method": "POST"}
    assert login_request_refusal(method="OPTIONS", headers=headers, own_origin=OWN) == (
        "preflight to a login endpoint"
    )


def test_content_security_policy_lists_form_targets():
    assert content_security_policy(["https://b.localhost", "https://a.localhost"]) == (
        "frame-ancestors 'none'; default-src 'self'; style-src 'self' 'unsafe-inline'; "
        "form-action 'self' https://a.localhost https://b.localhost"
    )


# Through the real middleware


@pytest.fixture
def flow(db, settings):
    settings.ACCESS_TEAM_DOMAIN = ""
    application = make_application(domain="app.localhost/demo")
    return LoginFlow(Browser(), application)


def _assert_login_headers(response):
    assert response["X-Frame-Options"] == "DENY"
    assert response["Content-Security-Policy"].startswith("frame-ancestors 'none'; ")
    assert response["Cache-Control"] == "no-store"
    assert response["Referrer-Policy"] == "same-origin"
    assert not [name for name in response.headers if name.lower().startswith("access-control-")]


def test_login_page_loads_as_a_cross_site_navigation(flow):
    response = flow.open()
    assert response.status_code == 200
    _assert_login_headers(response)
    assert response["Content-Security-Policy"].endswith("form-action 'self' https://app.localhost")


@pytest.mark.parametrize(
    "fetch",
    [
        {"site": "cross-site", "mode": "cors", "dest": "empty"},
        {"site": "cross-site", "mode": "no-cors", "dest": "image"},
        {"site": "cross-site", "mode": "navigate", "dest": "iframe"},
        {"site": "same-site", "mode": "cors", "dest": "empty"},
        {"site": "same-origin", "mode": "navigate", "dest": "iframe"},
    ],
)
def test_login_page_refuses_cross_site_reads_and_frames(flow, fetch):
    extra = {f"HTTP_SEC_FETCH_{name.upper()}": value for name, value in fetch.items()}
    response = flow.browser.get(flow.url, HTTP_ORIGIN="https://evil.localhost", **extra)
    assert response.status_code == 403
    _assert_login_headers(response)


def test_login_page_refuses_a_preflight(flow):
    response = flow.browser.request(
        "OPTIONS",
        flow.url,
        HTTP_ORIGIN="https://evil.localhost",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
    )
    assert response.status_code == 403
    _assert_login_headers(response)


def test_login_page_refuses_other_methods(flow):
    response = flow.browser.request("PUT", flow.url)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, POST"


def test_cross_site_post_is_refused(flow):
    response = flow.browser.post(
        flow.page_url,
        {"step": "send_pin", "email": "ann@example.com", **flow.fields},
        HTTP_SEC_FETCH_SITE="cross-site",
        HTTP_SEC_FETCH_MODE="navigate",
        HTTP_SEC_FETCH_DEST="document",
        HTTP_ORIGIN="https://evil.localhost",
    )
    assert response.status_code == 403
    _assert_login_headers(response)


def test_post_with_null_origin_is_refused(flow):
    response = flow.browser.post(
        flow.page_url, {"step": "send_pin", **flow.fields}, HTTP_ORIGIN="null"
    )
    assert response.status_code == 403


def test_post_without_csrf_token_is_refused(db, settings):
    settings.ACCESS_TEAM_DOMAIN = ""
    application = make_application(domain="app.localhost/demo")
    flow = LoginFlow(Browser(enforce_csrf_checks=True), application)
    response = flow.browser.post(
        flow.page_url,
        {"step": "send_pin", "email": "ann@example.com", **flow.fields},
        HTTP_ORIGIN="https://app.localhost",
        HTTP_SEC_FETCH_SITE="same-origin",
    )
    assert response.status_code == 403
    assert b"CSRF" in response.content
    _assert_login_headers(response)


def test_post_with_csrf_token_from_the_page_is_accepted(db, settings, mailoutbox):
    settings.ACCESS_TEAM_DOMAIN = ""
    application = make_application(domain="app.localhost/demo")
    flow = LoginFlow(Browser(enforce_csrf_checks=True), application)
    page = flow.open()
    token = page.content.decode().split('name="csrfmiddlewaretoken" value="')[1].split('"')[0]
    response = flow.browser.post(
        flow.page_url,
        {
            "step": "send_pin",
            "email": "ann@example.com",
            "csrfmiddlewaretoken": token,
            **flow.fields,
        },
        HTTP_ORIGIN="https://app.localhost",
        HTTP_SEC_FETCH_SITE="same-origin",
        HTTP_SEC_FETCH_MODE="navigate",
        HTTP_SEC_FETCH_DEST="document",
    )
    assert response.status_code == 200
    assert b"A code has been emailed to you" in response.content
    assert len(mailoutbox) == 1
