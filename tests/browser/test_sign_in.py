"""Scenario 6: a person signs in (PIN or password), moves to a second application without the
login page (SSO), signs out, and is sent back to sign in when the session has expired."""

import json
import re

import pytest
from playwright.sync_api import BrowserContext, Page, Response, expect

from identity.cookies import CF_AUTHORIZATION
from identity.login_urls import LOGOUT_PATH
from tests.browser.flows import (
    app_url,
    is_login_url,
    issue_app_token,
    login_query,
    new_marker,
    pins_sent,
    read_pin,
    request_pin,
    set_app_cookie,
    sign_in_with_password,
    submit_password,
    submit_pin,
)
from tests.browser.records import wait_for
from tests.browser.scenario_config import ADA, CORS, GRACE, PLAIN, SECOND, Person
from tests.browser.servers import API_HOST, LOGIN_HOST, ProjectServer

pytestmark = pytest.mark.browser

LOGOUT_PROPAGATION_TIMEOUT = 3.0


def _page_json(page: Page) -> dict:
    # Chromium shows a JSON response as text in the document.
    return json.loads(page.locator("body").inner_text())


def _assert_landed_as(page: Page, project: ProjectServer, url: str, marker: str, who: Person):
    expect(page).to_have_url(url)
    body = _page_json(page)
    assert body["method"] == "GET"
    assert body["access"]["email"] == who.email
    assert body["headers"]["Cf-Access-Authenticated-User-Email"] == who.email
    [visit] = project.records.visits(marker)
    assert visit.email == who.email
    assert CF_AUTHORIZATION in visit.cookies


def _open_protected_page_and_expect_login(page: Page, project: ProjectServer, url: str) -> None:
    page.goto(url)
    assert is_login_url(page.url, project)
    query = login_query(page.url)
    assert query["redirect_url"] == [url] or url.endswith(query["redirect_url"][0])
    expect(page.get_by_label("Email")).to_be_visible()
    expect(page.get_by_label("Password")).to_be_visible()


def test_one_time_pin_sign_in_lands_on_the_original_page(page: Page, project: ProjectServer):
    marker = new_marker()
    url = app_url(project, PLAIN, marker)
    _open_protected_page_and_expect_login(page, project, url)

    sent = pins_sent(project.outbox, GRACE.email)
    request_pin(page, GRACE.email)
    expect(page.get_by_label("Code")).to_be_visible()
    submit_pin(page, read_pin(project.outbox, GRACE.email, after=sent))

    _assert_landed_as(page, project, url, marker, GRACE)


def test_password_sign_in_lands_on_the_original_page(page: Page, project: ProjectServer):
    marker = new_marker()
    url = app_url(project, PLAIN, marker)
    _open_protected_page_and_expect_login(page, project, url)

    submit_password(page, ADA)

    _assert_landed_as(page, project, url, marker, ADA)


def test_second_application_is_entered_without_the_login_page(page: Page, project: ProjectServer):
    sign_in_with_password(page, project, app_url(project, PLAIN, new_marker()))
    login_answers: list[Response] = []
    page.on("response", lambda r: login_answers.append(r) if is_login_url(r.url, project) else None)
    marker = new_marker()
    url = app_url(project, SECOND, marker)

    page.goto(url)

    _assert_landed_as(page, project, url, marker, ADA)
    # The login host was consulted, and only redirected: the page itself was never shown.
    assert login_answers
    assert all(300 <= r.status < 400 for r in login_answers)


def test_applications_on_one_host_share_the_cookie_without_ping_pong(
    page: Page, project: ProjectServer
):
    sign_in_with_password(page, project, app_url(project, PLAIN, new_marker()))
    page.goto(app_url(project, CORS, new_marker()))  # another application, same host: SSO
    markers = [new_marker(), new_marker()]

    for app, marker in zip((PLAIN, CORS), markers, strict=True):
        page.goto(app_url(project, app, marker))

    # Both served straight away: the host's cookie now carries both audiences.
    for marker in markers:
        [answer] = project.records.wait_served(marker, method="GET")
        assert answer.status == 200
        [visit] = project.records.visits(marker)
        assert visit.email == ADA.email


def test_logout_ends_the_session_on_every_application(page: Page, project: ProjectServer):
    sign_in_with_password(page, project, app_url(project, PLAIN, new_marker()))
    second_url = app_url(project, SECOND, new_marker())
    page.goto(second_url)
    expect(page).to_have_url(second_url)

    page.goto(project.url(API_HOST, LOGOUT_PATH))
    expect(page.get_by_role("heading", name="You have been signed out")).to_be_visible()
    page.get_by_role("link", name="sign out of the login page too").click()
    expect(page).to_have_url(re.compile(re.escape(project.url(LOGIN_HOST, LOGOUT_PATH))))

    _open_protected_page_and_expect_login(page, project, app_url(project, PLAIN, new_marker()))

    # The second application's own cookie is still in the browser, but its session was revoked:
    # every server process refuses it within a second.
    def sent_to_login() -> bool | None:
        page.goto(app_url(project, SECOND, new_marker()))
        return True if is_login_url(page.url, project) else None

    assert wait_for(sent_to_login, timeout=LOGOUT_PROPAGATION_TIMEOUT)


def test_token_minted_by_the_server_opens_the_page(
    browser_context: BrowserContext, page: Page, project: ProjectServer
):
    """The control for the expired case below: the same kind of token, still valid, passes."""
    set_app_cookie(
        browser_context, project, API_HOST, issue_app_token(project, ADA, [PLAIN], expired=False)
    )
    marker = new_marker()
    url = app_url(project, PLAIN, marker)

    page.goto(url)

    _assert_landed_as(page, project, url, marker, ADA)


def test_expired_session_sends_the_person_back_to_sign_in(
    browser_context: BrowserContext, page: Page, project: ProjectServer
):
    set_app_cookie(
        browser_context, project, API_HOST, issue_app_token(project, ADA, [PLAIN], expired=True)
    )
    marker = new_marker()
    url = app_url(project, PLAIN, marker)

    _open_protected_page_and_expect_login(page, project, url)

    assert project.records.visits(marker) == []
    [redirect] = project.records.wait_served(marker, method="GET", host=API_HOST)
    assert redirect.host == API_HOST
    assert redirect.status == 302
