"""The harness itself: Chromium reaches both HTTPS servers by their test host names."""

import pytest
from playwright.sync_api import Page

from tests.browser.servers import API_HOST, CALLING_HOST, CallingSite, ProjectServer

pytestmark = pytest.mark.browser


def test_calling_site_loads_over_https(page: Page, calling_site: CallingSite):
    response = page.goto(calling_site.url(CALLING_HOST))

    assert response is not None
    assert response.status == 200
    assert page.url == f"https://{CALLING_HOST}:{calling_site.port}/"
    assert page.evaluate("typeof callApi") == "function"


def test_project_page_loads_over_https(page: Page, project: ProjectServer):
    response = page.goto(project.url(API_HOST, "/demo/"))

    assert response is not None
    assert response.status == 200
    assert response.header_value("strict-transport-security") is not None
    assert page.get_by_role("heading", name="accessproject demo").is_visible()
