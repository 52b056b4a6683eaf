"""Scenario 4: a simple credentialed GET needs no preflight, so it reaches the view with the cookie.

Seed: "Cross-origin requests that do not send OPTIONS requests, but do provide the Cloudflare
Access cookie, will require the origin to set its own CORS headers."
"""

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
from tests.browser.scenario_config import ADA, PLAIN
from tests.browser.servers import CallingSite, ProjectServer

pytestmark = pytest.mark.browser


def _fetch_as_signed_in_person(
    page: Page, project: ProjectServer, calling_site: CallingSite, marker: str, query: str
) -> dict:
    sign_in_then_open(page, project, PLAIN, calling_site.url())
    return call_api(page, app_url(project, PLAIN, marker, query), {"credentials": "include"})


def _assert_view_saw_signed_in_get(project: ProjectServer, marker: str) -> None:
    [visit] = project.records.visits(marker)
    assert visit.method == "GET"
    assert CF_AUTHORIZATION in visit.cookies
    assert visit.email == ADA.email
    assert visit.identity_headers["Cf-Access-Authenticated-User-Email"] == ADA.email
    assert [r.method for r in project.records.served(marker)] == ["GET"]


def test_body_is_withheld_from_script_when_view_sets_no_cors_headers(
    page: Page, project: ProjectServer, calling_site: CallingSite
):
    marker = new_marker()

    seen = _fetch_as_signed_in_person(page, project, calling_site, marker, "")

    assert seen == {"outcome": "error", "name": "TypeError", "message": "Failed to fetch"}
    [answer] = project.records.wait_served(marker, method="GET")
    assert answer.status == 200
    assert answer.content_type == "application/json"
    assert answer.cors_headers == {}
    _assert_view_saw_signed_in_get(project, marker)


def test_body_is_readable_when_view_sets_its_own_cors_headers(
    page: Page, project: ProjectServer, calling_site: CallingSite
):
    marker = new_marker()

    seen = _fetch_as_signed_in_person(page, project, calling_site, marker, "cors=1")

    assert seen["outcome"] == "response"
    assert seen["status"] == 200
    body = json_body(seen)
    assert body["method"] == "GET"
    assert body["origin"] == calling_site.origin()
    assert CF_AUTHORIZATION in body["cookies"]
    assert body["access"]["email"] == ADA.email
    [answer] = project.records.wait_served(marker, method="GET")
    assert answer.cors_headers == {
        "access-control-allow-origin": calling_site.origin(),
        "access-control-allow-credentials": "true",
    }
    _assert_view_saw_signed_in_get(project, marker)
