"""Scenario 2: `cors_headers` let a signed-in page on another site call the API with credentials.

The gate answers the preflight itself (the view never sees an `OPTIONS`), and the actual request
carries the `SameSite=None` cookie. Anything the settings do not allow fails at the preflight.
"""

from typing import Any

import pytest
from playwright.sync_api import Page

from identity.cookies import CF_AUTHORIZATION
from tests.browser.flows import (
    app_url,
    call_api,
    json_body,
    new_marker,
    sign_in_then_open,
)
from tests.browser.scenario_config import ADA, CORS, CUSTOM_HEADER, PREFLIGHT_MAX_AGE
from tests.browser.servers import API_HOST, CALLING_HOST, INTRUDER_HOST, CallingSite, ProjectServer

pytestmark = pytest.mark.browser


def test_credentialed_put_with_custom_header_succeeds_after_sign_in(
    page: Page, project: ProjectServer, calling_site: CallingSite
):
    sign_in_then_open(page, project, CORS, calling_site.url())
    marker = new_marker()

    seen = call_api(
        page,
        app_url(project, CORS, marker, "cors=1"),
        {"method": "PUT", "credentials": "include", "headers": {CUSTOM_HEADER: "2"}},
    )

    assert seen["outcome"] == "response"
    assert seen["status"] == 200
    body = json_body(seen)
    assert body["method"] == "PUT"
    assert CF_AUTHORIZATION in body["cookies"]
    assert body["access"]["email"] == ADA.email
    assert body["headers"]["Cf-Access-Authenticated-User-Email"] == ADA.email
    [preflight] = project.records.wait_served(marker, method="OPTIONS")
    assert preflight.status == 200
    assert preflight.cors_headers["access-control-allow-origin"] == calling_site.origin()
    assert preflight.cors_headers["access-control-allow-credentials"] == "true"
    assert "PUT" in preflight.cors_headers["access-control-allow-methods"]
    assert CUSTOM_HEADER.lower() in preflight.cors_headers["access-control-allow-headers"].lower()
    assert preflight.cors_headers["access-control-max-age"] == str(PREFLIGHT_MAX_AGE)
    [visit] = project.records.visits(marker)
    assert visit.method == "PUT"
    assert CF_AUTHORIZATION in visit.cookies
    assert visit.email == ADA.email


def test_app_cookie_is_samesite_none_secure_and_httponly(
    page: Page, project: ProjectServer, calling_site: CallingSite
):
    sign_in_then_open(page, project, CORS, calling_site.url())

    [cookie] = page.context.cookies(project.url(API_HOST, CORS.path))

    assert cookie["name"] == CF_AUTHORIZATION
    assert (cookie["sameSite"], cookie["secure"], cookie["httpOnly"]) == ("None", True, True)


DISALLOWED: dict[str, tuple[str, dict[str, Any]]] = {
    "origin": (INTRUDER_HOST, {"method": "PUT", "headers": {CUSTOM_HEADER: "2"}}),
    "method": (CALLING_HOST, {"method": "DELETE", "headers": {CUSTOM_HEADER: "2"}}),
    "header": (CALLING_HOST, {"method": "PUT", "headers": {"X-Not-Allowed": "1"}}),
}


@pytest.mark.parametrize("disallowed", DISALLOWED.keys())
def test_fetch_with_disallowed_origin_method_or_header_fails_at_preflight(
    page: Page, project: ProjectServer, calling_site: CallingSite, disallowed: str
):
    host, init = DISALLOWED[disallowed]
    sign_in_then_open(page, project, CORS, calling_site.url(host))
    marker = new_marker()

    seen = call_api(
        page, app_url(project, CORS, marker, "cors=1"), {"credentials": "include", **init}
    )

    assert seen == {"outcome": "error", "name": "TypeError", "message": "Failed to fetch"}
    [preflight] = project.records.wait_served(marker, method="OPTIONS")
    assert preflight.status == 403
    assert preflight.cors_headers == {}
    assert [r.method for r in project.records.served(marker)] == ["OPTIONS"]
    assert project.records.visits(marker) == []
