"""Pages that never dead-end, in Chromium: signed out, "Sign in again" leads back to the
application; refused, "Try another account" leads to the same application's sign-in."""

import re
from urllib.parse import urlencode, urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from identity.login_urls import LOGOUT_PATH
from tests.browser.flows import (
    app_url,
    is_login_url,
    issue_app_token,
    login_query,
    new_marker,
    set_app_cookie,
    sign_in_with_password,
    submit_password,
)
from tests.browser.scenario_config import ADA, MALLORY, PLAIN, SECOND, Person
from tests.browser.servers import API_HOST, LOGIN_HOST, ProjectServer

pytestmark = pytest.mark.browser


def _landed_as(page: Page, project: ProjectServer, url: str, marker: str, who: Person) -> None:
    expect(page).to_have_url(url)
    [visit] = project.records.visits(marker)
    assert visit.email == who.email


def _on_the_sign_in_page_for(page: Page, project: ProjectServer, url: str) -> None:
    """The application's sign-in page, coming back to `url` afterwards."""
    expect(page.get_by_label("Password")).to_be_visible()
    assert is_login_url(page.url, project)
    assert login_query(page.url)["redirect_url"] == [urlsplit(url).path]


def test_signed_out_sign_in_again_goes_back_to_the_application(page: Page, project: ProjectServer):
    sign_in_with_password(page, project, app_url(project, PLAIN, new_marker()))
    marker = new_marker()
    url = app_url(project, PLAIN, marker)

    page.goto(project.url(API_HOST, f"{LOGOUT_PATH}?{urlencode({'redirect_url': url})}"))
    expect(page.get_by_role("heading", name="You have been signed out")).to_be_visible()
    page.get_by_role("link", name="Sign in again").click()

    _on_the_sign_in_page_for(page, project, url)  # signed out: the page asks again
    assert project.records.visits(marker) == []
    submit_password(page, ADA)
    _landed_as(page, project, url, marker, ADA)


def test_signed_out_of_the_login_host_too_sign_in_again_still_goes_back(
    page: Page, project: ProjectServer
):
    sign_in_with_password(page, project, app_url(project, SECOND, new_marker()))
    marker = new_marker()
    url = app_url(project, SECOND, marker)

    page.goto(project.url(SECOND.host, f"{LOGOUT_PATH}?{urlencode({'redirect_url': url})}"))
    page.get_by_role("link", name="sign out of the login page too").click()
    expect(page).to_have_url(re.compile(re.escape(project.url(LOGIN_HOST, LOGOUT_PATH))))
    page.get_by_role("link", name="Sign in again").click()

    _on_the_sign_in_page_for(page, project, url)
    submit_password(page, ADA)
    _landed_as(page, project, url, marker, ADA)


def test_refused_try_another_account_signs_in_to_the_same_application(
    browser_context: BrowserContext, page: Page, project: ProjectServer
):
    token = issue_app_token(project, MALLORY, [PLAIN], expired=False)
    set_app_cookie(browser_context, project, API_HOST, token)
    marker = new_marker()
    url = app_url(project, PLAIN, marker)
    response = page.goto(url)
    assert response is not None
    assert response.status == 403
    expect(page.get_by_text(f"You are signed in as {MALLORY.email}.")).to_be_visible()

    page.get_by_role("link", name="Try another account").click()

    _on_the_sign_in_page_for(page, project, url)
    submit_password(page, ADA)
    _landed_as(page, project, url, marker, ADA)
