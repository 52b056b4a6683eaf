"""Scenario 3: without a session a cross-site fetch is sent to the login page and fails.

Seed: "Any cross-site request that fails to include the Cloudflare Access token will be returned
to the login page. The login page itself will not allow cross-site requests."
"""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.flows import app_url, call_api, is_login_url, login_query, new_marker
from tests.browser.records import ServedRequest
from tests.browser.scenario_config import ADA, PLAIN
from tests.browser.servers import API_HOST, LOGIN_HOST, CallingSite, ProjectServer

pytestmark = pytest.mark.browser


def _login_url(project: ProjectServer, marker: str) -> str:
    """The login URL the gate sends an unauthenticated request for `marker` to."""
    [redirect] = project.records.wait_served(marker, method="GET", host=API_HOST)
    assert redirect.status == 302
    assert redirect.location is not None
    return redirect.location


def test_cross_site_fetch_without_session_is_redirected_to_login_and_fails(
    page: Page, project: ProjectServer, calling_site: CallingSite
):
    page.goto(calling_site.url())
    marker = new_marker()

    seen = call_api(page, app_url(project, PLAIN, marker), {"credentials": "include"})

    assert seen == {"outcome": "error", "name": "TypeError", "message": "Failed to fetch"}
    location = _login_url(project, marker)
    assert is_login_url(location, project)
    query = login_query(location)
    assert len(query["kid"][0]) == 64
    assert marker in query["redirect_url"][0]
    assert project.records.visits(marker) == []


def _login_host_answers(project: ProjectServer, marker: str) -> list[ServedRequest]:
    """What the login host answered to requests for `marker` (after the gate's redirect)."""
    served = project.records.wait_served(marker, method="GET", count=2)
    return [r for r in served if r.host == LOGIN_HOST]


@pytest.mark.parametrize("mode", ["cors", "no-cors"])
def test_login_page_refuses_cross_site_fetch(
    page: Page, project: ProjectServer, calling_site: CallingSite, mode: str
):
    page.goto(calling_site.url())
    marker = new_marker()
    call_api(page, app_url(project, PLAIN, marker), {"credentials": "include"})
    login_url = _login_url(project, marker)

    seen = call_api(page, login_url, {"credentials": "include", "mode": mode})

    if mode == "cors":
        assert seen == {"outcome": "error", "name": "TypeError", "message": "Failed to fetch"}
    else:
        # An opaque response: the script learns nothing, and the server refused anyway.
        assert seen["outcome"] == "response"
        assert seen["type"] == "opaque"
        assert seen["body"] == ""
    answers = _login_host_answers(project, marker)
    assert [(r.status, r.sec_fetch_site, r.sec_fetch_mode) for r in answers] == [
        (403, "cross-site", mode)
    ]
    assert answers[0].cors_headers == {}


def test_login_page_cannot_be_framed_by_another_site(
    page: Page, project: ProjectServer, calling_site: CallingSite
):
    page.goto(calling_site.url())
    marker = new_marker()
    call_api(page, app_url(project, PLAIN, marker), {"credentials": "include"})
    login_url = _login_url(project, marker)

    page.evaluate("(url) => frame(url)", login_url)

    framed = page.frame_locator("iframe")
    assert framed.get_by_label("Email").count() == 0
    assert framed.get_by_label("Password").count() == 0
    [child] = page.main_frame.child_frames
    assert not is_login_url(child.url, project)
    answers = _login_host_answers(project, marker)
    assert [(r.status, r.sec_fetch_dest, r.x_frame_options) for r in answers] == [
        (403, "iframe", "DENY")
    ]


def test_login_form_refuses_a_post_from_another_site(
    page: Page, project: ProjectServer, calling_site: CallingSite
):
    page.goto(calling_site.url())
    marker = new_marker()
    call_api(page, app_url(project, PLAIN, marker), {"credentials": "include"})
    login_url = _login_url(project, marker)

    with page.expect_navigation():
        page.evaluate(
            "([url, fields]) => postForm(url, fields)",
            [login_url, {"step": "password", "username": ADA.username, "password": ADA.password}],
        )

    expect(page.get_by_role("heading", name="Cannot continue")).to_be_visible()
    [refused] = project.records.wait_served(marker, method="POST", host=LOGIN_HOST)
    assert (refused.status, refused.sec_fetch_site, refused.sec_fetch_mode) == (
        403,
        "cross-site",
        "navigate",
    )
    assert refused.cors_headers == {}
    assert project.records.visits(marker) == []
