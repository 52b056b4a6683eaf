"""The gate's refusal of a signed-in person is readable by a script of an allowed origin.

Issue 5, readable errors: the gate's own `403` carries `Access-Control-Allow-Origin` (and
`-Allow-Credentials`) for an allowed origin of an application with `cors_headers`, so the page
can tell "not allowed" from a network failure.
"""

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.flows import app_url, call_api, issue_app_token, new_marker, set_app_cookie
from tests.browser.scenario_config import CORS, MALLORY
from tests.browser.servers import API_HOST, CallingSite, ProjectServer

pytestmark = pytest.mark.browser


def test_denied_person_gets_a_readable_403(
    browser_context: BrowserContext, page: Page, project: ProjectServer, calling_site: CallingSite
):
    token = issue_app_token(project, MALLORY, [CORS], expired=False)
    set_app_cookie(browser_context, project, API_HOST, token)
    page.goto(calling_site.url())
    marker = new_marker()

    seen = call_api(page, app_url(project, CORS, marker), {"credentials": "include"})

    assert seen["outcome"] == "response"
    assert seen["status"] == 403
    assert "That account does not have access." in seen["body"]
    [answer] = project.records.wait_served(marker, method="GET", host=API_HOST)
    assert answer.cors_headers["access-control-allow-origin"] == calling_site.origin()
    assert answer.cors_headers["access-control-allow-credentials"] == "true"
    assert project.records.visits(marker) == []
