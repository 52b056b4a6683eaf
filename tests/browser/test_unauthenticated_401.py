"""Scenario 7: the opt-in 401 mode gives a script a readable answer when the session expired."""

import pytest
from playwright.sync_api import BrowserContext, Page

from tests.browser.flows import (
    app_url,
    call_api,
    is_login_url,
    issue_app_token,
    json_body,
    new_marker,
    set_app_cookie,
)
from tests.browser.scenario_config import ADA, PLAIN, STRICT
from tests.browser.servers import API_HOST, CallingSite, ProjectServer

pytestmark = pytest.mark.browser


@pytest.fixture
def expired_session(browser_context: BrowserContext, project: ProjectServer) -> None:
    token = issue_app_token(project, ADA, [PLAIN, STRICT], expired=True)
    set_app_cookie(browser_context, project, API_HOST, token)


@pytest.mark.usefixtures("expired_session")
def test_fetch_after_session_expired_receives_readable_401_with_login_url(
    page: Page, project: ProjectServer, calling_site: CallingSite
):
    page.goto(calling_site.url())
    marker = new_marker()

    seen = call_api(page, app_url(project, STRICT, marker), {"credentials": "include"})

    assert seen["outcome"] == "response"
    assert seen["status"] == 401
    body = json_body(seen)
    login_urls = [value for value in body.values() if isinstance(value, str)]
    assert any(is_login_url(value, project) for value in login_urls), body
    [answer] = project.records.wait_served(marker, method="GET")
    assert answer.cors_headers["access-control-allow-origin"] == calling_site.origin()
    assert answer.cors_headers["access-control-allow-credentials"] == "true"
    assert project.records.visits(marker) == []


@pytest.mark.usefixtures("expired_session")
def test_page_load_after_session_expired_still_goes_to_login_page(
    page: Page, project: ProjectServer
):
    marker = new_marker()

    page.goto(app_url(project, STRICT, marker))

    assert is_login_url(page.url, project)
    [redirect] = project.records.wait_served(marker, method="GET", host=API_HOST)
    assert redirect.status == 302


@pytest.mark.usefixtures("expired_session")
def test_fetch_after_session_expired_fails_opaquely_without_401_mode(
    page: Page, project: ProjectServer, calling_site: CallingSite
):
    page.goto(calling_site.url())
    marker = new_marker()

    seen = call_api(page, app_url(project, PLAIN, marker), {"credentials": "include"})

    assert seen == {"outcome": "error", "name": "TypeError", "message": "Failed to fetch"}
    [redirect] = project.records.wait_served(marker, method="GET", host=API_HOST)
    assert redirect.status == 302
