"""The login endpoints refuse cross-site requests that are not top-level navigations."""

import logging

import pytest

from identity.crosssite import content_security_policy, login_request_refusal
from tests.identity.signin_support import Browser, LoginFlow, make_application

OWN = "https://app.localhost"  # the login page's own origin, as the test client serves it
EVIL = "https://evil.localhost"
PREFLIGHT = {"Access-Control-Request-Method": "POST"}

# The cross-site rule, one literal row per kind of request a browser (or a script) sends:
# (method, Sec-Fetch-Site, Sec-Fetch-Mode, Sec-Fetch-Dest, Origin, extra headers, refusal reason).
RULE = [
    # Navigations of the top-level window are welcome from anywhere: links, the gate's redirect.
    ("GET", None, None, None, None, {}, None),  # curl, an old browser: left to the view
    ("GET", "none", "navigate", "document", None, {}, None),  # the address bar, a bookmark
    ("GET", "cross-site", "navigate", "document", None, {}, None),  # the gate's redirect
    ("HEAD", "same-site", "navigate", None, None, {}, None),  # a navigation without a dest
    ("GET", "same-origin", "cors", "empty", None, {}, None),  # the page's own fetch
    # Another site may not read the page, load it as a resource, or frame it.
    ("GET", "cross-site", "cors", "empty", EVIL, {}, "cross-site request in mode cors"),
    ("GET", "Same-Site", " No-CORS ", "image", None, {}, "same-site request in mode no-cors"),
    ("GET", "cross-site", None, None, None, {}, "cross-site request in mode unknown"),
    ("GET", "cross-site", "navigate", "script", None, {}, "cross-site navigation to script"),
    ("GET", "cross-site", "navigate", "iframe", None, {}, "embedded as iframe"),
    ("GET", "same-origin", "navigate", "fencedframe", None, {}, "embedded as fencedframe"),
    ("GET", "elsewhere", "navigate", "document", None, {}, "unknown Sec-Fetch-Site"),
    ("OPTIONS", "cross-site", "cors", "empty", EVIL, PREFLIGHT, "preflight to a login endpoint"),
    # Only the page's own forms and the browser itself post; Origin, when sent, must be ours.
    ("POST", "same-origin", "navigate", "document", OWN, {}, None),
    ("POST", None, None, None, None, {}, None),  # no metadata, no Origin: the CSRF token decides
    ("POST", None, None, None, "https://APP.localhost:443", {}, None),  # ours, spelled otherwise
    ("POST", "cross-site", "navigate", "document", EVIL, {}, "cross-site POST"),
    ("POST", "same-site", "navigate", "document", "https://x.app.localhost", {}, "same-site POST"),
    ("POST", "same-origin", "navigate", "document", EVIL, {}, "foreign Origin"),
    ("POST", None, None, None, "null", {}, "foreign Origin"),  # a sandboxed frame
    ("POST", "none", "navigate", "document", "http://app.localhost", {}, "foreign Origin"),
    ("POST", None, None, None, "https://app.localhost:8443", {}, "foreign Origin"),
    ("POST", "same-origin", "navigate", "iframe", OWN, {}, "embedded as iframe"),
]
ROW_IDS = [f"{row[0]}-{row[1]}-{row[2]}-{row[3]}-{row[4]}-{row[6]}" for row in RULE]


def _headers(site, mode, dest, origin, extra):
    fetch = {"Site": site, "Mode": mode, "Dest": dest}
    headers = {f"Sec-Fetch-{name}": value for name, value in fetch.items() if value is not None}
    if origin is not None:
        headers["Origin"] = origin
    return {**headers, **extra}


@pytest.mark.parametrize(
    ("method", "site", "mode", "dest", "origin", "extra", "reason"), RULE, ids=ROW_IDS
)
def test_the_cross_site_rule(method, site, mode, dest, origin, extra, reason):
    headers = _headers(site, mode, dest, origin, extra)
    assert login_request_refusal(method=method, headers=headers, own_origin=OWN) == reason


@pytest.mark.parametrize("dest", ["iframe", "frame", "embed", "object", "fencedframe"])
def test_every_embedding_destination_is_refused_even_from_the_page_itself(dest):
    headers = _headers("same-origin", "navigate", dest, None, {})
    assert login_request_refusal(method="GET", headers=headers, own_origin=OWN) == (
        f"embedded as {dest}"
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


def test_the_login_page_keeps_out_of_frames_without_the_clickjacking_middleware(flow, settings):
    """The page's own `X-Frame-Options`, not one Django's middleware would add to any page."""
    settings.MIDDLEWARE = [
        name for name in settings.MIDDLEWARE if not name.endswith(".XFrameOptionsMiddleware")
    ]

    response = flow.open()

    assert response.status_code == 200
    _assert_login_headers(response)


@pytest.mark.parametrize(
    ("method", "site", "mode", "dest", "origin", "extra", "reason"), RULE, ids=ROW_IDS
)
def test_the_login_page_follows_the_cross_site_rule(
    flow, caplog, mailoutbox, method, site, mode, dest, origin, extra, reason
):
    """Each row of the rule through the real middleware and login view: a refusal is the 403
    page with the login headers and its reason logged; anything else reaches the view."""
    headers = _headers(site, mode, dest, origin, extra)
    meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    caplog.set_level(logging.INFO, logger="accessproject.access")
    if method == "POST":
        data = {"step": "send_pin", "email": "ann@example.com", **flow.fields}
        response = flow.browser.post(flow.page_url, data, **meta)
    else:
        response = flow.browser.request(method, flow.url, **meta)

    logged = [r for r in caplog.records if r.getMessage() == "login request refused"]
    refusals = [r.reason for r in logged]
    assert {(r.host, r.path) for r in logged} <= {
        ("app.localhost", "/cdn-cgi/access/login/app.localhost")
    }
    _assert_login_headers(response)
    if reason is None:
        assert response.status_code == 200
        assert refusals == []
        assert len(mailoutbox) == (1 if method == "POST" else 0)
    else:
        assert response.status_code == 403
        assert (
            b'<p class="error" role="alert">This page cannot be opened from another site.</p>'
            in response.content
        )
        assert refusals == [reason]
        assert mailoutbox == []


def test_login_page_refuses_other_methods(flow):
    response = flow.browser.request("PUT", flow.url)
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD, POST"


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
    assert b"A code is on its way to <strong>" in response.content
    assert len(mailoutbox) == 1


# A host Django accepts but no origin can name (a trailing dot): an Origin that is no origin
# either is not "ours" by being equally unreadable.
@pytest.mark.parametrize("origin", ["https://evil.localhost.", "https://app.localhost.", "x"])
def test_an_unreadable_origin_is_foreign_to_an_unreadable_own_origin(origin):
    headers = _headers(None, None, None, origin, {})
    own_origin = "https://app.localhost."
    assert login_request_refusal(method="POST", headers=headers, own_origin=own_origin) == (
        "foreign Origin"
    )


def test_a_post_to_a_trailing_dot_host_from_a_trailing_dot_origin_is_refused(
    flow, caplog, mailoutbox
):
    caplog.set_level(logging.INFO, logger="accessproject.access")
    data = {"step": "send_pin", "email": "ann@example.com", **flow.fields}

    response = flow.browser.post(
        "https://app.localhost./cdn-cgi/access/login/app.localhost",
        data,
        HTTP_ORIGIN="https://evil.localhost.",
    )

    assert response.status_code == 403
    assert b"This page cannot be opened from another site." in response.content
    assert [r.reason for r in caplog.records if r.getMessage() == "login request refused"] == [
        "foreign Origin"
    ]
    assert mailoutbox == []
