"""Scenario 2, opted in: `cors_on_responses` puts the CORS headers on the view's answers too.

Off by default (the seed leaves actual responses to the origin); when on, a script reads the
body of a view that sets no CORS headers itself, and a view that does set them is not given a
second copy, which the browser would reject.
"""

import pytest
from playwright.sync_api import Page

from tests.browser.flows import (
    app_url,
    call_api,
    json_body,
    new_marker,
    sign_in_then_open,
)
from tests.browser.scenario_config import ADA, CORS_ON_RESPONSES, CUSTOM_HEADER
from tests.browser.servers import API_HOST, CallingSite, ProjectServer

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("view_sets_cors", [False, True], ids=["view-silent", "view-sets-cors"])
def test_script_reads_the_answer_with_exactly_one_copy_of_the_cors_headers(
    page: Page, project: ProjectServer, calling_site: CallingSite, view_sets_cors: bool
):
    sign_in_then_open(page, project, CORS_ON_RESPONSES, calling_site.url())
    marker = new_marker()

    seen = call_api(
        page,
        app_url(project, CORS_ON_RESPONSES, marker, "cors=1" if view_sets_cors else ""),
        {"method": "PUT", "credentials": "include", "headers": {CUSTOM_HEADER: "3"}},
    )

    assert seen["outcome"] == "response"
    assert seen["status"] == 200
    # A readable body is the browser's verdict: one matching Allow-Origin and Allow-Credentials
    # (two copies of Allow-Origin fail the CORS check). The script cannot see those headers.
    assert json_body(seen)["access"]["email"] == ADA.email
    [visit] = project.records.visits(marker)
    assert visit.method == "PUT"
    [answer] = project.records.wait_served(marker, method="PUT", host=API_HOST)
    assert answer.cors_headers["access-control-allow-origin"] == calling_site.origin()
    assert answer.cors_headers["access-control-allow-credentials"] == "true"
    assert "Origin" in (answer.vary or "")
