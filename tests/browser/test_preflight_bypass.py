"""Scenario 5: with `options_preflight_bypass` the view answers preflights; the browser obeys."""

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
from tests.browser.scenario_config import ADA, CUSTOM_HEADER, PREFLIGHT_BYPASS
from tests.browser.servers import CallingSite, ProjectServer

pytestmark = pytest.mark.browser


def test_view_answer_without_cors_headers_makes_browser_refuse_the_request(
    page: Page, project: ProjectServer, calling_site: CallingSite
):
    sign_in_then_open(page, project, PREFLIGHT_BYPASS, calling_site.url())
    marker = new_marker()

    seen = call_api(
        page,
        app_url(project, PREFLIGHT_BYPASS, marker),
        {"method": "PUT", "credentials": "include", "headers": {CUSTOM_HEADER: "1"}},
    )

    assert seen == {"outcome": "error", "name": "TypeError", "message": "Failed to fetch"}
    [preflight] = project.records.visits(marker)
    assert preflight.method == "OPTIONS"
    assert preflight.origin == calling_site.origin()
    assert preflight.cookies == []
    assert preflight.access is None
    [answer] = project.records.wait_served(marker, method="OPTIONS")
    assert answer.status == 200
    assert answer.content_type == "application/json"
    assert answer.cors_headers == {}
    assert [r.method for r in project.records.served(marker)] == ["OPTIONS"]


def test_view_answer_with_its_own_cors_headers_lets_the_request_through(
    page: Page, project: ProjectServer, calling_site: CallingSite
):
    sign_in_then_open(page, project, PREFLIGHT_BYPASS, calling_site.url())
    marker = new_marker()

    # An upload listener forces a preflight that only needs Allow-Origin and -Credentials,
    # which is all the echo view's own `?cors=1` answer gives.
    seen = page.evaluate(
        "(url) => postWithUploadListener(url)",
        app_url(project, PREFLIGHT_BYPASS, marker, "cors=1"),
    )

    assert seen["outcome"] == "response"
    assert seen["status"] == 200
    body = json_body(seen)
    assert body["method"] == "POST"
    assert body["access"]["email"] == ADA.email
    preflight, actual = project.records.visits(marker)
    assert (preflight.method, preflight.cookies, preflight.access) == ("OPTIONS", [], None)
    assert actual.method == "POST"
    assert CF_AUTHORIZATION in actual.cookies
    assert actual.email == ADA.email
    [answer] = project.records.wait_served(marker, method="OPTIONS")
    assert answer.content_type == "application/json"
    assert answer.cors_headers == {
        "access-control-allow-origin": calling_site.origin(),
        "access-control-allow-credentials": "true",
    }
