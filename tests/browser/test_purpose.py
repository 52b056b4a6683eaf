"""Purpose justification in Chromium: the policy's prompt is answered once, the person lands on
the page they asked for, and in the same session they are not asked again."""

import json
import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from identity.login_urls import LOGIN_PATH
from tests.browser.flows import (
    answer_purpose,
    app_url,
    new_marker,
    sign_in_to_the_purpose_app,
)
from tests.browser.scenario_config import ADA, PURPOSE, PURPOSE_PROMPT
from tests.browser.servers import SECOND_HOST, ProjectServer

pytestmark = pytest.mark.browser

ANSWER = "INC-1234: the March export is wrong"


def _page_json(page: Page) -> dict:
    return json.loads(page.locator("body").inner_text())


def test_the_prompt_is_answered_once_per_session(
    page: Page, browser_context: BrowserContext, project: ProjectServer
):
    first = app_url(project, PURPOSE, new_marker())
    sign_in_to_the_purpose_app(page, project, first)

    answer_purpose(page, ANSWER)

    expect(page).to_have_url(first)
    assert _page_json(page)["access"]["email"] == ADA.email
    page.goto(project.url(SECOND_HOST, "/cdn-cgi/access/get-identity"))
    assert list(_page_json(page)["purpose_justification"].values()) == [ANSWER]

    # Without the application's cookie the gate sends the browser to sign in again; the org
    # session has answered for this application, so it comes straight back, unasked.
    browser_context.clear_cookies(domain=SECOND_HOST)
    login_pages: list[str] = []
    page.on(
        "response",
        lambda response: (
            login_pages.append(response.url)
            if response.status == 200 and LOGIN_PATH in response.url
            else None
        ),
    )
    again = app_url(project, PURPOSE, new_marker())
    page.goto(again)

    expect(page).to_have_url(again)
    assert _page_json(page)["access"]["email"] == ADA.email
    assert login_pages == []


def test_an_answer_of_only_spaces_is_refused_on_the_page(page: Page, project: ProjectServer):
    url = app_url(project, PURPOSE, new_marker())
    sign_in_to_the_purpose_app(page, project, url)

    answer_purpose(page, "   ")

    field = page.get_by_label(PURPOSE_PROMPT)
    expect(page.get_by_role("alert")).to_have_text("Write why you need to open this application.")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(
        re.compile("asks once per sign-in.*Write why you need to open this application.")
    )
    answer_purpose(page, ANSWER)
    expect(page).to_have_url(url)
